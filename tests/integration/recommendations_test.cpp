// GET /api/v1/participants/{id}/recommendations on the real vigild: the stored history evaluated
// by the safety rules as of the request, so clocks run out without any new write; protocol
// deviations from recorded doses; the sponsor's assessment on the AE record.
#include <catch2/catch.hpp>

#include <chrono>
#include <set>

#include "core/time.h"
#include "support/daemon.h"

using namespace vigil::test;
using nlohmann::json;

namespace {

std::string dayOffset(int days) {
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch());
  return vigil::core::formatDate(now.count() / 86400000 + days);
}

json hemorrhage(const std::string& study_id, const std::string& start, int grade) {
  json ae = aeBody(study_id);
  ae["verbatim"] = "haematemesis";
  ae["ctcae_term"] = "Esophageal hemorrhage";
  ae.erase("meddra_code");
  ae["grade"] = grade;
  ae["start"] = start;
  ae["site_aware_at"] = start + "T00:00:00Z";
  ae["relatedness"] = {{"anlotinib", "probable"}, {"sintilimab", "unlikely"}};
  return ae;
}

}  // namespace

TEST_CASE("recommendations follow the stored history, deviations and clocks included", "[integration]") {
  Daemon d;
  const std::string inv = d.addUser("inv1", "investigator", {"S01"});
  d.addSite("S02");
  const std::string other = d.addUser("inv2", "investigator", {"S02"});
  const std::string so = d.addUser("so1", "safety_officer");
  d.start();
  REQUIRE(d.post("/api/v1/participants", inv, participantBody("S01-001", "S01")).status == 201);
  REQUIRE(d.post("/api/v1/participants", inv, participantBody("S01-002", "S01")).status == 201);

  // Nothing recorded: both drugs continue at the starting dose.
  auto r = d.get("/api/v1/participants/S01-001/recommendations", inv);
  REQUIRE(r.status == 200);
  CHECK(r.json()["drugs"]["anlotinib"]["action"] == "continue");
  CHECK(r.json()["drugs"]["anlotinib"]["dose_mg"] == 12);
  CHECK(r.json()["study_id"] == "S01-001");

  // A grade 2 bleed yesterday: hold anlotinib, resume at 10 mg, at most 14 days.
  const std::string yesterday = dayOffset(-1);
  auto ae = d.post("/api/v1/adverse-events", inv, hemorrhage("S01-001", yesterday, 2));
  REQUIRE(ae.status == 201);
  r = d.get("/api/v1/participants/S01-001/recommendations", so);
  REQUIRE(r.status == 200);
  const json body = r.json();
  const json& anl = body["drugs"]["anlotinib"];
  CHECK(anl["action"] == "hold");
  CHECK(anl["dose_mg"] == 10);
  CHECK(anl["rule_ids"] == json::array({"AN-HEM-2"}));
  CHECK(anl["event_refs"] == json::array({"ae/" + std::to_string(ae.json()["id"].get<int64_t>())}));
  CHECK(anl["discontinue_after"] == dayOffset(13) + "T00:00:00Z");
  CHECK(body["drugs"]["sintilimab"]["action"] == "continue");

  // Anlotinib recorded today anyway: accepted (the investigator decides) and a deviation finding.
  json dose = doseBody("S01-001");
  dose["date"] = dayOffset(0);
  dose["day"] = 2;
  REQUIRE(d.post("/api/v1/dosing", inv, dose).status == 201);
  r = d.get("/api/v1/participants/S01-001/recommendations", inv);
  // The first dose on record comes after the bleed, so the bleed is also marked as before the
  // first dose (section 6.5); the dose is the deviation.
  const json findings = r.json()["findings"];
  REQUIRE(findings.size() == 2);
  CHECK(findings[0]["code"] == "dose_during_hold");
  CHECK(findings[0]["drug"] == "anlotinib");
  CHECK(findings[1]["code"] == "before_first_dose");
  CHECK(findings[1]["kind"] == "collection_window");

  // A grade 2 bleed in February that never resolved: its 14 days ran out long ago, with no
  // write since, so the recommendation is already a discontinuation.
  REQUIRE(d.post("/api/v1/adverse-events", inv, hemorrhage("S01-002", "2026-02-10", 2)).status == 201);
  r = d.get("/api/v1/participants/S01-002/recommendations", inv);
  CHECK(r.json()["drugs"]["anlotinib"]["action"] == "discontinue");
  CHECK(r.json()["drugs"]["anlotinib"]["dose_mg"].is_null());
  CHECK(r.json()["drugs"]["anlotinib"]["since"] == "2026-02-24T00:00:00Z");

  // Each write recorded what it changed: the hold, then the dose against it.
  auto changes = d.get("/api/v1/participants/S01-001/safety-changes", so);
  REQUIRE(changes.status == 200);
  const json items = changes.json()["items"];
  REQUIRE(items.size() == 3);
  CHECK(items[0]["kind"] == "recommendation");
  CHECK(items[0]["subject"] == "anlotinib");
  CHECK(items[0]["detail"]["action"] == "hold");
  CHECK(items[0]["actor"] == "inv1");
  for (size_t i : {1, 2}) {
    CHECK(items[i]["kind"] == "finding");
    CHECK(items[i]["cause"] == "record dose");
  }
  CHECK(items[1]["subject"] == "dose_during_hold");
  CHECK(items[2]["subject"] == "before_first_dose");
  // The February bleed was recorded as what it is by now: a discontinuation.
  changes = d.get("/api/v1/participants/S01-002/safety-changes", inv);
  REQUIRE(changes.json()["items"].size() == 1);
  CHECK(changes.json()["items"][0]["detail"]["action"] == "discontinue");
  CHECK(d.get("/api/v1/participants/S01-001/safety-changes", other).status == 403);
  CHECK(d.get("/api/v1/participants/S01-001/safety-changes?limit=0", inv).status == 400);

  // Sites see their own participants only.
  CHECK(d.get("/api/v1/participants/S01-001/recommendations", other).status == 403);
  CHECK(d.get("/api/v1/participants/S09-999/recommendations", inv).status == 404);
  CHECK(d.get("/api/v1/participants/S01-001/recommendations", "").status == 401);
}

TEST_CASE("the sponsor's causality and awareness on the AE record start the SUSAR clock", "[integration]") {
  Daemon d;
  const std::string inv = d.addUser("inv1", "investigator", {"S01"});
  d.start();
  REQUIRE(d.post("/api/v1/participants", inv, participantBody("S01-001", "S01")).status == 201);
  const std::string day = dayOffset(-2);
  json ae = aeBody("S01-001");
  ae["verbatim"] = "myocarditis";
  ae["ctcae_term"] = "Myocarditis";
  ae.erase("meddra_code");
  ae["grade"] = 3;
  ae["serious_criteria"] = {"hospitalization"};
  ae["start"] = day;
  ae["site_aware_at"] = day + "T08:00:00Z";
  ae["relatedness"] = {{"anlotinib", "unlikely"}, {"sintilimab", "unlikely"}};
  ae["sponsor_relatedness"] = {{"sintilimab", "possible"}};
  ae["sponsor_aware_at"] = day + "T12:00:00Z";
  ae["steroid_start"] = day;
  auto created = d.post("/api/v1/adverse-events", inv, ae);
  REQUIRE(created.status == 201);
  CHECK(created.json()["sponsor_relatedness"]["sintilimab"] == "possible");
  CHECK(created.json()["sponsor_relatedness"]["anlotinib"].is_null());
  CHECK(created.json()["sponsor_aware_at"] == day + "T12:00:00.000Z");
  CHECK(created.json()["safety"]["susar"] == true);

  auto deadlines = d.get("/api/v1/deadlines?state=all", inv);
  REQUIRE(deadlines.status == 200);
  INFO(deadlines.body);
  bool susar = false;
  const json listed = deadlines.json();
  for (const auto& item : listed["items"])
    if (item["kind"] == "susar_15d") {
      susar = true;
      CHECK(item["anchor"] == "sponsor_aware");
    }
  CHECK(susar);

  // Bad sponsor fields are named like any other.
  ae["sponsor_relatedness"] = {{"sintilimab", "maybe"}};
  ae["sponsor_aware_at"] = "2026-01-01T00:00:00Z";
  auto bad = d.post("/api/v1/adverse-events", inv, ae);
  CHECK(bad.status == 422);
  INFO(bad.body);
  std::vector<std::string> fields;
  const json problem = bad.json();
  for (const auto& e : problem["errors"]) fields.push_back(e["field"]);
  CHECK(std::find(fields.begin(), fields.end(), "sponsor_relatedness.sintilimab") != fields.end());
  CHECK(std::find(fields.begin(), fields.end(), "sponsor_aware_at") != fields.end());
}

TEST_CASE("a pregnancy is recorded, clocked at 24 h, and its abnormal outcome reported as serious", "[integration]") {
  Daemon d;
  const std::string inv = d.addUser("inv1", "investigator", {"S01"});
  d.addSite("S02");
  const std::string other = d.addUser("inv2", "investigator", {"S02"});
  d.start();
  REQUIRE(d.post("/api/v1/participants", inv, participantBody("S01-001", "S01")).status == 201);
  const std::string day = dayOffset(-3);

  // Bad input: every bad field named, nothing stored.
  auto bad = d.post("/api/v1/pregnancies", inv, {{"study_id", "S01-001"}, {"subject", "sister"}, {"outcome", "pregnancy_loss"}});
  REQUIRE(bad.status == 422);
  CHECK(bad.content_type == "application/problem+json");
  std::set<std::string> fields;
  const json problem = bad.json();
  for (const auto& e : problem["errors"]) fields.insert(e["field"].get<std::string>());
  CHECK(fields == std::set<std::string>{"subject", "site_aware_at", "outcome_aware_at"});
  CHECK(d.get("/api/v1/pregnancies?participant=S01-001", inv).json()["items"].empty());

  json body = {{"study_id", "S01-001"}, {"subject", "participant"}, {"site_aware_at", day + "T10:00:00Z"}};
  CHECK(d.post("/api/v1/pregnancies", other, body).status == 403);
  auto created = d.post("/api/v1/pregnancies", inv, body);
  REQUIRE(created.status == 201);
  const int64_t id = created.json()["id"];
  CHECK(created.json()["outcome"] == "ongoing");

  auto rec = d.get("/api/v1/participants/S01-001/recommendations", inv).json();
  const std::string ref = "pregnancy/" + std::to_string(id);
  REQUIRE(rec["deadlines"].size() == 1);
  CHECK(rec["deadlines"][0]["kind"] == "pregnancy_24h");
  CHECK(rec["deadlines"][0]["ref"] == ref);
  CHECK(rec["deadlines"][0]["due"] == dayOffset(-2) + "T10:00:00Z");
  auto changes = d.get("/api/v1/participants/S01-001/safety-changes", inv).json()["items"];
  REQUIRE(changes.size() == 1);
  CHECK(changes[0]["kind"] == "flag");
  CHECK(changes[0]["subject"] == "PREG-24H");
  CHECK(changes[0]["cause"] == "record pregnancy");

  const std::string outcome_path = "/api/v1/pregnancies/" + std::to_string(id) + "/outcome";
  CHECK(d.post(outcome_path, inv, {{"outcome", "pregnancy_loss"}}).status == 422);  // when learnt is required
  CHECK(d.post("/api/v1/pregnancies/999/outcome", inv, {{"outcome", "live_birth"}, {"outcome_aware_at", day + "T12:00:00Z"}}).status == 404);
  auto updated = d.post(outcome_path, inv, {{"outcome", "pregnancy_loss"}, {"outcome_aware_at", dayOffset(-1) + "T09:00:00Z"}});
  REQUIRE(updated.status == 200);
  CHECK(updated.json()["outcome"] == "pregnancy_loss");
  rec = d.get("/api/v1/participants/S01-001/recommendations", inv).json();
  REQUIRE(rec["deadlines"].size() == 2);
  CHECK(rec["deadlines"][1]["kind"] == "sae_24h");
  CHECK(rec["deadlines"][1]["anchor"] == "outcome_aware");
  changes = d.get("/api/v1/participants/S01-001/safety-changes", inv).json()["items"];
  REQUIRE(changes.size() == 2);
  CHECK(changes[1]["subject"] == "PREG-OUTCOME");
  CHECK(d.get("/api/v1/pregnancies?participant=S01-001", other).status == 403);
  CHECK(d.get("/api/v1/pregnancies?participant=S01-001", inv).json()["items"].size() == 1);
}

TEST_CASE("concomitant medications: recorded per site rules, refused field by field, and read by the rules", "[integration]") {
  Daemon d;
  const std::string inv = d.addUser("inv1", "investigator", {"S01"});
  d.addSite("S02");
  const std::string other = d.addUser("inv2", "investigator", {"S02"});
  d.start();
  REQUIRE(d.post("/api/v1/participants", inv, participantBody("S01-001", "S01")).status == 201);
  REQUIRE(d.post("/api/v1/participants", other, participantBody("S02-001", "S02")).status == 201);
  // Pneumonitis G2 from 10 days ago, back to G0-1 two days ago.
  json ae = aeBody("S01-001");
  ae["verbatim"] = "pneumonitis";
  ae["ctcae_term"] = "Pneumonitis";
  ae.erase("meddra_code");
  ae["grade"] = 2;
  ae["start"] = dayOffset(-10);
  ae["end"] = dayOffset(-2);
  ae["outcome"] = "recovered";
  ae["site_aware_at"] = dayOffset(-10) + "T09:00:00Z";
  ae["relatedness"] = {{"anlotinib", "unlikely"}, {"sintilimab", "probable"}};
  auto created = d.post("/api/v1/adverse-events", inv, ae);
  REQUIRE(created.status == 201);
  const int64_t ae_id = created.json()["id"];
  json other_ae = aeBody("S02-001");
  other_ae["start"] = dayOffset(-3);
  other_ae["site_aware_at"] = dayOffset(-3) + "T09:00:00Z";
  auto foreign = d.post("/api/v1/adverse-events", other, other_ae);
  REQUIRE(foreign.status == 201);
  CHECK(d.get("/api/v1/participants/S01-001/recommendations", inv).json()["drugs"]["sintilimab"]["action"] == "continue");

  // Bad input: each bad field named, nothing stored.
  auto bad = d.post("/api/v1/concomitant-medications", inv,
                    {{"study_id", "S01-001"}, {"name", "budesonide"}, {"category", "steroid"}, {"route", "oral"},
                     {"frequency", "daily"}, {"start", dayOffset(2)}, {"dose", -1}, {"colour", "red"}});
  REQUIRE(bad.status == 422);
  CHECK(bad.content_type == "application/problem+json");
  std::set<std::string> fields;
  const json problem = bad.json();
  for (const auto& e : problem["errors"]) fields.insert(e["field"].get<std::string>());
  CHECK(fields == std::set<std::string>{"colour", "category", "frequency", "dose", "start"});
  json steroid = {{"study_id", "S01-001"}, {"name", "Budesonide"}, {"category", "corticosteroid"}, {"route", "oral"},
                  {"frequency", "QD"}, {"start", dayOffset(-10)}, {"dose", 9}, {"unit", "mg"}};
  bad = d.post("/api/v1/concomitant-medications", inv, steroid);
  REQUIRE(bad.status == 422);
  const json not_in_table = bad.json();
  CHECK(not_in_table["errors"].size() == 1);
  CHECK(not_in_table["errors"][0]["field"] == "name");  // not in the conversion table
  steroid["name"] = "prednisone";
  steroid["dose"] = 40;
  steroid["end"] = dayOffset(2);  // the taper's planned step
  steroid["indication_ae_id"] = foreign.json()["id"];
  CHECK(d.post("/api/v1/concomitant-medications", inv, steroid).status == 422);  // another participant's AE
  CHECK(d.get("/api/v1/concomitant-medications?participant=S01-001", inv).json()["items"].empty());

  steroid["indication_ae_id"] = ae_id;
  CHECK(d.post("/api/v1/concomitant-medications", other, steroid).status == 403);
  auto med = d.post("/api/v1/concomitant-medications", inv, steroid);
  REQUIRE(med.status == 201);
  CHECK(med.json()["frequency"] == "QD");
  CHECK(med.json()["indication_ae_id"] == ae_id);

  // The event has resolved but prednisone 40 mg/day runs on: sintilimab stays held.
  json rec = d.get("/api/v1/participants/S01-001/recommendations", inv).json();
  CHECK(rec["drugs"]["sintilimab"]["action"] == "hold");
  CHECK(rec["drugs"]["sintilimab"]["prednisone_mg_day"] == 40.0);
  const json rules = rec["drugs"]["sintilimab"]["rule_ids"];
  CHECK(std::find(rules.begin(), rules.end(), "SI-RESUME-STEROID") != rules.end());
  auto changes = d.get("/api/v1/participants/S01-001/safety-changes", inv).json()["items"];
  REQUIRE(!changes.empty());
  CHECK(changes.back()["kind"] == "recommendation");
  CHECK(changes.back()["subject"] == "sintilimab");
  CHECK(changes.back()["cause"] == "record concomitant medication");

  CHECK(d.get("/api/v1/concomitant-medications?participant=S01-001", other).status == 403);
  auto list = d.get("/api/v1/concomitant-medications?participant=S01-001", inv).json()["items"];
  REQUIRE(list.size() == 1);
  CHECK(list[0]["name"] == "prednisone");
  CHECK(list[0]["end"] == dayOffset(2));
}
