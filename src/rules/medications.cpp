#include "rules/medications.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "core/time.h"

namespace vigil::rules {
namespace {

using json = nlohmann::json;
using core::kDayMs;

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// The generic name's first word, lower case: "Methylprednisolone sodium succinate" -> methylprednisolone.
std::string firstWord(const std::string& name) {
  std::string w;
  for (char c : name) {
    if (std::isspace(static_cast<unsigned char>(c)) || c == '(' || c == ',') {
      if (!w.empty()) break;
      continue;
    }
    w += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return w;
}

// mg per unit of a corticosteroid dose; none for a unit that is not a mass.
std::optional<double> mgPer(const std::string& unit) {
  const std::string u = lower(unit);
  if (u == "mg") return 1.0;
  if (u == "g") return 1000.0;
  if (u == "ug" || u == "mcg" || u == "\xC2\xB5g" || u == "\xCE\xBCg") return 0.001;
  return std::nullopt;
}

bool sameOrBelow(double v, double limit) {
  // Equal to 9 significant digits is equal: 2 x 5 mg is 10 mg whatever the binary rounding.
  return v <= limit || std::fabs(v - limit) <= 1e-9 * std::max(1.0, std::fabs(limit));
}

}  // namespace

MedicationSettings parseMedicationSettings(const json& j) {
  static const std::set<std::string> kKeys = {
      "steroid_equivalent_mg", "steroid_equivalent_source", "routes", "systemic_routes", "doses_per_day",
      "doses_per_day_source", "resume_prednisone_max_mg_day", "resume_prednisone_source", "resume_prednisone_verified",
      "taper_min_days", "taper_source", "taper_verified", "anticoagulation_stable_days",
      "anticoagulation_stable_source", "anticoagulation_stable_verified"};
  for (auto it = j.begin(); it != j.end(); ++it)
    if (!kKeys.count(it.key())) throw std::invalid_argument("medications." + it.key() + ": not a known key");
  MedicationSettings s;
  auto source = [&](const char* key) {
    std::string v = j.at(key).get<std::string>();
    if (v.empty()) throw std::invalid_argument(std::string("medications.") + key + ": every number cites its source");
    return v;
  };
  for (const auto& [name, mg] : j.at("steroid_equivalent_mg").items()) {
    const double v = mg.get<double>();
    if (!(v > 0) || lower(name) != name) throw std::invalid_argument("medications.steroid_equivalent_mg." + name + ": a lower-case name and mg > 0");
    s.steroid_equivalent_mg[name] = v;
  }
  if (!s.steroid_equivalent_mg.count("prednisone"))
    throw std::invalid_argument("medications.steroid_equivalent_mg: prednisone is the reference and must be listed");
  s.steroid_equivalent_source = source("steroid_equivalent_source");
  for (const auto& r : j.at("routes")) s.routes.insert(r.get<std::string>());
  for (const auto& r : j.at("systemic_routes")) {
    if (!s.routes.count(r.get<std::string>())) throw std::invalid_argument("medications.systemic_routes: " + r.get<std::string>() + " is not a route");
    s.systemic_routes.insert(r.get<std::string>());
  }
  for (const auto& [f, n] : j.at("doses_per_day").items()) {
    const double v = n.get<double>();
    if (!(v > 0) || v > 48) throw std::invalid_argument("medications.doses_per_day." + f + ": must be > 0 and <= 48");
    s.doses_per_day[f] = v;
  }
  source("doses_per_day_source");
  s.resume_prednisone_max_mg_day = j.at("resume_prednisone_max_mg_day").get<double>();
  if (!(s.resume_prednisone_max_mg_day >= 0)) throw std::invalid_argument("medications.resume_prednisone_max_mg_day: >= 0");
  s.resume_prednisone_source = source("resume_prednisone_source");
  s.resume_prednisone_verified = j.at("resume_prednisone_verified").get<bool>();
  s.taper_min_days = j.at("taper_min_days").get<int>();
  if (s.taper_min_days < 1) throw std::invalid_argument("medications.taper_min_days: >= 1");
  s.taper_source = source("taper_source");
  s.taper_verified = j.at("taper_verified").get<bool>();
  s.anticoagulation_stable_days = j.at("anticoagulation_stable_days").get<int>();
  if (s.anticoagulation_stable_days < 0) throw std::invalid_argument("medications.anticoagulation_stable_days: >= 0");
  s.anticoagulation_stable_source = source("anticoagulation_stable_source");
  s.anticoagulation_stable_verified = j.at("anticoagulation_stable_verified").get<bool>();
  return s;
}

void checkMedication(const MedicationSettings& s, core::ConcomitantMedication& m, std::vector<core::FieldError>& errors,
                     const std::string& prefix) {
  // A field the caller already reported (a required one missing) is not reported twice.
  auto bad = [&](const std::string& field, std::string detail) {
    const std::string name = prefix + field;
    if (std::none_of(errors.begin(), errors.end(), [&](const core::FieldError& e) { return e.field == name; }))
      errors.push_back({name, std::move(detail)});
  };
  auto joined = [](const auto& list) {
    std::string out;
    for (const auto& x : list) out += (out.empty() ? "" : ", ") + std::string(x);
    return out;
  };
  if (m.name.empty() || m.name.size() > 200) bad("name", "is required: the generic name, at most 200 characters");
  m.category = lower(m.category);
  if (std::none_of(std::begin(kMedicationCategories), std::end(kMedicationCategories),
                   [&](const char* c) { return m.category == c; }))
    bad("category", "must be one of: " + joined(kMedicationCategories));
  m.route = lower(m.route);
  if (!s.routes.count(m.route)) bad("route", "must be one of: " + joined(s.routes));
  std::string f = m.frequency == "once" || lower(m.frequency) == "once" ? "once" : upper(m.frequency);
  if (!s.doses_per_day.count(f)) {
    std::vector<std::string> keys;
    for (const auto& [k, v] : s.doses_per_day) keys.push_back(k);
    bad("frequency", "must be one of: " + joined(keys));
  } else {
    m.frequency = f;
  }
  if (m.dose && !(std::isfinite(*m.dose) && *m.dose > 0 && *m.dose <= 1e6)) bad("dose", "must be a number above 0 (per administration)");
  if (m.unit.size() > 20) bad("unit", "at most 20 characters");
  if (m.drug_class.size() > 60) bad("drug_class", "at most 60 characters");
  if (m.indication.size() > 200) bad("indication", "at most 200 characters");
  const auto start = core::parseDate(m.start);
  if (!start) bad("start", "is required: a date YYYY-MM-DD");
  if (m.end) {
    const auto end = core::parseDate(*m.end);
    if (!end) bad("end", "must be a date YYYY-MM-DD (the last day taken), or absent while it continues");
    else if (start && *end < *start) bad("end", "is before start");
  }
  if (m.category == "corticosteroid" && s.systemic_routes.count(m.route)) {
    // Every rule on steroids reads the prednisone-equivalent dose: it must be computable.
    if (!s.steroid_equivalent_mg.count(firstWord(m.name)))
      bad("name", "a systemic corticosteroid must be one of the conversion table's: " + joined([&] {
            std::vector<std::string> k;
            for (const auto& [n, v] : s.steroid_equivalent_mg) k.push_back(n);
            return k;
          }()));
    if (!m.dose) bad("dose", "is required for a systemic corticosteroid (per administration)");
    if (!mgPer(m.unit)) bad("unit", "a systemic corticosteroid's dose is in mg, g or ug");
  }
  if (m.category == "antihypertensive" && !m.drug_class.empty()) m.drug_class = lower(m.drug_class);
}

ScenarioMedication scenarioMedication(const core::ConcomitantMedication& m, const std::string& ref) {
  ScenarioMedication out;
  out.ref = ref;
  out.name = m.name;
  out.category = m.category;
  out.drug_class = m.drug_class;
  out.dose = m.dose;
  out.unit = m.unit;
  out.route = m.route;
  out.frequency = m.frequency;
  out.start_ms = core::parseDate(m.start).value_or(0) * kDayMs;
  if (m.frequency == "once") out.end_ms = out.start_ms + kDayMs;
  else if (m.end)
    if (auto d = core::parseDate(*m.end)) out.end_ms = (*d + 1) * kDayMs;
  if (m.indication_ae_id) out.indication_ref = "ae/" + std::to_string(*m.indication_ae_id);
  out.has_indication = m.indication_ae_id.has_value() || !m.indication.empty();
  return out;
}

namespace {
bool activeAt(const ScenarioMedication& m, int64_t t) { return m.start_ms <= t && (!m.end_ms || t < *m.end_ms); }
}  // namespace

MedicationTimeline::MedicationTimeline(const MedicationSettings& settings, const std::vector<ScenarioMedication>& meds)
    : settings_(settings), meds_(meds) {
  std::vector<const ScenarioMedication*> steroids;
  std::vector<int64_t> times;
  for (const auto& m : meds_) {
    if (!systemicSteroid(m)) continue;
    steroids.push_back(&m);
    times.push_back(m.start_ms);
    if (m.end_ms) times.push_back(*m.end_ms);
    if (!m.indication_ref.empty()) steroids_by_ae_[m.indication_ref].push_back(&m);
    else if (!m.has_indication) steroids_without_indication_.push_back(&m);
  }
  std::sort(times.begin(), times.end());
  times.erase(std::unique(times.begin(), times.end()), times.end());
  // Each total summed afresh (not by adding and taking away), so a day without steroids is 0 exactly.
  for (int64_t t : times) {
    double total = 0;
    for (const ScenarioMedication* m : steroids)
      if (activeAt(*m, t)) total += prednisoneOf(*m);
    steroid_totals_.emplace_back(t, total);
  }
  auto byStart = [](const ScenarioMedication* a, const ScenarioMedication* b) { return a->start_ms < b->start_ms; };
  std::stable_sort(steroids_without_indication_.begin(), steroids_without_indication_.end(), byStart);
}

bool MedicationTimeline::systemicSteroid(const ScenarioMedication& m) const {
  return m.category == "corticosteroid" && settings_.systemic_routes.count(m.route);
}

double MedicationTimeline::prednisoneOf(const ScenarioMedication& m) const {
  if (!systemicSteroid(m) || !m.dose) return 0;
  auto eq = settings_.steroid_equivalent_mg.find(firstWord(m.name));
  auto per = settings_.doses_per_day.find(m.frequency);
  const auto mg = mgPer(m.unit);
  if (eq == settings_.steroid_equivalent_mg.end() || per == settings_.doses_per_day.end() || !mg) return 0;
  return *m.dose * *mg * per->second * settings_.steroid_equivalent_mg.at("prednisone") / eq->second;
}

double MedicationTimeline::prednisoneAt(int64_t t) const {
  // The last change at or before t; before the first, none.
  auto it = std::upper_bound(steroid_totals_.begin(), steroid_totals_.end(), t,
                             [](int64_t v, const std::pair<int64_t, double>& p) { return v < p.first; });
  return it == steroid_totals_.begin() ? 0.0 : std::prev(it)->second;
}

std::optional<int64_t> MedicationTimeline::prednisoneAtMostFrom(int64_t from, double limit) const {
  if (sameOrBelow(prednisoneAt(from), limit)) return from;
  // The total changes only where a record starts or ends.
  auto it = std::upper_bound(steroid_totals_.begin(), steroid_totals_.end(), from,
                             [](int64_t v, const std::pair<int64_t, double>& p) { return v < p.first; });
  for (; it != steroid_totals_.end(); ++it)
    if (sameOrBelow(it->second, limit)) return it->first;
  return std::nullopt;
}

bool MedicationTimeline::anticoagulatedAt(int64_t t) const {
  return std::any_of(meds_.begin(), meds_.end(),
                     [&](const ScenarioMedication& m) { return m.category == "anticoagulant" && activeAt(m, t); });
}

std::optional<int64_t> MedicationTimeline::stableAnticoagulationFrom(int64_t from, int days) const {
  std::optional<int64_t> best;
  for (const auto& m : meds_) {
    if (m.category != "anticoagulant") continue;
    // Counted from the later of the record's start and `from` (the hold): anticoagulation that was
    // already running when the event began has not yet been shown to hold it.
    const int64_t t = std::max(from, m.start_ms) + days * kDayMs;
    if (m.end_ms && t >= *m.end_ms) continue;
    if (!best || t < *best) best = t;
  }
  return best;
}

std::vector<std::pair<int64_t, double>> MedicationTimeline::steroidSteps(
    const std::vector<const ScenarioMedication*>& steroids) const {
  std::vector<std::pair<int64_t, double>> out;
  for (const ScenarioMedication* m : steroids) {
    double total = 0;
    for (const ScenarioMedication* o : steroids)
      if (activeAt(*o, m->start_ms)) total += prednisoneOf(*o);
    out.emplace_back(m->start_ms, total);
  }
  return out;
}

bool MedicationTimeline::anySystemicSteroid() const {
  return std::any_of(meds_.begin(), meds_.end(), [&](const ScenarioMedication& m) { return systemicSteroid(m); });
}

int MedicationTimeline::antihypertensiveClassesAt(int64_t t) const {
  std::set<std::string> classes;
  for (const auto& m : meds_)
    if (m.category == "antihypertensive" && activeAt(m, t)) classes.insert(m.drug_class.empty() ? lower(m.name) : m.drug_class);
  return static_cast<int>(classes.size());
}

std::vector<const ScenarioMedication*> MedicationTimeline::steroidsFor(const std::string& ref, int64_t onset_ms,
                                                                       std::optional<int64_t> resolved_ms,
                                                                       bool irae) const {
  std::vector<const ScenarioMedication*> out;
  if (auto it = steroids_by_ae_.find(ref); it != steroids_by_ae_.end()) out = it->second;
  if (irae) {
    // Those with no indication that began between the onset day and the resolution.
    const int64_t onset_day = onset_ms / kDayMs * kDayMs;
    auto first = std::lower_bound(steroids_without_indication_.begin(), steroids_without_indication_.end(), onset_day,
                                  [](const ScenarioMedication* m, int64_t v) { return m->start_ms < v; });
    for (auto it = first; it != steroids_without_indication_.end() && (!resolved_ms || (*it)->start_ms <= *resolved_ms); ++it)
      out.push_back(*it);
  }
  std::stable_sort(out.begin(), out.end(), [](const auto* a, const auto* b) { return a->start_ms < b->start_ms; });
  return out;
}

}  // namespace vigil::rules
