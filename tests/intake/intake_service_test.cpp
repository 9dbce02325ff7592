#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <set>
#include <tuple>

#include "core/crypto.h"
#include "grading/catalogue.h"
#include "grading/lab_grader.h"
#include "rules/categories.h"
#include "rules/reporting.h"
#include "intake/intake_service.h"
#include "store/sqlite.h"
#include "store/sqlite_store.h"
#include "support/fixed_clock.h"
#include "support/temp_dir.h"

using namespace vigil;
using nlohmann::json;

namespace {

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

struct Fixture {
  test::TempDir dir;
  test::FixedClock clock{*core::parseTimestamp("2026-03-01T00:00:00Z")};
  store::SqliteStore store{store::SqliteOptions{.path = dir.file("vigil.db")}, clock};
  intake::IntakeService intake{store, clock, catalogue(), grader(), reporting()};
  core::User inv1{1, "inv1", core::Role::kInvestigator, {"S01"}, false};
  core::User inv2{2, "inv2", core::Role::kInvestigator, {"S02"}, false};

  Fixture() {
    REQUIRE(intake.addSite("test", "S01", "Site one").isOk());
    REQUIRE(intake.addSite("test", "S02", "Site two").isOk());
    auto t1 = intake.addUser("test", inv1);
    auto t2 = intake.addUser("test", inv2);
    REQUIRE(t1.isOk());
    REQUIRE(t2.isOk());
    inv1 = store.userByTokenHash(core::sha256Hex(t1.value())).value();
    inv2 = store.userByTokenHash(core::sha256Hex(t2.value())).value();
  }

  intake::WriteContext ctx(const core::User& u, std::optional<std::string> key = std::nullopt,
                           const std::string& hash = "h") {
    return {u, std::move(key), hash};
  }
  json participant(const std::string& id = "S01-001", const std::string& site = "S01") {
    return {{"study_id", id}, {"site", site}, {"enrolled_on", "2026-01-05"}, {"liver_metastases", false},
            {"prior_thoracic_radiotherapy", false},
            {"baseline_labs", {{{"test", "ALT"}, {"value", 30}, {"unit", "U/L"}, {"lln", 7}, {"uln", 40}},
                               {{"test", "HGB"}, {"value", 95}, {"unit", "g/L"}, {"lln", 120}, {"uln", 160}}}}};
  }
  std::vector<core::AeCandidate> candidates(const std::string& id = "S01-001") {
    return store.candidates(id, {0, 1000}).value();
  }
  json ae(const std::string& id = "S01-001") {
    return {{"study_id", id},
            {"verbatim", "nose bleed"},
            {"ctcae_term", "Epistaxis"},
            {"meddra_code", "10015090"},
            {"grade", 2},
            {"serious_criteria", json::array()},
            {"relatedness", {{"anlotinib", "possible"}, {"sintilimab", "unlikely"}}},
            {"action_taken", {{"anlotinib", "drug_interrupted"}, {"sintilimab", "dose_not_changed"}}},
            {"outcome", "recovering"},
            {"start", "2026-02-10"},
            {"site_aware_at", "2026-02-10T08:00:00Z"}};
  }
  json lab(const std::string& id = "S01-001") {
    return {{"study_id", id}, {"test", "ALT"}, {"value", 250}, {"unit", "U/L"}, {"collected_at", "2026-02-01T08:00:00Z"}};
  }
  size_t auditCount() { return store.auditEntries().value().size(); }
  size_t labCount(const std::string& id = "S01-001") { return store.labs(id, {0, 100000}).value().size(); }
};

}  // namespace

TEST_CASE("registering a participant stores it with an audit entry", "[intake]") {
  Fixture f;
  const size_t before = f.auditCount();
  auto r = f.intake.createParticipant(f.ctx(f.inv1), f.participant());
  REQUIRE(r.isOk());
  CHECK(r.value().status == 201);
  CHECK(json::parse(r.value().body)["created_by"] == "inv1");
  CHECK(f.auditCount() == before + 1);
  const auto last = f.store.auditEntries().value().back();
  CHECK(last.entity == "participant");
  CHECK(last.entity_id == "S01-001");
  CHECK(last.actor == "inv1");

  SECTION("twice is a conflict") {
    CHECK(f.intake.createParticipant(f.ctx(f.inv1), f.participant()).status().code() == core::StatusCode::kConflict);
  }
  SECTION("at another investigator's site is forbidden") {
    CHECK(f.intake.createParticipant(f.ctx(f.inv2), f.participant("S01-002")).status().code() ==
          core::StatusCode::kForbidden);
  }
}

TEST_CASE("baseline facts are stored with the participant, and each bad one is named", "[intake]") {
  Fixture f;
  json p = f.participant();
  p.update({{"sex", "F"}, {"age", 64}, {"birth_year", 1961}, {"weight_kg", 52.5}, {"ecog", 1}, {"hbsag", "positive"},
            {"anti_hbc", "positive"}, {"hbv_dna_iu_ml", 150}, {"fistula_or_perforation_6m", false}});
  auto r = f.intake.createParticipant(f.ctx(f.inv1), p);
  REQUIRE(r.isOk());
  auto stored = f.store.participant("S01-001").value();
  REQUIRE(stored);
  CHECK(stored->facts.sex == "F");
  CHECK(stored->facts.age == 64);
  CHECK(stored->facts.birth_year == 1961);
  CHECK(stored->facts.weight_kg == 52.5);
  CHECK(stored->facts.ecog == 1);
  CHECK(stored->facts.hbsag == "positive");
  CHECK(stored->facts.anti_hbc == "positive");
  CHECK(stored->facts.hbv_dna_iu_ml == 150);
  CHECK(stored->facts.fistula_or_perforation_6m == false);
  const json answer = json::parse(r.value().body);
  CHECK(answer["weight_kg"] == 52.5);
  CHECK(answer["fistula_or_perforation_6m"] == false);
  // Absent facts stay absent (null), not zero.
  REQUIRE(f.intake.createParticipant(f.ctx(f.inv1), f.participant("S01-002")).isOk());
  auto bare = f.store.participant("S01-002").value();
  CHECK_FALSE(bare->facts.age);
  CHECK_FALSE(bare->facts.fistula_or_perforation_6m);

  // Each limit just inside is accepted.
  json edge = f.participant("S01-005");
  edge.update({{"sex", "U"}, {"age", 120}, {"weight_kg", 10}, {"ecog", 5}, {"hbv_dna_iu_ml", 0}});
  REQUIRE(f.intake.createParticipant(f.ctx(f.inv1), edge).isOk());
  json edge2 = f.participant("S01-006");
  edge2.update({{"age", 0}, {"weight_kg", 400}, {"ecog", 0}, {"hbv_dna_iu_ml", 1e10}});
  REQUIRE(f.intake.createParticipant(f.ctx(f.inv1), edge2).isOk());
  // Every bad fact just past its limit is named, nothing is stored.
  json bad = f.participant("S01-003");
  bad.update({{"sex", "female"}, {"age", 121}, {"weight_kg", 9.99}, {"ecog", 6}, {"hbsag", "reactive"},
              {"anti_hbc", true}, {"hbv_dna_iu_ml", -0.001}, {"fistula_or_perforation_6m", "no"}});
  auto refused = f.intake.createParticipant(f.ctx(f.inv1), bad);
  REQUIRE(refused.status().code() == core::StatusCode::kInvalid);
  std::set<std::string> named;
  for (const auto& e : refused.status().fields()) named.insert(e.field);
  CHECK(named == std::set<std::string>{"sex", "age", "weight_kg", "ecog", "hbsag", "anti_hbc", "hbv_dna_iu_ml",
                                       "fistula_or_perforation_6m"});
  CHECK_FALSE(f.store.participant("S01-003").value());
  // Enrolled 2026-01-05: born 1961, the age is 64 or 65; 63 or 66 contradicts it; a birth year after
  // the enrolment year is impossible.
  int n = 10;
  for (const auto& [age, year, ok] : std::vector<std::tuple<int, int, bool>>{
           {63, 1961, false}, {66, 1961, false}, {-1, 2027, false}, {-1, 1904, false}, {64, 1961, true}, {65, 1961, true},
           {-1, 2026, true}, {-1, 1905, true}}) {
    json q = f.participant("S01-0" + std::to_string(++n));
    q["birth_year"] = year;
    if (age >= 0) q["age"] = age;
    INFO(age << " born " << year);
    auto res = f.intake.createParticipant(f.ctx(f.inv1), q);
    CHECK(res.isOk() == ok);
    if (!ok) CHECK(res.status().fields().at(0).field == "birth_year");
  }
}

TEST_CASE("a participant at an unknown site is refused naming the field", "[intake]") {
  Fixture f;
  core::User inv9{9, "inv9", core::Role::kInvestigator, {"S09"}, false};
  auto r = f.intake.createParticipant(f.ctx(inv9), f.participant("S09-001", "S09"));
  REQUIRE(r.status().code() == core::StatusCode::kInvalid);
  CHECK(r.status().fields().at(0).field == "site");
}

TEST_CASE("dates in the future and doses before enrolment are refused", "[intake]") {
  Fixture f;
  auto p = f.participant();
  p["enrolled_on"] = "2026-03-03";  // clock says 2026-03-01
  CHECK(f.intake.createParticipant(f.ctx(f.inv1), p).status().fields().at(0).field == "enrolled_on");
  REQUIRE(f.intake.createParticipant(f.ctx(f.inv1), f.participant()).isOk());
  json dose = {{"study_id", "S01-001"}, {"drug", "anlotinib"}, {"dose_mg", 12}, {"route", "oral"},
               {"date", "2026-01-04"}, {"cycle", 1}, {"day", 1}, {"status", "given"}};
  auto r = f.intake.recordDose(f.ctx(f.inv1), dose);
  REQUIRE(r.status().code() == core::StatusCode::kInvalid);
  CHECK(r.status().fields().at(0).field == "date");
  CHECK(r.status().fields().at(0).detail.find("2026-01-05") != std::string::npos);
  dose["date"] = "2026-01-05";  // the enrolment day itself is fine
  CHECK(f.intake.recordDose(f.ctx(f.inv1), dose).isOk());
}

TEST_CASE("a repeated Idempotency-Key returns the first answer without a second row", "[intake]") {
  Fixture f;
  REQUIRE(f.intake.createParticipant(f.ctx(f.inv1), f.participant()).isOk());
  auto first = f.intake.recordLabs(f.ctx(f.inv1, "key-1", "hash-A"), f.lab());
  auto again = f.intake.recordLabs(f.ctx(f.inv1, "key-1", "hash-A"), f.lab());
  REQUIRE(first.isOk());
  REQUIRE(again.isOk());
  CHECK_FALSE(first.value().replayed);
  CHECK(again.value().replayed);
  CHECK(again.value().status == first.value().status);
  CHECK(again.value().body == first.value().body);
  CHECK(f.labCount() == 1);

  SECTION("the same key with a different request is a conflict") {
    CHECK(f.intake.recordLabs(f.ctx(f.inv1, "key-1", "hash-B"), f.lab()).status().code() ==
          core::StatusCode::kConflict);
  }
  SECTION("keys are per user") {
    core::User inv1b = f.inv1;
    inv1b.id = f.inv2.id;  // another user id, same site rights
    CHECK_FALSE(f.intake.recordLabs(f.ctx(inv1b, "key-1", "hash-A"), f.lab()).value().replayed);
    CHECK(f.labCount() == 2);
  }
}

TEST_CASE("an AE update adds a version with who, when and why, the first version stays", "[intake]") {
  Fixture f;
  REQUIRE(f.intake.createParticipant(f.ctx(f.inv1), f.participant()).isOk());
  auto created = f.intake.createAdverseEvent(f.ctx(f.inv1), f.ae());
  REQUIRE(created.isOk());
  const int64_t id = json::parse(created.value().body)["id"];
  auto update = f.ae();
  update["grade"] = 3;
  update["serious_criteria"] = {"hospitalization"};
  update["reason"] = "admitted for transfusion";
  update["base_version"] = 1;
  f.clock.set(*core::parseTimestamp("2026-03-01T06:00:00Z"));
  auto updated = f.intake.updateAdverseEvent(f.ctx(f.inv1), id, update);
  REQUIRE(updated.isOk());
  const json body = json::parse(updated.value().body);
  CHECK(body["version"] == 2);
  CHECK(body["grade"] == 3);
  CHECK(body["serious"] == true);
  REQUIRE(body["versions"].size() == 2);
  CHECK(body["versions"][0]["grade"] == 2);
  CHECK(body["versions"][1]["reason"] == "admitted for transfusion");
  CHECK(body["versions"][1]["recorded_at"] == "2026-03-01T06:00:00.000Z");
  const auto last = f.store.auditEntries().value().back();
  CHECK(last.action == "update");
  CHECK(json::parse(last.before)["grade"] == 2);
  CHECK(json::parse(last.after)["grade"] == 3);

  SECTION("a stale base_version is a conflict and stores nothing") {
    update["base_version"] = 1;
    CHECK(f.intake.updateAdverseEvent(f.ctx(f.inv1), id, update).status().code() == core::StatusCode::kConflict);
    CHECK(f.store.adverseEvent(id).value()->versions.size() == 2);
  }
  SECTION("another site's investigator may not update it") {
    update.erase("base_version");
    CHECK(f.intake.updateAdverseEvent(f.ctx(f.inv2), id, update).status().code() == core::StatusCode::kForbidden);
  }
  SECTION("an unknown AE is not found") {
    CHECK(f.intake.updateAdverseEvent(f.ctx(f.inv1), id + 100, update).status().code() == core::StatusCode::kNotFound);
  }
}

TEST_CASE("a lab batch is stored whole or not at all", "[intake]") {
  Fixture f;
  REQUIRE(f.intake.createParticipant(f.ctx(f.inv1), f.participant()).isOk());
  json batch = {{"results", json::array()}};
  for (int i = 0; i < 5; ++i) batch["results"].push_back(f.lab());

  SECTION("one bad row rejects the batch, naming the row") {
    batch["results"][3]["value"] = "x";
    batch["results"][4]["study_id"] = "S01-999";
    auto r = f.intake.recordLabs(f.ctx(f.inv1), batch);
    REQUIRE(r.status().code() == core::StatusCode::kInvalid);
    CHECK(r.status().fields().at(0).field == "results[3].value");
    CHECK(f.labCount() == 0);
  }
  SECTION("an unknown participant rejects the batch, naming the row") {
    batch["results"][4]["study_id"] = "S01-999";
    auto r = f.intake.recordLabs(f.ctx(f.inv1), batch);
    REQUIRE(r.status().code() == core::StatusCode::kInvalid);
    CHECK(r.status().fields().at(0).field == "results[4].study_id");
    CHECK(f.labCount() == 0);
  }
  SECTION("a good batch stores every row with its audit entry") {
    const size_t audit_before = f.auditCount();
    auto r = f.intake.recordLabs(f.ctx(f.inv1), batch);
    REQUIRE(r.isOk());
    CHECK(json::parse(r.value().body)["stored"] == 5);
    CHECK(f.labCount() == 5);
    CHECK(f.auditCount() == audit_before + 5 + 1);  // five results and the ALT candidate they open
  }
}

TEST_CASE("a lab batch is limited to 10,000 results", "[intake]") {
  Fixture f;
  REQUIRE(f.intake.createParticipant(f.ctx(f.inv1), f.participant()).isOk());
  json batch = {{"results", json::array()}};
  for (size_t i = 0; i < intake::kMaxLabBatch; ++i) batch["results"].push_back(f.lab());
  batch["results"].push_back(f.lab());
  auto r = f.intake.recordLabs(f.ctx(f.inv1), batch);
  REQUIRE(r.status().code() == core::StatusCode::kInvalid);
  CHECK(r.status().fields().at(0).detail.find("at most 10000") != std::string::npos);
  batch["results"].erase(batch["results"].size() - 1);
  REQUIRE(f.intake.recordLabs(f.ctx(f.inv1), batch).isOk());
  CHECK(f.labCount() == intake::kMaxLabBatch);
}

TEST_CASE("API tokens are stored only as hashes", "[intake]") {
  Fixture f;
  core::User so{0, "safety", core::Role::kSafetyOfficer, {}, false};
  auto token = f.intake.addUser("test", so);
  REQUIRE(token.isOk());
  store::Connection raw(f.dir.file("vigil.db"), false);
  auto& s = raw.prepare("SELECT count(*) FROM users WHERE token_hash=?");
  s.bind(1, core::sha256Hex(token.value()));
  REQUIRE(s.step());
  CHECK(s.int64(0) == 1);
  s.reset();
  auto& plain = raw.prepare("SELECT count(*) FROM users WHERE token_hash=?");
  plain.bind(1, token.value());
  REQUIRE(plain.step());
  CHECK(plain.int64(0) == 0);
}

TEST_CASE("user creation checks role and site binding", "[intake]") {
  Fixture f;
  CHECK(f.intake.addUser("test", {0, "x", core::Role::kInvestigator, {}, false}).status().code() ==
        core::StatusCode::kInvalid);
  CHECK(f.intake.addUser("test", {0, "y", core::Role::kDsmb, {"S01"}, false}).status().code() ==
        core::StatusCode::kInvalid);
  CHECK(f.intake.addUser("test", {0, "z", core::Role::kInvestigator, {"S77"}, false}).status().code() ==
        core::StatusCode::kInvalid);
  CHECK(f.intake.addUser("test", {0, "inv1", core::Role::kAdmin, {}, false}).status().code() ==
        core::StatusCode::kConflict);
}

TEST_CASE("an AE term must be a CTCAE v5.0 term, unknown terms get the closest suggestions", "[intake]") {
  Fixture f;
  REQUIRE(f.intake.createParticipant(f.ctx(f.inv1), f.participant()).isOk());
  auto body = f.ae();
  body["ctcae_term"] = "Esophageal haemorrhage";
  body.erase("meddra_code");
  auto r = f.intake.createAdverseEvent(f.ctx(f.inv1), body);
  REQUIRE(r.status().code() == core::StatusCode::kInvalid);
  CHECK(r.status().fields().at(0).field == "ctcae_term");
  CHECK_THAT(r.status().fields().at(0).detail, Catch::Contains("closest: Esophageal hemorrhage"));

  SECTION("the exact name in any case, or the MedDRA code, is accepted and stored canonically") {
    body["ctcae_term"] = "ESOPHAGEAL HEMORRHAGE";
    auto ok = f.intake.createAdverseEvent(f.ctx(f.inv1), body);
    REQUIRE(ok.isOk());
    CHECK(json::parse(ok.value().body)["ctcae_term"] == "Esophageal hemorrhage");
    CHECK(json::parse(ok.value().body)["meddra_code"] == "10015384");
    body["ctcae_term"] = "10015090";
    CHECK(json::parse(f.intake.createAdverseEvent(f.ctx(f.inv1), body).value().body)["ctcae_term"] == "Epistaxis");
  }
  SECTION("a grade the term does not have is refused, naming the grades it has") {
    body["ctcae_term"] = "Alopecia";
    body["grade"] = 3;
    auto bad = f.intake.createAdverseEvent(f.ctx(f.inv1), body);
    REQUIRE(bad.status().code() == core::StatusCode::kInvalid);
    CHECK(bad.status().fields().at(0).field == "grade");
    CHECK_THAT(bad.status().fields().at(0).detail, Catch::Contains("its grades are 1, 2"));
  }
  SECTION("a MedDRA code that belongs to another term is refused") {
    body["ctcae_term"] = "Epistaxis";
    body["meddra_code"] = "10015384";
    CHECK(f.intake.createAdverseEvent(f.ctx(f.inv1), body).status().fields().at(0).field == "meddra_code");
  }
  SECTION("an 'Other, specify' term is accepted with its verbatim") {
    body["ctcae_term"] = "Gastrointestinal disorders - Other, specify";
    body["verbatim"] = "gastric outlet obstruction";
    CHECK(f.intake.createAdverseEvent(f.ctx(f.inv1), body).isOk());
  }
}

TEST_CASE("labs are graded on arrival against the participant's baseline", "[intake]") {
  Fixture f;
  REQUIRE(f.intake.createParticipant(f.ctx(f.inv1), f.participant()).isOk());
  // ALT 250 U/L, ULN 40, normal baseline 30: >5.0 - 20.0 x ULN is grade 3.
  auto r = f.intake.recordLabs(f.ctx(f.inv1), f.lab());
  REQUIRE(r.isOk());
  const json grades = json::parse(r.value().body)["grades"];
  REQUIRE(grades.size() == 1);
  CHECK(grades[0]["term"] == "Alanine aminotransferase increased");
  CHECK(grades[0]["grade"] == 3);
  CHECK(grades[0]["baseline_grade"] == 0);
  auto stored = f.store.labs("S01-001", {0, 10}).value();
  CHECK(json::parse(stored[0].grades_json)[0]["grade"] == 3);

  SECTION("an unknown or incompatible unit is refused, never guessed") {
    auto bad = f.lab();
    bad["unit"] = "mmol/L";
    auto res = f.intake.recordLabs(f.ctx(f.inv1), bad);
    REQUIRE(res.status().code() == core::StatusCode::kInvalid);
    CHECK(res.status().fields().at(0).field == "unit");
  }
  SECTION("a test Vigil cannot grade is stored without grades") {
    auto other = f.lab();
    other["test"] = "FERRITIN";
    other["unit"] = "ug/L";
    auto res = f.intake.recordLabs(f.ctx(f.inv1), other);
    REQUIRE(res.isOk());
    CHECK(json::parse(res.value().body)["grades"].empty());
  }
}

TEST_CASE("a lab grade worse than baseline creates, then raises, one pending candidate", "[intake]") {
  Fixture f;
  REQUIRE(f.intake.createParticipant(f.ctx(f.inv1), f.participant()).isOk());
  // ALT 150 (>3.0 - 5.0 x ULN): grade 2.
  auto lab = f.lab();
  lab["value"] = 150;
  const int64_t first = json::parse(f.intake.recordLabs(f.ctx(f.inv1), lab).value().body)["id"];
  auto c = f.candidates();
  REQUIRE(c.size() == 1);
  CHECK(c[0].ctcae_term == "Alanine aminotransferase increased");
  CHECK(c[0].grade == 2);
  CHECK(c[0].status == core::CandidateStatus::kPending);
  CHECK(c[0].source_ids == std::vector<int64_t>{first});

  lab["value"] = 900;  // >20 x ULN: grade 4
  const int64_t second = json::parse(f.intake.recordLabs(f.ctx(f.inv1), lab).value().body)["id"];
  c = f.candidates();
  REQUIRE(c.size() == 1);
  CHECK(c[0].grade == 4);
  CHECK(c[0].source_ids == std::vector<int64_t>{second});  // the results behind the current grade

  lab["value"] = 100;  // grade 1 does not lower a pending candidate, nor join its sources
  REQUIRE(f.intake.recordLabs(f.ctx(f.inv1), lab).isOk());
  CHECK(f.candidates()[0].grade == 4);
  CHECK(f.candidates()[0].source_ids == std::vector<int64_t>{second});
  lab["value"] = 1000;  // another grade 4 joins them
  const int64_t third = json::parse(f.intake.recordLabs(f.ctx(f.inv1), lab).value().body)["id"];
  CHECK(f.candidates()[0].source_ids == std::vector<int64_t>{second, third});
}

TEST_CASE("a candidate keeps at most the 50 most recent results behind its grade", "[intake]") {
  Fixture f;
  REQUIRE(f.intake.createParticipant(f.ctx(f.inv1), f.participant()).isOk());
  json batch = {{"results", json::array()}};
  for (int i = 0; i < 120; ++i) batch["results"].push_back(f.lab());
  const json ids = json::parse(f.intake.recordLabs(f.ctx(f.inv1), batch).value().body)["ids"];
  auto c = f.candidates();
  REQUIRE(c.size() == 1);
  REQUIRE(c[0].source_ids.size() == 50);
  CHECK(c[0].source_ids.front() == ids[70].get<int64_t>());
  CHECK(c[0].source_ids.back() == ids[119].get<int64_t>());
}

TEST_CASE("a grade no worse than the baseline grade creates no candidate", "[intake]") {
  Fixture f;
  REQUIRE(f.intake.createParticipant(f.ctx(f.inv1), f.participant()).isOk());
  // Baseline Hgb 95 g/L is already grade 2 (<100 - 80): 90 g/L stays grade 2.
  json hgb = {{"study_id", "S01-001"}, {"test", "HGB"}, {"value", 90}, {"unit", "g/L"}, {"lln", 120}, {"uln", 160},
              {"collected_at", "2026-02-01T08:00:00Z"}};
  REQUIRE(f.intake.recordLabs(f.ctx(f.inv1), hgb).isOk());
  CHECK(f.candidates().empty());
  hgb["value"] = 79;  // <80: grade 3, one worse than baseline
  REQUIRE(f.intake.recordLabs(f.ctx(f.inv1), hgb).isOk());
  auto c = f.candidates();
  REQUIRE(c.size() == 1);
  CHECK(c[0].ctcae_term == "Anemia");
  CHECK(c[0].grade == 3);
  CHECK(c[0].baseline_grade == 2);
}

TEST_CASE("a 24-hour urine protein overrides the dipstick", "[intake]") {
  Fixture f;
  REQUIRE(f.intake.createParticipant(f.ctx(f.inv1), f.participant()).isOk());
  json dip = {{"study_id", "S01-001"}, {"test", "PROTDIP"}, {"value", 3}, {"unit", "plus"},
              {"collected_at", "2026-02-01T08:00:00Z"}};
  REQUIRE(f.intake.recordLabs(f.ctx(f.inv1), dip).isOk());
  REQUIRE(f.candidates().size() == 1);
  CHECK(f.candidates()[0].grade == 2);  // 2+ and 3+: grade 2
  json urine = {{"study_id", "S01-001"}, {"test", "PROT24H"}, {"value", 0.6}, {"unit", "g/24h"}, {"uln", 0.15},
                {"collected_at", "2026-02-02T08:00:00Z"}};
  REQUIRE(f.intake.recordLabs(f.ctx(f.inv1), urine).isOk());
  auto c = f.candidates();
  REQUIRE(c.size() == 1);
  CHECK(c[0].grade == 1);  // >=ULN - <1.0 g/24 h, and it replaces the dipstick's grade 2
  CHECK(c[0].from_24h_urine);
  dip["value"] = 4;  // a later dipstick 4+ does not override the 24-hour measurement
  REQUIRE(f.intake.recordLabs(f.ctx(f.inv1), dip).isOk());
  CHECK(f.candidates()[0].grade == 1);
}

TEST_CASE("vital signs are graded and high readings become candidates", "[intake]") {
  Fixture f;
  REQUIRE(f.intake.createParticipant(f.ctx(f.inv1), f.participant()).isOk());
  json vitals = {{"study_id", "S01-001"}, {"measured_at", "2026-02-03T09:00:00Z"}, {"systolic_mmhg", 150},
                 {"diastolic_mmhg", 104}, {"temperature_c", 38.5}};
  auto r = f.intake.recordVitals(f.ctx(f.inv1), vitals);
  REQUIRE(r.isOk());
  const json grades = json::parse(r.value().body)["grades"];
  REQUIRE(grades.size() == 2);
  CHECK(grades[0]["term"] == "Hypertension");
  CHECK(grades[0]["grade"] == 3);  // diastolic >=100 outranks systolic 140-159
  CHECK(grades[1]["term"] == "Fever");
  CHECK(grades[1]["grade"] == 1);
  auto c = f.candidates();
  REQUIRE(c.size() == 2);
  CHECK(c[0].source == "vitals");
}

TEST_CASE("a candidate is confirmed into an AE or dismissed with a reason, once", "[intake]") {
  Fixture f;
  REQUIRE(f.intake.createParticipant(f.ctx(f.inv1), f.participant()).isOk());
  REQUIRE(f.intake.recordLabs(f.ctx(f.inv1), f.lab()).isOk());
  const int64_t id = f.candidates()[0].id;
  json ae = f.ae();
  for (const char* k : {"study_id", "ctcae_term", "meddra_code", "grade"}) ae.erase(k);
  ae["verbatim"] = "transaminitis";

  SECTION("confirmed: the AE takes the candidate's term and grade") {
    auto other_site = f.intake.confirmCandidate(f.ctx(f.inv2), id, ae);
    CHECK(other_site.status().code() == core::StatusCode::kForbidden);
    auto r = f.intake.confirmCandidate(f.ctx(f.inv1), id, ae);
    REQUIRE(r.isOk());
    const json created = json::parse(r.value().body);
    CHECK(created["ctcae_term"] == "Alanine aminotransferase increased");
    CHECK(created["grade"] == 3);
    auto c = f.candidates()[0];
    CHECK(c.status == core::CandidateStatus::kConfirmed);
    CHECK(c.ae_id == created["id"].get<int64_t>());
    CHECK(f.intake.confirmCandidate(f.ctx(f.inv1), id, ae).status().code() == core::StatusCode::kConflict);
  }
  SECTION("dismissed: needs a reason") {
    CHECK(f.intake.dismissCandidate(f.ctx(f.inv1), id, json::object()).status().fields().at(0).field == "reason");
    auto r = f.intake.dismissCandidate(f.ctx(f.inv1), id, {{"reason", "haemolysed sample"}});
    REQUIRE(r.isOk());
    CHECK(f.candidates()[0].status == core::CandidateStatus::kDismissed);
    CHECK(f.candidates()[0].decision_reason == "haemolysed sample");
    // A new abnormal value after a dismissal opens a new candidate.
    REQUIRE(f.intake.recordLabs(f.ctx(f.inv1), f.lab()).isOk());
    CHECK(f.candidates().size() == 2);
  }
}

TEST_CASE("term search serves data-entry clients with the grade texts", "[intake]") {
  Fixture f;
  const json found = json::parse(f.intake.searchTerms("alopec", 5));
  REQUIRE_FALSE(found["items"].empty());
  CHECK(found["items"][0]["term"] == "Alopecia");
  CHECK(found["items"][0]["grades"]["3"].is_null());
  CHECK(found["items"][0]["grades"]["1"].get<std::string>().find("Hair loss") != std::string::npos);
}

TEST_CASE("an AE write assesses the AE and opens its reporting clocks", "[intake]") {
  Fixture f;
  REQUIRE(f.intake.createParticipant(f.ctx(f.inv1), f.participant()).isOk());
  auto body = f.ae();
  body["ctcae_term"] = "Esophageal hemorrhage";
  body.erase("meddra_code");
  body["grade"] = 3;
  body["serious_criteria"] = {"hospitalization"};
  auto created = f.intake.createAdverseEvent(f.ctx(f.inv1), body);
  REQUIRE(created.isOk());
  const json safety = json::parse(created.value().body)["safety"];
  CHECK(safety["categories"] == json::array({"hemorrhage"}));
  CHECK(safety["anti_angiogenic"] == true);
  CHECK(safety["serious"] == true);
  CHECK(safety["susar"] == false);
  CHECK(safety["aesi"] == json::array({"AESI-HEM", "AESI-HEM-SITE"}));
  REQUIRE(safety["deadlines"].size() == 1);
  CHECK(safety["deadlines"][0]["kind"] == "sae_24h");
  CHECK(safety["deadlines"][0]["due"] == "2026-02-11T08:00:00.000Z");
  CHECK(safety["deadlines"][0]["state"] == "overdue");  // the clock says 2026-03-01
  const int64_t ae_id = json::parse(created.value().body)["id"];
  const int64_t deadline_id = safety["deadlines"][0]["id"];

  SECTION("a seriousness downgrade keeps the clock and says since which version it is not required") {
    auto update = body;
    update["serious_criteria"] = json::array();
    update["reason"] = "admission was for a planned procedure";
    auto r = f.intake.updateAdverseEvent(f.ctx(f.inv1), ae_id, update);
    REQUIRE(r.isOk());
    const json clocks = json::parse(r.value().body)["safety"]["deadlines"];
    // Non-serious now, still an AESI (grade 3 hemorrhage): its own 24 h clock opens beside the kept SAE clock.
    REQUIRE(clocks.size() == 2);
    CHECK(clocks[0]["kind"] == "sae_24h");
    CHECK(clocks[0]["no_longer_required_since_version"] == 2);
    CHECK(clocks[1]["kind"] == "aesi_24h");
  }
  SECTION("marking a clock met needs a reference, once, by the site or a safety officer") {
    CHECK(f.intake.markDeadlineMet(f.ctx(f.inv1), deadline_id, json::object()).status().fields().at(0).field == "reference");
    CHECK(f.intake.markDeadlineMet(f.ctx(f.inv2), deadline_id, {{"reference", "SAE-001"}}).status().code() ==
          core::StatusCode::kForbidden);
    core::User dsmb{0, "dsmb", core::Role::kDsmb, {}, false};
    CHECK(f.intake.markDeadlineMet(f.ctx(dsmb), deadline_id, {{"reference", "SAE-001"}}).status().code() ==
          core::StatusCode::kForbidden);
    auto met = f.intake.markDeadlineMet(f.ctx(f.inv1), deadline_id,
                                        {{"reference", "SAE-001"}, {"met_at", "2026-02-11T07:00:00Z"}});
    REQUIRE(met.isOk());
    CHECK(json::parse(met.value().body)["state"] == "met");
    CHECK(json::parse(met.value().body)["met_reference"] == "SAE-001");
    core::User so{0, "so", core::Role::kSafetyOfficer, {}, false};
    CHECK(f.intake.markDeadlineMet(f.ctx(so), deadline_id, {{"reference", "again"}}).status().code() ==
          core::StatusCode::kConflict);
    // A met clock stays met through later versions.
    auto update = body;
    update["reason"] = "narrative completed";
    update["narrative"] = "Bleeding stopped after endoscopic clipping.";
    const json clocks = json::parse(f.intake.updateAdverseEvent(f.ctx(f.inv1), ae_id, update).value().body)["safety"]["deadlines"];
    CHECK(clocks[0]["state"] == "met");
  }
  SECTION("the deadline list shows open clocks; an investigator sees only their sites") {
    core::DeadlineFilter open;
    open.met = false;
    const json mine = json::parse(f.intake.deadlines(f.inv1, open).value());
    CHECK(mine["items"].size() == 1);
    CHECK(json::parse(f.intake.deadlines(f.inv2, open).value())["items"].empty());
  }
}

// Issue 14: ALT -5, K -3, HGB 0 and ALT 1e12 U/L were stored, and the last emailed a
// discontinuation. A physically impossible value is refused naming the field; nothing is stored.
TEST_CASE("a physically impossible lab value is refused naming the field and nothing is stored", "[intake]") {
  Fixture f;
  REQUIRE(f.intake.createParticipant(f.ctx(f.inv1), f.participant()).isOk());
  const size_t audit_before = f.auditCount();
  for (auto [test, value, unit] : {std::tuple{"ALT", -5.0, "U/L"}, std::tuple{"K", -3.0, "mmol/L"},
                                   std::tuple{"HGB", 0.0, "g/L"}, std::tuple{"ALT", 1e12, "U/L"}}) {
    INFO(test << " " << value);
    json lab = f.lab();
    lab["test"] = test;
    lab["value"] = value;
    lab["unit"] = unit;
    auto r = f.intake.recordLabs(f.ctx(f.inv1), lab);
    REQUIRE(r.status().code() == core::StatusCode::kInvalid);
    REQUIRE(r.status().fields().size() == 1);
    CHECK(r.status().fields().at(0).field == "value");
    CHECK(r.status().fields().at(0).detail.find("is not a possible") != std::string::npos);
  }
  json batch = {{"results", {f.lab(), f.lab()}}};
  batch["results"][1]["value"] = 100000.5;
  auto r = f.intake.recordLabs(f.ctx(f.inv1), batch);
  REQUIRE(r.status().code() == core::StatusCode::kInvalid);
  CHECK(r.status().fields().at(0).field == "results[1].value");
  CHECK(f.labCount() == 0);
  CHECK(f.auditCount() == audit_before);
  batch["results"][1]["value"] = 100000;  // at the limit: possible
  CHECK(f.intake.recordLabs(f.ctx(f.inv1), batch).isOk());
  CHECK(f.labCount() == 2);
}

TEST_CASE("a baseline lab needs a unit that fits and a possible value", "[intake]") {
  Fixture f;
  json p = f.participant();
  p["baseline_labs"][1]["value"] = 0;  // HGB 0 g/L
  p["baseline_labs"][0]["unit"] = "mmol/L";  // not a unit of ALT
  auto r = f.intake.createParticipant(f.ctx(f.inv1), p);
  REQUIRE(r.status().code() == core::StatusCode::kInvalid);
  REQUIRE(r.status().fields().size() == 2);
  CHECK(r.status().fields().at(0).field == "baseline_labs[0].unit");
  CHECK(r.status().fields().at(1).field == "baseline_labs[1].value");
  CHECK_FALSE(f.store.participant("S01-001").value().has_value());
}
