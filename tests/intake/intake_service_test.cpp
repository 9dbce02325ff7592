#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "core/crypto.h"
#include "intake/intake_service.h"
#include "store/sqlite.h"
#include "store/sqlite_store.h"
#include "support/fixed_clock.h"
#include "support/temp_dir.h"

using namespace vigil;
using nlohmann::json;

namespace {

struct Fixture {
  test::TempDir dir;
  test::FixedClock clock{*core::parseTimestamp("2026-03-01T00:00:00Z")};
  store::SqliteStore store{[this] {
                             store::SqliteOptions o;
                             o.path = dir.file("vigil.db");
                             return o;
                           }(),
                           clock};
  intake::IntakeService intake{store, clock};
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
            {"prior_thoracic_radiotherapy", false}};
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

TEST_CASE("an AE update adds a version with who, when and why; the first version stays", "[intake]") {
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
    CHECK(f.auditCount() == audit_before + 5);
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
