// The dose-modification engine on the real ctcae/ and alerts/ files, through the JSON contract of
// `vigilctl evaluate`: every rule row of clinical-rules.md sections 2, 3 and 5 at its grade
// boundaries, then the transitions (resume one level lower, the 8 mg floor, recurrence, maximum
// hold, hold-both then rechallenge, clocks, deviations).
#include <catch2/catch.hpp>
#include <set>
#include <nlohmann/json.hpp>

#include "grading/measurement_grading.h"
#include "rules/evaluator.h"
#include "rules/scenario_json.h"

using namespace vigil;
using nlohmann::json;

namespace {

struct Knowledge {
  grading::Catalogue catalogue;
  grading::LabGrader grader;
  rules::CategorySet categories;
  rules::ReportingRules reporting;
  rules::DoseRules dose;
};

template <typename T>
T must(core::Result<T> r) {
  if (!r.isOk()) throw std::runtime_error(r.status().message());
  return std::move(r.value());
}

const Knowledge& k() {
  static const Knowledge* kn = [] {
    auto* x = new Knowledge{must(grading::Catalogue::load(VIGIL_SOURCE_DIR "/ctcae/terms.tsv")),
                            must(grading::LabGrader::load(VIGIL_SOURCE_DIR "/ctcae")), {}, {}, {}};
    x->categories = must(rules::CategorySet::load(VIGIL_SOURCE_DIR "/alerts/rules/categories.json", x->catalogue));
    x->reporting = must(rules::ReportingRules::load(VIGIL_SOURCE_DIR "/alerts", x->catalogue, x->categories));
    x->dose = must(rules::DoseRules::load(VIGIL_SOURCE_DIR "/alerts/rules/dose.json", x->catalogue, x->categories, x->grader));
    return x;
  }();
  return *kn;
}

// A scenario under construction.
struct Sc {
  json doc = {{"as_of", "2026-02-11T00:00:00Z"},
              {"participant",
               {{"id", "S01-001"},
                {"site", "S01"},
                {"enrolled", "2026-01-05"},
                {"liver_metastases", false},
                {"baseline_labs", json::array()},
                {"dose_mg", {{"anlotinib", 12}, {"sintilimab", 200}}}}},
              {"doses", json::array()},
              {"adverse_events", json::array()},
              {"labs", json::array()},
              {"vitals", json::array()}};

  Sc& asOf(const std::string& t) {
    doc["as_of"] = t;
    return *this;
  }
  Sc& anlotinibAt(int mg) {
    doc["participant"]["dose_mg"]["anlotinib"] = mg;
    return *this;
  }
  // Relatedness "anl/sin", e.g. "possible/unlikely".
  Sc& ae(const std::string& term, int grade, const std::string& rel = "possible/possible",
         const std::string& onset = "2026-02-10", json resolved = nullptr, const std::string& ref = "ae1") {
    const auto slash = rel.find('/');
    doc["adverse_events"].push_back({{"ref", ref},
                                     {"term", term},
                                     {"grade", grade},
                                     {"onset", onset},
                                     {"resolved", resolved},
                                     {"serious", json::array()},
                                     {"relatedness", {{"anlotinib", rel.substr(0, slash)}, {"sintilimab", rel.substr(slash + 1)}}},
                                     {"site_aware", onset + "T08:00:00Z"}});
    return *this;
  }
  json& lastAe() { return doc["adverse_events"].back(); }
  Sc& lab(const std::string& ref, const std::string& test, double value, const std::string& unit, json lln, json uln,
          const std::string& collected) {
    doc["labs"].push_back(
        {{"ref", ref}, {"test", test}, {"value", value}, {"unit", unit}, {"lln", lln}, {"uln", uln}, {"collected", collected}});
    return *this;
  }
  Sc& vital(const std::string& ref, int sys, int dia, const std::string& measured) {
    doc["vitals"].push_back({{"ref", ref}, {"systolic", sys}, {"diastolic", dia}, {"measured", measured}});
    return *this;
  }
  Sc& dose(const std::string& drug, const std::string& date, double mg, const std::string& ref = "",
           json cycle_day = nullptr) {
    json d = {{"drug", drug}, {"date", date}, {"dose_mg", mg}};
    if (!ref.empty()) d["ref"] = ref;
    if (!cycle_day.is_null()) d["cycle_day"] = cycle_day;
    doc["doses"].push_back(d);
    return *this;
  }

  // A concomitant medication; end null while it continues.
  Sc& med(const std::string& ref, const std::string& name, const std::string& category, json dose,
          const std::string& frequency, const std::string& start, json end = nullptr, const std::string& route = "oral",
          json indication_ref = nullptr) {
    json m = {{"ref", ref}, {"name", name}, {"category", category}, {"route", route}, {"frequency", frequency},
              {"start", start}, {"end", end}};
    if (!dose.is_null()) {
      m["dose"] = dose;
      m["unit"] = "mg";
    }
    if (!indication_ref.is_null()) m["indication_ref"] = indication_ref;
    doc["concomitant_medications"].push_back(m);
    return *this;
  }

  json run() const {
    auto scenario = rules::parseScenario(doc, k().catalogue, k().grader, k().dose);
    if (!scenario.isOk()) {
      std::string why = scenario.status().message();
      for (const auto& f : scenario.status().fields()) why += "; " + f.field + ": " + f.detail;
      throw std::runtime_error(why);
    }
    const rules::Evaluator ev(k().dose, k().reporting, k().categories, k().grader);
    return json::parse(rules::evaluationToJson(ev.evaluate(scenario.value()), k().dose, true));
  }
};

std::string action(const json& out, const char* drug) { return out["drugs"][drug]["action"]; }
json rulesOf(const json& out, const char* drug) { return out["drugs"][drug]["rule_ids"]; }
bool has(const json& list, const std::string& id) { return std::find(list.begin(), list.end(), id) != list.end(); }

// One row of the grade-boundary table: an AE of `term` at `grade` (relatedness anl/sin) and
// what each drug should get, with a rule id that must be behind it ("" = no rule at all).
struct Row {
  const char* term;
  int grade;
  const char* rel;
  const char* anl_action;
  const char* anl_rule;
  const char* sin_action;
  const char* sin_rule;
};

void check(const Row& r) {
  INFO(r.term << " G" << r.grade << " (" << r.rel << ")");
  const json out = Sc().ae(r.term, r.grade, r.rel).run();
  INFO(out["drugs"].dump());
  CHECK(action(out, "anlotinib") == r.anl_action);
  CHECK(action(out, "sintilimab") == r.sin_action);
  if (*r.anl_rule) CHECK(has(rulesOf(out, "anlotinib"), r.anl_rule));
  else CHECK(rulesOf(out, "anlotinib").empty());
  if (*r.sin_rule) CHECK(has(rulesOf(out, "sintilimab"), r.sin_rule));
  else CHECK(rulesOf(out, "sintilimab").empty());
}

// The findings the dose state produces (a dose against a hold, after a discontinuation, above
// the recommended level), apart from the schedule checks (schedule_test.cpp).
json findingsCoded(const json& out, const std::string& code) {
  json keep = json::array();
  for (const auto& f : out["findings"])
    if (f["code"] == code) keep.push_back(f);
  return keep;
}

const json& monitoringOf(const json& out, const std::string& rule, const std::string& test) {
  for (const auto& m : out["monitoring"])
    if (m["rule_id"] == rule && m["test"] == test) return m;
  throw std::runtime_error("no monitoring entry " + rule + " " + test);
}

json doseStateFindings(const json& out) {
  json keep = json::array();
  for (const auto& f : out["findings"])
    if (f["code"] == "dose_during_hold" || f["code"] == "dose_after_discontinuation" || f["code"] == "dose_above_recommended")
      keep.push_back(f);
  return keep;
}

}  // namespace

TEST_CASE("the issue's example scenario") {
  Sc sc;
  sc.doc = json::parse(R"({"as_of":"2026-03-01T00:00:00Z",
 "participant":{"id":"S01-001","site":"S01","enrolled":"2026-01-05","liver_metastases":false,
   "baseline_labs":[{"test":"ALT","value":30,"unit":"U/L","lln":7,"uln":40}],
   "dose_mg":{"anlotinib":12,"sintilimab":200}},
 "doses":[{"drug":"anlotinib","date":"2026-01-05","dose_mg":12}],
 "adverse_events":[{"ref":"ae1","term":"Esophageal hemorrhage","grade":3,"onset":"2026-02-10",
   "resolved":null,"serious":["hospitalization"],
   "relatedness":{"anlotinib":"probable","sintilimab":"unlikely"},
   "site_aware":"2026-02-10T08:00:00Z","sponsor_aware":"2026-02-10T12:00:00Z"}],
 "labs":[{"ref":"l1","test":"ALT","value":250,"unit":"U/L","lln":7,"uln":40,"collected":"2026-02-01T08:00:00Z"}],
 "vitals":[{"ref":"v1","systolic":172,"diastolic":104,"measured":"2026-02-03T09:00:00Z"}]})");
  const json out = sc.run();
  const json& ae = out["events"][0];
  CHECK(ae["ref"] == "ae1");
  CHECK(ae["categories"] == json::array({"hemorrhage"}));
  CHECK(ae["anti_angiogenic"] == true);
  CHECK(ae["irae"] == false);
  CHECK(ae["aesi"] == true);
  CHECK(ae["serious"] == true);
  CHECK(ae["susar"] == false);  // hemorrhage up to G3 is expected for anlotinib; sintilimab unlikely
  // The lab (ALT 6.25 x ULN, G3) and the vital sign (172/104, G3) are events under their refs.
  REQUIRE(out["events"].size() == 3);
  CHECK(out["events"][1]["ref"] == "l1");
  CHECK(out["events"][1]["term"] == "Alanine aminotransferase increased");
  CHECK(out["events"][1]["grade"] == 3);
  CHECK(out["events"][2]["ref"] == "v1");
  CHECK(out["events"][2]["term"] == "Hypertension");
  CHECK(out["events"][2]["grade"] == 3);
  REQUIRE(out["deadlines"].size() == 1);
  CHECK(out["deadlines"][0] == json({{"ref", "ae1"}, {"kind", "sae_24h"}, {"due", "2026-02-11T08:00:00Z"}, {"anchor", "site_aware"}}));
  CHECK(action(out, "anlotinib") == "discontinue");
  CHECK(out["drugs"]["anlotinib"]["dose_mg"].is_null());
  CHECK(rulesOf(out, "anlotinib") == json::array({"AN-HEM-3"}));
  CHECK(out["drugs"]["anlotinib"]["unverified"] == false);
  // ALT 3-10 x ULN with unclear attribution: OV-HEP-1 holds sintilimab too (UNVERIFIED transfer).
  CHECK(action(out, "sintilimab") == "hold");
  CHECK(out["drugs"]["sintilimab"]["dose_mg"] == 200);
  CHECK(rulesOf(out, "sintilimab") == json::array({"OV-HEP-1"}));
  CHECK(out["drugs"]["sintilimab"]["unverified"] == true);
}

TEST_CASE("contract output without --detail has exactly the documented keys") {
  auto scenario = rules::parseScenario(Sc().ae("Esophageal hemorrhage", 2).doc, k().catalogue, k().grader, k().dose);
  REQUIRE(scenario.isOk());
  const rules::Evaluator ev(k().dose, k().reporting, k().categories, k().grader);
  const json out = json::parse(rules::evaluationToJson(ev.evaluate(scenario.value()), k().dose, false));
  std::vector<std::string> keys;
  for (const auto& [key, _] : out.items()) keys.push_back(key);
  CHECK(keys == std::vector<std::string>{"deadlines", "drugs", "events"});
  std::vector<std::string> drug_keys;
  for (const auto& [key, _] : out["drugs"]["anlotinib"].items()) drug_keys.push_back(key);
  CHECK(drug_keys == std::vector<std::string>{"action", "dose_mg", "rule_ids", "unverified"});
  std::vector<std::string> event_keys;
  for (const auto& [key, _] : out["events"][0].items()) event_keys.push_back(key);
  std::sort(event_keys.begin(), event_keys.end());
  CHECK(event_keys == std::vector<std::string>{"aesi", "anti_angiogenic", "categories", "grade", "irae", "ref", "serious",
                                                "susar", "term"});
  CHECK(out["drugs"]["anlotinib"] == json({{"action", "hold"}, {"dose_mg", 10}, {"rule_ids", {"AN-HEM-2"}}, {"unverified", false}}));
}

TEST_CASE("section 2 anlotinib rows at their grade boundaries") {
  const Row rows[] = {
      {"Esophageal hemorrhage", 1, "probable/unlikely", "continue", "AN-HEM-1", "continue", "OV-BLD"},
      {"Esophageal hemorrhage", 2, "probable/unlikely", "hold", "AN-HEM-2", "continue", "OV-BLD"},
      {"Esophageal hemorrhage", 3, "probable/unlikely", "discontinue", "AN-HEM-3", "continue", "OV-BLD"},
      {"Esophageal hemorrhage", 4, "probable/unlikely", "discontinue", "AN-HEM-3", "continue", "OV-BLD"},
      {"Esophageal hemorrhage", 5, "probable/unlikely", "discontinue", "AN-HEM-5", "discontinue", "GEN-DEATH"},
      {"Esophageal hemorrhage", 2, "not_related/unlikely", "hold", "AN-HEM-2", "continue", "OV-BLD"},
      // Bleeding is anlotinib's whatever the causality given (OV-BLD): no sintilimab row acts.
      {"Tumor hemorrhage", 3, "unlikely/possible", "discontinue", "AN-HEM-3", "continue", "OV-BLD"},
      {"Esophageal fistula", 1, "possible/unlikely", "discontinue", "AN-FIS", "continue", "OV-BLD"},
      {"Stroke", 1, "possible/unlikely", "discontinue", "AN-ATE", "continue", "OV-BLD"},
      {"Thromboembolic event", 1, "possible/unlikely", "hold", "AN-VTE-2", "continue", "OV-BLD"},
      {"Thromboembolic event", 2, "possible/unlikely", "hold", "AN-VTE-2", "continue", "OV-BLD"},
      {"Thromboembolic event", 3, "possible/unlikely", "discontinue", "AN-VTE-3", "continue", "OV-BLD"},
      {"Thromboembolic event", 4, "possible/unlikely", "discontinue", "AN-VTE-4", "continue", "OV-BLD"},
      {"Hypertension", 1, "possible/unlikely", "continue", "AN-HTN-1", "continue", ""},
      {"Hypertension", 2, "possible/unlikely", "continue", "AN-HTN-2", "continue", ""},
      {"Hypertension", 3, "possible/unlikely", "hold", "AN-HTN-3", "continue", ""},
      {"Hypertension", 4, "possible/unlikely", "discontinue", "AN-HTN-4", "continue", ""},
      {"Reversible posterior leukoencephalopathy syndrome", 3, "possible/unlikely", "discontinue", "AN-RPLS", "continue", ""},
      {"Proteinuria", 1, "possible/unlikely", "continue", "AN-PRO-1", "continue", ""},
      {"Proteinuria", 2, "possible/unlikely", "continue", "AN-PRO-2a", "continue", ""},
      {"Proteinuria", 3, "possible/unlikely", "hold", "AN-PRO-3", "continue", ""},
      {"Nephrotic syndrome", 3, "possible/unlikely", "discontinue", "AN-PRO-N", "continue", ""},
      {"Palmar-plantar erythrodysesthesia syndrome", 1, "possible/unlikely", "continue", "AN-HFS-1", "continue", ""},
      {"Palmar-plantar erythrodysesthesia syndrome", 2, "possible/unlikely", "continue", "AN-HFS-2", "continue", ""},
      {"Palmar-plantar erythrodysesthesia syndrome", 3, "possible/unlikely", "hold", "AN-HFS-3", "continue", ""},
      {"Mucositis oral", 2, "possible/unlikely", "continue", "", "continue", ""},
      {"Mucositis oral", 3, "possible/unlikely", "hold", "AN-MUC-3", "continue", ""},
      {"Mucositis oral", 4, "possible/unlikely", "discontinue", "AN-OTH-4", "continue", ""},
      {"Esophagitis", 3, "possible/unlikely", "hold", "AN-MUC-3", "continue", ""},
      {"Diarrhea", 1, "possible/unlikely", "continue", "AN-DIA-1", "continue", ""},
      {"Diarrhea", 2, "possible/unlikely", "continue", "AN-DIA-2", "continue", ""},
      {"Diarrhea", 3, "possible/unlikely", "hold", "AN-DIA-3", "continue", ""},
      {"Diarrhea", 4, "possible/unlikely", "discontinue", "AN-DIA-4", "continue", ""},
      {"Electrocardiogram QT corrected interval prolonged", 1, "possible/unlikely", "continue", "AN-QTC-1/2", "continue", ""},
      {"Electrocardiogram QT corrected interval prolonged", 2, "possible/unlikely", "continue", "AN-QTC-1/2", "continue", ""},
      {"Electrocardiogram QT corrected interval prolonged", 3, "possible/unlikely", "hold", "AN-QTC-3", "continue", ""},
      {"Electrocardiogram QT corrected interval prolonged", 4, "possible/unlikely", "discontinue", "AN-QTC-4", "continue", ""},
      {"Ventricular arrhythmia", 3, "possible/unlikely", "hold", "AN-OTH-3", "continue", ""},
      {"Ventricular arrhythmia", 4, "possible/unlikely", "discontinue", "AN-QTC-4", "continue", ""},
      {"Hypothyroidism", 2, "possible/unlikely", "continue", "AN-THY", "continue", ""},
      {"Hypothyroidism", 3, "possible/unlikely", "hold", "AN-THY-3", "hold", "AN-THY-3"},
      {"Thyroid stimulating hormone increased", 1, "possible/unlikely", "continue", "AN-THY", "continue", ""},
      {"Fatigue", 2, "possible/unlikely", "continue", "OV-FAT", "continue", "OV-FAT"},
      {"Fatigue", 3, "possible/unlikely", "hold", "AN-FAT-3", "continue", "OV-FAT"},
      {"Hypertriglyceridemia", 3, "possible/unlikely", "continue", "AN-TG", "continue", ""},
      {"Hypertriglyceridemia", 4, "possible/unlikely", "hold", "AN-TG-4", "continue", ""},
      {"Cholesterol high", 4, "possible/unlikely", "continue", "AN-TG", "continue", ""},
      {"Platelet count decreased", 2, "possible/unlikely", "continue", "", "continue", ""},
      {"Platelet count decreased", 3, "possible/unlikely", "hold", "AN-PLT-3", "continue", ""},
      {"Platelet count decreased", 4, "possible/unlikely", "discontinue", "AN-OTH-4", "continue", ""},
      {"Heart failure", 2, "possible/unlikely", "continue", "", "continue", ""},
      {"Heart failure", 3, "possible/unlikely", "hold", "AN-HF", "continue", ""},
      {"Heart failure", 4, "possible/unlikely", "discontinue", "AN-HF-4", "continue", ""},
      {"Wound dehiscence", 1, "possible/unlikely", "continue", "", "continue", ""},
      {"Wound dehiscence", 2, "possible/unlikely", "hold", "AN-WND", "continue", ""},
      // Any other term: G3 needs the investigator's "related"; G4 stops unless ruled out.
      {"Arthralgia", 3, "possible/unlikely", "hold", "AN-OTH-3", "continue", ""},
      {"Arthralgia", 3, "unlikely/unlikely", "continue", "", "continue", ""},
      {"Vomiting", 4, "unlikely/unlikely", "continue", "", "continue", ""},
      {"Vomiting", 4, "possible/unlikely", "discontinue", "AN-OTH-4", "continue", ""},
  };
  for (const auto& r : rows) check(r);
}

TEST_CASE("resumption dose: -1 level rows resume lower, same-dose rows at the same level") {
  CHECK(Sc().ae("Esophageal hemorrhage", 2, "probable/unlikely").run()["drugs"]["anlotinib"]["dose_mg"] == 10);
  CHECK(Sc().ae("Thromboembolic event", 2, "probable/unlikely").run()["drugs"]["anlotinib"]["dose_mg"] == 12);
  CHECK(Sc().ae("Wound dehiscence", 2, "probable/unlikely").run()["drugs"]["anlotinib"]["dose_mg"] == 12);
  CHECK(Sc().ae("Platelet count decreased", 3, "probable/unlikely").run()["drugs"]["anlotinib"]["dose_mg"] == 12);
  CHECK(Sc().ae("Hypertension", 3, "probable/unlikely").run()["drugs"]["anlotinib"]["dose_mg"] == 10);
}

TEST_CASE("section 3 sintilimab rows at their grade boundaries") {
  const Row rows[] = {
      {"Pneumonitis", 1, "unlikely/possible", "continue", "", "continue", "SI-PNE-1"},
      {"Pneumonitis", 2, "unlikely/possible", "continue", "", "hold", "SI-PNE-2"},
      {"Pneumonitis", 3, "unlikely/possible", "continue", "", "discontinue", "SI-PNE-3"},
      {"Colitis", 1, "unlikely/possible", "continue", "", "continue", "SI-COL-1"},
      {"Colitis", 2, "unlikely/possible", "continue", "", "hold", "SI-COL-2"},
      {"Colitis", 3, "unlikely/possible", "continue", "", "hold", "SI-COL-2"},
      {"Colitis", 4, "unlikely/possible", "continue", "", "discontinue", "SI-COL-4"},
      {"Diarrhea", 2, "unlikely/possible", "continue", "", "hold", "SI-COL-2"},
      {"Creatinine increased", 1, "unlikely/possible", "continue", "", "continue", ""},
      {"Creatinine increased", 2, "unlikely/possible", "hold", "OV-REN-2", "hold", "SI-NEP-2"},
      {"Creatinine increased", 3, "unlikely/possible", "hold", "OV-REN-2", "discontinue", "SI-NEP-3"},
      {"Acute kidney injury", 3, "unlikely/possible", "hold", "OV-REN-2", "discontinue", "SI-NEP-3"},
      {"Hypothyroidism", 2, "unlikely/possible", "continue", "", "continue", "SI-END-HYPO"},
      {"Hypothyroidism", 3, "unlikely/possible", "hold", "AN-THY-3", "hold", "SI-END-HYPO-3"},
      {"Hyperthyroidism", 2, "unlikely/possible", "continue", "", "continue", "SI-END-HYPER"},
      {"Hyperthyroidism", 3, "unlikely/possible", "continue", "", "hold", "SI-END-HYPER-3"},
      {"Hypophysitis", 1, "unlikely/possible", "continue", "", "hold", "SI-END-PIT"},
      {"Hypophysitis", 3, "unlikely/possible", "continue", "", "hold", "SI-END-PIT-3"},
      {"Adrenal insufficiency", 1, "unlikely/possible", "continue", "", "continue", ""},
      {"Adrenal insufficiency", 2, "unlikely/possible", "continue", "", "hold", "SI-END-AI"},
      {"Adrenal insufficiency", 3, "unlikely/possible", "continue", "", "hold", "SI-END-AI-3"},
      {"Hyperglycemia", 2, "unlikely/possible", "continue", "", "continue", ""},
      {"Hyperglycemia", 3, "unlikely/possible", "continue", "", "hold", "SI-END-DM"},
      {"Rash maculo-papular", 2, "unlikely/possible", "continue", "", "continue", "SI-SKN-1/2"},
      {"Rash maculo-papular", 3, "unlikely/possible", "continue", "", "hold", "SI-SKN-3"},
      {"Pruritus", 3, "unlikely/possible", "continue", "", "hold", "SI-SKN-3"},
      {"Bullous dermatitis", 2, "unlikely/possible", "continue", "", "hold", "SI-SKN-BUL"},
      {"Bullous dermatitis", 3, "unlikely/possible", "continue", "", "discontinue", "SI-SKN-SJS-C"},
      {"Stevens-Johnson syndrome", 3, "unlikely/possible", "continue", "", "discontinue", "SI-SKN-SJS-C"},
      {"Erythema multiforme", 2, "unlikely/possible", "continue", "", "continue", ""},
      {"Erythema multiforme", 3, "unlikely/possible", "continue", "", "discontinue", "SI-SKN-SJS-C"},
      {"Cardiac troponin I increased", 1, "unlikely/possible", "continue", "", "hold", "SI-MYC-1"},
      {"Myocarditis", 2, "unlikely/possible", "continue", "", "discontinue", "SI-MYC-2"},
      {"Pericarditis", 1, "unlikely/possible", "continue", "", "continue", ""},
      {"Pericarditis", 2, "unlikely/possible", "continue", "", "discontinue", "SI-MYC-2"},
      {"Myositis", 1, "unlikely/possible", "continue", "", "continue", ""},
      {"Myositis", 2, "unlikely/possible", "continue", "", "hold", "SI-MYO-2"},
      {"Myositis", 3, "unlikely/possible", "continue", "", "hold", "SI-MYO-3"},
      {"Myasthenia gravis", 2, "unlikely/possible", "continue", "", "hold", "SI-NEU-MG"},
      {"Myasthenia gravis", 3, "unlikely/possible", "continue", "", "discontinue", "SI-NEU-MG-3"},
      {"Guillain-Barre syndrome", 2, "unlikely/possible", "continue", "", "discontinue", "SI-NEU-GBS"},
      {"Peripheral sensory neuropathy", 1, "unlikely/possible", "continue", "", "continue", ""},
      {"Peripheral sensory neuropathy", 2, "unlikely/possible", "continue", "", "hold", "SI-NEU-OTH"},
      {"Peripheral sensory neuropathy", 3, "unlikely/possible", "continue", "", "discontinue", "SI-NEU-OTH-3"},
      {"Infusion related reaction", 2, "unlikely/possible", "continue", "", "interrupt_infusion", "SI-IRR-1"},
      {"Infusion related reaction", 3, "unlikely/possible", "continue", "", "discontinue", "SI-IRR-3"},
      {"Anaphylaxis", 3, "unlikely/possible", "continue", "", "discontinue", "SI-IRR-3"},
      {"Lipase increased", 3, "unlikely/possible", "continue", "", "continue", "SI-PAN"},
      {"Pancreatitis", 2, "unlikely/possible", "continue", "", "continue", ""},
      {"Pancreatitis", 3, "unlikely/possible", "continue", "", "hold", "SI-PAN-3"},
      {"Pancreatitis", 4, "unlikely/possible", "continue", "", "discontinue", "SI-PAN-4"},
      {"Hepatitis B reactivation", 2, "unlikely/unlikely", "hold", "SI-HBV", "hold", "SI-HBV"},
      {"Arthralgia", 2, "unlikely/possible", "continue", "", "continue", ""},
      {"Arthralgia", 3, "unlikely/possible", "continue", "", "hold", "SI-OTH-3"},
      {"Vomiting", 4, "unlikely/possible", "continue", "", "discontinue", "SI-OTH-4"},
  };
  for (const auto& r : rows) check(r);
}

TEST_CASE("SJS suspected is withheld, RCCEP by its verbatim term continues") {
  Sc sc;
  sc.ae("Stevens-Johnson syndrome", 3, "unlikely/possible");
  sc.lastAe()["suspected"] = true;
  json out = sc.run();
  CHECK(action(out, "sintilimab") == "hold");
  CHECK(rulesOf(out, "sintilimab") == json::array({"SI-SKN-SJS"}));

  Sc rccep;
  rccep.ae("Skin and subcutaneous tissue disorders - Other, specify", 1, "unlikely/possible");
  rccep.lastAe()["verbatim"] = "RCCEP on the chest";
  out = rccep.run();
  CHECK(action(out, "sintilimab") == "continue");
  CHECK(rulesOf(out, "sintilimab") == json::array({"SI-RCCEP"}));
}

TEST_CASE("section 5 overlap rows") {
  const Row rows[] = {
      // Causality unclear (both possible): the BOTH rows hold both drugs.
      {"Alanine aminotransferase increased", 1, "possible/possible", "continue", "OV-GEN-1", "continue", "OV-GEN-1"},
      {"Alanine aminotransferase increased", 2, "possible/possible", "hold", "OV-HEP-1", "hold", "OV-HEP-1"},
      {"Alanine aminotransferase increased", 3, "possible/possible", "hold", "OV-HEP-1", "hold", "OV-HEP-1"},
      {"Alanine aminotransferase increased", 4, "possible/possible", "discontinue", "OV-HEP-2", "discontinue", "OV-HEP-2"},
      // Hepatic events go to OV-HEP even when one drug is ruled out (AN-HEP, SI-HEP-COMBO).
      {"Aspartate aminotransferase increased", 2, "unlikely/probable", "hold", "OV-HEP-1", "hold", "OV-HEP-1"},
      {"Blood bilirubin increased", 2, "possible/possible", "hold", "OV-HEP-1", "hold", "OV-HEP-1"},
      {"Blood bilirubin increased", 3, "possible/possible", "discontinue", "OV-HEP-2", "discontinue", "OV-HEP-2"},
      {"Hepatic failure", 3, "possible/possible", "discontinue", "OV-HEP-2", "discontinue", "OV-HEP-2"},
      {"Diarrhea", 3, "possible/possible", "hold", "OV-DIA", "hold", "OV-DIA"},
      {"Colitis", 3, "possible/possible", "hold", "OV-DIA", "hold", "SI-COL-2"},
      {"Pneumonitis", 2, "possible/possible", "hold", "OV-PNE", "hold", "SI-PNE-2"},
      {"Pneumonitis", 1, "possible/possible", "continue", "OV-GEN-1", "continue", "SI-PNE-1"},
      {"Arthralgia", 2, "possible/possible", "continue", "OV-GEN-1", "continue", "OV-GEN-1"},
      {"Arthralgia", 3, "possible/possible", "hold", "OV-GEN-2", "hold", "OV-GEN-2"},
      {"Fatigue", 2, "possible/possible", "continue", "OV-FAT", "continue", "OV-FAT"},
  };
  for (const auto& r : rows) check(r);
}

TEST_CASE("OV-HEP on lab values: 3 and 10 x ULN, bilirubin 2 x ULN, potential Hy's law") {
  auto alt = [](double value) {
    return Sc().lab("l1", "ALT", value, "U/L", 7, 40, "2026-02-10T08:00:00Z").run();
  };
  CHECK(action(alt(119.6), "anlotinib") == "continue");  // 2.99 x ULN
  CHECK(action(alt(120), "anlotinib") == "hold");        // exactly 3 x ULN
  CHECK(rulesOf(alt(120), "sintilimab") == json::array({"OV-HEP-1"}));
  CHECK(action(alt(399.6), "sintilimab") == "hold");     // 9.99 x ULN
  CHECK(action(alt(400), "sintilimab") == "discontinue");  // exactly 10 x ULN
  CHECK(rulesOf(alt(400), "anlotinib") == json::array({"OV-HEP-2"}));

  auto withBili = [](double bili) {
    Sc sc;
    sc.doc["participant"]["baseline_labs"] = {{{"test", "ALT"}, {"value", 30}, {"unit", "U/L"}, {"lln", 7}, {"uln", 40}},
                                              {{"test", "BILI"}, {"value", 10}, {"unit", "umol/L"}, {"lln", 3}, {"uln", 20}}};
    return sc
        .lab("b1", "BILI", bili, "umol/L", 3, 20, "2026-02-10T07:00:00Z")
        .lab("l1", "ALT", 130, "U/L", 7, 40, "2026-02-10T08:00:00Z")
        .run();
  };
  CHECK(has(rulesOf(withBili(39.8), "anlotinib"), "OV-HEP-1"));  // 1.99 x ULN
  CHECK(!has(rulesOf(withBili(39.8), "anlotinib"), "OV-HEP-2"));
  CHECK(has(rulesOf(withBili(40), "anlotinib"), "OV-HEP-2"));  // exactly 2 x ULN
  CHECK(!has(rulesOf(withBili(40), "anlotinib"), "OV-HEP-HY"));
  const json hy = withBili(42);  // 2.1 x ULN, no ALP: potential Hy's law
  CHECK(has(rulesOf(hy, "anlotinib"), "OV-HEP-HY"));
  REQUIRE(hy["events"].size() == 2);
  CHECK(hy["events"][1]["aesi"] == true);
  CHECK(has(hy["events"][1]["aesi_ids"], "OV-HEP-HY"));
  // An ALP over 2 x ULN points away from hepatocellular injury: not Hy's law (still OV-HEP-2).
  const json cholestatic = Sc()
                               .lab("b1", "BILI", 42, "umol/L", 3, 20, "2026-02-10T07:00:00Z")
                               .lab("a1", "ALP", 300, "U/L", 40, 120, "2026-02-10T07:00:00Z")
                               .lab("l1", "ALT", 130, "U/L", 7, 40, "2026-02-10T08:00:00Z")
                               .run();
  CHECK(!has(rulesOf(cholestatic, "anlotinib"), "OV-HEP-HY"));
  CHECK(has(rulesOf(cholestatic, "anlotinib"), "OV-HEP-2"));
}

// Issue 14 defect 1: potential Hy's law was found only when the bilirubin came first. ALT 4 x ULN
// and bilirubin 2.4 x ULN pair within 7 days either side, in every order of time and of listing.
TEST_CASE("potential Hy's law pairs ALT and bilirubin whatever their order, within 7 days either side") {
  struct Order {
    const char* name;
    const char* alt_at;
    const char* bili_at;
    bool alt_listed_first;
    bool paired;
  };
  const Order orders[] = {
      {"bilirubin an hour before", "2026-02-10T08:00:00Z", "2026-02-10T07:00:00Z", false, true},
      {"bilirubin an hour before, listed after", "2026-02-10T08:00:00Z", "2026-02-10T07:00:00Z", true, true},
      {"same minute, ALT listed first", "2026-02-10T08:00:00Z", "2026-02-10T08:00:00Z", true, true},
      {"same minute, bilirubin listed first", "2026-02-10T08:00:00Z", "2026-02-10T08:00:00Z", false, true},
      {"bilirubin a day later", "2026-02-10T08:00:00Z", "2026-02-11T08:00:00Z", true, true},
      {"bilirubin a day later, listed first", "2026-02-10T08:00:00Z", "2026-02-11T08:00:00Z", false, true},
      {"bilirubin exactly 7 days later", "2026-02-03T08:00:00Z", "2026-02-10T08:00:00Z", true, true},
      {"bilirubin exactly 7 days before", "2026-02-10T08:00:00Z", "2026-02-03T08:00:00Z", true, true},
      {"bilirubin 7 days and a minute later", "2026-02-03T08:00:00Z", "2026-02-10T08:01:00Z", true, false},
      {"bilirubin 7 days and a minute before", "2026-02-10T08:01:00Z", "2026-02-03T08:00:00Z", false, false},
  };
  for (const Order& o : orders) {
    INFO(o.name);
    Sc sc;
    sc.doc["participant"]["baseline_labs"] = {{{"test", "ALT"}, {"value", 30}, {"unit", "U/L"}, {"lln", 7}, {"uln", 40}},
                                              {{"test", "BILI"}, {"value", 10}, {"unit", "umol/L"}, {"lln", 3}, {"uln", 20}}};
    if (o.alt_listed_first) sc.lab("l1", "ALT", 160, "U/L", 7, 40, o.alt_at).lab("b1", "BILI", 48, "umol/L", 3, 20, o.bili_at);
    else sc.lab("b1", "BILI", 48, "umol/L", 3, 20, o.bili_at).lab("l1", "ALT", 160, "U/L", 7, 40, o.alt_at);
    const json out = sc.run();
    for (const char* drug : {"anlotinib", "sintilimab"}) {
      INFO(drug);
      CHECK(has(rulesOf(out, drug), "OV-HEP-HY") == o.paired);
      CHECK(has(rulesOf(out, drug), "OV-HEP-2") == o.paired);
      CHECK(action(out, drug) == (o.paired ? "discontinue" : "hold"));
    }
  }
  // In one batch with an ALP: the lowest ALP in the window decides (ALP <= 2 x ULN: hepatocellular).
  const json panel = Sc()
                         .lab("l1", "ALT", 160, "U/L", 7, 40, "2026-02-10T08:00:00Z")
                         .lab("b1", "BILI", 48, "umol/L", 3, 20, "2026-02-10T08:00:00Z")
                         .lab("a1", "ALP", 240, "U/L", 40, 120, "2026-02-10T08:00:00Z")
                         .run();
  CHECK(has(rulesOf(panel, "anlotinib"), "OV-HEP-HY"));  // ALP exactly 2 x ULN
  const json cholestatic = Sc()
                               .lab("l1", "ALT", 160, "U/L", 7, 40, "2026-02-10T08:00:00Z")
                               .lab("b1", "BILI", 48, "umol/L", 3, 20, "2026-02-10T08:00:00Z")
                               .lab("a1", "ALP", 241.2, "U/L", 40, 120, "2026-02-12T08:00:00Z")
                               .run();
  CHECK_FALSE(has(rulesOf(cholestatic, "anlotinib"), "OV-HEP-HY"));  // ALP 2.01 x ULN two days later
  CHECK(has(rulesOf(cholestatic, "anlotinib"), "OV-HEP-2"));
}

TEST_CASE("SI-HEP-LM: liver metastases with an abnormal baseline use the baseline-relative limits") {
  auto run = [](double alt) {
    Sc sc;
    sc.doc["participant"]["liver_metastases"] = true;
    sc.doc["participant"]["baseline_labs"] = {{{"test", "ALT"}, {"value", 80}, {"unit", "U/L"}, {"lln", 7}, {"uln", 40}}};
    return sc.lab("l1", "ALT", alt, "U/L", 7, 40, "2026-02-10T08:00:00Z").run();
  };
  CHECK(action(run(200), "sintilimab") == "continue");  // 5.0 x ULN: not above 5
  CHECK(rulesOf(run(204), "sintilimab") == json::array({"SI-HEP-LM"}));
  CHECK(action(run(400), "sintilimab") == "hold");  // 10 x ULN: not above 10
  CHECK(rulesOf(run(404), "sintilimab") == json::array({"SI-HEP-LM-10"}));
  CHECK(action(run(404), "anlotinib") == "discontinue");
}

// The vital-sign event of ref "v1" in a detailed evaluation.
const json& vitalEvent(const json& out) {
  for (const auto& e : out["events"])
    if (e["ref"] == "v1") return e;
  throw std::runtime_error("no event v1");
}

TEST_CASE("AESI-HTN-READING at 180 systolic or 110 diastolic gives a 24 h clock from the measurement") {
  struct Case {
    int sys, dia;
    bool aesi;
  };
  for (const Case c : {Case{179, 109, false}, Case{180, 95, true}, Case{181, 60, true}, Case{150, 110, true},
                       Case{165, 111, true}, Case{179, 80, false}, Case{160, 109, false}}) {
    CAPTURE(c.sys, c.dia);
    const json out = Sc().vital("v1", c.sys, c.dia, "2026-02-10T09:00:00Z").run();
    const json& e = vitalEvent(out);
    CHECK(e["aesi"] == c.aesi);
    CHECK(has(e["aesi_ids"], "AESI-HTN-READING") == c.aesi);
    json clocks = json::array();
    for (const auto& d : out["deadlines"])
      if (d["ref"] == "v1") clocks.push_back(d);
    if (c.aesi) {
      REQUIRE(clocks.size() == 1);
      CHECK(clocks[0]["kind"] == "aesi_24h");
      CHECK(clocks[0]["due"] == "2026-02-11T09:00:00Z");
      CHECK(clocks[0]["anchor"] == "measured");
    } else {
      CHECK(clocks.empty());
    }
  }
  // An AE report of Hypertension carries no reading: grade 3 is no AESI (AESI-HTN needs grade 4).
  const json out = Sc().ae("Hypertension", 3).run();
  CHECK(out["events"][0]["aesi"] == false);
  CHECK(out["deadlines"].empty());
  CHECK(Sc().ae("Hypertension", 4).run()["events"][0]["aesi_ids"] == json::array({"AESI-HTN"}));
}

TEST_CASE("AN-HTN-X: a single reading >= 180/110 holds anlotinib, 179/109 is AN-HTN-3 only") {
  json out = Sc().vital("v1", 179, 109, "2026-02-10T09:00:00Z").run();
  CHECK(rulesOf(out, "anlotinib") == json::array({"AN-HTN-3"}));
  out = Sc().vital("v1", 180, 95, "2026-02-10T09:00:00Z").run();
  CHECK(rulesOf(out, "anlotinib") == json::array({"AN-HTN-3", "AN-HTN-X"}));
  out = Sc().vital("v1", 150, 110, "2026-02-10T09:00:00Z").run();
  CHECK(has(rulesOf(out, "anlotinib"), "AN-HTN-X"));
  // A later reading back under 140/90 resolves the hold: resume one level lower.
  out = Sc()
            .asOf("2026-02-20T00:00:00Z")
            .vital("v1", 182, 100, "2026-02-10T09:00:00Z")
            .vital("v2", 132, 84, "2026-02-14T09:00:00Z")
            .run();
  CHECK(action(out, "anlotinib") == "continue");
  CHECK(out["drugs"]["anlotinib"]["dose_mg"] == 10);
}

TEST_CASE("AN-PRO-2a/2b: dipstick 2+ continues, 24-hour protein >= 2 g holds") {
  json out = Sc().lab("u1", "PROTDIP", 2, "plus", nullptr, nullptr, "2026-02-10T08:00:00Z").run();
  CHECK(rulesOf(out, "anlotinib") == json::array({"AN-PRO-2a"}));
  CHECK(action(out, "anlotinib") == "continue");
  out = Sc().lab("u1", "PROT24H", 1.99, "g/24h", nullptr, nullptr, "2026-02-10T08:00:00Z").run();
  CHECK(action(out, "anlotinib") == "continue");
  out = Sc().lab("u1", "PROT24H", 2.0, "g/24h", nullptr, nullptr, "2026-02-10T08:00:00Z").run();
  CHECK(action(out, "anlotinib") == "hold");
  CHECK(rulesOf(out, "anlotinib") == json::array({"AN-PRO-2b"}));
}

TEST_CASE("hold then resume one level lower, twice, then the 8 mg floor discontinues") {
  Sc sc;
  sc.asOf("2026-04-01T00:00:00Z")
      .ae("Hypertension", 3, "probable/unlikely", "2026-02-10", "2026-02-17", "h1")
      .ae("Palmar-plantar erythrodysesthesia syndrome", 3, "probable/unlikely", "2026-03-01", "2026-03-08", "p1");
  json out = sc.run();
  CHECK(action(out, "anlotinib") == "continue");
  CHECK(out["drugs"]["anlotinib"]["dose_mg"] == 8);
  CHECK(rulesOf(out, "anlotinib") == json::array({"AN-HTN-3", "AN-HFS-3"}));
  sc.ae("Fatigue", 3, "probable/unlikely", "2026-03-20", nullptr, "f1");
  out = sc.run();
  CHECK(action(out, "anlotinib") == "discontinue");
  CHECK(rulesOf(out, "anlotinib") == json::array({"AN-FAT-3", "AN-INT"}));
  CHECK(out["drugs"]["anlotinib"]["dose_mg"].is_null());

  // Starting at 8 mg: the first reduction asked is a discontinuation.
  out = Sc().anlotinibAt(8).ae("Esophageal hemorrhage", 2, "probable/unlikely").run();
  CHECK(action(out, "anlotinib") == "discontinue");
  CHECK(rulesOf(out, "anlotinib") == json::array({"AN-HEM-2", "AN-INT"}));
  // A same-dose hold at 8 mg is still a hold.
  out = Sc().anlotinibAt(8).ae("Thromboembolic event", 2, "probable/unlikely").run();
  CHECK(action(out, "anlotinib") == "hold");
  CHECK(out["drugs"]["anlotinib"]["dose_mg"] == 8);
}

TEST_CASE("maximum hold: AN-HEM-2 14 days, resolving on day 14 is in time") {
  auto run = [](const char* as_of, json resolved) {
    return Sc().asOf(as_of).ae("Esophageal hemorrhage", 2, "probable/unlikely", "2026-02-10", resolved).run();
  };
  json out = run("2026-02-24T00:00:00Z", nullptr);
  CHECK(action(out, "anlotinib") == "hold");
  CHECK(out["drugs"]["anlotinib"]["discontinue_after"] == "2026-02-24T00:00:00Z");
  out = run("2026-02-24T00:00:01Z", nullptr);
  CHECK(action(out, "anlotinib") == "discontinue");
  CHECK(rulesOf(out, "anlotinib") == json::array({"AN-HEM-2"}));
  CHECK(out["drugs"]["anlotinib"]["unverified"] == false);
  out = run("2026-03-10T00:00:00Z", "2026-02-24");
  CHECK(action(out, "anlotinib") == "continue");
  CHECK(out["drugs"]["anlotinib"]["dose_mg"] == 10);
  out = run("2026-03-10T00:00:00Z", "2026-02-25");
  CHECK(action(out, "anlotinib") == "discontinue");

  // Other anlotinib holds use the configurable default (14 days, UNVERIFIED) and say so.
  out = Sc().asOf("2026-02-25T00:00:00Z").ae("Hypertension", 3, "probable/unlikely").run();
  CHECK(rulesOf(out, "anlotinib") == json::array({"AN-HTN-3", "AN-HOLD-MAX"}));
  CHECK(out["drugs"]["anlotinib"]["unverified"] == true);
}

TEST_CASE("a lab or vital-sign hold that runs out with no later reading says the discontinuation rests on it") {
  // Issue 14.5: a grade 3 reading from September entered in December. AN-HTN-3 holds anlotinib for
  // at most 14 days (AN-HOLD-MAX) from 2026-09-03T09:00Z, i.e. until 2026-09-17T09:00Z.
  auto run = [](std::vector<std::pair<std::string, std::pair<int, int>>> readings) {
    Sc sc;
    sc.asOf("2026-12-05T10:00:00Z");
    int n = 0;
    for (const auto& [at, bp] : readings) sc.vital("v" + std::to_string(++n), bp.first, bp.second, at);
    return sc.run();
  };
  json out = run({{"2026-09-03T09:00:00Z", {170, 100}}});
  CHECK(action(out, "anlotinib") == "discontinue");
  REQUIRE(out["drugs"]["anlotinib"]["rests_on"].is_string());
  CHECK(out["drugs"]["anlotinib"]["rests_on"].get<std::string>().rfind(
            "no Hypertension reading at or below grade 1 recorded since 2026-09-03: enter the follow-up value", 0) == 0);
  CHECK(out["drugs"]["sintilimab"]["rests_on"].is_null());
  // A later reading still at grade 3 inside the window: the data show the event persists.
  out = run({{"2026-09-03T09:00:00Z", {170, 100}}, {"2026-09-10T09:00:00Z", {165, 100}}});
  CHECK(action(out, "anlotinib") == "discontinue");
  CHECK(out["drugs"]["anlotinib"]["rests_on"].is_null());
  // A grade 3 reading exactly when the hold runs out, or a normal one a second after it (too late
  // to resolve it in time): either way a later reading exists and the rules judged it.
  out = run({{"2026-09-03T09:00:00Z", {170, 100}}, {"2026-09-17T09:00:00Z", {165, 100}}});
  CHECK(action(out, "anlotinib") == "discontinue");
  CHECK(out["drugs"]["anlotinib"]["rests_on"].is_null());
  out = run({{"2026-09-03T09:00:00Z", {170, 100}}, {"2026-09-17T09:00:01Z", {130, 80}}});
  CHECK(action(out, "anlotinib") == "discontinue");
  CHECK(out["drugs"]["anlotinib"]["rests_on"].is_null());
  // The normal reading a week later resolves the hold in time: continue one level lower.
  out = run({{"2026-09-03T09:00:00Z", {170, 100}}, {"2026-09-10T09:00:00Z", {132, 84}}});
  CHECK(action(out, "anlotinib") == "continue");
  CHECK(out["drugs"]["anlotinib"]["dose_mg"] == 10);
  CHECK(out["drugs"]["anlotinib"]["rests_on"].is_null());
  // An AE-driven hold past its limit rests on the AE record, not on a missing reading.
  out = Sc().asOf("2026-02-25T00:00:00Z").ae("Hypertension", 3, "probable/unlikely").run();
  CHECK(action(out, "anlotinib") == "discontinue");
  CHECK(out["drugs"]["anlotinib"]["rests_on"].is_null());
}

TEST_CASE("eligibility at registration: each floor of the trial record just inside, at and just past") {
  // Findings of kind eligibility, one per criterion missed, ref the criterion's id.
  auto missed = [](json facts, json labs = json::array()) {
    Sc sc;
    sc.doc["participant"].update(facts);
    sc.doc["participant"]["baseline_labs"] = labs;
    std::set<std::string> ids;
    const json out = sc.run();
    for (const auto& f : out["findings"])
      if (f["kind"] == "eligibility") {
        CHECK(f["code"] == "eligibility_not_met");
        CHECK(f["rule_ids"] == json::array({f["ref"]}));
        ids.insert(f["ref"].get<std::string>());
      }
    return ids;
  };
  const std::set<std::string> none;
  CHECK(missed(json::object()) == none);  // nothing given: nothing judged
  CHECK(missed(json{{"age", 18}}) == none);
  CHECK(missed(json{{"age", 80}}) == none);
  CHECK(missed(json{{"age", 17}}) == std::set<std::string>{"ELIG-AGE"});
  CHECK(missed(json{{"age", 81}}) == std::set<std::string>{"ELIG-AGE"});
  // Enrolled 2026-01-05. Born 1945: 80 or 81, possibly eligible, not flagged; born 1944: 81 or 82.
  CHECK(missed(json{{"birth_year", 1945}}) == none);
  CHECK(missed(json{{"birth_year", 1944}}) == std::set<std::string>{"ELIG-AGE"});
  CHECK(missed(json{{"birth_year", 2008}}) == none);  // 17 or 18
  CHECK(missed(json{{"birth_year", 2009}}) == std::set<std::string>{"ELIG-AGE"});
  CHECK(missed(json{{"ecog", 1}}) == none);
  CHECK(missed(json{{"ecog", 2}}) == std::set<std::string>{"ELIG-ECOG"});
  CHECK(missed(json{{"hbv_dna_iu_ml", 1999.99}}) == none);
  CHECK(missed(json{{"hbv_dna_iu_ml", 2000}}) == std::set<std::string>{"ELIG-HBV"});
  CHECK(missed(json{{"fistula_or_perforation_6m", false}}) == none);
  CHECK(missed(json{{"fistula_or_perforation_6m", true}}) == std::set<std::string>{"ELIG-FISTULA"});
  auto lab = [](const char* test, double value, const char* unit) {
    return json::array({{{"test", test}, {"value", value}, {"unit", unit}}});
  };
  CHECK(missed(json::object(), lab("HGB", 90, "g/L")) == none);
  CHECK(missed(json::object(), lab("HGB", 89.9, "g/L")) == std::set<std::string>{"ELIG-HGB"});
  CHECK(missed(json::object(), lab("HGB", 9, "g/dL")) == none);
  CHECK(missed(json::object(), lab("HGB", 8.99, "g/dL")) == std::set<std::string>{"ELIG-HGB"});
  CHECK(missed(json::object(), lab("NEUT", 1.5, "10^9/L")) == none);  // ANC exactly 1.5 passes
  CHECK(missed(json::object(), lab("NEUT", 1.499, "10^9/L")) == std::set<std::string>{"ELIG-ANC"});
  CHECK(missed(json::object(), lab("NEUT", 1500, "/uL")) == none);
  CHECK(missed(json::object(), lab("NEUT", 1499, "/uL")) == std::set<std::string>{"ELIG-ANC"});
  CHECK(missed(json::object(), lab("NEUT", 1.5, "G/L")) == none);
  CHECK(missed(json::object(), lab("PLAT", 80, "10^9/L")) == none);
  CHECK(missed(json::object(), lab("PLAT", 79.9, "10^9/L")) == std::set<std::string>{"ELIG-PLT"});
  CHECK(missed(json::object(), lab("PLAT", 79999, "/uL")) == std::set<std::string>{"ELIG-PLT"});
  // Several at once, each named with its value and the criterion.
  Sc sc;
  sc.doc["participant"].update({{"age", 82}, {"ecog", 2}});
  sc.doc["participant"]["baseline_labs"] = lab("PLAT", 60, "10^9/L");
  const json out = sc.run();
  std::vector<std::string> texts;
  for (const auto& f : out["findings"])
    if (f["kind"] == "eligibility") texts.push_back(f["text"]);
  REQUIRE(texts.size() == 3);
  CHECK(texts[0] == "age 82 at enrolment: outside the eligibility criterion \"18-80 years at enrolment\"");
  CHECK(texts[1] == "ECOG performance status 2: outside the eligibility criterion \"ECOG performance status 0 or 1\"");
  CHECK(texts[2] == "PLAT 60 10^9/L at baseline: outside the eligibility criterion \"platelets >= 80 x 10^9/L\"");
  // A bad fact in a scenario is named like any other field.
  Sc bad;
  bad.doc["participant"]["ecog"] = 7;
  CHECK_THROWS_WITH(bad.run(), Catch::Contains("participant.ecog: must be a whole number from 0 to 5"));
}

TEST_CASE("cycle-start checks: the latest blood count of the 3 days before a cycle-day-1 dose meets the floors") {
  // CYCLE-START (UNVERIFIED): HGB >= 90 g/L, ANC >= 1.5 x 10^9/L, PLT >= 80 x 10^9/L from the 3 days
  // before the dosing day through it. Cycle 1 day 1 on 2026-01-20 (the first dosing day: left to the
  // eligibility check), cycle 2 day 1 on 2026-02-10.
  auto findings = [](double hgb, double anc, double plt, const char* when = "2026-02-09T08:00:00Z",
                     bool both_drugs = false) {
    Sc sc;
    sc.lab("h", "HGB", hgb, "g/L", nullptr, nullptr, when)
        .lab("n", "NEUT", anc, "10^9/L", nullptr, nullptr, when)
        .lab("p", "PLAT", plt, "10^9/L", nullptr, nullptr, when)
        .dose("sintilimab", "2026-01-20", 200, "d0", 1)
        .dose("sintilimab", "2026-02-10", 200, "d1", 1);
    if (both_drugs) sc.dose("anlotinib", "2026-02-10", 12, "d2", 1);
    json keep = json::array();
    const json out = sc.run();
    for (const auto& f : out["findings"])
      if (f["code"].get<std::string>().rfind("cycle_start", 0) == 0) keep.push_back(f);
    return keep;
  };
  CHECK(findings(90, 1.5, 80).empty());  // each floor exactly: met
  json out = findings(89.9, 1.5, 80);
  REQUIRE(out.size() == 1);
  CHECK(out[0]["code"] == "cycle_start_labs_not_met");
  CHECK(out[0]["kind"] == "protocol_deviation");
  CHECK(out[0]["ref"] == "HGB");
  CHECK(out[0]["dose_ref"] == "d1");
  CHECK(out[0]["rule_ids"] == json::array({"CYCLE-START"}));
  CHECK(out[0]["unverified"] == true);
  CHECK(out[0]["text"] == "cycle day 1 dose on 2026-02-10 given with HGB 89.9 g/L on 2026-02-09 (haemoglobin >= 90 g/L)");
  out = findings(95, 1.49, 79.9);
  REQUIRE(out.size() == 2);  // one finding per test
  CHECK(out[0]["ref"] == "NEUT");
  CHECK(out[1]["ref"] == "PLAT");
  // Both drugs on day 1: one check for the day.
  CHECK(findings(80, 1.5, 80, "2026-02-09T08:00:00Z", true).size() == 1);
  // The window: 3 days before the dosing day (2026-02-07T00:00) through the dosing day.
  CHECK(findings(95, 2, 100, "2026-02-07T00:00:00Z").empty());
  out = findings(95, 2, 100, "2026-02-06T23:59:59Z");
  REQUIRE(out.size() == 3);
  CHECK(out[0]["code"] == "cycle_start_labs_missing");
  CHECK(out[0]["ref"] == "HGB");
  CHECK(out[0]["text"] ==
        "cycle day 1 dose on 2026-02-10 given with no HGB result in the 3 days before it (haemoglobin >= 90 g/L)");
  CHECK(findings(95, 2, 100, "2026-02-10T23:00:00Z").empty());  // the dosing day counts
  // The latest result in the window decides (a low count re-checked normal the next day passes);
  // a dose on another cycle day is not checked.
  Sc sc;
  sc.asOf("2026-03-10T00:00:00Z")
      .lab("h", "HGB", 95, "g/L", nullptr, nullptr, "2026-02-09T08:00:00Z")
      .lab("n1", "NEUT", 1.2, "10^9/L", nullptr, nullptr, "2026-02-08T08:00:00Z")
      .lab("n2", "NEUT", 1.8, "10^3/uL", nullptr, nullptr, "2026-02-09T08:00:00Z")
      .lab("p", "PLAT", 150000, "/uL", nullptr, nullptr, "2026-02-09T08:00:00Z")
      .dose("sintilimab", "2026-01-20", 200, "d0", 1)
      .dose("sintilimab", "2026-02-10", 200, "d1", 1)
      .dose("sintilimab", "2026-03-03", 200, "d3", 2);
  const json later = sc.run();
  REQUIRE(!later["findings"].empty());  // the MON-CREAT findings at least: the list is there
  for (const auto& f : later["findings"]) CHECK(f["code"].get<std::string>().rfind("cycle_start", 0) != 0);
  // Baseline labs with a collection time count like any result.
  Sc base;
  base.doc["participant"]["baseline_labs"] = {
      {{"test", "HGB"}, {"value", 120}, {"unit", "g/L"}, {"collected", "2026-02-08T07:00:00Z"}},
      {{"test", "NEUT"}, {"value", 3}, {"unit", "10^9/L"}, {"collected", "2026-02-08T07:00:00Z"}},
      {{"test", "PLAT"}, {"value", 70}, {"unit", "10^9/L"}, {"collected", "2026-02-08T07:00:00Z"}}};
  base.dose("sintilimab", "2026-01-20", 200, "d0", 1).dose("sintilimab", "2026-02-10", 200, "d1", 1);
  const json with_base = base.run();
  std::vector<std::string> refs;
  for (const auto& f : with_base["findings"])
    if (f["code"].get<std::string>().rfind("cycle_start", 0) == 0) refs.push_back(f["code"].get<std::string>() + " " + f["ref"].get<std::string>());
  CHECK(refs == std::vector<std::string>{"cycle_start_labs_not_met PLAT"});
}

TEST_CASE("sintilimab 12-week rule: both clocks, from the last dose and from steroid start") {
  Sc sc;
  sc.dose("sintilimab", "2026-01-20", 200).ae("Pneumonitis", 2, "unlikely/probable", "2026-02-01");
  json out = sc.asOf("2026-04-14T00:00:00Z").run();  // last dose + 84 days
  CHECK(action(out, "sintilimab") == "hold");
  CHECK(out["drugs"]["sintilimab"]["discontinue_after"] == "2026-04-14T00:00:00Z");
  out = sc.asOf("2026-04-14T00:00:01Z").run();
  CHECK(action(out, "sintilimab") == "discontinue");
  CHECK(rulesOf(out, "sintilimab") == json::array({"SI-PNE-2", "SI-12W"}));
  CHECK(out["drugs"]["sintilimab"]["unverified"] == false);
  // Resolved in time: resumes at 200 mg.
  sc.lastAe()["resolved"] = "2026-04-13";
  CHECK(action(sc.asOf("2026-04-20T00:00:00Z").run(), "sintilimab") == "continue");

  // Steroids started before the hold (no sintilimab dose recorded): that clock ends first.
  Sc st;
  st.ae("Colitis", 2, "unlikely/probable", "2026-02-01");
  st.lastAe()["steroid_start"] = "2026-01-15";
  out = st.asOf("2026-04-09T00:00:01Z").run();
  CHECK(action(out, "sintilimab") == "discontinue");
  CHECK(has(rulesOf(out, "sintilimab"), "SI-12W"));
  st.lastAe().erase("steroid_start");
  CHECK(action(st.run(), "sintilimab") == "hold");  // the hold-start clock runs to 2026-04-26
}

TEST_CASE("recurrence: the same event again after resolving") {
  Sc sc;
  sc.asOf("2026-03-05T00:00:00Z")
      .ae("Pneumonitis", 2, "unlikely/probable", "2026-02-01", "2026-02-15", "p1")
      .ae("Pneumonitis", 2, "unlikely/probable", "2026-03-01", nullptr, "p1");
  json out = sc.run();
  CHECK(action(out, "sintilimab") == "discontinue");
  CHECK(rulesOf(out, "sintilimab") == json::array({"SI-PNE-3"}));
  CHECK(out["events"][1]["recurrent"] == true);
  // Not resolved before the second report: not a recurrence, still a hold.
  sc.doc["adverse_events"][0]["resolved"] = nullptr;
  out = sc.run();
  CHECK(action(out, "sintilimab") == "hold");
  CHECK(out["events"][1]["recurrent"] == false);

  // Recurrent G3 colitis stops sintilimab (SI-COL-4); a first G3 only withholds it.
  out = Sc()
            .asOf("2026-03-05T00:00:00Z")
            .ae("Colitis", 3, "unlikely/probable", "2026-02-01", "2026-02-12", "c1")
            .ae("Colitis", 3, "unlikely/probable", "2026-03-01", nullptr, "c1")
            .run();
  CHECK(rulesOf(out, "sintilimab") == json::array({"SI-COL-4"}));
  // Any other recurrent G3 irAE (same immune category): SI-REC-3 (UNVERIFIED).
  out = Sc()
            .asOf("2026-03-05T00:00:00Z")
            .ae("Rash maculo-papular", 3, "unlikely/probable", "2026-02-01", "2026-02-12", "s1")
            .ae("Pruritus", 3, "unlikely/probable", "2026-03-01", nullptr, "s2")
            .run();
  CHECK(action(out, "sintilimab") == "discontinue");
  CHECK(rulesOf(out, "sintilimab") == json::array({"SI-REC-3"}));
  CHECK(out["drugs"]["sintilimab"]["unverified"] == true);
  // Endocrinopathies controlled by replacement are the exception: withheld again, not stopped.
  out = Sc()
            .asOf("2026-03-05T00:00:00Z")
            .ae("Hyperthyroidism", 3, "unlikely/probable", "2026-02-01", "2026-02-12", "t1")
            .ae("Hypothyroidism", 3, "unlikely/probable", "2026-03-01", nullptr, "t2")
            .run();
  CHECK(action(out, "sintilimab") == "hold");
  // AN-PLT-3: same dose the first time, one level lower on recurrence.
  out = Sc()
            .asOf("2026-03-05T00:00:00Z")
            .ae("Platelet count decreased", 3, "probable/unlikely", "2026-02-01", "2026-02-08", "t1")
            .ae("Platelet count decreased", 3, "probable/unlikely", "2026-03-01", "2026-03-04", "t1")
            .run();
  CHECK(out["drugs"]["anlotinib"]["dose_mg"] == 10);
}

TEST_CASE("persisting events: diarrhea G2 beyond 72 hours holds both (OV-DIA)") {
  Sc sc;
  sc.ae("Diarrhea", 2, "possible/possible", "2026-02-10");
  json out = sc.asOf("2026-02-13T00:00:00Z").run();
  CHECK(action(out, "anlotinib") == "continue");
  out = sc.asOf("2026-02-13T00:00:01Z").run();
  CHECK(action(out, "anlotinib") == "hold");
  CHECK(has(rulesOf(out, "anlotinib"), "OV-DIA"));
  CHECK(has(rulesOf(out, "sintilimab"), "OV-DIA"));
  sc.lastAe()["resolved"] = "2026-02-13";
  CHECK(action(sc.run(), "anlotinib") == "continue");
  // PPE G2 not improving in 2 weeks: held (AN-HFS-2, second half).
  out = Sc().asOf("2026-02-24T00:00:01Z").ae("Palmar-plantar erythrodysesthesia syndrome", 2, "probable/unlikely").run();
  CHECK(rulesOf(out, "anlotinib") == json::array({"AN-HFS-2-14D"}));
}

TEST_CASE("overlap: hold both, then rechallenge one drug at a time") {
  // ALT 5 x ULN on 1 Feb (OV-HEP-1), back to normal on 10 Feb: quick recovery blames anlotinib,
  // so sintilimab restarts first and anlotinib waits for it.
  Sc quick;
  quick.lab("l1", "ALT", 200, "U/L", 7, 40, "2026-02-01T08:00:00Z").lab("l2", "ALT", 35, "U/L", 7, 40, "2026-02-10T08:00:00Z");
  json out = quick.asOf("2026-02-05T00:00:00Z").run();
  CHECK(action(out, "anlotinib") == "hold");
  CHECK(action(out, "sintilimab") == "hold");
  out = quick.asOf("2026-02-12T00:00:00Z").run();
  CHECK(action(out, "sintilimab") == "continue");
  CHECK(action(out, "anlotinib") == "hold");
  CHECK(out["drugs"]["anlotinib"]["awaiting_rechallenge"] == true);
  CHECK(out["drugs"]["anlotinib"]["dose_mg"] == 10);
  quick.dose("sintilimab", "2026-02-15", 200);
  out = quick.asOf("2026-02-16T00:00:00Z").run();
  CHECK(action(out, "anlotinib") == "continue");
  CHECK(out["drugs"]["anlotinib"]["dose_mg"] == 10);
  CHECK(doseStateFindings(out).empty());

  // Slow recovery (19 days) blames sintilimab: anlotinib restarts first, one level lower.
  Sc slow;
  slow.lab("l1", "ALT", 200, "U/L", 7, 40, "2026-02-01T08:00:00Z").lab("l2", "ALT", 35, "U/L", 7, 40, "2026-02-20T08:00:00Z");
  out = slow.asOf("2026-02-21T00:00:00Z").run();
  CHECK(action(out, "anlotinib") == "continue");
  CHECK(out["drugs"]["anlotinib"]["dose_mg"] == 10);
  CHECK(action(out, "sintilimab") == "hold");
  CHECK(out["drugs"]["sintilimab"]["awaiting_rechallenge"] == true);
  slow.dose("anlotinib", "2026-02-22", 10);
  CHECK(action(slow.asOf("2026-02-23T00:00:00Z").run(), "sintilimab") == "continue");
}

TEST_CASE("protocol deviations: a dose given against an open hold or after discontinuation") {
  json out = Sc()
                 .asOf("2026-02-20T00:00:00Z")
                 .ae("Esophageal hemorrhage", 2, "probable/unlikely", "2026-02-10")
                 .dose("anlotinib", "2026-02-10", 12, "d-same-day")
                 .dose("anlotinib", "2026-02-12", 12, "d-during-hold")
                 .run();
  REQUIRE(doseStateFindings(out).size() == 1);
  CHECK(doseStateFindings(out)[0]["code"] == "dose_during_hold");
  CHECK(doseStateFindings(out)[0]["dose_ref"] == "d-during-hold");
  CHECK(doseStateFindings(out)[0]["rule_ids"] == json::array({"AN-HEM-2"}));

  out = Sc()
            .asOf("2026-02-20T00:00:00Z")
            .ae("Esophageal hemorrhage", 3, "probable/unlikely", "2026-02-10")
            .dose("anlotinib", "2026-02-11", 12, "d1")
            .run();
  REQUIRE(doseStateFindings(out).size() == 1);
  CHECK(doseStateFindings(out)[0]["code"] == "dose_after_discontinuation");
  CHECK(doseStateFindings(out)[0]["rule_ids"] == json::array({"AN-HEM-3"}));

  out = Sc()
            .asOf("2026-03-20T00:00:00Z")
            .ae("Pneumonitis", 2, "unlikely/probable", "2026-02-10")
            .dose("sintilimab", "2026-03-03", 200, "s1")
            .run();
  REQUIRE(doseStateFindings(out).size() == 1);
  CHECK(doseStateFindings(out)[0]["drug"] == "sintilimab");
  CHECK(doseStateFindings(out)[0]["code"] == "dose_during_hold");

  // After a reduction, 12 mg again is a re-escalation the protocol does not allow.
  out = Sc()
            .asOf("2026-03-20T00:00:00Z")
            .ae("Hypertension", 3, "probable/unlikely", "2026-02-10", "2026-02-15")
            .dose("anlotinib", "2026-03-01", 12, "a1")
            .run();
  REQUIRE(doseStateFindings(out).size() == 1);
  CHECK(doseStateFindings(out)[0]["code"] == "dose_above_recommended");
  // The recommended dose itself is no finding.
  out = Sc()
            .asOf("2026-03-20T00:00:00Z")
            .ae("Hypertension", 3, "probable/unlikely", "2026-02-10", "2026-02-15")
            .dose("anlotinib", "2026-03-01", 10, "a1")
            .run();
  CHECK(doseStateFindings(out).empty());

  // A dose recorded in the morning for the same day counts at once; one dated tomorrow does not.
  for (const char* as_of : {"2026-02-12T00:00:00Z", "2026-02-12T09:00:00Z", "2026-02-12T23:59:59Z"}) {
    CAPTURE(as_of);
    out = Sc()
              .asOf(as_of)
              .ae("Esophageal hemorrhage", 3, "probable/unlikely", "2026-02-10")
              .dose("anlotinib", "2026-02-12", 12, "today")
              .dose("anlotinib", "2026-02-13", 12, "tomorrow")
              .run();
    REQUIRE(doseStateFindings(out).size() == 1);
    CHECK(doseStateFindings(out)[0]["dose_ref"] == "today");
  }
}

TEST_CASE("SAE versus suspected SUSAR clocks in the evaluation") {
  Sc sc;
  sc.ae("Myocarditis", 3, "unlikely/probable", "2026-02-10");
  sc.lastAe()["serious"] = {"hospitalization"};
  sc.lastAe()["sponsor_aware"] = "2026-02-11T09:00:00Z";
  json out = sc.run();
  CHECK(out["events"][0]["susar"] == true);  // myocarditis is not in sintilimab's RSI
  // A serious AESI travels with its SAE report: no separate aesi_24h.
  REQUIRE(out["deadlines"].size() == 2);
  CHECK(out["deadlines"][0]["kind"] == "sae_24h");
  CHECK(out["deadlines"][0]["due"] == "2026-02-11T08:00:00Z");
  CHECK(out["deadlines"][1]["kind"] == "susar_15d");
  CHECK(out["deadlines"][1]["due"] == "2026-02-26T09:00:00Z");
  CHECK(out["deadlines"][1]["anchor"] == "sponsor_aware");

  sc.lastAe()["serious"] = {"life_threatening"};
  out = sc.run();
  std::vector<std::string> kinds;
  for (const auto& d : out["deadlines"]) kinds.push_back(d["kind"]);
  CHECK(kinds == std::vector<std::string>{"sae_24h", "susar_7d", "susar_followup_8d"});
  CHECK(out["deadlines"][1]["due"] == "2026-02-18T09:00:00Z");
  CHECK(out["deadlines"][2]["due"] == "2026-02-26T09:00:00Z");
  // Causality disagreement: the sponsor's "possible" makes it related even if the investigator
  // ruled it out (CDE 2018).
  sc.lastAe()["relatedness"]["sintilimab"] = "unlikely";
  CHECK(sc.run()["events"][0]["susar"] == false);
  sc.lastAe()["sponsor_relatedness"] = {{"sintilimab", "possible"}};
  CHECK(sc.run()["events"][0]["susar"] == true);
  // A grade alone never makes an SAE.
  CHECK(Sc().ae("Myocarditis", 4, "unlikely/probable").run()["events"][0]["serious"] == false);
}

TEST_CASE("on-study flags of section 9") {
  json out = Sc().ae("Esophageal fistula", 2, "possible/unlikely").run();
  REQUIRE(out["flags"].size() == 1);
  CHECK(out["flags"][0]["id"] == "FLAG-FIS");
  out = Sc().ae("Thromboembolic event", 1, "possible/unlikely").run();
  CHECK(out["flags"][0]["id"] == "FLAG-THROMBOSIS");
  out = Sc().ae("Esophageal hemorrhage", 2, "possible/unlikely").run();
  CHECK(out["flags"].empty());
  // Cycle-start floors on the latest value (PLT >= 80 x 10^9/L; UNVERIFIED as day-1 criteria).
  out = Sc().lab("p1", "PLAT", 79, "10^9/L", 150, 400, "2026-02-10T08:00:00Z").run();
  REQUIRE(out["flags"].size() == 1);
  CHECK(out["flags"][0]["id"] == "FLAG-CYCLE-START");
  CHECK(out["flags"][0]["unverified"] == true);
  out = Sc().lab("p1", "PLAT", 80, "10^9/L", 150, 400, "2026-02-10T08:00:00Z").run();
  CHECK(out["flags"].empty());
  out = Sc()
            .lab("p1", "PLAT", 70, "10^9/L", 150, 400, "2026-02-01T08:00:00Z")
            .lab("p2", "PLAT", 120, "10^9/L", 150, 400, "2026-02-08T08:00:00Z")
            .run();
  CHECK(out["flags"].empty());
}

TEST_CASE("bad scenarios name every bad field") {
  json doc = Sc().ae("Nose bleed", 2).doc;
  doc["adverse_events"].push_back({{"ref", "ae2"}, {"term", "Myocarditis"}, {"grade", 1}, {"onset", "2026-02-10"}});
  doc["doses"].push_back({{"drug", "aspirin"}, {"date", "2026-02-10"}, {"dose_mg", 12}});
  doc["participant"]["dose_mg"]["anlotinib"] = 11;
  doc["bogus"] = 1;
  auto r = rules::parseScenario(doc, k().catalogue, k().grader, k().dose);
  REQUIRE_FALSE(r.isOk());
  std::vector<std::string> fields;
  for (const auto& f : r.status().fields()) fields.push_back(f.field);
  CHECK(fields == std::vector<std::string>{"bogus", "participant.dose_mg.anlotinib", "doses[0].drug",
                                           "adverse_events[0].term", "adverse_events[1].grade"});
  for (const auto& f : r.status().fields())
    if (f.field == "adverse_events[0].term") CHECK(f.detail.find("Epistaxis") != std::string::npos);
}

TEST_CASE("AN-DIA-2: diarrhea G2 attributed to anlotinib alone is held after 72 hours, sintilimab untouched") {
  Sc sc;
  sc.ae("Diarrhea", 2, "probable/not_related", "2026-02-10");
  json out = sc.asOf("2026-02-13T00:00:00Z").run();
  CHECK(rulesOf(out, "anlotinib") == json::array({"AN-DIA-2"}));
  out = sc.asOf("2026-02-13T00:00:01Z").run();
  CHECK(action(out, "anlotinib") == "hold");
  CHECK(rulesOf(out, "anlotinib") == json::array({"AN-DIA-2-72H"}));
  CHECK(out["drugs"]["anlotinib"]["dose_mg"] == 12);  // same dose on resumption
  CHECK(action(out, "sintilimab") == "continue");
}

TEST_CASE("SI-SKN-4 cannot fire: rash and pruritus have no grade 4 in CTCAE v5.0, so grade 4 is refused") {
  for (const char* term : {"Rash maculo-papular", "Pruritus"}) {
    auto r = rules::parseScenario(Sc().ae(term, 4, "unlikely/possible").doc, k().catalogue, k().grader, k().dose);
    REQUIRE_FALSE(r.isOk());
    REQUIRE(r.status().fields().size() == 1);
    CHECK(r.status().fields()[0].field == "adverse_events[0].grade");
  }
  CHECK(k().dose.find("SI-SKN-4") != nullptr);
}

TEST_CASE("on-study flags: bleeding >= G3, pneumonitis, HBV reactivation") {
  auto ids = [](const json& out) {
    std::vector<std::string> v;
    for (const auto& f : out["flags"]) v.push_back(f["id"]);
    return v;
  };
  CHECK(ids(Sc().ae("Esophageal hemorrhage", 2, "probable/unlikely").run()).empty());
  CHECK(ids(Sc().ae("Esophageal hemorrhage", 3, "probable/unlikely").run()) == std::vector<std::string>{"FLAG-BLEED-3"});
  CHECK(ids(Sc().ae("Pneumonitis", 1, "unlikely/possible").run()) == std::vector<std::string>{"FLAG-PNEUMONITIS"});
  const json hbv = Sc().ae("Hepatitis B reactivation", 1, "unlikely/unlikely").run();
  CHECK(ids(hbv) == std::vector<std::string>{"FLAG-HBV"});
  CHECK(hbv["flags"][0]["unverified"] == true);
}

// ---- section 1 missed doses, section 4 monitoring cadence, section 6.5 collection windows ----

TEST_CASE("AN-MISS: a missed anlotinib dose is skipped, not made up") {
  Sc sc;
  sc.asOf("2026-01-10T00:00:00Z").dose("anlotinib", "2026-01-05", 12, "a1").dose("anlotinib", "2026-01-06", 12, "a2");
  CHECK(findingsCoded(sc.run(), "anlotinib_dose_made_up").empty());  // one a day is the schedule
  sc.dose("anlotinib", "2026-01-06", 12, "a2-again");
  const json f = findingsCoded(sc.run(), "anlotinib_dose_made_up");
  REQUIRE(f.size() == 1);
  CHECK(f[0]["dose_ref"] == "a2-again");
  CHECK(f[0]["rule_ids"] == json::array({"AN-MISS"}));
  CHECK(f[0]["unverified"] == false);  // [AN-LBL]
  // A dose recorded as missed is no dose.
  Sc missed;
  missed.asOf("2026-01-10T00:00:00Z").dose("anlotinib", "2026-01-06", 12, "a1");
  missed.doc["doses"].push_back({{"drug", "anlotinib"}, {"date", "2026-01-06"}, {"status", "missed"}});
  CHECK(findingsCoded(missed.run(), "anlotinib_dose_made_up").empty());
}

TEST_CASE("AN-OFFWEEK: anlotinib on cycle days 15-21 is a possible medication error (UNVERIFIED)") {
  for (int day : {1, 14, 15, 21}) {
    CAPTURE(day);
    const json out = Sc().asOf("2026-02-01T00:00:00Z").dose("anlotinib", "2026-01-19", 12, "a", day).run();
    const json f = findingsCoded(out, "anlotinib_off_week");
    CHECK(f.size() == (day > 14 ? 1u : 0u));
    if (!f.empty()) CHECK(f[0]["unverified"] == true);
  }
  // No cycle day recorded: nothing to judge.
  CHECK(findingsCoded(Sc().asOf("2026-02-01T00:00:00Z").dose("anlotinib", "2026-01-19", 12).run(), "anlotinib_off_week").empty());
}

TEST_CASE("SI-MISS: a withheld sintilimab dose is not made up (18 days, UNVERIFIED)") {
  // 2026-01-05 then 17, 18 and 21 days later.
  for (const auto& [date, expected] : std::vector<std::pair<const char*, size_t>>{
           {"2026-01-22", 1}, {"2026-01-23", 0}, {"2026-01-26", 0}}) {
    CAPTURE(date);
    const json out = Sc().asOf("2026-02-01T00:00:00Z").dose("sintilimab", "2026-01-05", 200).dose("sintilimab", date, 200, "s2").run();
    const json f = findingsCoded(out, "sintilimab_dose_made_up");
    REQUIRE(f.size() == expected);
    if (expected) {
      CHECK(f[0]["dose_ref"] == "s2");
      CHECK(f[0]["unverified"] == true);
      CHECK(f[0]["rule_ids"] == json::array({"SI-MISS"}));
    }
  }
}

TEST_CASE("MON-CREAT: creatinine in the 3 days before each sintilimab dose") {
  // Dose on 2026-01-26: a result from 2026-01-23 00:00 through the dosing day counts.
  for (const auto& [collected, missing] : std::vector<std::pair<const char*, bool>>{
           {"2026-01-22T23:59:59Z", true}, {"2026-01-23T00:00:00Z", false}, {"2026-01-26T07:00:00Z", false},
           {"2026-01-27T00:00:00Z", true}}) {
    CAPTURE(collected);
    const json out = Sc()
                         .asOf("2026-02-01T00:00:00Z")
                         .lab("c", "CREAT", 80, "umol/L", 50, 110, collected)
                         .dose("sintilimab", "2026-01-26", 200, "s1")
                         .run();
    const json f = findingsCoded(out, "test_missing_before_dose");
    REQUIRE(f.size() == (missing ? 1u : 0u));
    if (missing) {
      CHECK(f[0]["ref"] == "CREAT");
      CHECK(f[0]["dose_ref"] == "s1");
      CHECK(f[0]["rule_ids"] == json::array({"MON-CREAT"}));
    }
  }
}

TEST_CASE("monitoring cadence: when each scheduled test is next due") {
  SECTION("nothing is due before the first dose") {
    const json out = Sc().asOf("2026-01-10T00:00:00Z").run();
    CHECK(monitoringOf(out, "MON-LFT", "ALT")["due"].is_null());
    CHECK(monitoringOf(out, "MON-BP", "SYSBP")["due"].is_null());
  }
  SECTION("blood pressure daily in cycle 1, then every 4 days") {
    Sc sc;
    sc.dose("anlotinib", "2026-01-05", 12).vital("v1", 120, 80, "2026-01-07T08:00:00Z");
    json bp = monitoringOf(sc.asOf("2026-01-08T08:00:00Z").run(), "MON-BP", "SYSBP");
    CHECK(bp["due"] == "2026-01-08T08:00:00Z");
    CHECK(bp["overdue"] == false);  // due at, not after
    bp = monitoringOf(sc.asOf("2026-01-08T08:00:01Z").run(), "MON-BP", "SYSBP");
    CHECK(bp["overdue"] == true);
    // Day 22 (after cycle 1): four days.
    bp = monitoringOf(sc.asOf("2026-01-26T00:00:00Z").run(), "MON-BP", "SYSBP");
    CHECK(bp["due"] == "2026-01-11T08:00:00Z");
    CHECK(bp["last"] == "2026-01-07T08:00:00Z");
    CHECK(bp["overdue"] == true);
  }
  SECTION("liver tests each cycle, weekly once grade 1") {
    Sc sc;
    sc.dose("anlotinib", "2026-01-05", 12).lab("l1", "ALT", 30, "U/L", 7, 40, "2026-01-05T08:00:00Z");
    CHECK(monitoringOf(sc.asOf("2026-01-10T00:00:00Z").run(), "MON-LFT", "ALT")["due"] == "2026-01-26T08:00:00Z");
    sc.lab("l2", "ALT", 41, "U/L", 7, 40, "2026-01-12T08:00:00Z");  // grade 1 (> ULN)
    CHECK(monitoringOf(sc.asOf("2026-01-13T00:00:00Z").run(), "MON-LFT", "ALT")["due"] == "2026-01-19T08:00:00Z");
    sc.lab("l3", "ALT", 40, "U/L", 7, 40, "2026-01-19T08:00:00Z");  // back to normal
    CHECK(monitoringOf(sc.asOf("2026-01-20T00:00:00Z").run(), "MON-LFT", "ALT")["due"] == "2026-02-09T08:00:00Z");
    // AST has no result: due one cycle after the first dose.
    CHECK(monitoringOf(sc.asOf("2026-01-20T00:00:00Z").run(), "MON-LFT", "AST")["due"] == "2026-01-26T00:00:00Z");
  }
  SECTION("TSH at six weeks; unscheduled tests carry no date; unverified cadences say so") {
    const json out = Sc().asOf("2026-01-10T00:00:00Z").dose("sintilimab", "2026-01-05", 200).run();
    CHECK(monitoringOf(out, "MON-TSH", "TSH")["due"] == "2026-02-16T00:00:00Z");
    CHECK(monitoringOf(out, "MON-ECG", "QTCF")["due"].is_null());
    CHECK(monitoringOf(out, "MON-UA", "PROTDIP")["unverified"] == true);
    CHECK(monitoringOf(out, "MON-CBC", "PLAT")["unverified"] == false);
  }
  SECTION("off treatment nothing is due") {
    const json out = Sc()
                         .asOf("2026-03-01T00:00:00Z")
                         .dose("anlotinib", "2026-01-05", 12)
                         .ae("Myocarditis", 3, "possible/possible", "2026-01-20")
                         .run();
    REQUIRE(action(out, "anlotinib") == "discontinue");
    REQUIRE(action(out, "sintilimab") == "discontinue");
    CHECK(monitoringOf(out, "MON-LFT", "ALT")["due"].is_null());
  }
}

TEST_CASE("WIN-AE / WIN-SAE: collection windows (UNVERIFIED)") {
  SECTION("onset before the first dose is a baseline condition") {
    for (const auto& [onset, before] : std::vector<std::pair<const char*, bool>>{{"2026-01-04", true}, {"2026-01-05", false}}) {
      CAPTURE(onset);
      const json out = Sc().asOf("2026-02-01T00:00:00Z").dose("anlotinib", "2026-01-05", 12).ae("Fatigue", 1, "possible/possible", onset).run();
      const json f = findingsCoded(out, "before_first_dose");
      REQUIRE(f.size() == (before ? 1u : 0u));
      if (before) {
        CHECK(f[0]["kind"] == "collection_window");
        CHECK(f[0]["ref"] == "ae1");
        CHECK(f[0]["drug"].is_null());
        CHECK(f[0]["unverified"] == true);
      }
    }
    // With no dose on record nothing is judged.
    CHECK(findingsCoded(Sc().ae("Fatigue", 1).run(), "before_first_dose").empty());
  }
  // Treatment ended: a fatal myocarditis on 2026-01-20 discontinued both drugs; last doses 2026-01-19.
  auto ended = [] {
    Sc sc;
    sc.asOf("2026-08-01T00:00:00Z")
        .dose("anlotinib", "2026-01-19", 12)
        .dose("sintilimab", "2026-01-19", 200)
        .ae("Myocarditis", 3, "possible/possible", "2026-01-20", nullptr, "m");
    return sc;
  };
  SECTION("a non-serious AE up to 30 days after the last dose, not after") {
    for (const auto& [onset, outside] : std::vector<std::pair<const char*, bool>>{{"2026-02-18", false}, {"2026-02-19", true}}) {
      CAPTURE(onset);
      Sc sc = ended();
      sc.ae("Fatigue", 1, "unlikely/unlikely", onset, nullptr, "late");
      const json f = findingsCoded(sc.run(), "outside_collection_window");
      REQUIRE(f.size() == (outside ? 1u : 0u));
      if (outside) {
        CHECK(f[0]["ref"] == "late");
        CHECK(f[0]["rule_ids"] == json::array({"WIN-AE"}));
      }
    }
  }
  SECTION("an unrelated SAE up to 90 days after the last sintilimab dose; a related one at any time") {
    for (const auto& [onset, rel, outside] : std::vector<std::tuple<const char*, const char*, bool>>{
             {"2026-04-19", "unlikely/unlikely", false}, {"2026-04-20", "unlikely/unlikely", true},
             {"2026-07-01", "unlikely/possible", false}}) {
      CAPTURE(onset, rel);
      Sc sc = ended();
      sc.ae("Lung infection", 3, rel, onset, nullptr, "sae");
      sc.lastAe()["serious"] = {"hospitalization"};
      const json f = findingsCoded(sc.run(), "outside_collection_window");
      REQUIRE(f.size() == (outside ? 1u : 0u));
      if (outside) CHECK(f[0]["rule_ids"] == json::array({"WIN-SAE"}));
    }
  }
  SECTION("while on treatment the end of the window is never judged") {
    const json out = Sc()
                         .asOf("2026-08-01T00:00:00Z")
                         .dose("anlotinib", "2026-01-05", 12)
                         .ae("Fatigue", 1, "unlikely/unlikely", "2026-07-01")
                         .run();
    CHECK(findingsCoded(out, "outside_collection_window").empty());
  }
}

TEST_CASE("pregnancy (section 6.4): a 24-hour clock, and an abnormal outcome on the SAE clock") {
  Sc sc;
  sc.asOf("2026-03-01T00:00:00Z");
  sc.doc["pregnancies"] = {{{"ref", "p1"}, {"subject", "participant"}, {"site_aware", "2026-02-10T09:30:00Z"}}};
  json out = sc.run();
  REQUIRE(out["deadlines"].size() == 1);
  CHECK(out["deadlines"][0] == json({{"ref", "p1"}, {"kind", "pregnancy_24h"}, {"due", "2026-02-11T09:30:00Z"},
                                      {"anchor", "site_aware"}}));
  REQUIRE(out["flags"].size() == 1);
  CHECK(out["flags"][0]["id"] == "PREG-24H");
  CHECK(out["flags"][0]["unverified"] == true);
  CHECK(out["events"].empty());  // not an AE

  SECTION("a live birth adds nothing; a pregnancy loss is reported as serious") {
    sc.doc["pregnancies"][0]["outcome"] = "live_birth";
    sc.doc["pregnancies"][0]["outcome_aware"] = "2026-02-20T10:00:00Z";
    CHECK(sc.run()["deadlines"].size() == 1);
    sc.doc["pregnancies"][0]["outcome"] = "pregnancy_loss";
    out = sc.run();
    REQUIRE(out["deadlines"].size() == 2);
    CHECK(out["deadlines"][1]["kind"] == "sae_24h");
    CHECK(out["deadlines"][1]["due"] == "2026-02-21T10:00:00Z");
    CHECK(out["deadlines"][1]["anchor"] == "outcome_aware");
    CHECK(out["flags"][1]["id"] == "PREG-OUTCOME");
    CHECK(out["flags"][1]["unverified"] == false);
  }
  SECTION("a pregnancy learnt after as_of is not yet known") {
    sc.asOf("2026-02-10T09:29:59Z");
    CHECK(sc.run()["deadlines"].empty());
  }
  SECTION("bad input names each field") {
    sc.doc["pregnancies"] = {{{"ref", "p1"}, {"subject", "sister"}, {"outcome", "pregnancy_loss"}}};
    auto parsed = rules::parseScenario(sc.doc, k().catalogue, k().grader, k().dose);
    REQUIRE(!parsed.isOk());
    std::set<std::string> fields;
    for (const auto& f : parsed.status().fields()) fields.insert(f.field);
    CHECK(fields == std::set<std::string>{"pregnancies[0].subject", "pregnancies[0].site_aware",
                                          "pregnancies[0].outcome_aware"});
  }
}

TEST_CASE("section 9 flags read from an AE's verbatim text: imaging of invasion, autoimmune flare (UNVERIFIED)") {
  auto flagsOf = [](const json& out) {
    std::set<std::string> ids;
    for (const auto& f : out["flags"]) ids.insert(f["id"].get<std::string>());
    return ids;
  };
  Sc sc;
  sc.ae("Neoplasms benign, malignant and unspecified (incl cysts and polyps) - Other, specify", 2, "unlikely/unlikely");
  sc.lastAe()["verbatim"] = "CT: new tracheal invasion by the primary";
  json out = sc.run();
  CHECK(flagsOf(out) == std::set<std::string>{"FLAG-INVASION"});
  CHECK(out["flags"][0]["unverified"] == true);
  sc.lastAe()["verbatim"] = "CT: stable primary";
  CHECK(flagsOf(sc.run()).empty());

  Sc flare;
  flare.ae("Arthritis", 2, "unlikely/possible");
  flare.lastAe()["verbatim"] = "Rheumatoid arthritis FLARE";
  CHECK(flagsOf(flare.run()) == std::set<std::string>{"FLAG-AUTOIMMUNE-FLARE"});
  flare.lastAe()["verbatim"] = "arthritis";
  CHECK(flagsOf(flare.run()).empty());
}

// ---- concomitant medications (issue 14) -----------------------------------------------------------

TEST_CASE("sintilimab resumes only when the event is back to G0-1 and prednisone-equivalent is <= 10 mg/day") {
  // Pneumonitis G2 (SI-PNE-2) from 2026-02-10, resolved 2026-02-20; the taper reaches its last step
  // on 2026-02-24.
  auto scenario = [](const std::string& name, double dose, const std::string& freq) {
    Sc sc;
    sc.ae("Pneumonitis", 2, "unlikely/possible", "2026-02-10", "2026-02-20").asOf("2026-02-26T00:00:00Z");
    sc.med("m1", "prednisone", "corticosteroid", 40, "QD", "2026-02-10", "2026-02-23");
    sc.med("m2", name, "corticosteroid", dose, freq, "2026-02-24");
    return sc;
  };
  SECTION("prednisone 10 mg/day exactly resumes; 10.5 does not") {
    json out = scenario("prednisone", 10, "QD").run();
    CHECK(action(out, "sintilimab") == "continue");
    CHECK(out["drugs"]["sintilimab"]["prednisone_mg_day"] == 10.0);
    out = scenario("prednisone", 10.5, "QD").run();
    CHECK(action(out, "sintilimab") == "hold");
    CHECK(has(rulesOf(out, "sintilimab"), "SI-RESUME-STEROID"));
    CHECK(has(rulesOf(out, "sintilimab"), "SI-PNE-2"));
    CHECK(out["drugs"]["sintilimab"]["prednisone_mg_day"] == 10.5);
    CHECK(has(out["drugs"]["sintilimab"]["resume"], "prednisone-equivalent <= 10 mg/day (now 10.5 mg/day)"));
  }
  SECTION("the conversion table: methylprednisolone 4, dexamethasone 0.75, hydrocortisone 20 mg = prednisone 5 mg") {
    CHECK(action(scenario("methylprednisolone", 8, "QD").run(), "sintilimab") == "continue");
    CHECK(action(scenario("methylprednisolone", 8.4, "QD").run(), "sintilimab") == "hold");
    CHECK(action(scenario("Dexamethasone", 1.5, "QD").run(), "sintilimab") == "continue");
    CHECK(action(scenario("dexamethasone", 1.6, "QD").run(), "sintilimab") == "hold");
    CHECK(action(scenario("hydrocortisone", 20, "BID").run(), "sintilimab") == "continue");
    CHECK(action(scenario("hydrocortisone", 20, "TID").run(), "sintilimab") == "hold");
    CHECK(action(scenario("prednisone", 5, "BID").run(), "sintilimab") == "continue");
  }
  SECTION("the hold lasts until the day the dose falls to the limit, not the day the event resolved") {
    Sc sc = scenario("prednisone", 10, "QD");
    sc.asOf("2026-02-23T23:59:59Z");
    json out = sc.run();
    CHECK(action(out, "sintilimab") == "hold");
    CHECK(has(rulesOf(out, "sintilimab"), "SI-RESUME-STEROID"));
    sc.asOf("2026-02-24T00:00:00Z");
    CHECK(action(sc.run(), "sintilimab") == "continue");
  }
  SECTION("a steroid still at 40 mg keeps the hold although the event resolved (before issue 14: continue)") {
    Sc sc;
    sc.ae("Pneumonitis", 2, "unlikely/possible", "2026-02-10", "2026-02-20").asOf("2026-02-26T00:00:00Z");
    sc.med("m1", "prednisone", "corticosteroid", 40, "QD", "2026-02-10");
    CHECK(action(sc.run(), "sintilimab") == "hold");
  }
  SECTION("topical and inhaled steroids do not count") {
    Sc sc;
    sc.ae("Pneumonitis", 2, "unlikely/possible", "2026-02-10", "2026-02-20").asOf("2026-02-26T00:00:00Z");
    sc.med("m1", "budesonide", "corticosteroid", 800, "BID", "2026-02-10", nullptr, "inhaled");
    sc.med("m2", "clobetasol", "corticosteroid", nullptr, "BID", "2026-02-10", nullptr, "topical");
    CHECK(action(sc.run(), "sintilimab") == "continue");
  }
  SECTION("no steroid recorded: the event's resolution alone resumes, as before") {
    Sc sc;
    sc.ae("Pneumonitis", 2, "unlikely/possible", "2026-02-10", "2026-02-20").asOf("2026-02-26T00:00:00Z");
    json out = sc.run();
    CHECK(action(out, "sintilimab") == "continue");
    CHECK(!out["drugs"]["sintilimab"].contains("prednisone_mg_day"));
  }
}

TEST_CASE("the steroid clock of SI-12W starts at the first steroid for the event, from the medications") {
  // Last sintilimab dose 2026-02-09; pneumonitis G2 on 2026-02-10; steroid for it from 2026-02-08.
  Sc sc;
  sc.dose("sintilimab", "2026-02-09", 200);
  sc.ae("Pneumonitis", 2, "unlikely/possible", "2026-02-10").asOf("2026-03-01T00:00:00Z");
  SECTION("without a steroid the last-dose clock: 2026-02-09 + 84 days") {
    CHECK(sc.run()["drugs"]["sintilimab"]["discontinue_after"] == "2026-05-04T00:00:00Z");
  }
  SECTION("the AE's steroid_start field when no steroid is recorded") {
    sc.lastAe()["steroid_start"] = "2026-02-08";
    CHECK(sc.run()["drugs"]["sintilimab"]["discontinue_after"] == "2026-05-03T00:00:00Z");
  }
  SECTION("a medication given for the event overrides the field") {
    sc.lastAe()["steroid_start"] = "2026-02-09";
    sc.med("m1", "methylprednisolone", "corticosteroid", 60, "QD", "2026-02-08", nullptr, "intravenous", "ae1");
    CHECK(sc.run()["drugs"]["sintilimab"]["discontinue_after"] == "2026-05-03T00:00:00Z");
    sc.asOf("2026-05-03T00:00:01Z");
    json out = sc.run();
    CHECK(action(out, "sintilimab") == "discontinue");
    CHECK(has(rulesOf(out, "sintilimab"), "SI-12W"));
  }
}

TEST_CASE("an irAE needing >= 1 mg/kg/day prednisone-equivalent is an AESI (AESI-IRAE-STEROID), at the weight given") {
  auto run = [](json weight, double mg, const std::string& name = "prednisone") {
    Sc sc;
    if (!weight.is_null()) sc.doc["participant"]["weight_kg"] = weight;
    // Colitis G2 is not of special interest by itself (AESI colitis is >= G3).
    sc.ae("Colitis", 2, "unlikely/possible", "2026-02-10").asOf("2026-02-13T00:00:00Z");
    sc.med("m1", name, "corticosteroid", mg, "QD", "2026-02-11", nullptr, "oral", "ae1");
    return sc.run();
  };
  auto aesiIds = [](const json& out) { return out["events"][0]["aesi_ids"]; };
  json out = run(70, 70);
  CHECK(has(aesiIds(out), "AESI-IRAE-STEROID"));
  CHECK(out["events"][0]["aesi"] == true);
  CHECK(out["events"][0]["steroid_peak_mg_day"] == 70.0);
  // Non-serious: the 24 h clock runs from the steroid's start, the moment it became an AESI.
  bool clock = false;
  for (const auto& d : out["deadlines"])
    if (d["ref"] == "ae1" && d["kind"] == "aesi_24h") {
      clock = true;
      CHECK(d["due"] == "2026-02-12T00:00:00Z");
      CHECK(d["anchor"] == "steroid_start");
    }
  CHECK(clock);
  CHECK(!has(aesiIds(run(70, 69.9)), "AESI-IRAE-STEROID"));
  CHECK(has(aesiIds(run(56, 56)), "AESI-IRAE-STEROID"));
  CHECK(has(aesiIds(run(70, 56, "methylprednisolone")), "AESI-IRAE-STEROID"));  // 56 mg = prednisone 70 mg
  CHECK(!has(aesiIds(run(70, 55.9, "methylprednisolone")), "AESI-IRAE-STEROID"));
  json unweighed = run(nullptr, 200);  // no weight: not judged
  CHECK(unweighed["events"][0]["aesi"] == false);
  CHECK(unweighed["events"][0]["steroid_peak_mg_day"] == 200.0);

  // Not an irAE: a steroid for a non-immune event does not make it one.
  Sc other;
  other.doc["participant"]["weight_kg"] = 50;
  other.ae("Hypertension", 2, "possible/unlikely", "2026-02-10").asOf("2026-02-13T00:00:00Z");
  other.med("m1", "prednisone", "corticosteroid", 60, "QD", "2026-02-11", nullptr, "oral", "ae1");
  CHECK(!has(other.run()["events"][0]["aesi_ids"], "AESI-IRAE-STEROID"));
}

TEST_CASE("a steroid taper for an irAE shorter than 4 weeks is a finding (SI-TAPER)") {
  auto findings = [](const json& last_day) {
    Sc sc;
    sc.ae("Colitis", 2, "unlikely/possible", "2026-02-10", "2026-02-20").asOf("2026-04-01T00:00:00Z");
    sc.med("m1", "prednisone", "corticosteroid", 60, "QD", "2026-02-10", "2026-02-20", "oral", "ae1");
    sc.med("m2", "prednisone", "corticosteroid", 20, "QD", "2026-02-21", last_day, "oral", "ae1");
    json out = sc.run();
    json list = json::array();
    for (const auto& f : out["findings"])
      if (f["code"] == "steroid_taper_short") list.push_back(f);
    return list;
  };
  CHECK(findings("2026-03-09").empty());  // 2026-02-10 to 2026-03-09: 28 days
  json f = findings("2026-03-08");        // 27 days
  REQUIRE(f.size() == 1);
  CHECK(f[0]["ref"] == "ae1");
  CHECK(f[0]["kind"] == "protocol_deviation");
  CHECK(f[0]["rule_ids"] == json::array({"SI-TAPER"}));
  CHECK(f[0]["date"] == "2026-03-08");
  CHECK(findings(nullptr).empty());  // still tapering
}

TEST_CASE("INR is graded on its anticoagulated branch while an anticoagulant is recorded") {
  auto inrGrade = [](bool warfarin) {
    Sc sc;
    // On warfarin at baseline (INR 2.0): 2.8 is 1.4 x baseline (G1 anticoagulated), > 2.5 (G3 otherwise).
    sc.doc["participant"]["baseline_labs"] = {{{"test", "INR"}, {"value", 2.0}, {"unit", "ratio"}, {"lln", 0.8}, {"uln", 1.2}}};
    sc.lab("l1", "INR", 2.8, "ratio", 0.8, 1.2, "2026-02-10T08:00:00Z").asOf("2026-02-11T00:00:00Z");
    if (warfarin) sc.med("m1", "warfarin", "anticoagulant", 3, "QD", "2026-02-01");
    json out = sc.run();
    for (const auto& e : out["events"])
      if (e["ref"] == "l1") return e["grade"].get<int>();
    return 0;
  };
  core::Participant p;
  p.baseline_labs.push_back({"INR", 2.0, "ratio", 0.8, 1.2, std::nullopt});
  auto expected = [&](bool anticoagulated) {
    auto g = grading::gradeMeasurement(k().grader, "INR", 2.8, "ratio", 0.8, 1.2, p, anticoagulated);
    REQUIRE(g.isOk());
    return g.value().at(0).grade.value_or(0);
  };
  CHECK(expected(false) == 3);
  CHECK(expected(true) == 1);
  CHECK(inrGrade(false) == expected(false));
  CHECK(inrGrade(true) == expected(true));
}

TEST_CASE("AN-VTE-2 resumes anlotinib once anticoagulation has been stable for 7 days") {
  Sc sc;
  sc.ae("Thromboembolic event", 2, "possible/unlikely", "2026-02-10");
  SECTION("7 days of one record from the hold: at 00:00 of day 7 exactly") {
    sc.med("m1", "enoxaparin", "anticoagulant", 80, "BID", "2026-02-10", nullptr, "subcutaneous");
    sc.asOf("2026-02-16T23:59:59Z");
    json out = sc.run();
    CHECK(action(out, "anlotinib") == "hold");
    CHECK(has(rulesOf(out, "anlotinib"), "AN-VTE-2"));
    sc.asOf("2026-02-17T00:00:00Z");
    CHECK(action(sc.run(), "anlotinib") == "continue");
  }
  SECTION("a dose change is a new record: stability counts again from it") {
    sc.med("m1", "enoxaparin", "anticoagulant", 60, "BID", "2026-02-10", "2026-02-13", "subcutaneous");
    sc.med("m2", "enoxaparin", "anticoagulant", 80, "BID", "2026-02-14", nullptr, "subcutaneous");
    sc.asOf("2026-02-20T23:59:59Z");
    CHECK(action(sc.run(), "anlotinib") == "hold");
    sc.asOf("2026-02-21T00:00:00Z");
    CHECK(action(sc.run(), "anlotinib") == "continue");
  }
  SECTION("anticoagulation begun before the event counts from the event") {
    sc.med("m1", "rivaroxaban", "anticoagulant", 20, "QD", "2026-01-20");
    sc.asOf("2026-02-16T23:59:59Z");
    CHECK(action(sc.run(), "anlotinib") == "hold");
  }
  SECTION("no anticoagulant: the hold stays until the event resolves") {
    sc.asOf("2026-02-20T00:00:00Z");
    CHECK(action(sc.run(), "anlotinib") == "hold");
  }
}

TEST_CASE("every hypertension grade shows the antihypertensive classes in use") {
  auto classes = [](Sc sc) {
    sc.vital("v1", 165, 95, "2026-02-10T08:00:00Z").asOf("2026-02-11T00:00:00Z");
    json out = sc.run();
    for (const auto& e : out["events"])
      if (e["term"] == "Hypertension") return e["antihypertensive_classes"];
    return json();
  };
  CHECK(classes(Sc()) == 0);
  Sc two;
  two.med("m1", "amlodipine", "antihypertensive", 5, "QD", "2026-01-20").med("m2", "losartan", "antihypertensive", 50, "QD", "2026-02-01");
  two.doc["concomitant_medications"][0]["drug_class"] = "calcium_channel_blocker";
  two.doc["concomitant_medications"][1]["drug_class"] = "ARB";
  CHECK(classes(two) == 2);
  Sc same;
  same.med("m1", "amlodipine", "antihypertensive", 5, "QD", "2026-01-20").med("m2", "nifedipine", "antihypertensive", 30, "QD", "2026-02-01");
  same.doc["concomitant_medications"][0]["drug_class"] = "calcium_channel_blocker";
  same.doc["concomitant_medications"][1]["drug_class"] = "calcium_channel_blocker";
  CHECK(classes(same) == 1);
  Sc stopped;  // stopped the day before the reading
  stopped.med("m1", "amlodipine", "antihypertensive", 5, "QD", "2026-01-20", "2026-02-09");
  CHECK(classes(stopped) == 0);
}

TEST_CASE("concomitant medications in a scenario: each bad field named") {
  Sc sc;
  sc.ae("Pneumonitis", 2);
  sc.med("m1", "budesonide", "corticosteroid", 9, "QD", "2026-02-10");            // not in the table, systemic
  sc.med("m2", "prednisone", "corticosteroid", nullptr, "QD", "2026-02-10");       // no dose
  sc.med("m3", "warfarin", "anticoagulant", 3, "daily", "2026-02-10", "2026-02-09");  // bad frequency, end before start
  sc.med("m4", "aspirin", "analgesic", 100, "QD", "2026-02-10", nullptr, "oral", "ae9");  // bad category, unknown AE
  auto parsed = rules::parseScenario(sc.doc, k().catalogue, k().grader, k().dose);
  REQUIRE(!parsed.isOk());
  std::set<std::string> fields;
  for (const auto& f : parsed.status().fields()) fields.insert(f.field);
  CHECK(fields == std::set<std::string>{"concomitant_medications[0].name", "concomitant_medications[1].dose",
                                        "concomitant_medications[1].unit", "concomitant_medications[2].frequency",
                                        "concomitant_medications[2].end", "concomitant_medications[3].category",
                                        "concomitant_medications[3].indication_ref"});
}

// ---- HBV monitoring (issue 14) ---------------------------------------------------------------------

TEST_CASE("SI-HBV: an HBV-DNA rise to >= 2000 IU/mL or >= 1 log10 over baseline in a carrier withholds both (AESI, 24 h)") {
  auto run = [](double value, const std::string& unit, json baseline, const char* hbsag = "positive",
                const char* anti_hbc = "negative") {
    Sc sc;
    sc.doc["participant"]["hbsag"] = hbsag;
    sc.doc["participant"]["anti_hbc"] = anti_hbc;
    if (!baseline.is_null()) sc.doc["participant"]["hbv_dna_iu_ml"] = baseline;
    sc.lab("h1", "HBVDNA", value, unit, nullptr, nullptr, "2026-02-10T08:00:00Z").asOf("2026-02-11T00:00:00Z");
    return sc.run();
  };
  auto reactivated = [](const json& out) { return has(rulesOf(out, "anlotinib"), "SI-HBV"); };
  SECTION("1 log10 over a baseline of 100 IU/mL: 999 no, 1000 yes") {
    CHECK_FALSE(reactivated(run(999, "IU/mL", 100)));
    json out = run(1000, "IU/mL", 100);
    REQUIRE(reactivated(out));
    CHECK(action(out, "anlotinib") == "hold");
    CHECK(action(out, "sintilimab") == "hold");
    CHECK(has(rulesOf(out, "sintilimab"), "SI-HBV"));
    CHECK(rulesOf(out, "anlotinib") == json::array({"SI-HBV"}));
    REQUIRE(out["events"].size() == 1);
    CHECK(out["events"][0]["term"] == "Hepatitis B reactivation");
    CHECK(out["events"][0]["aesi"] == true);
    CHECK(has(out["events"][0]["aesi_ids"], "AESI-HBV"));
    REQUIRE(out["deadlines"].size() == 1);
    CHECK(out["deadlines"][0]["kind"] == "aesi_24h");
    CHECK(out["deadlines"][0]["due"] == "2026-02-11T08:00:00Z");
    CHECK(out["deadlines"][0]["anchor"] == "measured");
  }
  SECTION("2000 IU/mL whatever the baseline; 1999 is not, over a baseline of 1000") {
    CHECK(reactivated(run(2000, "IU/mL", 1000)));
    CHECK(reactivated(run(2000, "IU/mL", nullptr)));
    CHECK_FALSE(reactivated(run(1999, "IU/mL", 1000)));
    CHECK_FALSE(reactivated(run(1999, "IU/mL", nullptr)));  // no baseline: the level alone
  }
  SECTION("copies/mL convert at 5 copies per IU (10^4 copies/mL = 2000 IU/mL)") {
    CHECK(reactivated(run(10000, "copies/mL", 1000)));
    CHECK_FALSE(reactivated(run(9999, "COPIES/ML", 1000)));
  }
  SECTION("an undetectable baseline counts as 20 IU/mL: 199 no, 200 yes") {
    CHECK_FALSE(reactivated(run(199, "IU/mL", 0)));
    CHECK(reactivated(run(200, "IU/mL", 0)));
  }
  SECTION("anti-HBc-positive counts as a carrier; a participant negative for both is not monitored") {
    CHECK(reactivated(run(5000, "IU/mL", 100, "negative", "positive")));
    json out = run(5000, "IU/mL", 100, "negative", "negative");
    CHECK_FALSE(reactivated(out));
    CHECK(out["events"].empty());
  }
}

TEST_CASE("a reactivation found by HBV-DNA resolves at a later result below both limits") {
  Sc sc;
  sc.doc["participant"]["hbsag"] = "positive";
  sc.doc["participant"]["hbv_dna_iu_ml"] = 100;
  sc.lab("h1", "HBVDNA", 3000, "IU/mL", nullptr, nullptr, "2026-02-10T08:00:00Z");
  sc.lab("h2", "HBVDNA", 900, "IU/mL", nullptr, nullptr, "2026-02-20T08:00:00Z");
  sc.asOf("2026-02-20T07:59:59Z");
  CHECK(action(sc.run(), "anlotinib") == "hold");
  sc.asOf("2026-02-20T08:00:00Z");
  json out = sc.run();
  CHECK(action(out, "anlotinib") == "continue");
  CHECK(action(out, "sintilimab") == "continue");
}

TEST_CASE("MON-HBV: HBV-DNA every 6 weeks for carriers only (UNVERIFIED)") {
  auto hbvDue = [](const char* hbsag) {
    Sc sc;
    sc.doc["participant"]["hbsag"] = hbsag;
    sc.dose("anlotinib", "2026-02-01", 12);
    sc.lab("h1", "HBVDNA", 50, "IU/mL", nullptr, nullptr, "2026-02-03T08:00:00Z").asOf("2026-03-20T00:00:00Z");
    json out = sc.run();
    for (const auto& m : out["monitoring"])
      if (m["rule_id"] == "MON-HBV") return m;
    return json();
  };
  json due = hbvDue("positive");
  REQUIRE(due.is_object());
  CHECK(due["test"] == "HBVDNA");
  CHECK(due["last"] == "2026-02-03T08:00:00Z");
  CHECK(due["due"] == "2026-03-17T08:00:00Z");
  CHECK(due["overdue"] == true);
  CHECK(due["unverified"] == true);
  CHECK(hbvDue("negative").is_null());
}

TEST_CASE("HBV-DNA in a scenario: IU/mL or copies/mL, never negative or impossible") {
  Sc sc;
  sc.lab("h1", "HBVDNA", 100, "mg/L", nullptr, nullptr, "2026-02-10T08:00:00Z");
  sc.lab("h2", "hbvdna", -1, "IU/mL", nullptr, nullptr, "2026-02-10T08:00:00Z");
  sc.lab("h3", "HBVDNA", 2e10, "IU/mL", nullptr, nullptr, "2026-02-10T08:00:00Z");
  auto parsed = rules::parseScenario(sc.doc, k().catalogue, k().grader, k().dose);
  REQUIRE(!parsed.isOk());
  std::set<std::string> fields;
  for (const auto& f : parsed.status().fields()) fields.insert(f.field);
  CHECK(fields == std::set<std::string>{"labs[0].unit", "labs[1].value", "labs[2].value"});
}

TEST_CASE("review mends: a persisting HBV reactivation stays one event, a free-text indication is an indication, the steroid AESI clock starts at 1 mg/kg") {
  SECTION("3000 then 3000 IU/mL: the hold keeps its start and clocks, one AESI clock") {
    Sc sc;
    sc.doc["participant"]["hbsag"] = "positive";
    sc.doc["participant"]["hbv_dna_iu_ml"] = 100;
    sc.lab("h1", "HBVDNA", 3000, "IU/mL", nullptr, nullptr, "2026-02-10T08:00:00Z").asOf("2026-02-15T00:00:00Z");
    const json before = sc.run();
    sc.lab("h2", "HBVDNA", 3000, "IU/mL", nullptr, nullptr, "2026-02-20T08:00:00Z").asOf("2026-02-25T00:00:00Z");
    const json after = sc.run();
    CHECK(action(after, "anlotinib") == "hold");
    CHECK(after["drugs"]["anlotinib"]["since"] == before["drugs"]["anlotinib"]["since"]);
    CHECK(after["drugs"]["sintilimab"]["since"] == before["drugs"]["sintilimab"]["since"]);
    CHECK(after["drugs"]["sintilimab"]["discontinue_after"] == before["drugs"]["sintilimab"]["discontinue_after"]);
    CHECK(after["deadlines"].size() == 1);
    CHECK(after["events"].size() == 1);
  }
  SECTION("dexamethasone as antiemetic premedication during an open irAE is not given for it") {
    Sc sc;
    sc.doc["participant"]["weight_kg"] = 50;
    sc.ae("Hypothyroidism", 2, "unlikely/possible", "2026-02-10").asOf("2026-03-20T00:00:00Z");
    sc.med("m1", "dexamethasone", "corticosteroid", 8, "once", "2026-02-12", nullptr, "intravenous");
    sc.doc["concomitant_medications"][0]["indication"] = "antiemetic premedication";
    json out = sc.run();
    CHECK(!has(out["events"][0]["aesi_ids"], "AESI-IRAE-STEROID"));
    for (const auto& f : out["findings"]) CHECK(f["code"] != "steroid_taper_short");
    // The same dose with no indication at all is taken as given for the irAE.
    sc.doc["concomitant_medications"][0].erase("indication");
    CHECK(has(sc.run()["events"][0]["aesi_ids"], "AESI-IRAE-STEROID"));
  }
  SECTION("the AESI clock runs from the first record with which the total reached 1 mg/kg, not the peak") {
    Sc sc;
    sc.doc["participant"]["weight_kg"] = 70;
    sc.ae("Colitis", 2, "unlikely/possible", "2026-02-10").asOf("2026-02-20T00:00:00Z");
    sc.med("m1", "prednisone", "corticosteroid", 80, "QD", "2026-02-11", nullptr, "oral", "ae1");
    sc.med("m2", "methylprednisolone", "corticosteroid", 40, "QD", "2026-02-14", nullptr, "intravenous", "ae1");
    json out = sc.run();
    CHECK(out["events"][0]["steroid_peak_mg_day"] == 130.0);
    REQUIRE(out["deadlines"].size() == 1);
    CHECK(out["deadlines"][0]["due"] == "2026-02-12T00:00:00Z");
  }
  SECTION("a medication starting after as_of is not yet known") {
    Sc sc;
    sc.ae("Pneumonitis", 2, "unlikely/possible", "2026-02-10", "2026-02-20").asOf("2026-02-26T00:00:00Z");
    sc.med("m1", "prednisone", "corticosteroid", 40, "QD", "2026-03-01");
    json out = sc.run();
    CHECK(action(out, "sintilimab") == "continue");
    CHECK(!out["drugs"]["sintilimab"].contains("prednisone_mg_day"));
  }
}
