// Issue 13.4 with the real binaries: vigilctl audit verify, init-key and anchor, and vigild's
// start-up and background checks turning /healthz degraded.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "core/time.h"
#include "store/sqlite.h"
#include "store/sqlite_store.h"
#include "support/daemon.h"
#include "support/fixed_clock.h"

using namespace vigil::test;
using nlohmann::json;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A trial with data, vigild stopped: the files are the attacker's.
struct Stopped {
  Daemon d;
  std::string inv;
  Stopped() {
    inv = d.addUser("inv1", "investigator", {"S01"});
    d.start();
    REQUIRE(d.post("/api/v1/participants", inv, participantBody("S01-001", "S01")).status == 201);
    REQUIRE(d.post("/api/v1/labs", inv, labBody("S01-001")).status == 201);
    REQUIRE(d.post("/api/v1/vitals", inv, vitalsBody("S01-001")).status == 201);
    REQUIRE(d.waitOutboxIdle(1));
    REQUIRE(d.stop() == 0);
  }
  int64_t newestSeq() const {
    vigil::store::Connection raw(d.dbPath(), true);
    auto& s = raw.prepare("SELECT MAX(seq) FROM audit_log");
    REQUIRE(s.step());
    const int64_t seq = s.int64(0);
    s.reset();
    return seq;
  }
};

// Polls /healthz until pred holds (true) or 20 s pass (false).
template <typename Pred>
bool waitHealth(const Daemon& d, Pred pred) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    auto h = d.get("/healthz", "");
    if (h.status == 200 && pred(h.json())) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

bool waitLog(const Daemon& d, const std::string& text) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (slurp(d.logPath()).find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

}  // namespace

TEST_CASE("vigilctl audit verify catches the newest audit row deleted", "[integration][audit]") {
  Stopped s;
  auto ok = s.d.ctl({"audit", "verify"});
  REQUIRE(ok.exit_code == 0);
  CHECK_THAT(ok.out, Catch::Contains("anchored at row " + std::to_string(s.newestSeq())));
  {
    vigil::store::Connection raw(s.d.dbPath(), false);
    raw.execute("DROP TRIGGER audit_log_no_delete");
    raw.execute("DELETE FROM audit_log WHERE seq=(SELECT MAX(seq) FROM audit_log)");
  }
  auto cut = s.d.ctl({"audit", "verify"});
  CHECK(cut.exit_code == 1);
  CHECK_THAT(cut.out, Catch::Contains("BROKEN") && Catch::Contains("1 newest row(s) were removed"));
}

TEST_CASE("vigilctl audit verify names a lab value changed in its table", "[integration][audit]") {
  Stopped s;
  {
    vigil::store::Connection raw(s.d.dbPath(), false);
    CHECK_THROWS_WITH(raw.execute("UPDATE lab_results SET value=45"), Catch::Contains("append-only"));
    raw.execute("DROP TRIGGER lab_results_no_update");
    raw.execute("UPDATE lab_results SET value=45");
  }
  auto r = s.d.ctl({"audit", "verify"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.out, Catch::Contains("lab_result 1: field 'value'"));
}

TEST_CASE("vigild checks the audit head at start-up: a cut tail turns healthz degraded", "[integration][audit]") {
  Stopped s;
  {
    vigil::store::Connection raw(s.d.dbPath(), false);
    raw.execute("DROP TRIGGER audit_log_no_delete");
    raw.execute("DELETE FROM audit_log WHERE seq>(SELECT MAX(seq) FROM audit_log)-2");
  }
  s.d.start();
  CHECK(waitHealth(s.d, [](const json& h) {
    return h["status"] == "degraded" && h["problems"].contains("audit") &&
           h["problems"]["audit"].get<std::string>().find("2 newest row(s) were removed") != std::string::npos;
  }));
  CHECK(waitLog(s.d, "error [app] audit head check failed"));
  // Writes go on (a safety system keeps taking data), and the anchor stays as the evidence.
  CHECK(s.d.post("/api/v1/labs", s.inv, labBody("S01-001")).status == 201);
  CHECK(s.d.get("/healthz", "").json()["status"] == "degraded");
  REQUIRE(s.d.stop() == 0);
  CHECK(s.d.ctl({"audit", "verify"}).exit_code == 1);
}

TEST_CASE("vigild's background check turns healthz degraded when a lab value is edited", "[integration][audit]") {
  Stopped s;
  s.d.start({"--set=audit.verify_seconds=1"});
  REQUIRE(waitHealth(s.d, [](const json& h) { return h["status"] == "ok"; }));
  {
    vigil::store::Connection raw(s.d.dbPath(), false);
    raw.execute("DROP TRIGGER lab_results_no_update");
    raw.execute("UPDATE lab_results SET value=45");
  }
  CHECK(waitHealth(s.d, [](const json& h) {
    return h["problems"].contains("audit") &&
           h["problems"]["audit"].get<std::string>().find("lab_result 1: field 'value'") != std::string::npos;
  }));
  CHECK(waitLog(s.d, "error [app] audit trail check failed: lab_result 1"));
}

TEST_CASE("the DSMB manifest carries the audit head and verify checks it", "[integration][audit]") {
  Stopped s;
  const std::string out = s.d.dir() + "/pkg";
  // A cut now (every row so far was stamped at or before it): the head as of the cut is the
  // newest row before the export's own entry.
  const int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  auto exported = s.d.ctl({"export", "dsmb", "--as-of=" + vigil::core::formatTimestamp(now_ms), "--out=" + out});
  REQUIRE(exported.exit_code == 0);
  const json manifest = json::parse(slurp(out + "/manifest.json"));
  CHECK(manifest["audit_anchor"]["seq"] == s.newestSeq() - 1);  // the export's own entry came after
  CHECK(s.d.ctl({"audit", "verify", "--manifest=" + out + "/manifest.json"}).exit_code == 0);
  json forged = manifest;
  forged["audit_anchor"]["seq"] = s.newestSeq() + 10;
  std::ofstream(s.d.dir() + "/forged.json") << forged.dump();
  auto r = s.d.ctl({"audit", "verify", "--manifest=" + s.d.dir() + "/forged.json"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.out, Catch::Contains("newest row(s) were removed"));
}

TEST_CASE("vigilctl audit init-key keys an old database and never overwrites a key", "[integration][audit]") {
  Daemon d;
  vigil::test::FixedClock clock(*vigil::core::parseTimestamp("2026-03-01T00:00:00Z"));
  {
    // A database from before keyed chains: plain SHA-256 rows, no key, no anchor.
    vigil::store::SqliteStore old{vigil::store::SqliteOptions{.path = d.dbPath()}, clock};
    REQUIRE(old.write([](vigil::store::Transaction& tx) {
                 tx.insertSite("S01", "Site one");
                 tx.appendAudit({"test", "create", "site", "S01", "", "{\"id\":\"S01\"}"});
                 return vigil::core::Status::ok();
               }).isOk());
  }
  const std::string key_file = (std::filesystem::path(d.dbPath()).parent_path() / "audit.key").string();
  auto refused = d.ctl({"audit", "verify"});
  CHECK(refused.exit_code == 78);
  CHECK_THAT(refused.err, Catch::Contains("vigilctl audit init-key"));
  CHECK_THROWS_WITH(d.start(), Catch::Contains("init-key"));

  auto init = d.ctl({"audit", "init-key"});
  REQUIRE(init.exit_code == 0);
  struct stat st {};
  REQUIRE(stat(key_file.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
  const std::string key = slurp(key_file);
  CHECK(key.size() == 65);
  auto verified = d.ctl({"audit", "verify"});
  CHECK(verified.exit_code == 0);
  CHECK_THAT(verified.out, Catch::Contains("verifies: 2 entries (rows 1-1 legacy-unkeyed") &&
                               Catch::Contains("anchored at row 2"));

  auto again = d.ctl({"audit", "init-key"});
  CHECK(again.exit_code == 73);
  CHECK_THAT(again.err, Catch::Contains("never overwritten"));
  CHECK(slurp(key_file) == key);

  // Looser permissions stop both programs.
  REQUIRE(chmod(key_file.c_str(), 0644) == 0);
  CHECK_THAT(d.ctl({"audit", "verify"}).err, Catch::Contains("chmod 600"));
  CHECK_THROWS_WITH(d.start(), Catch::Contains("mode 0644"));
}

TEST_CASE("a fresh database gets its key and anchor from the first command", "[integration][audit]") {
  Daemon d;
  d.addSite("S01");
  struct stat st {};
  REQUIRE(stat(((std::filesystem::path(d.dbPath()).parent_path() / "audit.key").string()).c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
  CHECK_THAT(slurp(d.dbPath() + ".anchor"), Catch::StartsWith("vigil-audit-anchor/1 1 "));
  // The key may come from the environment instead; then a key file is neither needed nor written.
  auto args = d.commonArgs();
  args.insert(args.begin(), {"audit", "init-key"});
  auto env = runCommand(VIGILCTL_PATH, args, {{"VIGIL_AUDIT_KEY", std::string(64, 'a')}});
  CHECK(env.exit_code == 73);  // this chain is keyed already, under the file's key
  CHECK_THAT(env.err, Catch::Contains("keyed from row 1"));
}

TEST_CASE("init-key seals an old chain under VIGIL_AUDIT_KEY", "[integration][audit]") {
  Daemon d;
  vigil::test::FixedClock clock(*vigil::core::parseTimestamp("2026-03-01T00:00:00Z"));
  {
    vigil::store::SqliteStore old{vigil::store::SqliteOptions{.path = d.dbPath()}, clock};
    for (const char* site : {"S01", "S02", "S03"})
      REQUIRE(old.write([&](vigil::store::Transaction& tx) {
                   tx.insertSite(site, "Site");
                   tx.appendAudit({"test", "create", "site", site, "", "{}"});
                   return vigil::core::Status::ok();
                 }).isOk());
  }
  const std::map<std::string, std::string> env = {{"VIGIL_AUDIT_KEY", std::string(64, 'b')}};
  auto ctl = [&](std::vector<std::string> words) {
    auto args = d.commonArgs();
    args.insert(args.begin(), words.begin(), words.end());
    return runCommand(VIGILCTL_PATH, args, env);
  };
  // Plain rows only, under a key: not accepted until sealed.
  auto unsealed = ctl({"audit", "verify"});
  CHECK(unsealed.exit_code == 1);
  CHECK_THAT(unsealed.out, Catch::Contains("no row is keyed under the audit key"));
  auto sealed = ctl({"audit", "init-key"});
  REQUIRE(sealed.exit_code == 0);
  CHECK_THAT(sealed.out, Catch::Contains("3 legacy-unkeyed rows"));
  CHECK_FALSE(std::filesystem::exists((std::filesystem::path(d.dbPath()).parent_path() / "audit.key").string()));
  auto verified = ctl({"audit", "verify"});
  CHECK(verified.exit_code == 0);
  CHECK_THAT(verified.out, Catch::Contains("verifies: 4 entries (rows 1-3 legacy-unkeyed") &&
                               Catch::Contains("sealed by keyed row 4") && Catch::Contains("anchored at row 4"));
  CHECK(ctl({"audit", "init-key"}).exit_code == 73);
}

TEST_CASE("vigilctl audit anchor re-anchors a verified chain after an incident", "[integration][audit]") {
  Stopped s;
  std::filesystem::remove(s.d.dbPath() + ".anchor");
  auto missing = s.d.ctl({"audit", "verify"});
  CHECK(missing.exit_code == 1);
  CHECK_THAT(missing.out, Catch::Contains("anchor") && Catch::Contains("is missing"));
  auto anchored = s.d.ctl({"audit", "anchor"});
  REQUIRE(anchored.exit_code == 0);
  CHECK_THAT(anchored.out, Catch::Contains("anchored at row " + std::to_string(s.newestSeq())));
  CHECK(s.d.ctl({"audit", "verify"}).exit_code == 0);
}

TEST_CASE("GET /api/v1/audit: who changed what and when, by role and site, paged, each read itself audited",
          "[integration][audit]") {
  Daemon d;
  const std::string inv = d.addUser("inv1", "investigator", {"S01"});
  d.addSite("S02");
  const std::string other = d.addUser("inv2", "investigator", {"S02"});
  const std::string so = d.addUser("so1", "safety_officer");
  const std::string dsmb = d.addUser("dsmb1", "dsmb");
  d.start();
  REQUIRE(d.post("/api/v1/participants", inv, participantBody("S01-001", "S01")).status == 201);
  REQUIRE(d.post("/api/v1/participants", other, participantBody("S02-001", "S02")).status == 201);
  auto lab = d.post("/api/v1/labs", inv, labBody("S01-001"));
  REQUIRE(lab.status == 201);
  const std::string lab_id = std::to_string(lab.json()["id"].get<int64_t>());
  auto ae = d.post("/api/v1/adverse-events", inv, aeBody("S01-001"));
  REQUIRE(ae.status == 201);
  const std::string ae_id = std::to_string(ae.json()["id"].get<int64_t>());
  json update = aeBody("S01-001");
  update["grade"] = 2;
  update["base_version"] = 1;
  update["reason"] = "grade corrected after review of the source notes";
  REQUIRE(d.request("PUT", "/api/v1/adverse-events/" + ae_id, inv, update.dump()).status == 200);

  // One record's history: the lab's creation, with its after and no reason.
  auto r = d.get("/api/v1/audit?entity=lab_result&id=" + lab_id, inv);
  REQUIRE(r.status == 200);
  json items = r.json()["items"];
  REQUIRE(items.size() == 1);
  CHECK(items[0]["action"] == "create");
  CHECK(items[0]["actor"] == "inv1");
  CHECK(items[0]["study_id"] == "S01-001");
  CHECK(items[0]["before"].is_null());
  CHECK(items[0]["after"]["value"] == 250);
  CHECK(items[0]["reason"].is_null());
  // The AE's correction carries before, after and the reason for change.
  items = d.get("/api/v1/audit?entity=adverse_event&id=" + ae_id, so).json()["items"];
  REQUIRE(items.size() == 2);
  CHECK(items[1]["action"] == "update");
  CHECK(items[1]["reason"] == "grade corrected after review of the source notes");
  CHECK(items[1]["after"]["grade"] == 2);

  // Investigators see their own sites' records only; the DSMB none.
  CHECK(d.get("/api/v1/audit?study_id=S01-001", other).status == 403);
  json theirs = d.get("/api/v1/audit?limit=1000", other).json()["items"];
  REQUIRE(!theirs.empty());
  for (const auto& e : theirs) CHECK(e["study_id"] == "S02-001");
  CHECK(d.get("/api/v1/audit", dsmb).status == 403);
  // Safety officers see every site and the entries about no participant (users, sites).
  json all = d.get("/api/v1/audit?limit=1000", so).json()["items"];
  std::set<std::string> entities;
  for (const auto& e : all) entities.insert(e["entity"].get<std::string>());
  CHECK(entities.count("user") == 1);
  CHECK(entities.count("site") == 1);

  // Paged by seq.
  auto first = d.get("/api/v1/audit?limit=2", so).json();
  REQUIRE(first["items"].size() == 2);
  const int64_t next = first["next_after_seq"];
  CHECK(next == first["items"][1]["seq"].get<int64_t>());
  auto second = d.get("/api/v1/audit?limit=2&after_seq=" + std::to_string(next), so).json();
  REQUIRE(!second["items"].empty());
  CHECK(second["items"][0]["seq"].get<int64_t>() == next + 1);

  // Each read is on the record, with its query.
  json reads = d.get("/api/v1/audit?entity=audit&actor=inv2", so).json()["items"];
  REQUIRE(reads.size() == 1);  // the 403 above read nothing
  CHECK(reads[0]["action"] == "read");
  CHECK(reads[0]["after"]["limit"] == 1000);

  // Time bounds: a date `to` covers its day; bad parameters are a 400 naming each.
  CHECK(d.get("/api/v1/audit?to=2000-01-01", so).json()["items"].empty());
  CHECK(d.get("/api/v1/audit?from=2000-01-01&entity=lab_result", so).json()["items"].size() == 1);
  auto bad = d.get("/api/v1/audit?from=yesterday&limit=0&id=3&colour=red", so);
  REQUIRE(bad.status == 400);
  std::set<std::string> fields;
  const json problem = bad.json();
  for (const auto& e : problem["errors"]) fields.insert(e["field"].get<std::string>());
  CHECK(fields == std::set<std::string>{"colour", "limit"});

  // vigilctl audit show: the same history as a table, and its read audited too.
  auto shown = d.ctl({"audit", "show", "adverse_event", ae_id});
  CHECK(shown.exit_code == 0);
  CHECK_THAT(shown.out, Catch::Contains("\tcreate\tcreated"));
  CHECK_THAT(shown.out, Catch::Contains("grade: 1 -> 2"));
  CHECK(d.ctl({"audit", "show", "adverse_event", "999"}).exit_code == 1);
  CHECK(d.ctl({"audit", "verify"}).exit_code == 0);
}

TEST_CASE("vigilctl import labs: a laboratory's CSV as an investigator, with their rights, re-evaluated and alerted",
          "[integration][audit]") {
  Daemon d;
  const std::string inv = d.addUser("inv1", "investigator", {"S01"});
  d.addSite("S02");
  d.addUser("inv2", "investigator", {"S02"});
  d.start();
  REQUIRE(d.post("/api/v1/participants", inv, participantBody("S01-001", "S01")).status == 201);
  const std::string file = d.dir() + "/lab.csv";
  std::ofstream(file) << "USUBJID,LBTESTCD,LBORRES,LBORRESU,LBORNRLO,LBORNRHI,LBDTC\n"
                      << "S01-001,ALT,450,U/L,7,40,2026-02-01T08:00:00Z\n"
                      << "S01-001,HGB,130,g/L,120,160,2026-02-01T08:00:00Z\n";
  auto r = d.ctl({"import", "labs", file, "--user=inv1"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("2 stored, 0 already recorded"));
  // The same file again stores nothing.
  r = d.ctl({"import", "labs", file, "--user=inv1"});
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("0 stored, 2 already recorded"));
  // The rules saw it in the same transaction: ALT 11 x ULN holds both drugs (OV-HEP-2 discontinues).
  const json rec = d.get("/api/v1/participants/S01-001/recommendations", inv).json();
  CHECK(rec["drugs"]["sintilimab"]["action"] != "continue");
  const json changes = d.get("/api/v1/participants/S01-001/safety-changes", inv).json()["items"];
  REQUIRE(!changes.empty());
  CHECK(changes[0]["actor"] == "inv1");
  // Another site's investigator may not; a bad row names its line and column; nothing stored.
  r = d.ctl({"import", "labs", file, "--user=inv2"});
  CHECK(r.exit_code != 0);
  std::ofstream(file) << "USUBJID,LBTESTCD,LBORRES,LBORRESU,LBDTC\nS01-001,K,4.1,mmol/L,2026-02-02T08:00:00Z\n"
                      << "S01-001,K,-3,mmol/L,2026-02-02T09:00:00Z\n";
  r = d.ctl({"import", "labs", file, "--user=inv1"});
  CHECK(r.exit_code == 65);
  CHECK_THAT(r.err, Catch::Contains("line 3 LBORRES"));
  json labs = d.get("/api/v1/labs?participant=S01-001", inv).json()["items"];
  CHECK(labs.size() == 2);
}
