// Each role x each resource x own and other site, against the real daemon.
#include <catch2/catch.hpp>

#include "support/daemon.h"

using namespace vigil::test;
using nlohmann::json;

namespace {

struct World {
  Daemon d;
  std::map<std::string, std::string> token;  // by role label
  int64_t ae_s01 = 0;
  int64_t ae_s02 = 0;

  World() {
    token["inv_s01"] = d.addUser("inv-s01", "investigator", {"S01"});
    token["inv_s02"] = d.addUser("inv-s02", "investigator", {"S02"});
    token["safety_officer"] = d.addUser("so", "safety_officer");
    token["dsmb"] = d.addUser("dsmb", "dsmb");
    token["admin"] = d.addUser("admin", "admin");
    d.start();
    REQUIRE(d.post("/api/v1/participants", token["inv_s01"], participantBody("S01-001", "S01")).status == 201);
    REQUIRE(d.post("/api/v1/participants", token["inv_s02"], participantBody("S02-001", "S02")).status == 201);
    ae_s01 = d.post("/api/v1/adverse-events", token["inv_s01"], aeBody("S01-001")).json()["id"];
    ae_s02 = d.post("/api/v1/adverse-events", token["inv_s02"], aeBody("S02-001")).json()["id"];
  }
};

struct Call {
  std::string name;
  std::string method;
  std::string path;
  json body;
  bool write;
};

// Every resource operation on the given site's participant.
std::vector<Call> calls(const std::string& site, int64_t ae_id) {
  const std::string sid = site + "-001";
  auto update = aeBody(sid);
  update["reason"] = "matrix";
  const std::string ae = "/api/v1/adverse-events/" + std::to_string(ae_id);
  return {
      {"register participant", "POST", "/api/v1/participants", participantBody(site + "-" + "777", site), true},
      {"read participant", "GET", "/api/v1/participants/" + sid, nullptr, false},
      {"list participants", "GET", "/api/v1/participants?site=" + site, nullptr, false},
      {"record dose", "POST", "/api/v1/dosing", doseBody(sid), true},
      {"list doses", "GET", "/api/v1/dosing?participant=" + sid, nullptr, false},
      {"create AE", "POST", "/api/v1/adverse-events", aeBody(sid), true},
      {"read AE", "GET", ae, nullptr, false},
      {"update AE", "PUT", ae, update, true},
      {"list AEs", "GET", "/api/v1/adverse-events?participant=" + sid, nullptr, false},
      {"record lab", "POST", "/api/v1/labs", labBody(sid), true},
      {"list labs", "GET", "/api/v1/labs?participant=" + sid, nullptr, false},
      {"record vitals", "POST", "/api/v1/vitals", vitalsBody(sid), true},
      {"list vitals", "GET", "/api/v1/vitals?participant=" + sid, nullptr, false},
      {"list AE candidates", "GET", "/api/v1/ae-candidates?participant=" + sid, nullptr, false},
      {"list deadlines", "GET", "/api/v1/deadlines?participant=" + sid, nullptr, false},
  };
}

int send(World& w, const std::string& token, const Call& c) {
  return w.d.request(c.method, c.path, token, c.body.is_null() ? "" : c.body.dump()).status;
}

}  // namespace

TEST_CASE("auth matrix: every role on every resource at its own and another site", "[integration][auth]") {
  World w;
  int checked = 0;
  for (const std::string site : {"S01", "S02"}) {
    const int64_t ae = site == "S01" ? w.ae_s01 : w.ae_s02;
    for (const auto& c : calls(site, ae)) {
      INFO(c.name << " at " << site);
      {
        INFO("investigator of S01");
        const int status = send(w, w.token["inv_s01"], c);
        if (site == "S01") {
          CHECK(status / 100 == 2);
        } else {
          CHECK(status == 403);
        }
      }
      for (const std::string role : {"safety_officer", "dsmb", "admin"}) {
        INFO(role);
        const int status = send(w, w.token[role], c);
        if (c.write) {
          CHECK(status == 403);
        } else {
          CHECK(status == 200);
        }
      }
      CHECK(send(w, "", c) == 401);
      CHECK(send(w, "vgl_not-a-real-token", c) == 401);
      ++checked;
    }
  }
  CHECK(checked == 30);
}

TEST_CASE("every role may search CTCAE terms, candidates are decided only at the own site", "[integration][auth]") {
  World w;
  for (const std::string role : {"inv_s01", "safety_officer", "dsmb", "admin"})
    CHECK(w.d.get("/api/v1/ctcae/terms?q=anemia", w.token[role]).status == 200);
  CHECK(w.d.get("/api/v1/ctcae/terms?q=anemia", "").status == 401);
  REQUIRE(w.d.post("/api/v1/labs", w.token["inv_s01"], labBody("S01-001")).status == 201);
  const int64_t id = w.d.get("/api/v1/ae-candidates?participant=S01-001", w.token["inv_s01"]).json()["items"][0]["id"];
  const std::string dismiss = "/api/v1/ae-candidates/" + std::to_string(id) + "/dismiss";
  for (const std::string role : {"inv_s02", "safety_officer", "dsmb", "admin"})
    CHECK(w.d.post(dismiss, w.token[role], {{"reason", "x"}}).status == 403);
  CHECK(w.d.post(dismiss, w.token["inv_s01"], {{"reason", "sample haemolysed"}}).status == 200);
}

TEST_CASE("an investigator's unfiltered lists hold only their own sites", "[integration][auth]") {
  World w;
  auto aes = w.d.get("/api/v1/adverse-events", w.token["inv_s02"]).json()["items"];
  REQUIRE(aes.size() == 1);
  CHECK(aes[0]["site"] == "S02");
  auto people = w.d.get("/api/v1/participants", w.token["inv_s02"]).json()["items"];
  REQUIRE(people.size() == 1);
  CHECK(people[0]["study_id"] == "S02-001");
  CHECK(w.d.get("/api/v1/adverse-events", w.token["safety_officer"]).json()["items"].size() == 2);
}

TEST_CASE("a 403 or 401 write stores nothing", "[integration][auth]") {
  World w;
  CHECK(w.d.post("/api/v1/labs", w.token["inv_s02"], labBody("S01-001")).status == 403);
  CHECK(w.d.post("/api/v1/labs", "", labBody("S01-001")).status == 401);
  auto labs = w.d.get("/api/v1/labs?participant=S01-001", w.token["inv_s01"]).json()["items"];
  CHECK(labs.empty());
  auto unauth = w.d.get("/api/v1/participants", "");
  CHECK(unauth.headers["WWW-Authenticate"].find("Bearer") == 0);
}

TEST_CASE("vigilctl disables and enables a user and replaces a token while vigild runs: each holds on the next request",
          "[integration][auth]") {
  Daemon d;
  const std::string old_token = d.addUser("inv-a", "investigator", {"S01"});
  const std::string other = d.addUser("inv-b", "investigator", {"S01"});
  d.start();
  REQUIRE(d.post("/api/v1/participants", old_token, participantBody("S01-001", "S01")).status == 201);
  const std::string path = "/api/v1/participants/S01-001";
  REQUIRE(d.get(path, old_token).status == 200);  // the token is known (and was, before, cached)

  auto list = d.ctl({"user", "list"});
  REQUIRE(list.exit_code == 0);
  CHECK_THAT(list.out, Catch::Contains("inv-a\tinvestigator\tS01\tenabled"));

  auto disabled = d.ctl({"user", "disable", "inv-a"});
  REQUIRE(disabled.exit_code == 0);
  auto refused = d.get(path, old_token);  // the very next request, no waiting
  CHECK(refused.status == 401);
  CHECK(d.get(path, other).status == 200);  // nobody else is affected
  CHECK_THAT(d.ctl({"user", "list"}).out, Catch::Contains("inv-a\tinvestigator\tS01\tdisabled"));

  REQUIRE(d.ctl({"user", "enable", "inv-a"}).exit_code == 0);
  CHECK(d.get(path, old_token).status == 200);

  auto rotated = d.ctl({"user", "rotate-token", "inv-a"});
  REQUIRE(rotated.exit_code == 0);
  std::string new_token = rotated.out;
  while (!new_token.empty() && (new_token.back() == '\n' || new_token.back() == '\r')) new_token.pop_back();
  REQUIRE(new_token.size() >= 32);
  CHECK(new_token != old_token);
  CHECK(d.get(path, old_token).status == 401);
  CHECK(d.get(path, new_token).status == 200);

  auto missing = d.ctl({"user", "disable", "nobody"});
  CHECK(missing.exit_code == 67);
  CHECK_THAT(missing.err, Catch::Contains("no user nobody"));

  // The changes are audited and keep the chain whole.
  auto audit = d.ctl({"audit", "verify"});
  CHECK(audit.exit_code == 0);
}
