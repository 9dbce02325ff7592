// The real alerts/ files: every table row of clinical-rules.md sections 2, 3 and 5 is present,
// every term is CTCAE v5.0, every category is used, every rule cites its source; and the loader
// refuses a broken file, naming the rule and the problem.
#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "rules/dose_rules.h"
#include "rules/reporting.h"
#include "support/temp_dir.h"

using namespace vigil;
using nlohmann::json;

namespace {

struct Loaded {
  grading::Catalogue catalogue;
  grading::LabGrader grader;
  rules::CategorySet categories;
};

const Loaded& base() {
  static const Loaded* l = [] {
    auto* x = new Loaded{std::move(grading::Catalogue::load(VIGIL_SOURCE_DIR "/ctcae/terms.tsv").value()),
                         std::move(grading::LabGrader::load(VIGIL_SOURCE_DIR "/ctcae").value()), {}};
    x->categories = std::move(rules::CategorySet::load(VIGIL_SOURCE_DIR "/alerts/rules/categories.json", x->catalogue).value());
    return x;
  }();
  return *l;
}

core::Result<rules::DoseRules> load(const std::string& path) {
  return rules::DoseRules::load(path, base().catalogue, base().categories, base().grader);
}

json realFile() {
  std::ifstream in(VIGIL_SOURCE_DIR "/alerts/rules/dose.json");
  return json::parse(in);
}

}  // namespace

TEST_CASE("every rule row of sections 2, 3 and 5 is in alerts/rules/dose.json") {
  auto loaded = load(VIGIL_SOURCE_DIR "/alerts/rules/dose.json");
  REQUIRE(loaded.isOk());
  const auto& rules = loaded.value();
  // The row ids as clinical-rules.md prints them.
  const char* section2[] = {"AN-HEM-1", "AN-HEM-2", "AN-HEM-3", "AN-HEM-5", "AN-FIS", "AN-ATE", "AN-VTE-2", "AN-VTE-3",
                            "AN-VTE-4", "AN-HTN-1", "AN-HTN-2", "AN-HTN-3", "AN-HTN-X", "AN-HTN-4", "AN-PRO-1", "AN-PRO-2a",
                            "AN-PRO-2b", "AN-PRO-3", "AN-PRO-N", "AN-HFS-1", "AN-HFS-2", "AN-HFS-3", "AN-MUC-3", "AN-DIA-1",
                            "AN-DIA-2", "AN-DIA-3", "AN-DIA-4", "AN-HEP", "AN-QTC-1/2", "AN-QTC-3", "AN-QTC-4", "AN-THY",
                            "AN-THY-3", "AN-FAT-3", "AN-TG", "AN-TG-4", "AN-PLT-3", "AN-RPLS", "AN-HF", "AN-HF-4", "AN-WND",
                            "AN-OTH-3", "AN-OTH-4"};
  const char* section3[] = {"SI-GEN", "SI-PNE-1", "SI-PNE-2", "SI-PNE-3", "SI-COL-1", "SI-COL-2", "SI-COL-4", "SI-HEP-2",
                            "SI-HEP-3", "SI-HEP-LM", "SI-HEP-COMBO", "SI-NEP-2", "SI-NEP-3", "SI-END-HYPO",
                            "SI-END-HYPO-3", "SI-END-HYPER", "SI-END-HYPER-3", "SI-END-PIT", "SI-END-PIT-3", "SI-END-AI",
                            "SI-END-AI-3", "SI-END-DM", "SI-SKN-1/2", "SI-SKN-3", "SI-SKN-4", "SI-SKN-BUL", "SI-SKN-SJS",
                            "SI-SKN-SJS-C", "SI-MYC-1", "SI-MYC-2", "SI-MYO-2", "SI-MYO-3", "SI-NEU-MG", "SI-NEU-MG-3",
                            "SI-NEU-GBS", "SI-NEU-OTH", "SI-IRR-1", "SI-IRR-3", "SI-PAN", "SI-PAN-3", "SI-HBV", "SI-OTH-3",
                            "SI-OTH-4", "SI-RCCEP"};
  const char* section5[] = {"OV-GEN-1", "OV-GEN-2", "OV-HEP-1", "OV-HEP-2", "OV-HEP-HY", "OV-DIA", "OV-THY",
                            "OV-REN",   "OV-REN-2", "OV-PNE",   "OV-SKN",   "OV-FAT",    "OV-BLD", "OV-STER"};
  for (const char* id : section2) CHECK((rules.find(id) && rules.find(id)->section == "2"));
  for (const char* id : section3) CHECK((rules.find(id) && rules.find(id)->section.rfind("3", 0) == 0));
  for (const char* id : section5) CHECK((rules.find(id) && rules.find(id)->section == "5"));
  // The clocks and the 8 mg floor (sections 1 and 3.0).
  for (const char* id : {"AN-INT", "AN-HOLD-MAX", "SI-12W"}) CHECK(rules.clock(id) != nullptr);
  CHECK(rules.verified("AN-INT"));
  CHECK(rules.verified("SI-12W"));
  CHECK_FALSE(rules.verified("AN-HOLD-MAX"));
}

TEST_CASE("every rule cites a source, its terms are CTCAE v5.0 and UNVERIFIED sources are flagged") {
  const json doc = realFile();
  size_t checked_terms = 0;
  for (const auto& rule : doc["rules"]) {
    INFO(rule["id"]);
    CHECK_FALSE(rule["source"].get<std::string>().empty());
    if (rule["source"].get<std::string>().find("UNVERIFIED") != std::string::npos) CHECK(rule["verified"] == false);
    for (const auto& when : rule.value("when", json::array()))
      for (const auto& term : when.value("terms", json::array())) {
        const auto* t = base().catalogue.find(term.get<std::string>());
        CHECK((t && t->term == term));
        ++checked_terms;
      }
  }
  CHECK(checked_terms > 50);
  for (const char* section : {"clock_rules", "on_study_flags", "monitoring"})
    for (const auto& c : doc[section]) {
      INFO(section << " " << c["id"]);
      const std::string source = c["source"];
      CHECK_FALSE(source.empty());
      if (source.find("UNVERIFIED") != std::string::npos) CHECK(c["verified"] == false);
    }
  // The rules that are not table rows: section 1 (missed doses), 4 (monitoring), 6.4 and 6.5.
  std::set<std::string> ids;
  for (const char* section : {"clock_rules", "monitoring"})
    for (const auto& c : doc[section]) ids.insert(c["id"].get<std::string>());
  for (const char* id : {"AN-MISS", "AN-OFFWEEK", "SI-MISS", "WIN-AE", "WIN-SAE", "PREG-24H", "PREG-OUTCOME", "MON-BP",
                         "MON-UA", "MON-LFT", "MON-CREAT", "MON-TSH", "MON-METAB", "MON-CBC", "MON-ECG", "MON-MUSCLE"})
    CHECK(ids.count(id) == 1);
}

TEST_CASE("every safety category is used by a dose rule or an AESI rule") {
  std::set<std::string> used;
  auto collect = [&](const json& conditions) {
    for (const auto& when : conditions) {
      for (const auto& c : when.value("categories", json::array())) used.insert(c.get<std::string>());
      for (const auto& t : when.value("terms", json::array()))
        for (const auto* c : base().categories.classify(t.get<std::string>()).categories) used.insert(c->name);
    }
  };
  const json dose = realFile();
  for (const auto& rule : dose["rules"]) collect(rule.value("when", json::array()));
  std::ifstream in(VIGIL_SOURCE_DIR "/alerts/rules/aesi.json");
  const json aesi = json::parse(in);
  for (const auto& rule : aesi["rules"]) collect(json::array({rule["when"]}));
  for (const auto& name : rules::kCategoryNames) {
    INFO(name);
    CHECK(used.count(name) == 1);
  }
}

TEST_CASE("the loader refuses a broken rule file, naming the rule") {
  test::TempDir dir;
  auto refuse = [&](const std::function<void(json&)>& breakIt, const std::string& expected) {
    json doc = realFile();
    breakIt(doc);
    const std::string path = dir.path() + "/dose.json";
    std::ofstream(path) << doc.dump();
    auto r = load(path);
    REQUIRE_FALSE(r.isOk());
    INFO(r.status().message());
    CHECK(r.status().message().find(expected) != std::string::npos);
  };
  auto rule = [](json& doc, const char* id) -> json& {
    for (auto& r : doc["rules"])
      if (r["id"] == id) return r;
    throw std::runtime_error("no rule");
  };
  refuse([&](json& d) { rule(d, "AN-HEM-2")["source"] = ""; }, "rule AN-HEM-2: no source");
  refuse([&](json& d) { rule(d, "AN-HEM-2")["when"][0]["terms"] = {"Nose bleed"}; }, "'Nose bleed' is not a CTCAE v5.0 term");
  refuse([&](json& d) { rule(d, "AN-HEM-2")["when"][0]["categories"] = {"bleeding"}; }, "unknown category 'bleeding'");
  refuse([&](json& d) { rule(d, "AN-HEM-2")["max_hold"] = 14; }, "rule AN-HEM-2: unknown field 'max_hold'");
  refuse([&](json& d) { rule(d, "AN-HEM-2")["action"] = "reduce"; }, "unknown action 'reduce'");
  refuse([&](json& d) { rule(d, "SI-PNE-2").erase("resume"); }, "rule SI-PNE-2: a hold needs its resume condition");
  refuse([&](json& d) { rule(d, "OV-THY")["routes_to"].push_back("SI-END-NONE"); }, "routes to unknown rule SI-END-NONE");
  refuse([&](json& d) { d["rules"].push_back(rule(d, "AN-FIS")); }, "rule AN-FIS: duplicate id");
  refuse([&](json& d) {
    auto& c = d["clock_rules"];
    for (size_t i = 0; i < c.size(); ++i)
      if (c[i]["id"] == "AN-INT") c.erase(i);
  }, "missing AN-INT");
  refuse([&](json& d) {
    for (auto& c : d["clock_rules"])
      if (c["id"] == "SI-MISS") c.erase("days");
  }, "missing SI-MISS with its days");
  refuse([&](json& d) { d["monitoring"][0]["tests"] = {"BLOODPRESSURE"}; }, "monitoring MON-BP: tests: unknown test BLOODPRESSURE");
  refuse([&](json& d) { d["monitoring"][2]["if_grade"] = 0; }, "monitoring MON-LFT: if_grade_every_days needs if_grade >= 1");
  refuse([&](json& d) { d["settings"]["anlotinib_days_on"] = 22; }, "need 1 <= anlotinib_days_on <= cycle_days");
  // Eligibility criteria: each kind takes the limit it is judged by, and no other.
  auto elig = [](json& doc, const char* id) -> json& {
    for (auto& e : doc["eligibility"])
      if (e["id"] == id) return e;
    throw std::runtime_error(std::string("no eligibility ") + id);
  };
  refuse([&](json& d) { elig(d, "ELIG-HGB")["max"] = 200; }, "eligibility ELIG-HGB: a lab criterion takes min (and min_us) only");
  refuse([&](json& d) { elig(d, "ELIG-HGB").erase("min_us"); }, "eligibility ELIG-HGB: a lab floor needs min (SI) and min_us (US)");
  refuse([&](json& d) { elig(d, "ELIG-HBV")["max"] = 2000; }, "eligibility ELIG-HBV: hbv_dna_iu_ml takes below only");
  refuse([&](json& d) { elig(d, "ELIG-AGE").erase("min"), elig(d, "ELIG-AGE").erase("max"); },
         "eligibility ELIG-AGE: age takes min and/or max only");
  refuse([&](json& d) { elig(d, "ELIG-FISTULA")["below"] = 1; }, "fistula_or_perforation_6m takes no limit");
  refuse([&](json& d) { elig(d, "ELIG-ECOG")["fact"] = "karnofsky"; }, "eligibility ELIG-ECOG: fact: unknown fact karnofsky");
  refuse([&](json& d) { elig(d, "ELIG-ANC")["test"] = "ANC"; }, "eligibility ELIG-ANC: test: unknown test ANC");
  refuse([&](json& d) { elig(d, "ELIG-PLT")["source"] = ""; }, "eligibility ELIG-PLT: no source");
  // The medication rule data (issue 14): every number with its source, known keys only.
  refuse([&](json& d) { d["medications"]["taper_source"] = ""; }, "medications: medications.taper_source: every number cites its source");
  refuse([&](json& d) { d["medications"]["taper_weeks"] = 4; }, "medications.taper_weeks: not a known key");
  refuse([&](json& d) { d["medications"]["systemic_routes"].push_back("nasogastric"); }, "medications.systemic_routes: nasogastric is not a route");
  refuse([&](json& d) { d["medications"]["steroid_equivalent_mg"].erase("prednisone"); }, "prednisone is the reference");
  refuse([&](json& d) { d["medications"]["steroid_equivalent_mg"]["dexamethasone"] = 0; }, "steroid_equivalent_mg.dexamethasone");
  refuse([&](json& d) { d.erase("medications"); }, "medications");
  refuse([&](json& d) { rule(d, "AN-VTE-2")["resume_also"] = "heparin"; }, "rule AN-VTE-2: resume_also: only \"stable_anticoagulation\"");
}
