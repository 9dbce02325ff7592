#include "grading/lab_grader.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "grading/catalogue.h"

namespace vigil::grading {
namespace {

using nlohmann::json;

// -1, 0 or +1 as a is below, equal to or above b, treating 12 significant digits as exact.
inline int compare(double a, double b) {
  const double diff = a - b;
  const double tolerance = 1e-12 * std::max(std::fabs(a), std::fabs(b));
  if (diff > tolerance) return 1;
  if (diff < -tolerance) return -1;
  return 0;
}

inline bool holds(Op op, double value, double limit) {
  const int c = compare(value, limit);
  switch (op) {
    case Op::kAbove: return c > 0;
    case Op::kAtLeast: return c >= 0;
    case Op::kBelow: return c < 0;
    case Op::kAtMost: return c <= 0;
  }
  return false;
}

const char* missingReason(RefKind ref) {
  switch (ref) {
    case RefKind::kLln: return "needs the lower limit of normal (lln)";
    case RefKind::kUln: return "needs the upper limit of normal (uln)";
    case RefKind::kBaseline:
    case RefKind::kBaselinePlus: return "needs the participant's baseline value";
    case RefKind::kAbsolute:
    case RefKind::kUlnPlus: return "needs the unit of the value";
  }
  return "needs more input";
}

struct ScaleResult {
  bool decided = false;
  int grade = 0;
  int worst = 0;
  const Band* band = nullptr;
  const char* reason = nullptr;
};

// Evaluates one scale: most severe band first.
ScaleResult evaluate(const Scale& scale, const PreparedUnit& unit, const LabInput& in, double value) {
  ScaleResult r;
  const double f = unit.factor;
  for (auto it = scale.bands.rbegin(); it != scale.bands.rend(); ++it) {
    const Band& b = *it;
    double limit = 0;
    switch (b.ref) {
      case RefKind::kLln:
        if (!in.lln) return {false, 0, 0, nullptr, missingReason(b.ref)};
        limit = b.k * (*in.lln * f);
        break;
      case RefKind::kUln:
        if (!in.uln) return {false, 0, 0, nullptr, missingReason(b.ref)};
        limit = b.k * (*in.uln * f);
        break;
      case RefKind::kBaseline:
        if (!in.baseline) return {false, 0, 0, nullptr, missingReason(b.ref)};
        limit = b.k * (*in.baseline * f);
        break;
      case RefKind::kAbsolute:
        if (!unit.system) return {false, 0, 0, nullptr, missingReason(b.ref)};
        limit = b.amount[static_cast<int>(*unit.system)];
        break;
      case RefKind::kUlnPlus:
        if (!in.uln) return {false, 0, 0, nullptr, missingReason(RefKind::kUln)};
        if (!unit.system) return {false, 0, 0, nullptr, missingReason(b.ref)};
        limit = *in.uln * f + b.amount[static_cast<int>(*unit.system)];
        break;
      case RefKind::kBaselinePlus:
        if (!in.baseline) return {false, 0, 0, nullptr, missingReason(b.ref)};
        if (!unit.system) return {false, 0, 0, nullptr, missingReason(RefKind::kAbsolute)};
        limit = *in.baseline * f + b.amount[static_cast<int>(*unit.system)];
        break;
    }
    if (holds(b.op, value, limit)) return {true, b.grade, b.worst_case, &b, nullptr};
  }
  return {true, 0, 0, nullptr, nullptr};
}

constexpr const char* kNeedsBaseline =
    "needs the participant's baseline value (CTCAE grades differently when the baseline was abnormal)";

// Whether a scale applies; nullopt when the inputs cannot tell (reason set).
std::optional<bool> applies(const Scale& scale, const Criterion& c, const LabInput& in, const char*& reason) {
  switch (scale.when) {
    case When::kAlways: return true;
    case When::kAnticoagulated: return in.on_anticoagulation;
    case When::kNotAnticoagulated: return !in.on_anticoagulation;
    case When::kWithBaseline: return true;  // its bands report a missing baseline themselves
    case When::kBaselineNormal:
    case When::kBaselineAbnormal: {
      const std::optional<double>& ref = c.high ? in.uln : in.lln;
      if (!in.baseline) {
        reason = kNeedsBaseline;
        return std::nullopt;
      }
      if (!ref) {
        reason = c.high ? "needs the upper limit of normal (uln)" : "needs the lower limit of normal (lln)";
        return std::nullopt;
      }
      const bool normal = c.high ? compare(*in.baseline, *ref) <= 0 : compare(*in.baseline, *ref) >= 0;
      return scale.when == When::kBaselineNormal ? normal : !normal;
    }
  }
  return true;
}

Op parseOp(const std::string& s) {
  if (s == ">") return Op::kAbove;
  if (s == ">=") return Op::kAtLeast;
  if (s == "<") return Op::kBelow;
  if (s == "<=") return Op::kAtMost;
  throw std::invalid_argument("unknown op '" + s + "'");
}

When parseWhen(const std::string& s) {
  static const std::pair<const char*, When> kWhen[] = {{"always", When::kAlways},
                                                       {"baseline_normal", When::kBaselineNormal},
                                                       {"baseline_abnormal", When::kBaselineAbnormal},
                                                       {"with_baseline", When::kWithBaseline},
                                                       {"anticoagulated", When::kAnticoagulated},
                                                       {"not_anticoagulated", When::kNotAnticoagulated}};
  for (const auto& [name, w] : kWhen)
    if (s == name) return w;
  throw std::invalid_argument("unknown scale condition '" + s + "'");
}

Band parseBand(const json& j, const Analyte& a) {
  Band b;
  b.grade = j.at("grade").get<int>();
  b.worst_case = j.value("worst_case", b.grade);
  b.qualifier = j.value("qualifier", "");
  b.op = parseOp(j.at("op").get<std::string>());
  const json& limit = j.at("limit");
  if (limit.size() != 1) throw std::invalid_argument("a limit has exactly one kind");
  const std::string kind = limit.begin().key();
  const json& v = limit.begin().value();
  auto amounts = [&] {
    b.amount[0] = v.at("si").get<double>();
    b.amount[1] = v.at("us").get<double>();
  };
  if (kind == "lln") b.ref = RefKind::kLln, b.k = v.get<double>();
  else if (kind == "uln") b.ref = RefKind::kUln, b.k = v.get<double>();
  else if (kind == "baseline") b.ref = RefKind::kBaseline, b.k = v.get<double>();
  else if (kind == "abs") b.ref = RefKind::kAbsolute, amounts();
  else if (kind == "uln_plus") b.ref = RefKind::kUlnPlus, amounts();
  else if (kind == "baseline_plus") b.ref = RefKind::kBaselinePlus, amounts();
  else throw std::invalid_argument("unknown limit kind '" + kind + "'");
  if (b.grade < 0 || b.grade > 4 || b.worst_case < b.grade || b.worst_case > 5)
    throw std::invalid_argument(a.code + ": bad grade or worst_case");
  return b;
}

json readJson(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  return json::parse(in);
}

}  // namespace

core::Result<LabGrader> LabGrader::load(const std::string& dir) {
  LabGrader g;
  std::string file = dir + "/units.json";
  try {
    const json units = readJson(file);
    for (const auto& [canonical, spellings] : units.at("aliases").items()) {
      g.unit_alias_[canonical] = canonical;
      for (const auto& s : spellings) g.unit_alias_[s.get<std::string>()] = canonical;
    }
    for (const auto& c : units.at("conversions"))
      g.conversions_[c.at("from").get<std::string>()].emplace_back(c.at("to").get<std::string>(), c.at("factor").get<double>());
    std::set<std::string> exact_only;
    for (const auto& e : units.at("case_sensitive").at("spellings")) exact_only.insert(e.get<std::string>());
    for (const auto& [spelling, canonical] : g.unit_alias_) {
      if (exact_only.count(spelling)) continue;
      auto& meanings = g.folded_alias_[foldUnit(spelling)];
      if (std::find(meanings.begin(), meanings.end(), canonical) == meanings.end()) meanings.push_back(canonical);
    }
    const json& counts = units.at("counts");
    g.count_unit_ = counts.at("to").get<std::string>();
    for (const auto& [spelling, v] : counts.at("volumes").items()) {
      const double litres = v.at("litres").get<double>();
      if (!(litres > 0)) throw std::invalid_argument("counts.volumes." + spelling + ": litres must be above 0");
      g.count_volumes_[foldUnit(spelling)] = {spelling, litres};
      for (const auto& other : v.at("spellings")) g.count_volumes_[foldUnit(other.get<std::string>())] = {spelling, litres};
    }

    file = dir + "/lab_criteria.json";
    const json criteria = readJson(file);
    if (criteria.at("format") != "vigil-ctcae-lab-criteria/1") throw std::invalid_argument("unknown format");
    for (const auto& ja : criteria.at("analytes")) {
      Analyte a;
      a.code = ja.at("code").get<std::string>();
      a.name = ja.at("name").get<std::string>();
      a.loinc = ja.at("loinc").get<std::vector<std::string>>();
      a.si_unit = ja.at("si_unit").get<std::string>();
      a.us_unit = ja.at("us_unit").is_null() ? "" : ja.at("us_unit").get<std::string>();
      if (ja.contains("molar_mass_g_per_mol")) a.molar_mass = ja.at("molar_mass_g_per_mol").get<double>();
      for (const auto& u : {a.si_unit, a.us_unit})
        if (!u.empty() && !g.unit_alias_.count(u)) throw std::invalid_argument(a.code + ": unit " + u + " is not in units.json");
      for (const auto& jc : ja.at("criteria")) {
        Criterion c;
        c.term = jc.at("term").get<std::string>();
        c.meddra_code = jc.at("meddra_code").get<std::string>();
        const std::string direction = jc.at("direction").get<std::string>();
        if (direction != "high" && direction != "low") throw std::invalid_argument(a.code + ": direction must be high or low");
        c.high = direction == "high";
        for (const auto& js : jc.at("scales")) {
          Scale s;
          s.when = parseWhen(js.value("when", "always"));
          for (const auto& jb : js.at("bands")) s.bands.push_back(parseBand(jb, a));
          for (const auto& b : s.bands) s.top_grade = std::max(s.top_grade, b.grade);
          c.scales.push_back(std::move(s));
        }
        a.criteria.push_back(std::move(c));
      }
      if (a.criteria.empty() || a.criteria.size() > kMaxCriteriaPerAnalyte)
        throw std::invalid_argument(a.code + ": needs 1 to " + std::to_string(kMaxCriteriaPerAnalyte) + " criteria");
      const size_t index = g.analytes_.size();
      g.by_code_[toLower(a.code)] = index;
      for (const auto& l : a.loinc) g.by_code_[l] = index;
      g.analytes_.push_back(std::move(a));
    }
    // Every analyte has its physically possible range, in each of its unit systems.
    file = dir + "/plausibility.json";
    const json plausibility = readJson(file);
    if (plausibility.at("format") != "vigil-plausibility/1") throw std::invalid_argument("unknown format");
    const json& table = plausibility.at("analytes");
    for (const auto& [code, entry] : table.items())
      if (!g.by_code_.count(toLower(code))) throw std::invalid_argument(code + " is not an analyte of lab_criteria.json");
    for (auto& a : g.analytes_) {
      if (!table.contains(a.code)) throw std::invalid_argument(a.code + ": no entry");
      const json& entry = table.at(a.code);
      auto range = [&](const char* key, int system) {
        const auto r = entry.at(key).get<std::vector<double>>();
        if (r.size() != 2 || !(r[0] < r[1])) throw std::invalid_argument(a.code + "." + key + ": needs [low, high] with low < high");
        a.plausible.lo[system] = r[0];
        a.plausible.hi[system] = r[1];
      };
      range("si", 0);
      if (a.us_unit.empty()) {
        a.plausible.lo[1] = a.plausible.lo[0];
        a.plausible.hi[1] = a.plausible.hi[0];
      } else {
        range("us", 1);
      }
      a.plausible.above_zero = entry.value("above_zero", false);
      a.plausible.why = entry.at("why").get<std::string>();
      if (a.plausible.why.empty()) throw std::invalid_argument(a.code + ": why is empty");
    }
  } catch (const std::exception& e) {
    return core::Status::invalid(file + ": " + e.what());
  }
  return g;
}

std::string LabGrader::implausible(const Analyte& a, const PreparedUnit& unit, double value) const {
  if (!unit.system) return {};
  const int s = static_cast<int>(*unit.system);
  const double v = value * unit.factor;
  const Plausible& p = a.plausible;
  const bool low = p.above_zero ? !(v > p.lo[s]) : !(v >= p.lo[s]);
  const bool high = !(v <= p.hi[s]);
  if (!low && !high) return {};
  const std::string& u = s == 0 || a.us_unit.empty() ? a.si_unit : a.us_unit;
  char limit[64];
  std::snprintf(limit, sizeof limit, "%.10g", low ? p.lo[s] : p.hi[s]);
  const std::string unit_text = u == "ratio" || u == "pH" ? "" : " " + u;
  const std::string bound = low ? (p.above_zero ? std::string("must be above ") : std::string("cannot be below ")) + limit
                                : std::string("cannot be above ") + limit;
  return "is not a possible " + a.name + " value: it " + bound + unit_text +
         (unit.factor != 1 ? " (after conversion from the unit given)" : "") + "; " + p.why + " (ctcae/plausibility.json)";
}

const Analyte* LabGrader::find(std::string_view test) const {
  auto it = by_code_.find(toLower(test));
  return it == by_code_.end() ? nullptr : &analytes_[it->second];
}

std::string LabGrader::foldUnit(std::string_view unit) {
  std::string out;
  out.reserve(unit.size());
  for (size_t i = 0; i < unit.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(unit[i]);
    const unsigned char next = i + 1 < unit.size() ? static_cast<unsigned char>(unit[i + 1]) : 0;
    if (c == ' ') continue;
    if ((c == 0xC2 && next == 0xB5) || (c == 0xCE && next == 0xBC)) {  // micro sign, Greek mu
      out += 'u';
      ++i;
    } else if (c == 0xC3 && next == 0x97) {  // multiplication sign
      out += 'x';
      ++i;
    } else {
      out += static_cast<char>(std::tolower(c));
    }
  }
  return out;
}

// The unit `canonical` (a key of units.json aliases) for analyte a, or nothing when it does not fit.
std::optional<PreparedUnit> LabGrader::fit(const Analyte& a, const std::string& u) const {
  if (u == a.si_unit) return PreparedUnit{UnitSystem::kSi, 1, u};
  if (!a.us_unit.empty() && u == a.us_unit) return PreparedUnit{UnitSystem::kUs, 1, u};
  if (auto it = conversions_.find(u); it != conversions_.end()) {
    for (const auto& [to, factor] : it->second) {
      if (to == a.si_unit) return PreparedUnit{UnitSystem::kSi, factor, u};
      if (!a.us_unit.empty() && to == a.us_unit) return PreparedUnit{UnitSystem::kUs, factor, u};
    }
  }
  if (a.molar_mass) {
    // Mass to amount concentration: 1 mg/dL = 10 mg/L = 10/M mmol/L = 10000/M umol/L. An analyte
    // reported in umol/L (bilirubin, creatinine, urate) also takes mmol/L; one reported in mmol/L
    // does not take umol/L (no laboratory writes cholesterol or glucose so: a slip, not a unit).
    const double m = *a.molar_mass;
    if (u == "mg/dL" && a.si_unit == "mmol/L") return PreparedUnit{UnitSystem::kSi, 10 / m, u};
    if (u == "mg/dL" && a.si_unit == "umol/L") return PreparedUnit{UnitSystem::kSi, 10000 / m, u};
    if (u == "mmol/L" && a.si_unit == "umol/L") return PreparedUnit{UnitSystem::kSi, 1000, u};
  }
  return std::nullopt;
}

// "10^3/mL", "x10E9/l", "cells/mm3", "/uL" (folded): a count per a power of ten and a volume, in
// count_unit_ (10^9/L).
std::optional<PreparedUnit> LabGrader::powerOfTenCount(const std::string& f) const {
  const size_t slash = f.find('/');
  if (slash == std::string::npos) return std::nullopt;
  std::string_view head(f.data(), slash);
  const auto volume = count_volumes_.find(f.substr(slash + 1));
  if (volume == count_volumes_.end()) return std::nullopt;
  int power = 0;
  if (head == "cells" || head.empty()) {
    power = 0;
  } else {
    if (head.front() == 'x') head.remove_prefix(1);
    if (head.substr(0, 2) != "10") return std::nullopt;
    head.remove_prefix(2);
    if (head.substr(0, 2) == "e+") head.remove_prefix(2);
    else if (!head.empty() && (head.front() == '^' || head.front() == '*' || head.front() == 'e')) head.remove_prefix(1);
    else return std::nullopt;
    if (head.empty() || head.size() > 2) return std::nullopt;
    for (char c : head) {
      if (c < '0' || c > '9') return std::nullopt;
      power = power * 10 + (c - '0');
    }
  }
  // n x 10^power per `litres` L = n x 10^power / litres / 10^9 x 10^9/L.
  const double factor = std::pow(10.0, power - 9) / volume->second.second;
  std::string canonical = (power == 0 ? std::string("/") : "10^" + std::to_string(power) + "/") + volume->second.first;
  return PreparedUnit{UnitSystem::kSi, factor, std::move(canonical)};
}

core::Result<PreparedUnit> LabGrader::prepare(const Analyte& a, std::string_view unit) const {
  const bool unitless = a.si_unit == "ratio" || a.si_unit == "pH" || a.si_unit == "plus";
  if (unit.empty()) {
    if (unitless) return PreparedUnit{UnitSystem::kSi, 1, a.si_unit};
    return PreparedUnit{std::nullopt, 1, {}};
  }
  auto expected = [&] {
    return a.si_unit + (a.us_unit.empty() || a.us_unit == a.si_unit ? "" : " or " + a.us_unit);
  };
  // As written first: "G/L" is giga per litre, a count.
  const auto exact = unit_alias_.find(std::string(unit));
  if (exact != unit_alias_.end())
    if (auto p = fit(a, exact->second)) return *p;
  // Then as laboratories also write it: any case, micro as u, spaces dropped.
  const std::string folded = foldUnit(unit);
  bool known = exact != unit_alias_.end();
  if (auto it = folded_alias_.find(folded); it != folded_alias_.end()) {
    known = true;
    std::optional<PreparedUnit> found;
    for (const auto& canonical : it->second) {
      auto p = fit(a, canonical);
      if (!p) continue;
      if (found && found->canonical != p->canonical)
        return core::Status::invalid("unit '" + std::string(unit) + "' is ambiguous for " + a.code + ": " +
                                     found->canonical + " or " + p->canonical + " (use " + expected() + ")");
      found = std::move(p);
    }
    if (found) return *found;
  }
  if (auto p = powerOfTenCount(folded)) {
    if (a.si_unit == count_unit_) return *p;
    known = true;
  }
  if (!known)
    return core::Status::invalid("unknown unit '" + std::string(unit) + "' for " + a.code + " (use " + expected() + ")");
  return core::Status::invalid("unit '" + std::string(unit) + "' does not fit " + a.code + " (use " + expected() + ")");
}

void LabGrader::grade(const Analyte& a, const PreparedUnit& unit, const LabInput& in, TermGrade* out) const {
  const double value = in.value * unit.factor;
  for (size_t ci = 0; ci < a.criteria.size(); ++ci) {
    const Criterion& c = a.criteria[ci];
    TermGrade& r = out[ci];
    r = TermGrade{&c, std::nullopt, std::nullopt, {}, {}};
    int grade = 0, worst = 0;
    const Band* qualifying = nullptr;
    const char* undecided = nullptr;
    int undecided_top = 0;
    for (const Scale& s : c.scales) {
      const char* why = nullptr;
      const auto applicable = applies(s, c, in, why);
      ScaleResult sr;
      if (!applicable) {
        sr.reason = why;
      } else if (!*applicable) {
        continue;
      } else {
        sr = evaluate(s, unit, in, value);
      }
      if (!sr.decided) {
        if (s.top_grade > undecided_top) {
          undecided_top = s.top_grade;
          undecided = sr.reason;
        }
        continue;
      }
      if (sr.grade > grade || (sr.grade == grade && sr.worst > worst)) {
        grade = sr.grade;
        qualifying = sr.band;
      }
      worst = std::max(worst, sr.worst);
    }
    if (undecided && undecided_top > grade) {
      r.reason = undecided;
      continue;
    }
    r.grade = grade;
    r.worst_case_grade = std::max(grade, worst);
    if (worst > grade && qualifying) r.qualifier = qualifying->qualifier;
  }
}

void LabGrader::gradeAssumingNormalBaseline(const Analyte& a, const PreparedUnit& unit, const LabInput& in,
                                            TermGrade* out) const {
  grade(a, unit, in, out);
  if (in.baseline) return;
  const size_t n = a.criteria.size();
  bool undecided = false;
  for (size_t i = 0; i < n; ++i) {
    if (out[i].grade) continue;
    undecided = true;
    // The baseline will be taken as normal, so what is missing is the limit it is judged against.
    if (out[i].reason == kNeedsBaseline && !(a.criteria[i].high ? in.uln : in.lln))
      out[i].reason = a.criteria[i].high ? "needs the upper limit of normal (uln), even with the baseline taken as normal"
                                         : "needs the lower limit of normal (lln), even with the baseline taken as normal";
  }
  if (!undecided || (!in.lln && !in.uln)) return;
  LabInput normal = in;
  normal.baseline = in.lln && in.uln ? (*in.lln + *in.uln) / 2 : in.uln ? *in.uln : *in.lln;
  TermGrade assumed[kMaxCriteriaPerAnalyte];
  grade(a, unit, normal, assumed);
  for (size_t i = 0; i < n; ++i) {
    if (out[i].grade || !assumed[i].grade) continue;
    out[i] = assumed[i];
    out[i].baseline_assumed = true;
    // The abnormal-baseline reading: CTCAE's "if baseline was abnormal" bands with the baseline just
    // past the limit, the worst such a baseline can give (the value is the larger multiple of it).
    const Criterion& c = a.criteria[i];
    const bool split = std::any_of(c.scales.begin(), c.scales.end(),
                                   [](const Scale& s) { return s.when == When::kBaselineAbnormal; });
    const std::optional<double>& limit = c.high ? in.uln : in.lln;
    if (!split || !limit) continue;
    LabInput abnormal = in;
    abnormal.baseline = *limit * (c.high ? 1 + 1e-9 : 1 - 1e-9);
    TermGrade other[kMaxCriteriaPerAnalyte];
    grade(a, unit, abnormal, other);
    if (other[i].grade && *other[i].grade > out[i].worst_case_grade.value_or(0)) {
      out[i].worst_case_grade = other[i].grade;
      out[i].qualifier = "if the baseline was abnormal";
    }
  }
}

core::Result<std::vector<TermGrade>> LabGrader::grade(const Analyte& a, std::string_view unit, const LabInput& in) const {
  auto prepared = prepare(a, unit);
  if (!prepared.isOk()) return prepared.status();
  std::vector<TermGrade> out(a.criteria.size());
  grade(a, prepared.value(), in, out.data());
  return out;
}

}  // namespace vigil::grading
