#include "rules/scenario_json.h"

#include "rules/baseline_facts.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "core/time.h"
#include "grading/measurement_grading.h"

namespace vigil::rules {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;
using core::FieldError;

using core::kDayMs;

class Reader {
 public:
  explicit Reader(std::vector<FieldError>& errors) : errors_(errors) {}

  void bad(const std::string& field, std::string detail) { errors_.push_back({field, std::move(detail)}); }

  void onlyKeys(const json& j, std::initializer_list<const char*> allowed, const std::string& path) {
    onlyKeys(j, std::vector<std::string>(allowed.begin(), allowed.end()), path);
  }
  void onlyKeys(const json& j, const std::vector<std::string>& allowed, const std::string& path) {
    for (const auto& item : j.items()) {
      const std::string& key = item.key();  // not a structured binding: clang 14 cannot capture one
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) bad(path + key, "unknown field");
    }
  }

  std::optional<std::string> text(const json& j, const char* key, const std::string& path, bool required) {
    if (!j.contains(key) || j.at(key).is_null()) {
      if (required) bad(path + key, "required");
      return std::nullopt;
    }
    if (!j.at(key).is_string() || j.at(key).get<std::string>().empty()) {
      bad(path + key, "must be a non-empty string");
      return std::nullopt;
    }
    return j.at(key).get<std::string>();
  }

  std::optional<double> number(const json& j, const char* key, const std::string& path, bool required) {
    if (!j.contains(key) || j.at(key).is_null()) {
      if (required) bad(path + key, "required");
      return std::nullopt;
    }
    if (!j.at(key).is_number()) {
      bad(path + key, "must be a number");
      return std::nullopt;
    }
    return j.at(key).get<double>();
  }

  // A date (00:00 UTC) or a timestamp with its zone.
  std::optional<int64_t> when(const json& j, const char* key, const std::string& path, bool required) {
    auto t = text(j, key, path, required);
    if (!t) return std::nullopt;
    if (auto ms = core::parseInstant(*t)) return *ms;
    bad(path + key, "must be a date YYYY-MM-DD or a timestamp with its zone");
    return std::nullopt;
  }

  std::optional<int64_t> timestamp(const json& j, const char* key, const std::string& path, bool required) {
    auto t = text(j, key, path, required);
    if (!t) return std::nullopt;
    if (auto ts = core::parseTimestamp(*t)) return *ts;
    bad(path + key, "must be a timestamp with its zone, e.g. 2026-02-10T08:00:00Z");
    return std::nullopt;
  }

  std::array<std::optional<core::Relatedness>, 2> relatedness(const json& j, const char* key, const std::string& path) {
    std::array<std::optional<core::Relatedness>, 2> out;
    if (!j.contains(key) || j.at(key).is_null()) return out;
    const json& r = j.at(key);
    if (!r.is_object()) {
      bad(path + key, "must be an object {\"anlotinib\": ..., \"sintilimab\": ...}");
      return out;
    }
    onlyKeys(r, {"anlotinib", "sintilimab"}, path + key + ".");
    for (core::Drug d : core::kDrugs) {
      const std::string name(core::toString(d));
      if (!r.contains(name) || r.at(name).is_null()) continue;
      const auto v = r.at(name).is_string() ? core::parseEnum<core::Relatedness>(r.at(name).get<std::string>()) : std::nullopt;
      if (!v) bad(path + key + "." + name, "must be one of: " + core::enumChoices<core::Relatedness>());
      out[static_cast<size_t>(d)] = v;
    }
    return out;
  }

 private:
  std::vector<FieldError>& errors_;
};

const json& arrayOr(const json& doc, const char* key, Reader& rd) {
  static const json kEmpty = json::array();
  if (!doc.contains(key) || doc.at(key).is_null()) return kEmpty;
  if (!doc.at(key).is_array()) {
    rd.bad(key, "must be an array");
    return kEmpty;
  }
  return doc.at(key);
}

}  // namespace

std::string isoTime(int64_t ms) {
  std::string s = core::formatTimestamp(ms);
  if (s.size() > 5 && s.compare(s.size() - 5, 5, ".000Z") == 0) s = s.substr(0, s.size() - 5) + "Z";
  return s;
}

core::Result<Scenario> parseScenario(const json& doc, const grading::Catalogue& catalogue,
                                     const grading::LabGrader& grader, const DoseRules& rules) {
  const MedicationSettings& medications = rules.medications();
  std::vector<FieldError> errors;
  Reader rd(errors);
  Scenario s;
  if (!doc.is_object()) return core::Status::invalid("the scenario must be a JSON object");
  rd.onlyKeys(doc, {"as_of", "participant", "doses", "adverse_events", "labs", "vitals", "pregnancies",
                    "concomitant_medications"},
              "");
  if (auto t = rd.timestamp(doc, "as_of", "", true)) s.as_of_ms = *t;

  core::Participant& p = s.participant;
  if (!doc.contains("participant") || !doc.at("participant").is_object()) {
    rd.bad("participant", "required object");
  } else {
    const json& pj = doc.at("participant");
    std::vector<std::string> participant_keys = {"id", "site", "enrolled", "liver_metastases", "prior_thoracic_radiotherapy",
                                                 "baseline_labs", "dose_mg"};
    for (const auto& k : baselineFactKeys()) participant_keys.push_back(k);
    rd.onlyKeys(pj, participant_keys, "participant.");
    p.study_id = rd.text(pj, "id", "participant.", true).value_or("");
    p.site = rd.text(pj, "site", "participant.", false).value_or("");
    if (auto e = rd.text(pj, "enrolled", "participant.", false)) {
      if (!core::parseDate(*e)) rd.bad("participant.enrolled", "must be a date YYYY-MM-DD");
      p.enrolled_on = *e;
    }
    for (const char* flag : {"liver_metastases", "prior_thoracic_radiotherapy"}) {
      if (!pj.contains(flag) || pj.at(flag).is_null()) continue;
      if (!pj.at(flag).is_boolean()) rd.bad(std::string("participant.") + flag, "must be true or false");
      else (std::string(flag) == "liver_metastases" ? p.liver_metastases : p.prior_thoracic_radiotherapy) = pj.at(flag).get<bool>();
    }
    if (pj.contains("baseline_labs")) {
      size_t i = 0;
      for (const auto& b : arrayOr(pj, "baseline_labs", rd)) {
        const std::string path = "participant.baseline_labs[" + std::to_string(i++) + "].";
        if (!b.is_object()) {
          rd.bad(path.substr(0, path.size() - 1), "must be an object");
          continue;
        }
        rd.onlyKeys(b, {"test", "value", "unit", "lln", "uln", "collected"}, path);
        core::BaselineLab bl;
        bl.test = rd.text(b, "test", path, true).value_or("");
        bl.value = rd.number(b, "value", path, true).value_or(0);
        bl.unit = rd.text(b, "unit", path, false).value_or("");
        bl.lln = rd.number(b, "lln", path, false);
        bl.uln = rd.number(b, "uln", path, false);
        if (auto t = rd.timestamp(b, "collected", path, false)) bl.collected_at = core::formatTimestamp(*t);
        if (!bl.test.empty()) {
          auto bad = isHbvTest(rules.hbv(), bl.test) ? checkHbvLab(rules.hbv(), bl.value, bl.unit)
                                                     : grading::checkLab(grader, bl.test, bl.value, bl.unit);
          if (bad) rd.bad(path + bad->field, bad->detail);
        }
        p.baseline_labs.push_back(std::move(bl));
      }
    }
    std::vector<core::FieldError> fact_errors;
    p.facts = readBaselineFacts(pj, "participant.", p.enrolled_on, fact_errors);
    for (const auto& e : fact_errors) rd.bad(e.field, e.detail);
    if (pj.contains("dose_mg") && !pj.at("dose_mg").is_null()) {
      const json& d = pj.at("dose_mg");
      if (!d.is_object()) {
        rd.bad("participant.dose_mg", "must be an object {\"anlotinib\": 12, \"sintilimab\": 200}");
      } else {
        rd.onlyKeys(d, {"anlotinib", "sintilimab"}, "participant.dose_mg.");
        auto level = [&](const char* drug, std::optional<int>& out, std::vector<int> allowed) {
          if (!d.contains(drug)) return;
          if (d.at(drug).is_null()) {
            out.reset();
            return;
          }
          const bool ok = d.at(drug).is_number() &&
                          std::find(allowed.begin(), allowed.end(), d.at(drug).get<double>()) != allowed.end();
          std::string choices;
          for (int a : allowed) choices += (choices.empty() ? "" : ", ") + std::to_string(a);
          if (!ok) rd.bad(std::string("participant.dose_mg.") + drug, "must be one of " + choices + " or null (discontinued)");
          else out = d.at(drug).get<int>();
        };
        level("anlotinib", p.anlotinib_dose_mg, {12, 10, 8});
        level("sintilimab", p.sintilimab_dose_mg, {200});
      }
    }
  }

  size_t i = 0;
  for (const auto& d : arrayOr(doc, "doses", rd)) {
    const std::string path = "doses[" + std::to_string(i) + "].";
    ScenarioDose dose;
    dose.ref = "doses[" + std::to_string(i++) + "]";
    if (!d.is_object()) {
      rd.bad(dose.ref, "must be an object");
      continue;
    }
    rd.onlyKeys(d, {"ref", "drug", "date", "dose_mg", "status", "cycle_day"}, path);
    if (auto r = rd.text(d, "ref", path, false)) dose.ref = *r;
    if (auto drug = rd.text(d, "drug", path, true)) {
      auto parsed = core::parseEnum<core::Drug>(*drug);
      if (!parsed) rd.bad(path + "drug", "must be one of: " + core::enumChoices<core::Drug>());
      else dose.drug = *parsed;
    }
    if (auto date = rd.text(d, "date", path, true)) {
      if (auto days = core::parseDate(*date)) dose.date_ms = *days * kDayMs;
      else rd.bad(path + "date", "must be a date YYYY-MM-DD");
    }
    if (d.contains("cycle_day") && !d["cycle_day"].is_null()) {
      if (!d["cycle_day"].is_number_integer() || d["cycle_day"].get<int>() < 1 || d["cycle_day"].get<int>() > 42)
        rd.bad(path + "cycle_day", "must be a whole number 1..42");
      else dose.cycle_day = d["cycle_day"].get<int>();
    }
    dose.dose_mg = rd.number(d, "dose_mg", path, false);
    if (dose.dose_mg && *dose.dose_mg < 0) rd.bad(path + "dose_mg", "must not be negative");
    if (auto status = rd.text(d, "status", path, false)) {
      auto parsed = core::parseEnum<core::DoseStatus>(*status);
      if (!parsed) rd.bad(path + "status", "must be one of: " + core::enumChoices<core::DoseStatus>());
      else dose.given = *parsed == core::DoseStatus::kGiven;
    }
    if (dose.given && (!dose.dose_mg || *dose.dose_mg <= 0)) rd.bad(path + "dose_mg", "required for a dose given");
    s.doses.push_back(std::move(dose));
  }

  i = 0;
  for (const auto& a : arrayOr(doc, "adverse_events", rd)) {
    const std::string path = "adverse_events[" + std::to_string(i++) + "].";
    if (!a.is_object()) {
      rd.bad(path.substr(0, path.size() - 1), "must be an object");
      continue;
    }
    rd.onlyKeys(a,
                {"ref", "term", "verbatim", "grade", "onset", "resolved", "serious", "relatedness", "sponsor_relatedness",
                 "site_aware", "sponsor_aware", "steroid_start", "suspected"},
                path);
    ScenarioAe ae;
    ae.ref = rd.text(a, "ref", path, true).value_or("");
    ae.verbatim = rd.text(a, "verbatim", path, false).value_or("");
    const grading::CtcaeTerm* term = nullptr;
    if (auto t = rd.text(a, "term", path, true)) {
      term = catalogue.find(*t);
      if (!term) {
        std::string hint;
        for (const auto* sgg : catalogue.suggest(*t, 3)) hint += (hint.empty() ? "" : ", ") + sgg->term;
        rd.bad(path + "term", "not a CTCAE v5.0 term" + (hint.empty() ? std::string() : "; closest: " + hint));
      } else {
        ae.term = term->term;
      }
    }
    if (a.contains("grade") && a.at("grade").is_number_integer()) {
      ae.grade = a.at("grade").get<int>();
      if (term && !term->hasGrade(ae.grade)) {
        std::string grades;
        for (int g : term->grades()) grades += (grades.empty() ? "" : ", ") + std::to_string(g);
        rd.bad(path + "grade", term->term + " has grades " + grades);
      } else if (ae.grade < 1 || ae.grade > 5) {
        rd.bad(path + "grade", "must be 1 to 5");
      }
    } else {
      rd.bad(path + "grade", "required integer 1 to 5");
    }
    if (auto t = rd.when(a, "onset", path, true)) ae.onset_ms = *t;
    if (auto t = rd.when(a, "resolved", path, false)) {
      ae.resolved_ms = *t;
      if (*t < ae.onset_ms) rd.bad(path + "resolved", "must not be before onset");
    }
    if (a.contains("serious") && !a.at("serious").is_null()) {
      if (!a.at("serious").is_array()) {
        rd.bad(path + "serious", "must be an array of criteria");
      } else {
        for (const auto& c : a.at("serious")) {
          auto v = c.is_string() ? core::parseEnum<core::Seriousness>(c.get<std::string>()) : std::nullopt;
          if (!v) rd.bad(path + "serious", "criteria must be among: " + core::enumChoices<core::Seriousness>());
          else ae.serious.push_back(*v);
        }
      }
    }
    ae.investigator = rd.relatedness(a, "relatedness", path);
    ae.sponsor = rd.relatedness(a, "sponsor_relatedness", path);
    ae.site_aware_ms = rd.timestamp(a, "site_aware", path, false);
    ae.sponsor_aware_ms = rd.timestamp(a, "sponsor_aware", path, false);
    ae.steroid_start_ms = rd.when(a, "steroid_start", path, false);
    if (a.contains("suspected")) {
      if (!a.at("suspected").is_boolean()) rd.bad(path + "suspected", "must be true or false");
      else ae.suspected = a.at("suspected").get<bool>();
    }
    if (ae.grade == 5 && std::find(ae.serious.begin(), ae.serious.end(), core::Seriousness::kDeath) == ae.serious.end())
      ae.serious.push_back(core::Seriousness::kDeath);
    s.adverse_events.push_back(std::move(ae));
  }

  i = 0;
  for (const auto& l : arrayOr(doc, "labs", rd)) {
    const std::string path = "labs[" + std::to_string(i++) + "].";
    if (!l.is_object()) {
      rd.bad(path.substr(0, path.size() - 1), "must be an object");
      continue;
    }
    rd.onlyKeys(l, {"ref", "test", "value", "unit", "lln", "uln", "collected"}, path);
    ScenarioLab lab;
    lab.ref = rd.text(l, "ref", path, true).value_or("");
    lab.test = rd.text(l, "test", path, true).value_or("");
    lab.value = rd.number(l, "value", path, true).value_or(0);
    lab.unit = rd.text(l, "unit", path, false).value_or("");
    lab.lln = rd.number(l, "lln", path, false);
    lab.uln = rd.number(l, "uln", path, false);
    if (auto t = rd.timestamp(l, "collected", path, true)) lab.collected_ms = *t;
    if (!lab.test.empty()) {
      if (isHbvTest(rules.hbv(), lab.test)) {
        if (auto bad = checkHbvLab(rules.hbv(), lab.value, lab.unit)) rd.bad(path + bad->field, bad->detail);
      } else if (!grader.find(lab.test)) {
        rd.bad(path + "test", "not a test Vigil grades (LBTESTCD or LOINC code) nor " + rules.hbv().test);
      } else if (auto bad = grading::checkLab(grader, lab.test, lab.value, lab.unit)) {
        rd.bad(path + bad->field, bad->detail);
      }
    }
    s.labs.push_back(std::move(lab));
  }

  i = 0;
  for (const auto& v : arrayOr(doc, "vitals", rd)) {
    const std::string path = "vitals[" + std::to_string(i++) + "].";
    if (!v.is_object()) {
      rd.bad(path.substr(0, path.size() - 1), "must be an object");
      continue;
    }
    rd.onlyKeys(v, {"ref", "measured", "systolic", "diastolic", "temperature_c", "qtc_ms", "heart_rate_bpm", "weight_kg"}, path);
    ScenarioVital vital;
    vital.ref = rd.text(v, "ref", path, true).value_or("");
    if (auto t = rd.timestamp(v, "measured", path, true)) vital.measured_ms = *t;
    auto integer = [&](const char* key, double lo, double hi, const char* range) -> std::optional<int> {
      auto n = rd.number(v, key, path, false);
      if (!n) return std::nullopt;
      if (*n < lo || *n > hi) {
        rd.bad(path + key, range);
        return std::nullopt;
      }
      return static_cast<int>(*n);
    };
    vital.systolic = integer("systolic", 0, 400, "out of range");
    vital.diastolic = integer("diastolic", 0, 400, "out of range");
    vital.qtc_ms = integer("qtc_ms", 200, 800, "must be 200 to 800 ms");
    vital.temperature_c = rd.number(v, "temperature_c", path, false);
    rd.number(v, "heart_rate_bpm", path, false);
    rd.number(v, "weight_kg", path, false);
    if (vital.systolic.has_value() != vital.diastolic.has_value())
      rd.bad(path + (vital.systolic ? "diastolic" : "systolic"), "systolic and diastolic come together");
    s.vitals.push_back(std::move(vital));
  }

  i = 0;
  for (const auto& pj : arrayOr(doc, "pregnancies", rd)) {
    const std::string path = "pregnancies[" + std::to_string(i++) + "].";
    if (!pj.is_object()) {
      rd.bad(path.substr(0, path.size() - 1), "must be an object");
      continue;
    }
    rd.onlyKeys(pj, {"ref", "subject", "site_aware", "outcome", "outcome_aware"}, path);
    ScenarioPregnancy preg;
    preg.ref = rd.text(pj, "ref", path, true).value_or("");
    if (auto subject = rd.text(pj, "subject", path, true)) {
      if (*subject != "participant" && *subject != "partner") rd.bad(path + "subject", "must be participant or partner");
      preg.partner = *subject == "partner";
    }
    if (auto t = rd.timestamp(pj, "site_aware", path, true)) preg.site_aware_ms = *t;
    if (auto o = rd.text(pj, "outcome", path, false)) {
      if (auto parsed = parsePregnancyOutcome(*o)) preg.outcome = *parsed;
      else rd.bad(path + "outcome", "must be one of: ongoing, live_birth, congenital_anomaly, pregnancy_loss, "
                                    "serious_neonatal_reaction, elective_termination");
    }
    preg.outcome_aware_ms = rd.timestamp(pj, "outcome_aware", path, false);
    if (preg.outcome != PregnancyOutcome::kOngoing && !preg.outcome_aware_ms)
      rd.bad(path + "outcome_aware", "required with an outcome");
    s.pregnancies.push_back(std::move(preg));
  }

  i = 0;
  for (const auto& mj : arrayOr(doc, "concomitant_medications", rd)) {
    const std::string path = "concomitant_medications[" + std::to_string(i++) + "].";
    if (!mj.is_object()) {
      rd.bad(path.substr(0, path.size() - 1), "must be an object");
      continue;
    }
    rd.onlyKeys(mj, {"ref", "name", "category", "drug_class", "dose", "unit", "route", "frequency", "start", "end",
                     "indication", "indication_ref"},
                path);
    core::ConcomitantMedication m;
    const std::string ref = rd.text(mj, "ref", path, true).value_or("");
    m.name = rd.text(mj, "name", path, true).value_or("");
    m.category = rd.text(mj, "category", path, true).value_or("");
    m.drug_class = rd.text(mj, "drug_class", path, false).value_or("");
    m.dose = rd.number(mj, "dose", path, false);
    m.unit = rd.text(mj, "unit", path, false).value_or("");
    m.route = rd.text(mj, "route", path, true).value_or("");
    m.frequency = rd.text(mj, "frequency", path, true).value_or("");
    m.start = rd.text(mj, "start", path, true).value_or("");
    m.end = rd.text(mj, "end", path, false);
    m.indication = rd.text(mj, "indication", path, false).value_or("");
    checkMedication(medications, m, errors, path);
    ScenarioMedication sm = scenarioMedication(m, ref);
    if (auto ind = rd.text(mj, "indication_ref", path, false)) {
      const bool known = std::any_of(s.adverse_events.begin(), s.adverse_events.end(),
                                     [&](const ScenarioAe& a) { return a.ref == *ind; });
      if (!known) rd.bad(path + "indication_ref", "must be the ref of one of the adverse_events");
      sm.indication_ref = *ind;
      sm.has_indication = true;
    }
    s.medications.push_back(std::move(sm));
  }

  if (!errors.empty()) return core::Status::invalid("the scenario has " + std::to_string(errors.size()) + " bad field(s)", errors);
  return s;
}

std::string evaluationToJson(const Evaluation& ev, const DoseRules& rules, bool detail, int indent) {
  ordered_json out;
  ordered_json events = ordered_json::array();
  for (const auto& e : ev.events) {
    if (e.grade < 1) continue;  // a lab value that could not be graded
    ordered_json j;
    j["ref"] = e.ref;
    j["term"] = e.term;
    j["grade"] = e.grade;
    j["categories"] = e.categories;
    j["irae"] = e.irae;
    j["anti_angiogenic"] = e.anti_angiogenic;
    j["aesi"] = e.aesi;
    j["serious"] = e.serious;
    j["susar"] = e.susar;
    if (e.antihypertensive_classes) j["antihypertensive_classes"] = *e.antihypertensive_classes;
    if (detail) {
      j["kind"] = toString(e.kind);
      j["onset"] = isoTime(e.onset_ms);
      j["recurrent"] = e.recurrent;
      j["aesi_ids"] = e.aesi_ids;
      if (e.steroid_peak_mg_day) j["steroid_peak_mg_day"] = *e.steroid_peak_mg_day;
    }
    events.push_back(std::move(j));
  }
  out["events"] = std::move(events);
  ordered_json deadlines = ordered_json::array();
  for (const auto& d : ev.deadlines) {
    ordered_json j;
    j["ref"] = d.ref;
    j["kind"] = toString(d.kind);
    j["due"] = isoTime(d.due_ms);
    if (detail) j["anchor"] = d.anchor;
    deadlines.push_back(std::move(j));
  }
  out["deadlines"] = std::move(deadlines);
  ordered_json drugs = ordered_json::object();
  for (core::Drug d : core::kDrugs) {
    const DrugRecommendation& r = ev.drugs[static_cast<size_t>(d)];
    ordered_json j;
    j["action"] = toString(r.action);
    j["dose_mg"] = r.dose_mg ? ordered_json(*r.dose_mg) : ordered_json(nullptr);
    j["rule_ids"] = r.rule_ids;
    j["unverified"] = r.unverified;
    if (detail) {
      j["event_refs"] = r.event_refs;
      j["resume"] = r.resume;
      j["since"] = r.since_ms ? ordered_json(isoTime(*r.since_ms)) : ordered_json(nullptr);
      j["discontinue_after"] = r.discontinue_after_ms ? ordered_json(isoTime(*r.discontinue_after_ms)) : ordered_json(nullptr);
      j["awaiting_rechallenge"] = r.awaiting_rechallenge;
      j["rests_on"] = r.rests_on ? ordered_json(*r.rests_on) : ordered_json(nullptr);
      if (r.prednisone_mg_day) j["prednisone_mg_day"] = *r.prednisone_mg_day;
    }
    drugs[std::string(core::toString(d))] = std::move(j);
  }
  out["drugs"] = std::move(drugs);
  if (detail) {
    ordered_json findings = ordered_json::array();
    for (const auto& f : ev.findings) {
      ordered_json j;
      j["kind"] = f.kind;
      j["code"] = f.code;
      j["drug"] = f.drug ? ordered_json(core::toString(*f.drug)) : ordered_json(nullptr);
      if (!f.dose_ref.empty()) j["dose_ref"] = f.dose_ref;
      if (!f.ref.empty()) j["ref"] = f.ref;
      j["date"] = core::formatDate(f.date_ms / kDayMs);
      j["rule_ids"] = f.rule_ids;
      j["unverified"] = f.unverified;
      j["text"] = f.text;
      findings.push_back(std::move(j));
    }
    out["findings"] = std::move(findings);
    ordered_json flags = ordered_json::array();
    for (const auto& f : ev.flags) flags.push_back({{"id", f.id}, {"ref", f.ref}, {"text", f.text}, {"unverified", !f.verified}});
    out["flags"] = std::move(flags);
    ordered_json monitoring = ordered_json::array();
    for (const auto& m : ev.monitoring) {
      ordered_json j;
      j["rule_id"] = m.rule_id;
      j["test"] = m.test;
      j["last"] = m.last_ms ? ordered_json(isoTime(*m.last_ms)) : ordered_json(nullptr);
      j["due"] = m.due_ms ? ordered_json(isoTime(*m.due_ms)) : ordered_json(nullptr);
      j["overdue"] = m.overdue;
      j["unverified"] = m.unverified;
      j["text"] = m.text;
      monitoring.push_back(std::move(j));
    }
    out["monitoring"] = std::move(monitoring);
    out["rules_version"] = rules.version();
  }
  return out.dump(indent);
}

}  // namespace vigil::rules
