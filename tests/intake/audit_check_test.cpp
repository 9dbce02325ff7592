// Issue 13.4: the audit trail catches truncation and forgery. A keyed store with an anchor file,
// real intake writes, then an attacker with file access (a raw SQLite connection) at work.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "audit/anchor.h"
#include "core/crypto.h"
#include "grading/catalogue.h"
#include "grading/lab_grader.h"
#include "intake/audit_check.h"
#include "intake/intake_service.h"
#include "rules/categories.h"
#include "rules/reporting.h"
#include "store/sqlite.h"
#include "store/sqlite_store.h"
#include "support/fixed_clock.h"
#include "support/temp_dir.h"

using namespace vigil;
using nlohmann::json;

namespace {

const std::string kKey(32, 'K');

const grading::Catalogue& catalogue() {
  static const grading::Catalogue c = std::move(grading::Catalogue::load(VIGIL_SOURCE_DIR "/ctcae/terms.tsv").value());
  return c;
}
const grading::LabGrader& grader() {
  static const grading::LabGrader g = std::move(grading::LabGrader::load(VIGIL_SOURCE_DIR "/ctcae").value());
  return g;
}
const rules::ReportingRules& reporting() {
  static const rules::CategorySet categories =
      std::move(rules::CategorySet::load(VIGIL_SOURCE_DIR "/alerts/rules/categories.json", catalogue()).value());
  static const rules::ReportingRules r =
      std::move(rules::ReportingRules::load(VIGIL_SOURCE_DIR "/alerts", catalogue(), categories).value());
  return r;
}

// Every kind of clinical row, 600 lab results among them (so 500 audit rows can be cut).
struct Trial {
  test::TempDir dir;
  test::FixedClock clock{*core::parseTimestamp("2026-03-01T00:00:00Z")};
  std::unique_ptr<store::SqliteStore> store = open();
  std::unique_ptr<intake::IntakeService> intake =
      std::make_unique<intake::IntakeService>(*store, clock, catalogue(), grader(), reporting());
  core::User inv{1, "inv1", core::Role::kInvestigator, {"S01"}, false};
  int64_t first_lab = 0;

  std::unique_ptr<store::SqliteStore> open() {
    return std::make_unique<store::SqliteStore>(
        store::SqliteOptions{.path = dir.file("vigil.db"), .audit_key = kKey, .anchor_path = anchorPath()}, clock);
  }
  std::string anchorPath() const { return dir.file("vigil.db.anchor"); }
  intake::AuditCheckOptions options() const { return {kKey, anchorPath()}; }
  intake::WriteContext ctx() { return {inv, std::nullopt, "h"}; }

  Trial() {
    REQUIRE(intake->addSite("test", "S01", "Site one").isOk());
    auto token = intake->addUser("test", inv);
    REQUIRE(token.isOk());
    inv = store->userByTokenHash(core::sha256Hex(token.value())).value();
    REQUIRE(intake->createParticipant(ctx(), {{"study_id", "S01-001"}, {"site", "S01"}, {"enrolled_on", "2026-01-05"},
                                              {"liver_metastases", false}, {"prior_thoracic_radiotherapy", false},
                                              {"baseline_labs", {{{"test", "ALT"}, {"value", 30}, {"unit", "U/L"},
                                                                  {"lln", 7}, {"uln", 40}}}}})
                .isOk());
    REQUIRE(intake->recordDose(ctx(), {{"study_id", "S01-001"}, {"drug", "anlotinib"}, {"dose_mg", 12}, {"route", "oral"},
                                       {"date", "2026-01-05"}, {"cycle", 1}, {"day", 1}, {"status", "given"}})
                .isOk());
    json ae = {{"study_id", "S01-001"}, {"verbatim", "nose bleed"}, {"ctcae_term", "Epistaxis"},
               {"meddra_code", "10015090"}, {"grade", 3},
               // Sent out of the catalogue's order: read back in it, still the same set.
               {"serious_criteria", {"important_medical_event", "hospitalization"}},
               {"relatedness", {{"anlotinib", "possible"}, {"sintilimab", "unlikely"}}},
               {"action_taken", {{"anlotinib", "drug_interrupted"}, {"sintilimab", "dose_not_changed"}}},
               {"outcome", "recovering"}, {"start", "2026-02-10"}, {"site_aware_at", "2026-02-10T08:00:00Z"}};
    auto created = intake->createAdverseEvent(ctx(), ae);
    REQUIRE(created.isOk());
    ae["grade"] = 2;
    ae["serious_criteria"] = {"hospitalization"};
    ae["reason"] = "regraded";
    ae["base_version"] = 1;
    REQUIRE(intake->updateAdverseEvent(ctx(), json::parse(created.value().body)["id"], ae).isOk());
    REQUIRE(intake->recordVitals(ctx(), {{"study_id", "S01-001"}, {"measured_at", "2026-02-03T09:00:00Z"},
                                         {"systolic_mmhg", 150}, {"diastolic_mmhg", 95}, {"temperature_c", 37.8}})
                .isOk());
    json batch = json::array();
    for (int i = 0; i < 600; ++i)
      batch.push_back({{"study_id", "S01-001"}, {"test", "ALT"}, {"value", 41.5 + i}, {"unit", "U/L"}, {"lln", 7},
                       {"uln", 40}, {"collected_at", "2026-02-01T08:00:00Z"}, {"specimen", "serum"}});
    auto labs = intake->recordLabs(ctx(), {{"results", batch}});
    REQUIRE(labs.isOk());
    first_lab = json::parse(labs.value().body)["ids"][0];
  }

  // The writer's connection closed, so the attacker's edits are the last word.
  void close() {
    intake.reset();
    store->close();
  }
  std::string verify() {
    auto r = intake::checkAuditTrail(*store, options());
    REQUIRE(r.isOk());
    return r.value().problem;
  }
  std::string verifyHead() {
    auto r = intake::checkAuditHead(*store, options());
    REQUIRE(r.isOk());
    return r.value().problem;
  }
  int64_t auditRows() { return static_cast<int64_t>(store->auditEntries().value().size()); }
};

}  // namespace

TEST_CASE("an untouched keyed trail verifies: chain, anchor and every data row", "[intake][audit]") {
  Trial t;
  auto r = intake::checkAuditTrail(*t.store, t.options());
  REQUIRE(r.isOk());
  CHECK(r.value().problem == "");
  CHECK(r.value().entries > 600);
  CHECK(r.value().rows >= 604);  // participant, dose, AE, vitals, 600 labs
  REQUIRE(r.value().anchor);
  CHECK(r.value().anchor->seq == t.auditRows());
  CHECK(t.verifyHead() == "");
  const auto entries = t.store->auditEntries().value();
  for (const auto& e : entries) CHECK(e.scheme == audit::kKeyedScheme);
}

TEST_CASE("the anchor file follows each commit and never points past the database", "[intake][audit]") {
  Trial t;
  auto anchor = audit::readAnchor(t.anchorPath(), kKey);
  REQUIRE(anchor.isOk());
  REQUIRE(anchor.value());
  const auto entries = t.store->auditEntries().value();
  CHECK(anchor.value()->seq == entries.back().seq);
  CHECK(anchor.value()->hash == entries.back().hash);
  REQUIRE(t.intake->addSite("test", "S02", "Site two").isOk());
  CHECK(audit::readAnchor(t.anchorPath(), kKey).value()->seq == entries.back().seq + 1);
}

TEST_CASE("deleting the newest audit row is caught by the anchor", "[intake][audit]") {
  Trial t;
  const int64_t rows = t.auditRows();
  t.close();
  {
    store::Connection raw(t.dir.file("vigil.db"), false);
    raw.execute("DROP TRIGGER audit_log_no_delete");
    raw.execute("DELETE FROM audit_log WHERE seq=" + std::to_string(rows));
  }
  t.store = t.open();
  CHECK_THAT(t.verify(), Catch::Contains("ends at row " + std::to_string(rows - 1)) &&
                             Catch::Contains("1 newest row(s) were removed"));
  CHECK_THAT(t.verifyHead(), Catch::Contains("1 newest row(s) were removed"));
  // The store leaves the anchor as evidence: new writes do not move it back onto the cut chain.
  CHECK(t.store->anchorProblem());
  intake::IntakeService intake(*t.store, t.clock, catalogue(), grader(), reporting());
  REQUIRE(intake.addSite("test", "S09", "Site nine").isOk());
  CHECK_THAT(t.verify(), Catch::Contains("does not hold the hash the anchor records"));
}

TEST_CASE("deleting the newest 500 audit rows is caught by the anchor", "[intake][audit]") {
  Trial t;
  const int64_t rows = t.auditRows();
  t.close();
  {
    store::Connection raw(t.dir.file("vigil.db"), false);
    raw.execute("DROP TRIGGER audit_log_no_delete");
    raw.execute("DELETE FROM audit_log WHERE seq>" + std::to_string(rows - 500));
    // The lab rows those entries described go too, or the data check would name them first.
    raw.execute("DROP TRIGGER lab_results_no_delete");
    raw.execute("DELETE FROM lab_results WHERE id NOT IN (SELECT CAST(entity_id AS INTEGER) FROM audit_log "
                "WHERE entity='lab_result')");
  }
  t.store = t.open();
  CHECK_THAT(t.verify(), Catch::Contains("500 newest row(s) were removed"));
  CHECK_THAT(t.verifyHead(), Catch::Contains("500 newest row(s) were removed"));
}

TEST_CASE("a middle row edited and re-hashed with plain SHA-256 is caught by the key", "[intake][audit]") {
  Trial t;
  const int64_t rows = t.auditRows();
  const int64_t middle = rows / 2;
  t.close();
  {
    // The attacker edits a row and re-hashes it and every later row as the old code did.
    store::Connection raw(t.dir.file("vigil.db"), false);
    raw.execute("DROP TRIGGER audit_log_no_update");
    raw.execute("UPDATE audit_log SET after=replace(after, '\"value\":', '\"value\":1') WHERE seq=" +
                std::to_string(middle));
    std::string prev;
    {
      auto& s = raw.prepare("SELECT hash FROM audit_log WHERE seq=?");
      s.bind(1, middle - 1);
      REQUIRE(s.step());
      prev = s.text(0);
      s.reset();
    }
    for (int64_t seq = middle; seq <= rows; ++seq) {
      audit::AuditEntry e;
      {
        auto& s = raw.prepare("SELECT seq, at, actor, action, entity, entity_id, before, after FROM audit_log WHERE seq=?");
        s.bind(1, seq);
        REQUIRE(s.step());
        e = {s.int64(0), s.text(1), s.text(2), s.text(3), s.text(4), s.text(5), s.text(6), s.text(7), prev, "",
             audit::kPlainScheme};
        s.reset();
      }
      e.hash = audit::computeHash(e);
      raw.prepare("UPDATE audit_log SET prev_hash=?, hash=?, scheme=? WHERE seq=?")
          .bind(1, e.prev_hash)
          .bind(2, e.hash)
          .bind(3, std::string(audit::kPlainScheme))
          .bind(4, seq)
          .exec();
      prev = e.hash;
    }
  }
  t.store = t.open();
  CHECK_THAT(t.verify(), Catch::Contains("broken at row " + std::to_string(middle)));
}

TEST_CASE("the lab table refuses UPDATE and DELETE", "[intake][audit]") {
  Trial t;
  store::Connection raw(t.dir.file("vigil.db"), false);
  CHECK_THROWS_WITH(raw.execute("UPDATE lab_results SET value=1 WHERE id=" + std::to_string(t.first_lab)),
                    Catch::Contains("lab_results is append-only"));
  CHECK_THROWS_WITH(raw.execute("DELETE FROM lab_results"), Catch::Contains("lab_results is append-only"));
  CHECK_THROWS_WITH(raw.execute("UPDATE vital_signs SET systolic_mmhg=120"), Catch::Contains("vital_signs is append-only"));
  CHECK_THROWS_WITH(raw.execute("DELETE FROM vital_signs"), Catch::Contains("vital_signs is append-only"));
  CHECK_THROWS_WITH(raw.execute("UPDATE participants SET site_id='S02'"), Catch::Contains("append-only"));
  CHECK_THROWS_WITH(raw.execute("DELETE FROM doses"), Catch::Contains("append-only"));
  CHECK_THROWS_WITH(raw.execute("UPDATE ae_reports SET current_version=1"), Catch::Contains("append-only"));
  CHECK_THROWS_WITH(raw.execute("DELETE FROM baseline_labs"), Catch::Contains("append-only"));
  CHECK(t.verify() == "");
}

TEST_CASE("a lab value changed in its table is named against its audit entry", "[intake][audit]") {
  Trial t;
  const int64_t victim = t.first_lab + 17;
  {
    store::Connection raw(t.dir.file("vigil.db"), false);
    raw.execute("DROP TRIGGER lab_results_no_update");
    raw.execute("UPDATE lab_results SET value=39 WHERE id=" + std::to_string(victim));
  }
  CHECK(t.verifyHead() == "");  // the chain itself is whole
  CHECK_THAT(t.verify(), Catch::Contains("lab_result " + std::to_string(victim) + ": field 'value'"));
}

TEST_CASE("vital signs and AEs changed in their tables are named too", "[intake][audit]") {
  Trial t;
  store::Connection raw(t.dir.file("vigil.db"), false);
  SECTION("vital signs") {
    raw.execute("DROP TRIGGER vital_signs_no_update");
    raw.execute("UPDATE vital_signs SET systolic_mmhg=120");
    CHECK_THAT(t.verify(), Catch::Contains("vital_signs 1: field 'systolic_mmhg'"));
  }
  SECTION("the AE's current version") {
    raw.execute("DROP TRIGGER ae_versions_no_update");
    raw.execute("UPDATE ae_versions SET aetoxgr=1 WHERE version=2");
    CHECK_THAT(t.verify(), Catch::Contains("adverse_event 1: field 'grade'"));
  }
  SECTION("a lab row inserted behind Vigil's back") {
    raw.execute("INSERT INTO lab_results(id, record_id, study_id, test_code, value, unit, collected_at, specimen, "
                "recorded_at, recorded_by) VALUES (9999, 9999, 'S01-001','ALT',20,'U/L','2026-02-01T08:00:00Z','serum',"
                "'2026-03-01T00:00:00.000Z','inv1')");
    CHECK_THAT(t.verify(), Catch::Contains("has no audit entry"));
  }
}
