#include "intake/json_codec.h"

#include "rules/baseline_facts.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string_view>
#include <set>

#include "core/json_text.h"
#include "core/time.h"

namespace vigil::intake {
namespace {

using nlohmann::json;
enum class Need { kRequired, kOptional };

// Identifier shapes, checked by hand: std::regex costs microseconds per call and a lab batch
// checks 20,000 identifiers.
struct Pattern {
  bool (*first)(char);
  bool (*rest)(char);
  size_t min_len;
  size_t max_len;
  const char* description;
  bool matches(std::string_view s) const {
    if (s.size() < min_len || s.size() > max_len || !first(s[0])) return false;
    for (size_t i = 1; i < s.size(); ++i)
      if (!rest(s[i])) return false;
    return true;
  }
};
bool isAlnum(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool isAlnumDash(char c) { return isAlnum(c) || c == '-'; }
bool isUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool isUpperDigit(char c) { return isUpper(c) || (c >= '0' && c <= '9'); }
bool isDigit(char c) { return c >= '0' && c <= '9'; }

const Pattern kStudyId{isAlnum, isAlnumDash, 1, 32, "1-32 letters, digits or '-'"};
const Pattern kSiteId{isAlnum, isAlnumDash, 1, 16, "1-16 letters, digits or '-'"};
const Pattern kTestCode{isUpper, isUpperDigit, 1, 8, "an SDTM LBTESTCD (upper case, up to 8)"};
const Pattern kMeddraCode{isDigit, isDigit, 8, 8, "an 8-digit MedDRA code"};

// Reads the fields of one JSON object, remembering which names were read so that the rest can
// be reported as unknown, and collecting every problem into errors.
class Fields {
 public:
  Fields(const json& obj, std::string prefix, Errors& errors) : obj_(obj), prefix_(std::move(prefix)), errors_(errors) {
    if (!obj_.is_object()) {
      fail("", "must be a JSON object");
      valid_ = false;
    }
  }

  void fail(const std::string& name, const std::string& detail) {
    std::string path = prefix_ + name;
    if (!path.empty() && path.back() == '.') path.pop_back();
    errors_.push_back({path.empty() ? "(body)" : path, detail});
  }

  // The value under name, or nullptr when absent or null (reporting "is required" if needed).
  const json* get(const std::string& name, Need need) {
    seen_.insert(name);
    if (!valid_) return nullptr;
    auto it = obj_.find(name);
    if (it == obj_.end() || it->is_null()) {
      if (need == Need::kRequired) fail(name, "is required");
      return nullptr;
    }
    return &*it;
  }

  std::optional<std::string> string(const std::string& name, Need need, size_t max_len, bool allow_empty = false) {
    const json* v = get(name, need);
    if (!v) return std::nullopt;
    if (!v->is_string()) return fail(name, "must be a string"), std::nullopt;
    const auto& s = v->get_ref<const std::string&>();
    if (s.size() > max_len) return fail(name, "must be at most " + std::to_string(max_len) + " characters"), std::nullopt;
    if (!allow_empty && s.find_first_not_of(" \t\r\n") == std::string::npos)
      return fail(name, "must not be empty"), std::nullopt;
    return s;
  }

  std::optional<std::string> matching(const std::string& name, Need need, const Pattern& pattern) {
    auto s = string(name, need, 64);
    if (s && !pattern.matches(*s)) return fail(name, std::string("must be ") + pattern.description), std::nullopt;
    return s;
  }

  std::optional<double> number(const std::string& name, Need need, double min, double max) {
    const json* v = get(name, need);
    if (!v) return std::nullopt;
    if (!v->is_number()) return fail(name, "must be a number"), std::nullopt;
    const double d = v->get<double>();
    if (!std::isfinite(d) || d < min || d > max)
      return fail(name, "must be between " + fmt(min) + " and " + fmt(max)), std::nullopt;
    return d;
  }

  std::optional<int64_t> integer(const std::string& name, Need need, int64_t min, int64_t max) {
    const json* v = get(name, need);
    if (!v) return std::nullopt;
    if (!v->is_number_integer()) return fail(name, "must be an integer"), std::nullopt;
    const auto i = v->get<int64_t>();
    if (i < min || i > max)
      return fail(name, "must be between " + std::to_string(min) + " and " + std::to_string(max)), std::nullopt;
    return i;
  }

  std::optional<bool> boolean(const std::string& name, Need need) {
    const json* v = get(name, need);
    if (!v) return std::nullopt;
    if (!v->is_boolean()) return fail(name, "must be true or false"), std::nullopt;
    return v->get<bool>();
  }

  template <typename E>
  std::optional<E> enumeration(const std::string& name, Need need) {
    const json* v = get(name, need);
    if (!v) return std::nullopt;
    std::optional<E> e;
    if (v->is_string()) e = core::parseEnum<E>(v->get_ref<const std::string&>());
    if (!e) fail(name, "must be one of: " + core::enumChoices<E>());
    return e;
  }

  // A calendar date, returned as given (YYYY-MM-DD).
  std::optional<std::string> date(const std::string& name, Need need) {
    auto s = string(name, need, 10);
    if (s && !core::parseDate(*s)) return fail(name, "must be an ISO 8601 date YYYY-MM-DD"), std::nullopt;
    return s;
  }

  // A timestamp with zone, returned normalised to UTC ("...Z").
  std::optional<std::string> timestamp(const std::string& name, Need need) {
    auto s = string(name, need, 40);
    if (!s) return std::nullopt;
    auto ms = core::parseTimestamp(*s);
    if (!ms) return fail(name, "must be an ISO 8601 date-time with a zone, e.g. 2026-02-10T08:00:00Z"), std::nullopt;
    return core::formatTimestamp(*ms);
  }

  // A date or a zoned timestamp (SDTM --DTC allows both).
  std::optional<std::string> dateOrTimestamp(const std::string& name, Need need) {
    auto s = string(name, need, 40);
    if (!s) return std::nullopt;
    if (core::parseDate(*s)) return s;
    if (auto ms = core::parseTimestamp(*s)) return core::formatTimestamp(*ms);
    fail(name, "must be an ISO 8601 date (YYYY-MM-DD) or date-time with a zone");
    return std::nullopt;
  }

  const json* object(const std::string& name, Need need) {
    const json* v = get(name, need);
    if (v && !v->is_object()) return fail(name, "must be a JSON object"), nullptr;
    return v;
  }
  const json* array(const std::string& name, Need need) {
    const json* v = get(name, need);
    if (v && !v->is_array()) return fail(name, "must be a JSON array"), nullptr;
    return v;
  }

  std::string path(const std::string& name) const { return prefix_ + name; }

  // Reports every member that no accessor asked for.
  void rejectUnknown() {
    if (!valid_) return;
    for (auto it = obj_.begin(); it != obj_.end(); ++it)
      if (!seen_.count(it.key())) fail(it.key(), "is not a known field");
  }

 private:
  static std::string fmt(double d) {
    std::string s = std::to_string(d);
    s.erase(s.find_last_not_of('0') + 1);
    if (!s.empty() && s.back() == '.') s.pop_back();
    return s;
  }
  const json& obj_;
  std::string prefix_;
  Errors& errors_;
  std::set<std::string> seen_;
  bool valid_ = true;
};

// Writes one flat JSON object. Keys must be given in ascending order so the text equals
// nlohmann's dump() of the same object (its objects are sorted maps).
class FlatJsonWriter {
 public:
  FlatJsonWriter() { out_.reserve(320); out_ += '{'; }
  void key(std::string_view k) {
    if (out_.size() > 1) out_ += ',';
    string(k);
    out_ += ':';
  }
  void field(std::string_view k, std::string_view v) { key(k), string(v); }
  void field(std::string_view k, int64_t v) { key(k), out_ += std::to_string(v); }
  void field(std::string_view k, double v) { key(k), number(v); }
  void field(std::string_view k, const std::optional<double>& v) {
    key(k);
    if (v) number(*v);
    else out_ += "null";
  }
  // A value that is already JSON text.
  void raw(std::string_view k, std::string_view json_text) { key(k), out_ += json_text; }
  std::string finish() { return std::move(out_ += '}'); }

 private:
  void number(double v) { out_ += json(v).dump(); }  // nlohmann's exact number format
  void string(std::string_view s) {
    out_ += '"';
    core::appendJsonEscaped(out_, s);
    out_ += '"';
  }
  std::string out_;
};

json opt(const std::optional<std::string>& v) { return v ? json(*v) : json(nullptr); }
template <typename T>
json optNum(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

}  // namespace

std::string decodeSiteId(const std::string& id, Errors& errors) {
  if (!kSiteId.matches(id)) errors.push_back({"site", std::string("must be ") + kSiteId.description});
  return id;
}

core::Participant decodeParticipant(const json& body, Errors& errors) {
  Fields f(body, "", errors);
  core::Participant p;
  p.study_id = f.matching("study_id", Need::kRequired, kStudyId).value_or("");
  p.site = f.matching("site", Need::kRequired, kSiteId).value_or("");
  p.enrolled_on = f.date("enrolled_on", Need::kRequired).value_or("");
  p.liver_metastases = f.boolean("liver_metastases", Need::kRequired).value_or(false);
  p.prior_thoracic_radiotherapy = f.boolean("prior_thoracic_radiotherapy", Need::kRequired).value_or(false);
  if (const json* dose = f.object("dose_mg", Need::kOptional)) {
    Fields d(*dose, "dose_mg.", errors);
    // Protocol dose levels: anlotinib 12 / 10 / 8 mg, sintilimab 200 mg, never reduced
    // (clinical-rules.md s1). An explicit null means the drug is discontinued; an absent key
    // keeps the starting dose.
    auto level = [&](const char* name, std::optional<int>& slot, std::initializer_list<int> allowed, const char* rule) {
      if (!dose->contains(name) || (*dose)[name].is_null()) {
        d.get(name, Need::kOptional);
        if (dose->contains(name)) slot = std::nullopt;
        return;
      }
      if (auto v = d.integer(name, Need::kRequired, 0, 1000)) {
        if (std::find(allowed.begin(), allowed.end(), *v) == allowed.end()) d.fail(name, rule);
        slot = static_cast<int>(*v);
      }
    };
    level("anlotinib", p.anlotinib_dose_mg, {12, 10, 8}, "must be a protocol dose level: 12, 10 or 8 (null when discontinued)");
    level("sintilimab", p.sintilimab_dose_mg, {200}, "must be 200 (null when discontinued); sintilimab is never reduced");
    d.rejectUnknown();
  }
  if (const json* labs = f.array("baseline_labs", Need::kOptional)) {
    std::set<std::string> tests;
    for (size_t i = 0; i < labs->size(); ++i) {
      const std::string prefix = "baseline_labs[" + std::to_string(i) + "].";
      Fields l((*labs)[i], prefix, errors);
      core::BaselineLab b;
      b.test = l.matching("test", Need::kRequired, kTestCode).value_or("");
      b.value = l.number("value", Need::kRequired, -1e12, 1e12).value_or(0);
      b.unit = l.string("unit", Need::kRequired, 20).value_or("");
      b.lln = l.number("lln", Need::kOptional, -1e12, 1e12);
      b.uln = l.number("uln", Need::kOptional, -1e12, 1e12);
      b.collected_at = l.timestamp("collected_at", Need::kOptional);
      if (b.lln && b.uln && *b.lln > *b.uln) l.fail("lln", "must not exceed uln");
      if (!b.test.empty() && !tests.insert(b.test).second) l.fail("test", "duplicates another baseline of the same test");
      l.rejectUnknown();
      p.baseline_labs.push_back(std::move(b));
    }
  }
  for (const auto& key : rules::baselineFactKeys()) f.get(key, Need::kOptional);  // known keys
  p.facts = rules::readBaselineFacts(body, "", p.enrolled_on, errors);
  f.rejectUnknown();
  return p;
}

core::DoseRecord decodeDose(const json& body, Errors& errors) {
  Fields f(body, "", errors);
  core::DoseRecord d;
  d.study_id = f.matching("study_id", Need::kRequired, kStudyId).value_or("");
  const auto drug = f.enumeration<core::Drug>("drug", Need::kRequired);
  d.drug = drug.value_or(core::Drug::kAnlotinib);
  d.status = f.enumeration<core::DoseStatus>("status", Need::kRequired).value_or(core::DoseStatus::kGiven);
  d.dose_mg = f.number("dose_mg", Need::kOptional, 0, 1000);
  const auto route = f.enumeration<core::Route>("route", Need::kRequired);
  d.route = route.value_or(core::Route::kOral);
  d.date = f.date("date", Need::kRequired).value_or("");
  d.cycle = static_cast<int>(f.integer("cycle", Need::kRequired, 1, 1000).value_or(1));
  d.day = static_cast<int>(f.integer("day", Need::kRequired, 1, 21).value_or(1));
  f.rejectUnknown();
  if (d.status == core::DoseStatus::kGiven && (!d.dose_mg || *d.dose_mg <= 0))
    f.fail("dose_mg", "is required and must be above 0 when status is given");
  if (d.status != core::DoseStatus::kGiven && d.dose_mg && *d.dose_mg > 0)
    f.fail("dose_mg", "must be absent or 0 when the dose was held or missed");
  if (drug && route) {
    // Anlotinib is an oral capsule, sintilimab an intravenous infusion (clinical-rules.md s1).
    if (*drug == core::Drug::kAnlotinib && *route != core::Route::kOral) f.fail("route", "anlotinib is given orally");
    if (*drug == core::Drug::kSintilimab && *route != core::Route::kIntravenous)
      f.fail("route", "sintilimab is given intravenously");
  }
  if (drug == core::Drug::kAnlotinib && d.day > 14 && d.status == core::DoseStatus::kGiven)
    f.fail("day", "anlotinib is given on days 1-14 of each 21-day cycle");
  return d;
}

AeInput decodeAe(const json& body, bool is_update, Errors& errors) {
  Fields f(body, "", errors);
  AeInput in;
  auto& v = in.version;
  in.study_id = f.matching("study_id", is_update ? Need::kOptional : Need::kRequired, kStudyId)
                    .value_or("");
  v.verbatim = f.string("verbatim", Need::kRequired, 200).value_or("");
  v.ctcae_term = f.string("ctcae_term", Need::kRequired, 200).value_or("");
  v.meddra_code = f.matching("meddra_code", Need::kOptional, kMeddraCode).value_or("");
  const auto grade = f.integer("grade", Need::kRequired, 1, 5);
  v.grade = static_cast<int>(grade.value_or(1));
  if (const json* crit = f.array("serious_criteria", Need::kRequired)) {
    for (size_t i = 0; i < crit->size(); ++i) {
      const json& c = (*crit)[i];
      auto s = c.is_string() ? core::parseEnum<core::Seriousness>(c.get_ref<const std::string&>()) : std::nullopt;
      const std::string name = "serious_criteria[" + std::to_string(i) + "]";
      if (!s) {
        f.fail(name, "must be one of: " + core::enumChoices<core::Seriousness>());
      } else if (v.hasCriterion(*s)) {
        f.fail(name, "is listed twice");
      } else {
        v.serious_criteria.push_back(*s);
      }
    }
  }
  for (const char* group : {"relatedness", "action_taken"}) {
    const json* o = f.object(group, Need::kRequired);
    if (!o) continue;
    Fields per(*o, std::string(group) + ".", errors);
    for (core::Drug drug : core::kDrugs) {
      const std::string name(core::toString(drug));
      auto& slot = v.per_drug[static_cast<size_t>(drug)];
      if (std::string(group) == "relatedness")
        slot.relatedness = per.enumeration<core::Relatedness>(name, Need::kRequired);
      else
        slot.action = per.enumeration<core::ActionTaken>(name, Need::kRequired);
    }
    per.rejectUnknown();
  }
  const auto outcome = f.enumeration<core::Outcome>("outcome", Need::kRequired);
  v.outcome = outcome.value_or(core::Outcome::kUnknown);
  const auto start = f.dateOrTimestamp("start", Need::kRequired);
  v.start = start.value_or("");
  v.end = f.dateOrTimestamp("end", Need::kOptional);
  const auto aware = f.timestamp("site_aware_at", Need::kRequired);
  v.site_aware_at = aware.value_or("");
  if (const json* o = f.object("sponsor_relatedness", Need::kOptional)) {
    Fields per(*o, "sponsor_relatedness.", errors);
    for (core::Drug drug : core::kDrugs)
      v.sponsor_relatedness[static_cast<size_t>(drug)] =
          per.enumeration<core::Relatedness>(std::string(core::toString(drug)), Need::kOptional);
    per.rejectUnknown();
  }
  v.sponsor_aware_at = f.timestamp("sponsor_aware_at", Need::kOptional);
  v.steroid_start = f.date("steroid_start", Need::kOptional);
  v.narrative = f.string("narrative", Need::kOptional, 20000, true).value_or("");
  if (is_update) {
    // reason_for_change, as every correction names it (issue 16); "reason" as AE updates first did.
    const bool legacy = body.is_object() && body.contains("reason") && !body.contains("reason_for_change");
    in.reason = f.string(legacy ? "reason" : "reason_for_change", Need::kRequired, 1000).value_or("");
    if (auto b = f.integer("base_version", Need::kOptional, 1, 1000000)) in.base_version = static_cast<int>(*b);
  }
  f.rejectUnknown();

  // Coherence within the report.
  if (start && v.end && v.end->substr(0, 10) < start->substr(0, 10)) f.fail("end", "is before start");
  if (start && aware && aware->substr(0, 10) < start->substr(0, 10))
    f.fail("site_aware_at", "is before the event started");
  if (start && v.sponsor_aware_at && v.sponsor_aware_at->substr(0, 10) < start->substr(0, 10))
    f.fail("sponsor_aware_at", "is before the event started");
  // Death: CTCAE grade 5 is death related to the AE; ICH E2A criterion "results in death";
  // SDTM AEOUT FATAL. The three must agree.
  if (grade && outcome) {
    const bool g5 = *grade == 5, fatal = *outcome == core::Outcome::kFatal, death = v.hasCriterion(core::Seriousness::kDeath);
    if (g5 != fatal) f.fail("outcome", g5 ? "must be fatal for a grade 5 event" : "fatal requires grade 5");
    if (g5 != death) f.fail("serious_criteria", g5 ? "must include death for a grade 5 event" : "death requires grade 5");
  }
  if (outcome && (*outcome == core::Outcome::kRecovered || *outcome == core::Outcome::kRecoveredWithSequelae) && !v.end)
    f.fail("end", "is required when the outcome is " + std::string(core::toString(*outcome)));
  if (outcome && (*outcome == core::Outcome::kRecovering || *outcome == core::Outcome::kNotRecovered) && v.end)
    f.fail("end", "must be absent while the outcome is " + std::string(core::toString(*outcome)));
  return in;
}

core::LabResult decodeLab(const json& body, const std::string& prefix, Errors& errors) {
  Fields f(body, prefix, errors);
  core::LabResult l;
  l.study_id = f.matching("study_id", Need::kRequired, kStudyId).value_or("");
  l.test = f.matching("test", Need::kRequired, kTestCode).value_or("");
  l.value = f.number("value", Need::kRequired, -1e12, 1e12).value_or(0);
  l.unit = f.string("unit", Need::kRequired, 20).value_or("");
  l.lln = f.number("lln", Need::kOptional, -1e12, 1e12);
  l.uln = f.number("uln", Need::kOptional, -1e12, 1e12);
  l.collected_at = f.timestamp("collected_at", Need::kRequired).value_or("");
  l.specimen = f.string("specimen", Need::kOptional, 40).value_or("");
  f.rejectUnknown();
  if (l.lln && l.uln && *l.lln > *l.uln) f.fail("lln", "must not exceed uln");
  return l;
}

core::VitalSigns decodeVitals(const json& body, Errors& errors) {
  Fields f(body, "", errors);
  core::VitalSigns v;
  v.study_id = f.matching("study_id", Need::kRequired, kStudyId).value_or("");
  v.measured_at = f.timestamp("measured_at", Need::kRequired).value_or("");
  // Physiologically possible ranges: values outside are entry errors, not toxicities.
  auto i = [&](const char* name, int64_t lo, int64_t hi) -> std::optional<int> {
    auto x = f.integer(name, Need::kOptional, lo, hi);
    return x ? std::optional<int>(static_cast<int>(*x)) : std::nullopt;
  };
  v.systolic_mmhg = i("systolic_mmhg", 40, 300);
  v.diastolic_mmhg = i("diastolic_mmhg", 20, 200);
  v.heart_rate_bpm = i("heart_rate_bpm", 20, 300);
  v.temperature_c = f.number("temperature_c", Need::kOptional, 30, 45);
  v.weight_kg = f.number("weight_kg", Need::kOptional, 20, 300);
  v.qtc_ms = i("qtc_ms", 200, 800);
  f.rejectUnknown();
  if (v.systolic_mmhg && v.diastolic_mmhg && *v.diastolic_mmhg >= *v.systolic_mmhg)
    f.fail("diastolic_mmhg", "must be below systolic_mmhg");
  if (!v.systolic_mmhg && !v.diastolic_mmhg && !v.heart_rate_bpm && !v.temperature_c && !v.weight_kg && !v.qtc_ms &&
      body.is_object())
    f.fail("(body)", "at least one measurement is required");
  return v;
}

Correction splitCorrection(const json& body, Errors& errors) {
  Correction out;
  if (!body.is_object()) {
    errors.push_back({"(body)", "must be a JSON object"});
    return out;
  }
  out.fields = body;
  Fields f(body, "", errors);
  out.reason = f.string("reason_for_change", Need::kRequired, 1000).value_or("");
  if (auto b = f.integer("base_version", Need::kOptional, 1, 1000000)) out.base_version = static_cast<int>(*b);
  out.fields.erase("reason_for_change");
  out.fields.erase("base_version");
  return out;
}

std::string decodeVoidReason(const json& body, Errors& errors) {
  Fields f(body, "", errors);
  std::string reason = f.string("reason_for_change", Need::kRequired, 1000).value_or("");
  f.rejectUnknown();
  return reason;
}

// A correctable record's revision (issue 16): its version always; the reason for change once one
// was given; "voided" only on a void.
void addRevision(json& out, const core::Revision& r) {
  out["version"] = r.version;
  if (!r.reason.empty()) out["reason_for_change"] = r.reason;
  if (r.voided) out["voided"] = true;
}

json toJson(const core::Participant& p) {
  json labs = json::array();
  for (const auto& b : p.baseline_labs)
    labs.push_back({{"test", b.test}, {"value", b.value}, {"unit", b.unit}, {"lln", optNum(b.lln)},
                    {"uln", optNum(b.uln)}, {"collected_at", opt(b.collected_at)}});
  json out = {{"study_id", p.study_id},
              {"site", p.site},
              {"enrolled_on", p.enrolled_on},
              {"liver_metastases", p.liver_metastases},
              {"prior_thoracic_radiotherapy", p.prior_thoracic_radiotherapy},
              {"dose_mg", {{"anlotinib", optNum(p.anlotinib_dose_mg)}, {"sintilimab", optNum(p.sintilimab_dose_mg)}}},
              {"baseline_labs", std::move(labs)},
              {"created_at", p.created_at},
              {"created_by", p.created_by}};
  rules::writeBaselineFacts(p.facts, out);
  addRevision(out, p.revision);
  return out;
}

json toJson(const core::DoseRecord& d) {
  json out = {{"id", d.id},         {"study_id", d.study_id},    {"drug", core::toString(d.drug)},
          {"dose_mg", optNum(d.dose_mg)}, {"route", core::toString(d.route)}, {"date", d.date},
          {"cycle", d.cycle},   {"day", d.day},              {"status", core::toString(d.status)},
          {"recorded_at", d.recorded_at}, {"recorded_by", d.recorded_by}};
  addRevision(out, d.revision);
  return out;
}

json toJson(const core::AeVersion& v) {
  json criteria = json::array();
  for (auto c : v.serious_criteria) criteria.push_back(core::toString(c));
  json rel = json::object(), act = json::object(), sponsor = json::object();
  for (core::Drug drug : core::kDrugs) {
    const auto& slot = v.per_drug[static_cast<size_t>(drug)];
    const auto& sp = v.sponsor_relatedness[static_cast<size_t>(drug)];
    sponsor[std::string(core::toString(drug))] = sp ? json(core::toString(*sp)) : json(nullptr);
    rel[std::string(core::toString(drug))] = slot.relatedness ? json(core::toString(*slot.relatedness)) : json(nullptr);
    act[std::string(core::toString(drug))] = slot.action ? json(core::toString(*slot.action)) : json(nullptr);
  }
  json out = {{"version", v.version},
          {"verbatim", v.verbatim},
          {"ctcae_term", v.ctcae_term},
          {"meddra_code", v.meddra_code},
          {"grade", v.grade},
          {"serious", v.serious()},
          {"serious_criteria", std::move(criteria)},
          {"relatedness", std::move(rel)},
          {"action_taken", std::move(act)},
          {"outcome", core::toString(v.outcome)},
          {"start", v.start},
          {"end", opt(v.end)},
          {"site_aware_at", v.site_aware_at},
          {"sponsor_relatedness", std::move(sponsor)},
          {"sponsor_aware_at", opt(v.sponsor_aware_at)},
          {"steroid_start", opt(v.steroid_start)},
          {"narrative", v.narrative},
          {"recorded_at", v.recorded_at},
          {"recorded_by", v.recorded_by},
          {"reason", v.reason}};
  if (v.voided) out["voided"] = true;  // issue 16: only on a void, so earlier versions read as before
  return out;
}

json toJson(const core::AeReport& r, bool with_history) {
  json out = toJson(r.current());
  out["id"] = r.id;
  out["study_id"] = r.study_id;
  out["site"] = r.site;
  if (with_history) {
    json versions = json::array();
    for (const auto& v : r.versions) versions.push_back(toJson(v));
    out["versions"] = std::move(versions);
  }
  return out;
}

json toJson(const core::LabResult& l) {
  json out = {{"id", l.id},           {"study_id", l.study_id},         {"test", l.test},
          {"grades", json::parse(l.grades_json)},
          {"value", l.value},     {"unit", l.unit},                 {"lln", optNum(l.lln)},
          {"unit_canonical", l.unit_canonical.empty() ? json(nullptr) : json(l.unit_canonical)},
          {"uln", optNum(l.uln)}, {"collected_at", l.collected_at}, {"specimen", l.specimen},
          {"recorded_at", l.recorded_at}, {"recorded_by", l.recorded_by}};
  addRevision(out, l.revision);
  return out;
}

std::string toJsonText(const core::LabResult& l) {
  FlatJsonWriter w;
  w.field("collected_at", l.collected_at);
  w.raw("grades", l.grades_json);
  w.field("id", l.id);
  w.field("lln", l.lln);
  if (!l.revision.reason.empty()) w.field("reason_for_change", l.revision.reason);
  w.field("recorded_at", l.recorded_at);
  w.field("recorded_by", l.recorded_by);
  w.field("specimen", l.specimen);
  w.field("study_id", l.study_id);
  w.field("test", l.test);
  w.field("uln", l.uln);
  w.field("unit", l.unit);
  if (l.unit_canonical.empty()) w.raw("unit_canonical", "null");
  else w.field("unit_canonical", l.unit_canonical);
  w.field("value", l.value);
  w.field("version", static_cast<int64_t>(l.revision.version));
  if (l.revision.voided) w.raw("voided", "true");
  return w.finish();
}

json toJson(const core::VitalSigns& v) {
  json out = {{"id", v.id},
          {"study_id", v.study_id},
          {"measured_at", v.measured_at},
          {"systolic_mmhg", optNum(v.systolic_mmhg)},
          {"diastolic_mmhg", optNum(v.diastolic_mmhg)},
          {"heart_rate_bpm", optNum(v.heart_rate_bpm)},
          {"temperature_c", optNum(v.temperature_c)},
          {"weight_kg", optNum(v.weight_kg)},
          {"qtc_ms", optNum(v.qtc_ms)},
          {"grades", json::parse(v.grades_json)},
          {"recorded_at", v.recorded_at},
          {"recorded_by", v.recorded_by}};
  addRevision(out, v.revision);
  return out;
}

json toJson(const core::ReportingDeadline& d, int64_t as_of_ms) {
  const std::string state = !d.met_at.empty() ? "met" : as_of_ms >= core::parseTimestamp(d.due_at).value_or(0) ? "overdue" : "due";
  json out = {{"id", d.id},
              {"ae_id", d.ae_id},
              {"study_id", d.study_id},
              {"site", d.site},
              {"kind", d.kind},
              {"due", d.due_at},
              {"anchor", d.anchor},
              {"state", state},
              {"opened_in_version", d.opened_in_version},
              {"no_longer_required_since_version", optNum(d.no_longer_required_since_version)}};
  if (!d.met_at.empty()) {
    out["met_at"] = d.met_at;
    out["met_reference"] = d.met_reference;
    out["met_by"] = d.met_by;
  }
  return out;
}

json toJson(const core::PregnancyReport& p) {
  json out = {{"id", p.id},
          {"study_id", p.study_id},
          {"subject", p.subject},
          {"site_aware_at", p.site_aware_at},
          {"outcome", p.outcome},
          {"outcome_aware_at", p.outcome_aware_at ? json(*p.outcome_aware_at) : json(nullptr)},
          {"recorded_at", p.recorded_at},
          {"recorded_by", p.recorded_by}};
  addRevision(out, p.revision);
  return out;
}

json toJson(const core::ConcomitantMedication& m) {
  auto opt = [](const auto& v) { return v ? json(*v) : json(nullptr); };
  json out = {{"id", m.id},
          {"study_id", m.study_id},
          {"name", m.name},
          {"category", m.category},
          {"drug_class", m.drug_class.empty() ? json(nullptr) : json(m.drug_class)},
          {"dose", opt(m.dose)},
          {"unit", m.unit.empty() ? json(nullptr) : json(m.unit)},
          {"route", m.route},
          {"frequency", m.frequency},
          {"start", m.start},
          {"end", opt(m.end)},
          {"indication", m.indication.empty() ? json(nullptr) : json(m.indication)},
          {"indication_ae_id", opt(m.indication_ae_id)},
          {"recorded_at", m.recorded_at},
          {"recorded_by", m.recorded_by}};
  addRevision(out, m.revision);
  return out;
}

json toJson(const core::SafetyChange& c) {
  return {{"id", c.id},         {"study_id", c.study_id}, {"at", c.at},       {"kind", c.kind},
          {"subject", c.subject}, {"detail", json::parse(c.detail)}, {"actor", c.actor}, {"cause", c.cause}};
}

json toJson(const core::AeCandidate& c) {
  json out = {{"id", c.id},
              {"study_id", c.study_id},
              {"ctcae_term", c.ctcae_term},
              {"meddra_code", c.meddra_code},
              {"grade", c.grade},
              {"worst_case_grade", c.worst_case_grade},
              {"baseline_grade", c.baseline_grade},
              {"source", c.source},
              {"source_ids", c.source_ids},
              {"from_24h_urine", c.from_24h_urine},
              {"status", core::toString(c.status)},
              {"ae_id", c.ae_id ? json(*c.ae_id) : json(nullptr)},
              {"created_at", c.created_at},
              {"updated_at", c.updated_at}};
  if (!c.qualifier.empty()) out["qualifier"] = c.qualifier;
  if (c.status != core::CandidateStatus::kPending) {
    out["decided_by"] = c.decided_by;
    out["decided_at"] = c.decided_at;
    out["decision_reason"] = c.decision_reason;
  }
  return out;
}

}  // namespace vigil::intake
