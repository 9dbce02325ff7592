#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/resource.h>

#include <atomic>
#include <thread>

#include "audit/audit.h"
#include "store/migrations.h"
#include "store/sqlite.h"
#include "store/sqlite_store.h"
#include "support/fixed_clock.h"
#include "support/temp_dir.h"

using namespace vigil;
using core::Status;

namespace {

const int64_t kNow = *core::parseTimestamp("2026-03-01T00:00:00Z");

store::SqliteOptions options(const test::TempDir& dir) { return {.path = dir.file("vigil.db")}; }

Status addSite(store::Store& s, const std::string& id) {
  return s.write([&](store::Transaction& tx) {
    tx.insertSite(id, "Site " + id);
    tx.appendAudit({"test", "create", "site", id, "", "{}"});
    return Status::ok();
  });
}

bool siteExists(store::Store& s, const std::string& id) {
  bool found = false;
  REQUIRE(s.write([&](store::Transaction& tx) {
            found = tx.siteExists(id);
            return Status::ok();
          }).isOk());
  return found;
}

core::Participant participant(const std::string& id, const std::string& site) {
  core::Participant p;
  p.study_id = id;
  p.site = site;
  p.enrolled_on = "2026-01-05";
  p.created_at = "2026-01-05T00:00:00.000Z";
  p.created_by = "inv";
  p.baseline_labs.push_back({"ALT", 30, "U/L", 7.0, 40.0, std::nullopt});
  return p;
}

core::AeVersion aeVersion(int version, int grade, const std::string& term) {
  core::AeVersion v;
  v.version = version;
  v.verbatim = term;
  v.ctcae_term = term;
  v.meddra_code = "10015090";
  v.grade = grade;
  v.outcome = core::Outcome::kNotRecovered;
  v.start = "2026-02-10";
  v.site_aware_at = "2026-02-10T08:00:00.000Z";
  v.recorded_at = "2026-02-10T09:00:00.000Z";
  v.recorded_by = "inv";
  return v;
}

}  // namespace

TEST_CASE("opening a new database applies the migrations in WAL mode with synchronous=FULL", "[store]") {
  test::TempDir dir;
  test::FixedClock clock(kNow);
  store::SqliteStore s(options(dir), clock);
  CHECK(s.journalMode() == "wal");
  CHECK(s.synchronous() == 2);  // FULL
  auto v = s.schemaVersion();
  REQUIRE(v.isOk());
  CHECK(v.value() == 19);
}

TEST_CASE("committed writes survive closing and reopening, migrations are not re-run", "[store]") {
  test::TempDir dir;
  test::FixedClock clock(kNow);
  {
    store::SqliteStore s(options(dir), clock);
    REQUIRE(addSite(s, "S01").isOk());
  }
  store::SqliteStore s(options(dir), clock);
  CHECK(siteExists(s, "S01"));
  CHECK(s.schemaVersion().value() == 19);
  auto audit = s.auditEntries();
  REQUIRE(audit.isOk());
  CHECK(audit.value().size() == 1);
}

TEST_CASE("migration 12 keeps every alert and delivery, takes the supersede class and still refuses deletes", "[store]") {
  test::TempDir dir;
  test::FixedClock clock(kNow);
  {
    // A database as version 11 left it, with one alert and two deliveries (one sent).
    store::Connection c(dir.file("vigil.db"), false);
    c.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)");
    for (const auto& m : store::migrations()) {
      if (m.version > 11) break;
      c.execute(m.sql);
      c.prepare("INSERT INTO schema_migrations VALUES (?,?,?)").bind(1, m.version).bind(2, m.name).bind(3, "t").exec();
    }
    c.execute("INSERT INTO alerts(id, dedupe_key, class, study_id, site, ref, payload, created_at, escalate_at_ms) "
              "VALUES (7, 'dose:safety_change/3', 'dose', 'S01-001', 'S01', 'safety_change/3', '{}', 'x', 123)");
    c.execute("INSERT INTO alert_deliveries(id, alert_id, recipient, role, state, attempts, next_attempt_ms, sent_at, "
              "message_id, pending_since_ms, late_at_ms) VALUES (4, 7, 'a@x.test', 'investigator', 'sent', 1, 5, 'y', "
              "'<m1>', 5, 6), (5, 7, 'b@x.test', 'safety_officer', 'pending', 2, 9, NULL, '<m2>', 5, 6)");
    CHECK_THROWS(c.execute("INSERT INTO alerts(dedupe_key, class, site, ref, payload, created_at) "
                           "VALUES ('k', 'supersede', 'S01', 'r', '{}', 'x')"));
  }
  store::SqliteStore s(options(dir), clock);
  CHECK(s.schemaVersion().value() == 19);
  auto a = s.alert(7);
  REQUIRE(a.isOk());
  REQUIRE(a.value());
  CHECK(a.value()->dedupe_key == "dose:safety_change/3");
  CHECK(a.value()->escalate_at_ms == 123);
  REQUIRE(a.value()->deliveries.size() == 2);
  CHECK(a.value()->deliveries[0].state == "sent");
  CHECK(a.value()->deliveries[1].message_id == "<m2>");
  CHECK(a.value()->deliveries[1].late_at_ms == 6);
  REQUIRE(s.write([&](store::Transaction& tx) {
             core::Alert sup;
             sup.dedupe_key = "supersede:safety_change/9";
             sup.alert_class = "supersede";
             sup.study_id = "S01-001";
             sup.site = "S01";
             sup.ref = "safety_change/9";
             sup.payload = "{}";
             sup.deliveries.push_back({});
             sup.deliveries.back().recipient = "a@x.test";
             sup.deliveries.back().role = "investigator";
             sup.deliveries.back().message_id = "<m3>";
             tx.insertAlert(sup);
             CHECK(tx.alertsOf("S01-001", {"dose", "supersede"}).size() == 2);
             CHECK(tx.alertsOf("S01-001", {"sae"}).empty());
             CHECK(tx.alertsOf("S01-002", {"dose", "supersede"}).empty());
             return core::Status::ok();
           }).isOk());
  store::Connection c(dir.file("vigil.db"), false);
  CHECK_THROWS(c.execute("DELETE FROM alerts WHERE id=7"));
  CHECK_THROWS(c.execute("DELETE FROM alert_deliveries WHERE id=4"));
  CHECK_THROWS(c.execute("INSERT INTO alert_deliveries(alert_id, recipient, role, state, next_attempt_ms, message_id) "
                         "VALUES (999, 'c@x.test', 'investigator', 'pending', 1, '<m9>')"));  // no such alert
}

TEST_CASE("concurrent writers share commits (group commit)", "[store]") {
  test::TempDir dir;
  test::FixedClock clock(kNow);
  store::SqliteStore s(options(dir), clock);
  // The first unit holds the writer until the others have queued behind it.
  std::atomic<bool> release{false};
  std::thread first([&] {
    CHECK(s.write([&](store::Transaction& tx) {
              while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
              tx.insertSite("S0", "first");
              return Status::ok();
            }).isOk());
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::vector<std::thread> others;
  for (int i = 1; i <= 20; ++i)
    others.emplace_back([&, i] { CHECK(addSite(s, "S" + std::to_string(i)).isOk()); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  release = true;
  first.join();
  for (auto& t : others) t.join();
  // 21 units: one alone, the 20 queued ones together (a straggler may add a commit).
  CHECK(s.commits() >= 2);
  CHECK(s.commits() <= 4);
  for (int i = 0; i <= 20; ++i) CHECK(siteExists(s, "S" + std::to_string(i)));
  const auto report = audit::verifyChain(s.auditEntries().value());
  CHECK_FALSE(report.first_broken_seq);
  CHECK(report.entries == 20);
}

TEST_CASE("a failing unit rolls back alone, audit entry included", "[store]") {
  test::TempDir dir;
  test::FixedClock clock(kNow);
  store::SqliteStore s(options(dir), clock);
  REQUIRE(addSite(s, "A").isOk());
  const Status failed = s.write([&](store::Transaction& tx) {
    tx.insertSite("B", "b");
    tx.appendAudit({"test", "create", "site", "B", "", "{}"});
    return Status::invalid("rejected after writing");
  });
  CHECK(failed.code() == core::StatusCode::kInvalid);
  REQUIRE(addSite(s, "C").isOk());
  CHECK(siteExists(s, "A"));
  CHECK_FALSE(siteExists(s, "B"));
  CHECK(siteExists(s, "C"));
  const auto entries = s.auditEntries().value();
  REQUIRE(entries.size() == 2);
  CHECK(entries[1].entity_id == "C");
  CHECK_FALSE(audit::verifyChain(entries).first_broken_seq);
}

TEST_CASE("a constraint violation is reported as a conflict", "[store]") {
  test::TempDir dir;
  test::FixedClock clock(kNow);
  store::SqliteStore s(options(dir), clock);
  REQUIRE(addSite(s, "A").isOk());
  CHECK(addSite(s, "A").code() == core::StatusCode::kConflict);
}

TEST_CASE("AE versions accumulate, the current version is the latest", "[store]") {
  test::TempDir dir;
  test::FixedClock clock(kNow);
  store::SqliteStore s(options(dir), clock);
  REQUIRE(addSite(s, "S01").isOk());
  int64_t id = 0;
  REQUIRE(s.write([&](store::Transaction& tx) {
             tx.insertParticipant(participant("S01-001", "S01"));
             id = tx.insertAdverseEvent("S01-001", aeVersion(1, 2, "Epistaxis"));
             auto v2 = aeVersion(2, 3, "Epistaxis");
             v2.serious_criteria = {core::Seriousness::kHospitalization};
             v2.reason = "worsened";
             tx.insertAeVersion(id, v2);
             return Status::ok();
           }).isOk());
  auto ae = s.adverseEvent(id);
  REQUIRE(ae.isOk());
  REQUIRE(ae.value());
  REQUIRE(ae.value()->versions.size() == 2);
  CHECK(ae.value()->versions[0].grade == 2);
  CHECK(ae.value()->current().grade == 3);
  CHECK(ae.value()->current().serious());
  CHECK(ae.value()->current().reason == "worsened");
  CHECK(ae.value()->site == "S01");

  SECTION("a version that is not current + 1 is refused") {
    const Status s2 = s.write([&](store::Transaction& tx) {
      tx.insertAeVersion(id, aeVersion(2, 4, "Epistaxis"));
      return Status::ok();
    });
    CHECK(s2.code() == core::StatusCode::kConflict);
  }
  SECTION("the list shows only the current version and filters on it") {
    core::AeFilter f;
    f.grade = 3;
    CHECK(s.adverseEvents(f).value().size() == 1);
    f.grade = 2;
    CHECK(s.adverseEvents(f).value().empty());
    core::AeFilter by_term;
    by_term.term = "EPISTAXIS";
    CHECK(s.adverseEvents(by_term).value().size() == 1);
    core::AeFilter serious;
    serious.serious = false;
    CHECK(s.adverseEvents(serious).value().empty());
    core::AeFilter range;
    range.start_from = "2026-02-11";
    CHECK(s.adverseEvents(range).value().empty());
    range.start_from = "2026-02-10";
    range.start_to = "2026-02-10";
    CHECK(s.adverseEvents(range).value().size() == 1);
    core::AeFilter other_site;
    other_site.restrict_sites = true;
    other_site.sites = {"S02"};
    CHECK(s.adverseEvents(other_site).value().empty());
  }
}

TEST_CASE("the audit log and AE versions refuse UPDATE and DELETE", "[store]") {
  test::TempDir dir;
  test::FixedClock clock(kNow);
  store::SqliteStore s(options(dir), clock);
  REQUIRE(addSite(s, "S01").isOk());
  REQUIRE(s.write([&](store::Transaction& tx) {
             tx.insertParticipant(participant("S01-001", "S01"));
             tx.insertAdverseEvent("S01-001", aeVersion(1, 2, "Epistaxis"));
             return Status::ok();
           }).isOk());
  store::Connection raw(dir.file("vigil.db"), false);
  CHECK_THROWS_WITH(raw.execute("UPDATE ae_versions SET aetoxgr=1"), Catch::Contains("append-only"));
  CHECK_THROWS_WITH(raw.execute("UPDATE audit_log SET actor='x'"), Catch::Contains("append-only"));
  CHECK_THROWS_WITH(raw.execute("DELETE FROM audit_log"), Catch::Contains("append-only"));
  CHECK_THROWS_WITH(raw.execute("DELETE FROM ae_versions"), Catch::Contains("append-only"));
}

TEST_CASE("a write after close is refused, not lost silently", "[store]") {
  test::TempDir dir;
  test::FixedClock clock(kNow);
  store::SqliteStore s(options(dir), clock);
  s.close();
  CHECK(addSite(s, "S01").code() == core::StatusCode::kUnavailable);
}

TEST_CASE("a write the disk cannot take is refused and reported until a write commits again", "[store]") {
  test::TempDir dir;
  test::FixedClock clock(kNow);
  store::SqliteStore s(options(dir), clock);
  REQUIRE(addSite(s, "S01").isOk());
  CHECK_FALSE(s.writeProblem().has_value());
  // A full disk, for this process only: files may not grow past 1 MiB (EFBIG, not SIGXFSZ).
  ::signal(SIGXFSZ, SIG_IGN);
  rlimit before{};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &before) == 0);
  rlimit small = before;
  small.rlim_cur = 1 << 20;
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
  const std::string big(4 << 20, 'x');
  const Status full = s.write([&](store::Transaction& tx) {
    tx.insertSite("S02", big);
    return Status::ok();
  });
  const auto problem = s.writeProblem();
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &before) == 0);
  CHECK(full.code() == core::StatusCode::kUnavailable);
  REQUIRE(problem.has_value());
  CHECK_FALSE(problem->empty());
  // A refused write that is the caller's fault (a conflict) is no store problem and clears nothing.
  CHECK(addSite(s, "S01").code() == core::StatusCode::kConflict);
  CHECK(s.writeProblem().has_value());
  // Space again: the next commit clears it, and nothing of the refused write was stored.
  REQUIRE(addSite(s, "S03").isOk());
  CHECK_FALSE(s.writeProblem().has_value());
  CHECK_FALSE(siteExists(s, "S02"));
}

TEST_CASE("a version 9 database opens: its plain rows verify and the tables become append-only", "[store]") {
  test::TempDir dir;
  test::FixedClock clock(kNow);
  audit::AuditEntry old{1, "2026-01-01T00:00:00.000Z", "test", "create", "site", "S01", "", "{}",
                        audit::kGenesisHash, "", audit::kPlainScheme};
  old.hash = audit::computeHash(old);
  {
    // The schema as the release before issue 13.4 left it, with one plain SHA-256 row.
    store::Connection raw(dir.file("vigil.db"), false);
    raw.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)");
    for (const auto& m : store::migrations()) {
      if (m.version > 9) break;
      raw.execute(m.sql);
      raw.prepare("INSERT INTO schema_migrations(version, name, applied_at) VALUES (?,?,'2026-01-01')")
          .bind(1, m.version)
          .bind(2, m.name)
          .exec();
    }
    raw.execute("INSERT INTO sites(id, name, created_at) VALUES ('S01', 'Site one', '2026-01-01T00:00:00.000Z')");
    raw.prepare("INSERT INTO audit_log(seq, at, actor, action, entity, entity_id, before, after, prev_hash, hash) "
                "VALUES (1, ?, 'test', 'create', 'site', 'S01', '', '{}', ?, ?)")
        .bind(1, old.at)
        .bind(2, old.prev_hash)
        .bind(3, old.hash)
        .exec();
  }
  const std::string key(32, 'k');
  store::SqliteStore s({.path = dir.file("vigil.db"), .audit_key = key}, clock);
  CHECK(s.schemaVersion().value() == 19);
  REQUIRE(s.write([&](store::Transaction& tx) {
             tx.insertParticipant(participant("S01-001", "S01"));
             tx.appendAudit({"test", "create", "participant", "S01-001", "", "{}"});
             return Status::ok();
           }).isOk());
  const auto entries = s.auditEntries().value();
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].scheme == audit::kPlainScheme);
  CHECK(entries[1].scheme == audit::kKeyedScheme);
  CHECK(entries[1].prev_hash == old.hash);  // the keyed row seals the old one
  const auto report = audit::verifyChain(entries, key);
  CHECK_FALSE(report.first_broken_seq);
  CHECK(report.plain_entries == 1);
  store::Connection raw(dir.file("vigil.db"), false);
  CHECK_THROWS_WITH(raw.execute("UPDATE participants SET site_id='S01'"), Catch::Contains("participants is append-only"));
  for (const char* table : {"lab_results", "vital_signs", "doses", "baseline_labs", "pregnancies", "ae_reports"}) {
    INFO(table);
    auto& q = raw.prepare("SELECT COUNT(*) FROM sqlite_master WHERE type='trigger' AND tbl_name=?");
    q.bind(1, std::string(table));
    REQUIRE(q.step());
    CHECK(q.int64(0) >= 2);  // UPDATE and DELETE
    q.reset();
  }
}

TEST_CASE("a version 16 database opens with every record at version 1 and its tables versioned", "[store]") {
  test::TempDir dir;
  test::FixedClock clock(kNow);
  {
    // The schema before issue 16's corrections, with one record of each correctable kind.
    store::Connection raw(dir.file("vigil.db"), false);
    raw.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)");
    for (const auto& m : store::migrations()) {
      if (m.version > 16) break;
      raw.execute(m.sql);
      raw.prepare("INSERT INTO schema_migrations(version, name, applied_at) VALUES (?,?,'2026-01-01')")
          .bind(1, m.version)
          .bind(2, m.name)
          .exec();
    }
    raw.execute(
        "INSERT INTO sites VALUES ('S01', 'Site one', '2026-01-01T00:00:00.000Z');"
        "INSERT INTO participants(study_id, site_id, enrolled_on, liver_metastases, prior_thoracic_rt, "
        "anlotinib_dose_mg, sintilimab_dose_mg, created_at, created_by, weight_kg) VALUES "
        "('S01-001', 'S01', '2026-01-05', 0, 0, 12, 200, '2026-01-05T00:00:00.000Z', 'inv1', 61.5);"
        "INSERT INTO baseline_labs(study_id, test_code, value, unit) VALUES ('S01-001', 'ALT', 30, 'U/L');"
        "INSERT INTO lab_results(id, study_id, test_code, value, unit, collected_at, specimen, recorded_at, recorded_by) "
        "VALUES (7, 'S01-001', 'ALT', 250, 'U/L', '2026-02-01T08:00:00Z', 'serum', '2026-02-01T09:00:00.000Z', 'inv1');"
        "INSERT INTO doses(id, study_id, drug, dose_mg, route, dose_date, cycle, cycle_day, status, recorded_at, "
        "recorded_by) VALUES (3, 'S01-001', 'anlotinib', 12, 'oral', '2026-02-01', 1, 1, 'given', "
        "'2026-02-01T09:00:00.000Z', 'inv1');"
        "INSERT INTO pregnancies(id, study_id, subject, site_aware_at, outcome, recorded_at, recorded_by) VALUES "
        "(4, 'S01-001', 'partner', '2026-02-01T09:00:00Z', 'ongoing', '2026-02-01T09:00:00.000Z', 'inv1');");
  }
  store::SqliteStore s(options(dir), clock);
  CHECK(s.schemaVersion().value() == 19);
  const auto labs = s.labs("S01-001", {0, 10}).value();
  REQUIRE(labs.size() == 1);
  CHECK(labs[0].id == 7);
  CHECK(labs[0].revision.version == 1);
  CHECK(s.doseVersions(3).value().size() == 1);
  CHECK(s.pregnancyVersions(4).value().at(0).revision.version == 1);
  const auto versions = s.participantVersions("S01-001").value();
  REQUIRE(versions.size() == 1);
  CHECK(versions[0].participant.facts.weight_kg == 61.5);
  CHECK(versions[0].participant.baseline_labs.size() == 1);
  CHECK(versions[0].recorded_by == "inv1");

  store::Connection raw(dir.file("vigil.db"), false);
  auto& old_index = raw.prepare("SELECT count(*) FROM sqlite_master WHERE type='index' AND name='lab_results_participant'");
  REQUIRE(old_index.step());
  CHECK(old_index.int64(0) == 0);  // the live rows' index replaced it (migration 19)
  old_index.reset();
  CHECK_THROWS_WITH(raw.execute("UPDATE lab_results SET value=25"), Catch::Contains("append-only"));
  CHECK_THROWS_WITH(raw.execute("UPDATE doses SET record_id=4"), Catch::Contains("append-only"));
  CHECK_THROWS_WITH(raw.execute("DELETE FROM lab_results"), Catch::Contains("append-only"));
  CHECK_THROWS_WITH(raw.execute("UPDATE participant_versions SET weight_kg=1"), Catch::Contains("append-only"));
  CHECK_THROWS_WITH(raw.execute("UPDATE participants SET weight_kg=1"), Catch::Contains("append-only"));
  CHECK_THROWS_WITH(raw.execute("INSERT INTO doses(study_id, drug, route, dose_date, cycle, cycle_day, status, "
                                "recorded_at, recorded_by) VALUES ('S01-001', 'anlotinib', 'oral', '2026-02-02', 1, 2, "
                                "'given', 'x', 'x')"),
                    Catch::Contains("every row names its record"));
  // A row is marked superseded once, and never unmarked.
  raw.execute("UPDATE lab_results SET superseded_at='2026-03-01T00:00:00.000Z' WHERE id=7");
  CHECK_THROWS_WITH(raw.execute("UPDATE lab_results SET superseded_at='2026-03-02T00:00:00.000Z'"),
                    Catch::Contains("superseded once"));
  CHECK_THROWS_WITH(raw.execute("UPDATE lab_results SET superseded_at=NULL"), Catch::Contains("superseded once"));
}
