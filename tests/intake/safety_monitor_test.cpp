// The safety evaluation recorded at write time and by the sweep (issue 4: "evaluated on every AE,
// lab, vital-sign and dosing write"; "clocks run by themselves"), on a real SQLite store with the
// real rule files and a clock the test moves.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "core/crypto.h"
#include "grading/catalogue.h"
#include "grading/lab_grader.h"
#include "intake/intake_service.h"
#include "intake/safety_monitor.h"
#include "rules/categories.h"
#include "rules/dose_rules.h"
#include "rules/evaluator.h"
#include "rules/reporting.h"
#include "store/sqlite_store.h"
#include "support/clinical_data.h"
#include "support/fixed_clock.h"
#include "support/temp_dir.h"

using namespace vigil;
using nlohmann::json;

namespace {

const test::ClinicalData& rulesOnce() { return test::clinicalData(); }

int64_t at(const char* ts) { return *core::parseTimestamp(ts); }

struct Fixture {
  test::TempDir dir;
  test::FixedClock clock{at("2026-02-12T09:00:00Z")};
  store::SqliteStore store{store::SqliteOptions{.path = dir.file("vigil.db")}, clock};
  intake::SafetyMonitor monitor{rulesOnce().evaluator};
  intake::IntakeService intake{store, clock, rulesOnce().catalogue, rulesOnce().grader, rulesOnce().reporting, &monitor};
  core::User inv{1, "inv1", core::Role::kInvestigator, {"S01"}, false};

  Fixture() {
    REQUIRE(intake.addSite("test", "S01", "Site one").isOk());
    auto token = intake.addUser("test", inv);
    REQUIRE(token.isOk());
    inv = store.userByTokenHash(core::sha256Hex(token.value())).value();
    json p = {{"study_id", "S01-001"}, {"site", "S01"}, {"enrolled_on", "2026-01-05"}, {"liver_metastases", false},
              {"prior_thoracic_radiotherapy", false}, {"baseline_labs", json::array()}};
    REQUIRE(intake.createParticipant(ctx(), p).isOk());
  }
  intake::WriteContext ctx(std::optional<std::string> key = std::nullopt, const std::string& hash = "h") {
    return {inv, std::move(key), hash};
  }
  json hemorrhage(int grade, const std::string& start = "2026-02-10") {
    return {{"study_id", "S01-001"},
            {"verbatim", "haematemesis"},
            {"ctcae_term", "Esophageal hemorrhage"},
            {"grade", grade},
            {"serious_criteria", json::array()},
            {"relatedness", {{"anlotinib", "probable"}, {"sintilimab", "unlikely"}}},
            {"action_taken", {{"anlotinib", "drug_interrupted"}, {"sintilimab", "dose_not_changed"}}},
            {"outcome", "not_recovered"},
            {"start", start},
            {"site_aware_at", start + "T08:00:00Z"}};
  }
  json dose(const std::string& date) {
    return {{"study_id", "S01-001"}, {"drug", "anlotinib"}, {"dose_mg", 12}, {"route", "oral"},
            {"date", date},          {"cycle", 2},          {"day", 1},      {"status", "given"}};
  }
  std::vector<core::SafetyChange> changes() { return store.safetyChanges("S01-001", {0, 1000}).value(); }
  std::vector<core::SafetyChange> changes(const std::string& kind) {
    std::vector<core::SafetyChange> out;
    for (auto& c : changes())
      if (c.kind == kind) out.push_back(c);
    return out;
  }
  size_t evaluateAudits() {
    size_t n = 0;
    const auto entries = store.auditEntries().value();
    for (const auto& e : entries) n += e.entity == "safety" && e.action == "evaluate";
    return n;
  }
};

}  // namespace

TEST_CASE("a write that changes a recommendation records the change in its own unit of work", "[safety]") {
  Fixture f;
  CHECK(f.changes().empty());  // registering at the starting doses changes nothing

  auto r = f.intake.createAdverseEvent(f.ctx(), f.hemorrhage(3));
  REQUIRE(r.isOk());
  // The on-study flag of section 9 (bleeding >= G3) and anlotinib's recommendation; sintilimab
  // continues (OV-BLD), so it has no change.
  auto flags = f.changes("flag");
  REQUIRE(flags.size() == 1);
  CHECK(flags[0].subject == "FLAG-BLEED-3");
  auto ch = f.changes("recommendation");
  REQUIRE(ch.size() == 1);
  CHECK(ch[0].kind == "recommendation");
  CHECK(ch[0].subject == "anlotinib");
  CHECK(ch[0].actor == "inv1");
  CHECK(ch[0].cause == "create adverse event");
  CHECK(ch[0].at == "2026-02-12T09:00:00.000Z");
  const json detail = json::parse(ch[0].detail);
  CHECK(detail["action"] == "discontinue");
  CHECK(detail["rule_ids"] == json::array({"AN-HEM-3"}));
  CHECK(detail["previous"]["action"] == "continue");
  CHECK(detail["previous"]["dose_mg"] == 12);
  CHECK(f.evaluateAudits() == 1);

  SECTION("a correction back to grade 1 records the return to the full dose") {
    const int64_t id = json::parse(r.value().body)["id"];
    json update = f.hemorrhage(1);
    update["reason"] = "source data verification";
    REQUIRE(f.intake.updateAdverseEvent(f.ctx(), id, update).isOk());
    ch = f.changes("recommendation");
    REQUIRE(ch.size() == 2);
    const json back = json::parse(ch[1].detail);
    CHECK(back["action"] == "continue");
    CHECK(back["dose_mg"] == 12);
    CHECK(back["previous"]["action"] == "discontinue");
    CHECK(ch[1].cause == "update adverse event " + std::to_string(id));
  }
  SECTION("a write that changes nothing records nothing") {
    json vitals = {{"study_id", "S01-001"}, {"measured_at", "2026-02-12T08:00:00Z"}, {"systolic_mmhg", 118},
                   {"diastolic_mmhg", 76}};
    REQUIRE(f.intake.recordVitals(f.ctx(), vitals).isOk());
    CHECK(f.changes().size() == 2);
    CHECK(f.evaluateAudits() == 1);
  }
  SECTION("a replayed request is not evaluated twice") {
    REQUIRE(f.intake.recordDose(f.ctx("k1", "h1"), f.dose("2026-02-11")).isOk());
    const size_t after_first = f.changes().size();
    auto again = f.intake.recordDose(f.ctx("k1", "h1"), f.dose("2026-02-11"));
    REQUIRE(again.isOk());
    CHECK(again.value().replayed);
    CHECK(f.changes().size() == after_first);
  }
}

TEST_CASE("a dose against an open recommendation is recorded once as a finding", "[safety]") {
  Fixture f;
  // The dose-state findings only: these day-1 doses have no blood count before them, which the
  // cycle-start check (tested in the evaluator) also records.
  auto doseFindings = [&] {
    std::vector<core::SafetyChange> out;
    for (auto& c : f.changes("finding"))
      if (c.subject.rfind("dose_", 0) == 0) out.push_back(c);
    return out;
  };
  json first = f.dose("2026-01-05");  // cycle 1 day 1, before the bleed
  first["cycle"] = 1;
  REQUIRE(f.intake.recordDose(f.ctx(), first).isOk());
  REQUIRE(f.intake.createAdverseEvent(f.ctx(), f.hemorrhage(3)).isOk());
  REQUIRE(f.intake.recordDose(f.ctx(), f.dose("2026-02-11")).isOk());
  auto ch = doseFindings();
  REQUIRE(ch.size() == 1);
  CHECK(ch[0].subject == "dose_after_discontinuation");
  CHECK(ch[0].cause == "record dose");
  CHECK(json::parse(ch[0].detail)["dose_ref"] == "dose/2");
  // Another write leaves the known finding alone; a second such dose is a second finding.
  REQUIRE(f.intake.recordDose(f.ctx(), f.dose("2026-02-12")).isOk());
  ch = doseFindings();
  REQUIRE(ch.size() == 2);
  CHECK(json::parse(ch[1].detail)["dose_ref"] == "dose/3");
}

TEST_CASE("the sweep records a hold that outlived its maximum, once, with no write", "[safety]") {
  Fixture f;
  REQUIRE(f.intake.createAdverseEvent(f.ctx(), f.hemorrhage(2)).isOk());  // onset 2026-02-10
  auto ch = f.changes();
  REQUIRE(ch.size() == 1);
  CHECK(json::parse(ch[0].detail)["action"] == "hold");
  CHECK(json::parse(ch[0].detail)["rule_ids"] == json::array({"AN-HEM-2"}));

  // AN-HEM-2: a hold longer than 14 days becomes a discontinuation, strictly after the limit.
  f.clock.set(at("2026-02-24T00:00:00Z"));
  auto swept = f.monitor.sweep(f.store);
  REQUIRE(swept.isOk());
  CHECK(swept.value() == 0);
  f.clock.set(at("2026-02-24T00:00:01Z"));
  swept = f.monitor.sweep(f.store);
  REQUIRE(swept.isOk());
  CHECK(swept.value() == 1);
  ch = f.changes();
  REQUIRE(ch.size() == 2);
  CHECK(ch[1].actor == "vigild");
  CHECK(ch[1].cause == "clock");
  CHECK(ch[1].at == "2026-02-24T00:00:01.000Z");
  const json detail = json::parse(ch[1].detail);
  CHECK(detail["action"] == "discontinue");
  CHECK(detail["previous"]["action"] == "hold");
  // The next sweep finds nothing new.
  f.clock.set(at("2026-03-01T00:00:00Z"));
  CHECK(f.monitor.sweep(f.store).value() == 0);
  CHECK(f.changes().size() == 2);
}

TEST_CASE("labs and vital signs are evaluated on write like AEs", "[safety]") {
  Fixture f;
  SECTION("ALT 6.25 x ULN holds both drugs (OV-HEP-1)") {
    json lab = {{"study_id", "S01-001"}, {"test", "ALT"},   {"value", 250},
                {"unit", "U/L"},        {"lln", 7},        {"uln", 40},
                {"collected_at", "2026-02-12T07:00:00Z"}};
    REQUIRE(f.intake.recordLabs(f.ctx(), lab).isOk());
    auto ch = f.changes();
    REQUIRE(ch.size() == 2);
    CHECK(ch[0].subject == "anlotinib");
    CHECK(ch[1].subject == "sintilimab");
    CHECK(json::parse(ch[1].detail)["action"] == "hold");
    CHECK(ch[0].cause == "record labs");
  }
  SECTION("a blood pressure of 180/110 holds anlotinib (AN-HTN-X)") {
    json vitals = {{"study_id", "S01-001"}, {"measured_at", "2026-02-12T08:00:00Z"}, {"systolic_mmhg", 180},
                   {"diastolic_mmhg", 110}};
    REQUIRE(f.intake.recordVitals(f.ctx(), vitals).isOk());
    auto ch = f.changes();
    REQUIRE(!ch.empty());
    CHECK(ch[0].subject == "anlotinib");
    CHECK(json::parse(ch[0].detail)["action"] != "continue");
    CHECK(ch[0].cause == "record vital signs");
  }
}
