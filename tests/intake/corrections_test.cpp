// Corrections and voids of every clinical record (issue 16), on a real SQLite store with the real
// CTCAE and rule files: each version kept, the reason required, stale versions refused, rights as
// for creating, the audit entries with before and after, grading and candidates redone, voided
// records out of evaluation, and the data cut showing what stood at it.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "core/crypto.h"
#include "intake/audit_check.h"
#include "intake/intake_service.h"
#include "intake/safety_monitor.h"
#include "store/sqlite_store.h"
#include "support/clinical_data.h"
#include "support/fixed_clock.h"
#include "support/temp_dir.h"

using namespace vigil;
using nlohmann::json;
using intake::RecordType;
using core::StatusCode;

namespace {

struct Fixture {
  test::TempDir dir;
  test::FixedClock clock{*core::parseTimestamp("2026-03-01T09:00:00Z")};
  store::SqliteStore store{store::SqliteOptions{.path = dir.file("vigil.db")}, clock};
  intake::SafetyMonitor monitor{test::clinicalData().evaluator};
  intake::IntakeService intake{store,
                               clock,
                               test::clinicalData().catalogue,
                               test::clinicalData().grader,
                               test::clinicalData().reporting,
                               &monitor};
  core::User inv1{1, "inv1", core::Role::kInvestigator, {"S01"}, false};
  core::User inv2{2, "inv2", core::Role::kInvestigator, {"S02"}, false};
  core::User officer{3, "so", core::Role::kSafetyOfficer, {}, false};

  Fixture() {
    REQUIRE(intake.addSite("test", "S01", "Site one").isOk());
    REQUIRE(intake.addSite("test", "S02", "Site two").isOk());
    for (core::User* u : {&inv1, &inv2, &officer}) {
      auto token = intake.addUser("test", *u);
      REQUIRE(token.isOk());
      *u = store.userByTokenHash(core::sha256Hex(token.value())).value();
    }
    REQUIRE(intake.createParticipant(ctx(inv1), participant()).isOk());
  }
  intake::WriteContext ctx(const core::User& u) { return {u, std::nullopt, "h"}; }
  static json participant() {
    return {{"study_id", "S01-001"}, {"site", "S01"}, {"enrolled_on", "2026-01-05"}, {"liver_metastases", false},
            {"prior_thoracic_radiotherapy", false}, {"weight_kg", 60},
            {"baseline_labs", {{{"test", "ALT"}, {"value", 30}, {"unit", "U/L"}, {"lln", 7}, {"uln", 40}}}}};
  }
  static json lab(double value) {
    return {{"study_id", "S01-001"}, {"test", "ALT"}, {"value", value}, {"unit", "U/L"}, {"lln", 7}, {"uln", 40},
            {"collected_at", "2026-02-20T08:00:00Z"}};
  }
  static json vitals(int systolic, int diastolic) {
    return {{"study_id", "S01-001"}, {"measured_at", "2026-02-20T08:00:00Z"}, {"systolic_mmhg", systolic},
            {"diastolic_mmhg", diastolic}};
  }
  static json dose(const std::string& date) {
    return {{"study_id", "S01-001"}, {"drug", "anlotinib"}, {"dose_mg", 12}, {"route", "oral"},
            {"date", date},          {"cycle", 2},          {"day", 1},      {"status", "given"}};
  }
  static json steroid(double mg) {
    return {{"study_id", "S01-001"}, {"name", "prednisone"}, {"category", "corticosteroid"}, {"dose", mg},
            {"unit", "mg"},          {"route", "oral"},      {"frequency", "QD"},            {"start", "2026-02-15"}};
  }
  static json pregnancy() {
    return {{"study_id", "S01-001"}, {"subject", "partner"}, {"site_aware_at", "2026-02-18T10:00:00Z"}};
  }
  static json with(json body, const std::string& reason, std::optional<int> base = std::nullopt) {
    body["reason_for_change"] = reason;
    if (base) body["base_version"] = *base;
    return body;
  }
  int64_t created(const core::Result<intake::Reply>& r) {
    REQUIRE(r.isOk());
    return json::parse(r.value().body)["id"].get<int64_t>();
  }
  json answer(const core::Result<intake::Reply>& r) {
    REQUIRE(r.isOk());
    return json::parse(r.value().body);
  }
  std::vector<core::AeCandidate> candidates() { return store.candidates("S01-001", {0, 1000}).value(); }
  size_t auditCount() { return store.auditEntries().value().size(); }
  std::vector<audit::AuditEntry> auditOf(const std::string& entity, const std::string& id) {
    std::vector<audit::AuditEntry> out;
    const auto all = store.auditEntries().value();
    for (const auto& e : all)
      if (e.entity == entity && e.entity_id == id) out.push_back(e);
    return out;
  }
  json versions(RecordType type, int64_t id) {
    auto r = intake.recordVersions(inv1, type, id);
    REQUIRE(r.isOk());
    return json::parse(r.value())["items"];
  }
  void auditHolds() {
    int64_t rows = 0;
    const auto problem = intake::firstDataMismatch(store.auditSnapshot().value(), &rows);
    INFO(problem.value_or(""));
    CHECK_FALSE(problem);
    CHECK(rows > 0);
  }
};

const std::string kAlt = "Alanine aminotransferase increased";

}  // namespace

TEST_CASE("a corrected lab value is graded again and its candidate follows, down to withdrawal", "[intake][corrections]") {
  Fixture f;
  const int64_t id = f.created(f.intake.recordLabs(f.ctx(f.inv1), Fixture::lab(250)));  // 6.25 x ULN: grade 3
  REQUIRE(f.candidates().size() == 1);
  CHECK(f.candidates()[0].grade == 3);
  CHECK(f.candidates()[0].source_ids == std::vector<int64_t>{id});

  // 45 U/L is 1.125 x ULN: grade 1, still worse than the normal baseline.
  json a = f.answer(f.intake.correctRecord(f.ctx(f.inv1), RecordType::kLab, id,
                                           Fixture::with(Fixture::lab(45), "transcription error: 45 not 250", 1)));
  CHECK(a["id"] == id);
  CHECK(a["version"] == 2);
  CHECK(a["value"] == 45.0);
  CHECK(a["reason_for_change"] == "transcription error: 45 not 250");
  CHECK(a["grades"][0]["grade"] == 1);
  REQUIRE(f.candidates().size() == 1);
  CHECK(f.candidates()[0].status == core::CandidateStatus::kPending);
  CHECK(f.candidates()[0].grade == 1);

  // 40 U/L is the ULN itself: not graded; nothing supports the candidate any more.
  f.answer(f.intake.correctRecord(f.ctx(f.inv1), RecordType::kLab, id, Fixture::with(Fixture::lab(40), "rechecked")));
  const auto c = f.candidates().at(0);
  CHECK(c.status == core::CandidateStatus::kDismissed);
  CHECK(c.decided_by == "inv1");
  CHECK(c.decision_reason == "withdrawn: lab_result " + std::to_string(id) + " corrected: rechecked");
  CHECK(f.auditOf("ae_candidate", std::to_string(c.id)).back().action == "withdraw");

  // Every version is kept, oldest first; the list shows the current one.
  const json v = f.versions(RecordType::kLab, id);
  REQUIRE(v.size() == 3);
  CHECK(v[0]["value"] == 250.0);
  CHECK(v[0]["version"] == 1);
  CHECK_FALSE(v[0].contains("reason_for_change"));
  CHECK(v[1]["value"] == 45.0);
  CHECK(v[2]["value"] == 40.0);
  const auto listed = f.store.labs("S01-001", {0, 100}).value();
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].id == id);
  CHECK(listed[0].value == 40.0);
  CHECK(listed[0].revision.version == 3);

  // The audit entries hold the version before and after.
  const auto entries = f.auditOf("lab_result", std::to_string(id));
  REQUIRE(entries.size() == 3);
  CHECK(entries[1].action == "update");
  CHECK(json::parse(entries[1].before)["value"] == 250.0);
  CHECK(json::parse(entries[1].after)["value"] == 45.0);
  f.auditHolds();
}

TEST_CASE("a candidate cited by two results keeps the one that still stands", "[intake][corrections]") {
  Fixture f;
  const int64_t a = f.created(f.intake.recordLabs(f.ctx(f.inv1), Fixture::lab(250)));
  json second = Fixture::lab(260);
  second["collected_at"] = "2026-02-21T08:00:00Z";
  const int64_t b = f.created(f.intake.recordLabs(f.ctx(f.inv1), second));
  REQUIRE(f.candidates().size() == 1);
  CHECK(f.candidates()[0].source_ids == std::vector<int64_t>{a, b});
  f.answer(f.intake.voidRecord(f.ctx(f.inv1), RecordType::kLab, b, {{"reason_for_change", "wrong participant"}}));
  const auto c = f.candidates().at(0);
  CHECK(c.status == core::CandidateStatus::kPending);
  CHECK(c.grade == 3);
  CHECK(c.source_ids == std::vector<int64_t>{a});
}

TEST_CASE("a voided lab leaves lists, evaluation and candidates and takes no further version", "[intake][corrections]") {
  Fixture f;
  const int64_t id = f.created(f.intake.recordLabs(f.ctx(f.inv1), Fixture::lab(250)));
  json a = f.answer(f.intake.voidRecord(f.ctx(f.inv1), RecordType::kLab, id, {{"reason_for_change", "wrong participant"}}));
  CHECK(a["voided"] == true);
  CHECK(a["version"] == 2);
  CHECK(f.store.labs("S01-001", {0, 100}).value().empty());
  CHECK(f.store.history("S01-001").value()->labs.empty());
  CHECK(f.candidates().at(0).status == core::CandidateStatus::kDismissed);
  CHECK(f.candidates().at(0).decision_reason == "withdrawn: lab_result " + std::to_string(id) + " voided: wrong participant");
  CHECK(f.auditOf("lab_result", std::to_string(id)).back().action == "void");

  // Read by id it is there, voided, with both versions.
  auto read = f.intake.record(f.inv1, RecordType::kLab, id);
  REQUIRE(read.isOk());
  CHECK(json::parse(read.value())["voided"] == true);
  CHECK(f.versions(RecordType::kLab, id).size() == 2);

  const size_t audits = f.auditCount();
  CHECK(f.intake.voidRecord(f.ctx(f.inv1), RecordType::kLab, id, {{"reason_for_change", "again"}}).status().code() ==
        StatusCode::kConflict);
  CHECK(f.intake.correctRecord(f.ctx(f.inv1), RecordType::kLab, id, Fixture::with(Fixture::lab(30), "undo"))
            .status()
            .code() == StatusCode::kConflict);
  CHECK(f.auditCount() == audits);
  f.auditHolds();
}

TEST_CASE("a correction needs a reason, the current base version, the same participant and the right site",
          "[intake][corrections]") {
  Fixture f;
  const int64_t id = f.created(f.intake.recordLabs(f.ctx(f.inv1), Fixture::lab(250)));
  const size_t audits = f.auditCount();
  auto fields = [](const core::Result<intake::Reply>& r) {
    std::vector<std::string> out;
    for (const auto& e : r.status().fields()) out.push_back(e.field);
    return out;
  };

  SECTION("no reason") {
    auto r = f.intake.correctRecord(f.ctx(f.inv1), RecordType::kLab, id, Fixture::lab(45));
    CHECK(r.status().code() == StatusCode::kInvalid);
    CHECK(fields(r) == std::vector<std::string>{"reason_for_change"});
    auto v = f.intake.voidRecord(f.ctx(f.inv1), RecordType::kLab, id, json::object());
    CHECK(fields(v) == std::vector<std::string>{"reason_for_change"});
  }
  SECTION("an empty reason and a bad field are both named") {
    json body = Fixture::with(Fixture::lab(45), "");
    body["unit"] = "furlongs";
    auto r = f.intake.correctRecord(f.ctx(f.inv1), RecordType::kLab, id, body);
    CHECK(r.status().code() == StatusCode::kInvalid);
    CHECK(fields(r) == std::vector<std::string>{"reason_for_change", "unit"});
  }
  SECTION("a stale base version") {
    f.answer(f.intake.correctRecord(f.ctx(f.inv1), RecordType::kLab, id, Fixture::with(Fixture::lab(45), "typo", 1)));
    auto r = f.intake.correctRecord(f.ctx(f.inv1), RecordType::kLab, id, Fixture::with(Fixture::lab(46), "typo", 1));
    CHECK(r.status().code() == StatusCode::kConflict);
    CHECK(r.status().message().find("is at version 2, not 1") != std::string::npos);
    CHECK(f.versions(RecordType::kLab, id).size() == 2);
    return;
  }
  SECTION("another participant: a void and a new record, never an edit of study_id") {
    REQUIRE(f.intake.createParticipant(f.ctx(f.inv1), [] {
      json p = Fixture::participant();
      p["study_id"] = "S01-002";
      return p;
    }()).isOk());
    json body = Fixture::with(Fixture::lab(250), "wrong participant");
    body["study_id"] = "S01-002";
    auto r = f.intake.correctRecord(f.ctx(f.inv1), RecordType::kLab, id, body);
    CHECK(r.status().code() == StatusCode::kInvalid);
    CHECK(fields(r) == std::vector<std::string>{"study_id"});
    return;  // the participant's registration added audit rows
  }
  SECTION("another site's investigator") {
    CHECK(f.intake.correctRecord(f.ctx(f.inv2), RecordType::kLab, id, Fixture::with(Fixture::lab(45), "x"))
              .status()
              .code() == StatusCode::kForbidden);
    CHECK(f.intake.voidRecord(f.ctx(f.inv2), RecordType::kLab, id, {{"reason_for_change", "x"}}).status().code() ==
          StatusCode::kForbidden);
    CHECK(f.intake.record(f.inv2, RecordType::kLab, id).status().code() == StatusCode::kForbidden);
    CHECK(f.intake.recordVersions(f.inv2, RecordType::kLab, id).status().code() == StatusCode::kForbidden);
  }
  SECTION("a safety officer reads but does not write") {
    CHECK(f.intake.recordVersions(f.officer, RecordType::kLab, id).isOk());
    CHECK(f.intake.correctRecord(f.ctx(f.officer), RecordType::kLab, id, Fixture::with(Fixture::lab(45), "x"))
              .status()
              .code() == StatusCode::kForbidden);
  }
  SECTION("no such record") {
    CHECK(f.intake.correctRecord(f.ctx(f.inv1), RecordType::kLab, id + 1, Fixture::with(Fixture::lab(45), "x"))
              .status()
              .code() == StatusCode::kNotFound);
    CHECK(f.intake.voidRecord(f.ctx(f.inv1), RecordType::kDose, id, {{"reason_for_change", "x"}}).status().code() ==
          StatusCode::kNotFound);
  }
  SECTION("a void takes only the reason and base version") {
    auto r = f.intake.voidRecord(f.ctx(f.inv1), RecordType::kLab, id, {{"reason_for_change", "x"}, {"value", 3}});
    CHECK(fields(r) == std::vector<std::string>{"value"});
  }
  CHECK(f.auditCount() == audits);
  CHECK(f.versions(RecordType::kLab, id).size() == 1);
}

TEST_CASE("vital signs are graded again when corrected", "[intake][corrections]") {
  Fixture f;
  const int64_t id = f.created(f.intake.recordVitals(f.ctx(f.inv1), Fixture::vitals(165, 95)));  // grade 3
  REQUIRE(f.candidates().size() == 1);
  CHECK(f.candidates()[0].ctcae_term == "Hypertension");
  CHECK(f.candidates()[0].grade == 3);
  // 125/80 is still grade 1 (systolic 120-139 or diastolic 80-89): the candidate follows down.
  f.answer(f.intake.correctRecord(f.ctx(f.inv1), RecordType::kVitals, id,
                                  Fixture::with(Fixture::vitals(125, 80), "cuff reading misentered")));
  CHECK(f.candidates()[0].grade == 1);
  CHECK(f.candidates()[0].status == core::CandidateStatus::kPending);
  json a = f.answer(f.intake.correctRecord(f.ctx(f.inv1), RecordType::kVitals, id,
                                           Fixture::with(Fixture::vitals(115, 75), "cuff reading misentered")));
  CHECK(a["version"] == 3);
  CHECK(a["pending_candidates"].empty());
  CHECK(f.candidates()[0].status == core::CandidateStatus::kDismissed);
  f.auditHolds();
}

TEST_CASE("doses are corrected within the participant's treatment and voided out of the history", "[intake][corrections]") {
  Fixture f;
  const int64_t id = f.created(f.intake.recordDose(f.ctx(f.inv1), Fixture::dose("2026-02-01")));
  auto early = f.intake.correctRecord(f.ctx(f.inv1), RecordType::kDose, id,
                                      Fixture::with(Fixture::dose("2026-01-04"), "entered for the wrong day"));
  CHECK(early.status().code() == StatusCode::kInvalid);
  CHECK(early.status().fields().at(0).field == "date");
  // The enrolment day itself is allowed.
  f.answer(f.intake.correctRecord(f.ctx(f.inv1), RecordType::kDose, id,
                                  Fixture::with(Fixture::dose("2026-01-05"), "entered for the wrong day")));
  auto h = f.store.history("S01-001").value();
  REQUIRE(h->doses.size() == 1);
  CHECK(h->doses[0].date == "2026-01-05");
  f.answer(f.intake.voidRecord(f.ctx(f.inv1), RecordType::kDose, id, {{"reason_for_change", "never given"}}));
  CHECK(f.store.history("S01-001").value()->doses.empty());
  CHECK(f.versions(RecordType::kDose, id).size() == 3);
  f.auditHolds();
}

TEST_CASE("medications and pregnancies are corrected and voided like every record", "[intake][corrections]") {
  Fixture f;
  const int64_t m = f.created(f.intake.recordMedication(f.ctx(f.inv1), Fixture::steroid(20)));
  json a = f.answer(f.intake.correctRecord(f.ctx(f.inv1), RecordType::kMedication, m,
                                           Fixture::with(Fixture::steroid(10), "dose was 10 mg")));
  CHECK(a["dose"] == 10.0);
  CHECK(a["version"] == 2);
  CHECK(f.store.history("S01-001").value()->medications.at(0).dose == 10.0);
  json bad = Fixture::with(Fixture::steroid(10), "x");
  bad["name"] = "unknownisone";
  CHECK(f.intake.correctRecord(f.ctx(f.inv1), RecordType::kMedication, m, bad).status().code() == StatusCode::kInvalid);
  f.answer(f.intake.voidRecord(f.ctx(f.inv1), RecordType::kMedication, m, {{"reason_for_change", "not given"}}));
  CHECK(f.store.history("S01-001").value()->medications.empty());

  const int64_t g = f.created(f.intake.recordPregnancy(f.ctx(f.inv1), Fixture::pregnancy()));
  json p = Fixture::pregnancy();
  p["subject"] = "participant";
  a = f.answer(f.intake.correctRecord(f.ctx(f.inv1), RecordType::kPregnancy, g, Fixture::with(p, "the participant")));
  CHECK(a["subject"] == "participant");
  // The outcome is still recorded on the current version.
  REQUIRE(f.intake
              .recordPregnancyOutcome(f.ctx(f.inv1), g,
                                      {{"outcome", "live_birth"}, {"outcome_aware_at", "2026-02-25T10:00:00Z"}})
              .isOk());
  CHECK(f.store.pregnancies("S01-001", {0, 10}).value().at(0).outcome == "live_birth");
  CHECK(f.versions(RecordType::kPregnancy, g).at(0)["outcome"] == "ongoing");
  f.answer(f.intake.voidRecord(f.ctx(f.inv1), RecordType::kPregnancy, g, {{"reason_for_change", "entered in error"}}));
  CHECK(f.store.pregnancies("S01-001", {0, 10}).value().empty());
  f.auditHolds();
}

TEST_CASE("a participant's baseline facts and labs are corrected as versions", "[intake][corrections]") {
  Fixture f;
  json p = Fixture::participant();
  p["weight_kg"] = 65;
  p["baseline_labs"][0]["value"] = 35;
  json a = f.answer(f.intake.correctParticipant(f.ctx(f.inv1), "S01-001", Fixture::with(p, "weighed again", 1)));
  CHECK(a["version"] == 2);
  CHECK(a["weight_kg"] == 65.0);
  CHECK(a["created_by"] == "inv1");
  const auto now = f.store.participant("S01-001").value();
  CHECK(now->facts.weight_kg == 65.0);
  REQUIRE(now->baseline_labs.size() == 1);
  CHECK(now->baseline_labs[0].value == 35.0);

  auto v = f.intake.participantVersions(f.inv1, "S01-001");
  REQUIRE(v.isOk());
  const json items = json::parse(v.value())["items"];
  REQUIRE(items.size() == 2);
  CHECK(items[0]["weight_kg"] == 60.0);
  CHECK(items[0]["baseline_labs"][0]["value"] == 30.0);
  CHECK(items[1]["baseline_labs"][0]["value"] == 35.0);
  CHECK(items[1]["reason_for_change"] == "weighed again");
  CHECK(items[1]["recorded_by"] == "inv1");

  size_t audits = f.auditCount();
  CHECK(f.intake.correctParticipant(f.ctx(f.inv1), "S01-001", Fixture::with(p, "again", 1)).status().code() ==
        StatusCode::kConflict);
  json moved = p;
  moved["site"] = "S02";
  CHECK(f.intake.correctParticipant(f.ctx(f.inv1), "S01-001", Fixture::with(moved, "x")).status().code() ==
        StatusCode::kInvalid);
  CHECK(f.intake.correctParticipant(f.ctx(f.inv2), "S01-001", Fixture::with(p, "x")).status().code() ==
        StatusCode::kForbidden);
  CHECK(f.intake.correctParticipant(f.ctx(f.inv1), "S01-001", p).status().code() == StatusCode::kInvalid);
  CHECK(f.auditCount() == audits);
  REQUIRE(f.intake.recordDose(f.ctx(f.inv1), Fixture::dose("2026-02-01")).isOk());
  audits = f.auditCount();
  json late = p;
  late["enrolled_on"] = "2026-02-02";
  auto r = f.intake.correctParticipant(f.ctx(f.inv1), "S01-001", Fixture::with(late, "x"));
  CHECK(r.status().code() == StatusCode::kInvalid);
  CHECK(r.status().fields().at(0).field == "enrolled_on");
  CHECK(f.auditCount() == audits);
  f.auditHolds();
}

TEST_CASE("a data cut shows each record as it stood at the cut", "[intake][corrections]") {
  Fixture f;
  const int64_t kept = f.created(f.intake.recordLabs(f.ctx(f.inv1), Fixture::lab(250)));
  json other = Fixture::lab(100);
  other["collected_at"] = "2026-02-22T08:00:00Z";
  const int64_t voided = f.created(f.intake.recordLabs(f.ctx(f.inv1), other));
  const int64_t dose = f.created(f.intake.recordDose(f.ctx(f.inv1), Fixture::dose("2026-02-01")));
  f.answer(f.intake.voidRecord(f.ctx(f.inv1), RecordType::kLab, voided, {{"reason_for_change", "duplicate"}}));
  f.clock.set(f.clock.nowMs() + 60 * 1000);
  const std::string cut = core::formatTimestamp(f.clock.nowMs());
  f.clock.set(f.clock.nowMs() + 60 * 1000);
  f.answer(f.intake.correctRecord(f.ctx(f.inv1), RecordType::kLab, kept, Fixture::with(Fixture::lab(45), "typo")));
  f.answer(f.intake.voidRecord(f.ctx(f.inv1), RecordType::kDose, dose, {{"reason_for_change", "never given"}}));
  json p = Fixture::participant();
  p["weight_kg"] = 70;
  f.answer(f.intake.correctParticipant(f.ctx(f.inv1), "S01-001", Fixture::with(p, "weighed again")));

  const auto at_cut = f.store.dataCut(cut).value();
  REQUIRE(at_cut.labs.size() == 1);  // the void before the cut counts
  CHECK(at_cut.labs[0].id == kept);
  CHECK(at_cut.labs[0].value == 250.0);  // the correction after the cut does not
  REQUIRE(at_cut.doses.size() == 1);     // nor the void after it
  REQUIRE(at_cut.participants.size() == 1);
  CHECK(at_cut.participants[0].facts.weight_kg == 60.0);
  CHECK(at_cut.participants[0].baseline_labs.size() == 1);

  const auto now = f.store.dataCut(core::formatTimestamp(f.clock.nowMs())).value();
  REQUIRE(now.labs.size() == 1);
  CHECK(now.labs[0].value == 45.0);
  CHECK(now.doses.empty());
  CHECK(now.participants[0].facts.weight_kg == 70.0);
}

TEST_CASE("every record type has its versions, and the AE's too", "[intake][corrections]") {
  Fixture f;
  json ae = {{"study_id", "S01-001"},
             {"verbatim", "nose bleed"},
             {"ctcae_term", "Epistaxis"},
             {"grade", 1},
             {"serious_criteria", json::array()},
             {"relatedness", {{"anlotinib", "possible"}, {"sintilimab", "unlikely"}}},
             {"action_taken", {{"anlotinib", "dose_not_changed"}, {"sintilimab", "dose_not_changed"}}},
             {"outcome", "recovering"},
             {"start", "2026-02-10"},
             {"site_aware_at", "2026-02-10T08:00:00Z"}};
  const int64_t id = f.created(f.intake.createAdverseEvent(f.ctx(f.inv1), ae));
  ae["grade"] = 2;
  ae["reason"] = "worse";
  REQUIRE(f.intake.updateAdverseEvent(f.ctx(f.inv1), id, ae).isOk());
  auto v = f.intake.adverseEventVersions(f.inv1, id);
  REQUIRE(v.isOk());
  const json items = json::parse(v.value())["items"];
  REQUIRE(items.size() == 2);
  CHECK(items[0]["grade"] == 1);
  CHECK(items[1]["grade"] == 2);
  CHECK(f.intake.adverseEventVersions(f.inv2, id).status().code() == StatusCode::kForbidden);
  CHECK(f.intake.adverseEventVersions(f.inv1, id + 1).status().code() == StatusCode::kNotFound);
}

TEST_CASE("a corrected baseline fact is checked against eligibility again at the ceiling and past it", "[intake][corrections]") {
  Fixture f;
  auto findings = [&] {
    std::vector<std::string> out;
    const auto changes = f.store.safetyChanges("S01-001", {0, 1000}).value();
    for (const auto& c : changes)
      if (c.kind == "finding" && c.detail.find("ELIG-AGE") != std::string::npos) out.push_back(c.detail);
    return out;
  };
  json p = Fixture::participant();
  p["age"] = 80;  // the ceiling itself is eligible (ELIG-AGE: 18-80)
  REQUIRE(f.intake.correctParticipant(f.ctx(f.inv1), "S01-001", Fixture::with(p, "age from the ID card")).isOk());
  CHECK(findings().empty());
  p["age"] = 81;
  REQUIRE(f.intake.correctParticipant(f.ctx(f.inv1), "S01-001", Fixture::with(p, "age miscalculated")).isOk());
  CHECK(findings().size() == 1);
}

TEST_CASE("a pregnancy correction keeps the recorded outcome unless it restates it, and a voided one takes no outcome",
          "[intake][corrections]") {
  Fixture f;
  const int64_t g = f.created(f.intake.recordPregnancy(f.ctx(f.inv1), Fixture::pregnancy()));
  REQUIRE(f.intake
              .recordPregnancyOutcome(f.ctx(f.inv1), g,
                                      {{"outcome", "congenital_anomaly"}, {"outcome_aware_at", "2026-02-25T10:00:00Z"}})
              .isOk());
  json p = Fixture::pregnancy();
  p["site_aware_at"] = "2026-02-17T10:00:00Z";
  json a = f.answer(f.intake.correctRecord(f.ctx(f.inv1), RecordType::kPregnancy, g, Fixture::with(p, "date")));
  CHECK(a["outcome"] == "congenital_anomaly");
  CHECK(a["outcome_aware_at"] == "2026-02-25T10:00:00.000Z");
  // Correcting only when the site learnt the outcome keeps the outcome.
  p["outcome_aware_at"] = "2026-02-24T10:00:00Z";
  a = f.answer(f.intake.correctRecord(f.ctx(f.inv1), RecordType::kPregnancy, g, Fixture::with(p, "aware a day earlier")));
  CHECK(a["outcome"] == "congenital_anomaly");
  CHECK(a["outcome_aware_at"] == "2026-02-24T10:00:00.000Z");
  p.erase("outcome_aware_at");
  p["outcome"] = "ongoing";
  a = f.answer(f.intake.correctRecord(f.ctx(f.inv1), RecordType::kPregnancy, g, Fixture::with(p, "outcome was wrong")));
  CHECK(a["outcome"] == "ongoing");
  f.answer(f.intake.voidRecord(f.ctx(f.inv1), RecordType::kPregnancy, g, {{"reason_for_change", "entered in error"}}));
  CHECK(f.intake
            .recordPregnancyOutcome(f.ctx(f.inv1), g, {{"outcome", "live_birth"}, {"outcome_aware_at", "2026-02-26T10:00:00Z"}})
            .status()
            .code() == StatusCode::kConflict);
  f.auditHolds();
}

TEST_CASE("a corrected record keeps the time it was entered", "[intake][corrections]") {
  Fixture f;
  const int64_t id = f.created(f.intake.recordLabs(f.ctx(f.inv1), Fixture::lab(250)));
  const std::string entered = f.store.labs("S01-001", {0, 10}).value().at(0).recorded_at;
  f.clock.set(*core::parseTimestamp("2026-03-20T09:00:00Z"));
  f.answer(f.intake.correctRecord(f.ctx(f.inv1), RecordType::kLab, id, Fixture::with(Fixture::lab(45), "typo")));
  const auto now = f.store.labs("S01-001", {0, 10}).value().at(0);
  CHECK(now.recorded_at == "2026-03-20T09:00:00.000Z");
  CHECK(now.revision.entered_at == entered);
  CHECK(f.store.dataCut("2026-03-21T00:00:00.000Z").value().labs.at(0).revision.entered_at == entered);
}

TEST_CASE("an anticoagulant recorded, corrected or voided grades the INR results it covers again", "[intake][corrections]") {
  Fixture f;
  json inr = {{"study_id", "S01-001"}, {"test", "INR"}, {"value", 1.8}, {"unit", "1"},
              {"collected_at", "2026-02-20T08:00:00Z"}};
  const int64_t lab = f.created(f.intake.recordLabs(f.ctx(f.inv1), inr));
  const auto first = f.store.labs("S01-001", {0, 10}).value().at(0);
  REQUIRE(first.grades_json.find("\"grade\":2") != std::string::npos);  // 1.8 off anticoagulation: grade 2
  json warfarin = {{"study_id", "S01-001"}, {"name", "warfarin"}, {"category", "anticoagulant"}, {"dose", 3},
                   {"unit", "mg"},          {"route", "oral"},    {"frequency", "QD"},            {"start", "2026-02-15"}};
  const int64_t med = f.created(f.intake.recordMedication(f.ctx(f.inv1), warfarin));
  const auto second = f.store.labs("S01-001", {0, 10}).value().at(0);
  CHECK(second.revision.version == 2);
  CHECK(second.grades_json != first.grades_json);
  CHECK(second.revision.reason == "graded again: concomitant_medication " + std::to_string(med) + " recorded");
  CHECK(second.value == 1.8);
  // The warfarin was started after the sample: the anticoagulated branch no longer applies.
  warfarin["start"] = "2026-02-21";
  f.answer(f.intake.correctRecord(f.ctx(f.inv1), RecordType::kMedication, med, Fixture::with(warfarin, "start date")));
  const auto third = f.store.labs("S01-001", {0, 10}).value().at(0);
  CHECK(third.revision.version == 3);
  CHECK(third.grades_json == first.grades_json);
  // Voiding a medication that no longer covers it changes nothing.
  f.answer(f.intake.voidRecord(f.ctx(f.inv1), RecordType::kMedication, med, {{"reason_for_change", "not given"}}));
  CHECK(f.store.labs("S01-001", {0, 10}).value().at(0).revision.version == 3);
  CHECK(f.versions(RecordType::kLab, lab).size() == 3);
  f.auditHolds();
}

TEST_CASE("a corrected baseline lab grades the results against the new baseline", "[intake][corrections]") {
  Fixture f;
  const int64_t id = f.created(f.intake.recordLabs(f.ctx(f.inv1), Fixture::lab(250)));  // grade 3 on a normal baseline
  REQUIRE(f.candidates().at(0).status == core::CandidateStatus::kPending);
  json p = Fixture::participant();
  // 100 U/L is 2.5 x ULN: an abnormal baseline, against which CTCAE v5.0 grades by multiples of
  // baseline; 250 is 2.5 x baseline, grade 1 (1.5-3.0 x baseline).
  p["baseline_labs"][0]["value"] = 100;
  f.answer(f.intake.correctParticipant(f.ctx(f.inv1), "S01-001", Fixture::with(p, "baseline ALT misread")));
  const auto lab = f.store.labs("S01-001", {0, 10}).value().at(0);
  CHECK(lab.revision.version == 2);
  CHECK(lab.revision.reason == "graded again: participant S01-001 corrected");
  INFO(lab.grades_json);
  CHECK(lab.grades_json.find("\"grade\":1") != std::string::npos);
  CHECK(f.candidates().at(0).status == core::CandidateStatus::kPending);  // revised to the new grade
  CHECK(f.candidates().at(0).grade == 1);
  CHECK(f.versions(RecordType::kLab, id).size() == 2);
  // A second correction that changes no grade makes no version.
  p["weight_kg"] = 61;
  f.answer(f.intake.correctParticipant(f.ctx(f.inv1), "S01-001", Fixture::with(p, "weighed again")));
  CHECK(f.versions(RecordType::kLab, id).size() == 2);
  f.auditHolds();
}

TEST_CASE("a voided AE report leaves lists, evaluation and the cut, and its open clocks are no longer required",
          "[intake][corrections]") {
  Fixture f;
  json ae = {{"study_id", "S01-001"},
             {"verbatim", "haematemesis"},
             {"ctcae_term", "Esophageal hemorrhage"},
             {"grade", 3},
             {"serious_criteria", {"hospitalization"}},
             {"relatedness", {{"anlotinib", "possible"}, {"sintilimab", "unlikely"}}},
             {"action_taken", {{"anlotinib", "drug_interrupted"}, {"sintilimab", "dose_not_changed"}}},
             {"outcome", "not_recovered"},
             {"start", "2026-02-27"},
             {"site_aware_at", "2026-02-28T08:00:00Z"}};
  const int64_t id = f.created(f.intake.createAdverseEvent(f.ctx(f.inv1), ae));
  core::DeadlineFilter open;
  open.study_id = "S01-001";
  REQUIRE(f.store.deadlines(open).value().size() == 1);
  const size_t audits = f.auditCount();
  CHECK(f.intake.voidAdverseEvent(f.ctx(f.inv1), id, json::object()).status().code() == StatusCode::kInvalid);
  CHECK(f.intake.voidAdverseEvent(f.ctx(f.inv2), id, {{"reason_for_change", "x"}}).status().code() ==
        StatusCode::kForbidden);
  CHECK(f.intake.voidAdverseEvent(f.ctx(f.inv1), id, {{"reason_for_change", "x"}, {"base_version", 2}}).status().code() ==
        StatusCode::kConflict);
  CHECK(f.auditCount() == audits);

  json a = f.answer(f.intake.voidAdverseEvent(f.ctx(f.inv1), id, {{"reason_for_change", "entered twice"}, {"base_version", 1}}));
  CHECK(a["voided"] == true);
  CHECK(a["version"] == 2);
  CHECK(a["versions"].size() == 2);
  core::AeFilter all;
  CHECK(f.store.adverseEvents(all).value().empty());
  CHECK(f.store.history("S01-001").value()->adverse_events.empty());
  const auto clocks = f.store.deadlines(open).value();
  REQUIRE(clocks.size() == 1);
  CHECK(clocks[0].no_longer_required_since_version == 2);
  CHECK(f.store.dataCut(core::formatTimestamp(f.clock.nowMs())).value().adverse_events.empty());
  CHECK(f.store.dataCut(core::formatTimestamp(f.clock.nowMs())).value().deadlines.empty());
  // Read by id it is there, voided; it takes no further version.
  auto read = f.intake.adverseEvent(f.inv1, id);
  REQUIRE(read.isOk());
  CHECK(json::parse(read.value())["voided"] == true);
  ae["reason_for_change"] = "undo";
  CHECK(f.intake.updateAdverseEvent(f.ctx(f.inv1), id, ae).status().code() == StatusCode::kConflict);
  CHECK(f.intake.voidAdverseEvent(f.ctx(f.inv1), id, {{"reason_for_change", "again"}}).status().code() ==
        StatusCode::kConflict);
  f.auditHolds();
}

TEST_CASE("a participant registered in error is voided once each of their records is", "[intake][corrections]") {
  Fixture f;
  const int64_t dose = f.created(f.intake.recordDose(f.ctx(f.inv1), Fixture::dose("2026-02-01")));
  auto early = f.intake.voidParticipant(f.ctx(f.inv1), "S01-001", {{"reason_for_change", "registered in error"}});
  CHECK(early.status().code() == StatusCode::kConflict);
  CHECK(early.status().message() == "participant S01-001 still has 1 doses; void them first");
  CHECK(f.intake.voidParticipant(f.ctx(f.inv2), "S01-001", {{"reason_for_change", "x"}}).status().code() ==
        StatusCode::kForbidden);
  CHECK(f.intake.voidParticipant(f.ctx(f.inv1), "S01-001", json::object()).status().code() == StatusCode::kInvalid);
  f.answer(f.intake.voidRecord(f.ctx(f.inv1), RecordType::kDose, dose, {{"reason_for_change", "registered in error"}}));
  json a = f.answer(f.intake.voidParticipant(f.ctx(f.inv1), "S01-001", {{"reason_for_change", "registered in error"}}));
  CHECK(a["voided"] == true);
  CHECK(a["version"] == 2);

  CHECK(f.store.participants(std::nullopt).value().empty());
  CHECK(f.store.participant("S01-001").value()->revision.voided);
  CHECK(f.store.dataCut(core::formatTimestamp(f.clock.nowMs())).value().participants.empty());
  auto v = f.intake.participantVersions(f.inv1, "S01-001");
  REQUIRE(v.isOk());
  CHECK(json::parse(v.value())["items"].size() == 2);
  // Nothing more is recorded for them, they are not registered again, and nothing undoes the void.
  auto late = f.intake.recordDose(f.ctx(f.inv1), Fixture::dose("2026-02-02"));
  CHECK(late.status().code() == StatusCode::kInvalid);
  CHECK(late.status().fields().at(0).field == "study_id");
  CHECK(f.intake.createParticipant(f.ctx(f.inv1), Fixture::participant()).status().code() == StatusCode::kConflict);
  CHECK(f.intake.correctParticipant(f.ctx(f.inv1), "S01-001", Fixture::with(Fixture::participant(), "undo"))
            .status()
            .code() == StatusCode::kConflict);
  CHECK(f.intake.voidParticipant(f.ctx(f.inv1), "S01-001", {{"reason_for_change", "again"}}).status().code() ==
        StatusCode::kConflict);
  f.auditHolds();
}
