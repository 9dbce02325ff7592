#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <fstream>

#include "app/audit_key.h"
#include "store/sqlite_store.h"
#include "support/fixed_clock.h"
#include "support/temp_dir.h"

using namespace vigil;

namespace {
app::AuditSettings settingsIn(const test::TempDir& dir) {
  app::AuditSettings s;
  s.key_file = dir.file("vigil.db.auditkey");
  s.anchor_file = dir.file("vigil.db.anchor");
  return s;
}
unsigned modeOf(const std::string& path) {
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}
}  // namespace

TEST_CASE("a new database gets a 0600 key file of its own", "[app]") {
  test::TempDir dir;
  bool created = false;
  const std::string key = app::loadAuditKey(settingsIn(dir), dir.file("vigil.db"), true, &created);
  CHECK(created);
  CHECK(key.size() == 32);
  CHECK(modeOf(dir.file("vigil.db.auditkey")) == 0600);
  CHECK(app::loadAuditKey(settingsIn(dir), dir.file("vigil.db"), true, &created) == key);
  CHECK_FALSE(created);
}

TEST_CASE("createAuditKeyFile never overwrites a key", "[app]") {
  test::TempDir dir;
  const std::string path = dir.file("k");
  auto first = app::createAuditKeyFile(path);
  REQUIRE(first.isOk());
  CHECK(modeOf(path) == 0600);
  auto second = app::createAuditKeyFile(path);
  REQUIRE_FALSE(second.isOk());
  CHECK(second.status().message().find("never overwritten") != std::string::npos);
  auto s = settingsIn(dir);
  s.key_file = path;
  CHECK(app::loadAuditKey(s, dir.file("vigil.db"), false) == first.value());
}

TEST_CASE("a key file readable by group or others is refused", "[app]") {
  test::TempDir dir;
  auto s = settingsIn(dir);
  REQUIRE(app::createAuditKeyFile(s.key_file).isOk());
  REQUIRE(chmod(s.key_file.c_str(), 0640) == 0);
  CHECK_THROWS_WITH(app::loadAuditKey(s, dir.file("vigil.db"), true),
                    Catch::Contains("mode 0640") && Catch::Contains("chmod 600"));
}

TEST_CASE("a database with audit rows and no key is refused until init-key", "[app]") {
  test::TempDir dir;
  test::FixedClock clock(*core::parseTimestamp("2026-03-01T00:00:00Z"));
  {
    store::SqliteStore old{store::SqliteOptions{.path = dir.file("vigil.db")}, clock};
    REQUIRE(old.write([](store::Transaction& tx) {
                 tx.insertSite("S01", "Site one");
                 tx.appendAudit({"test", "create", "site", "S01", "", "{}"});
                 return core::Status::ok();
               }).isOk());
  }
  CHECK_FALSE(app::databaseIsNew(dir.file("vigil.db")));
  CHECK_THROWS_WITH(app::loadAuditKey(settingsIn(dir), dir.file("vigil.db"), true),
                    Catch::Contains("vigilctl audit init-key"));
}

TEST_CASE("VIGIL_AUDIT_KEY must be a 256-bit hex key", "[app]") {
  test::TempDir dir;
  auto s = settingsIn(dir);
  s.key_hex = "abc";
  CHECK_THROWS_WITH(app::loadAuditKey(s, dir.file("vigil.db"), true), Catch::Contains("64 hex digits"));
  s.key_hex = std::string(64, 'f');
  CHECK(app::loadAuditKey(s, dir.file("vigil.db"), true) == std::string(32, '\xff'));
}

TEST_CASE("key file modes: 0400 and 0600 accepted 0604 0640 0660 refused", "[app]") {
  test::TempDir dir;
  auto s = settingsIn(dir);
  REQUIRE(app::createAuditKeyFile(s.key_file).isOk());
  for (unsigned mode : {0400u, 0600u}) {
    INFO("mode " << std::oct << mode);
    REQUIRE(chmod(s.key_file.c_str(), mode) == 0);
    CHECK(app::loadAuditKey(s, dir.file("vigil.db"), false).size() == 32);
  }
  for (unsigned mode : {0604u, 0640u, 0660u, 0644u}) {
    INFO("mode " << std::oct << mode);
    REQUIRE(chmod(s.key_file.c_str(), mode) == 0);
    CHECK_THROWS_WITH(app::loadAuditKey(s, dir.file("vigil.db"), false), Catch::Contains("chmod 600"));
  }
}

TEST_CASE("audit keys: 62 and 63 hex digits refused and 64 accepted", "[app]") {
  test::TempDir dir;
  auto s = settingsIn(dir);
  s.key_hex = std::string(62, '1');
  CHECK_THROWS_WITH(app::loadAuditKey(s, dir.file("vigil.db"), false), Catch::Contains("64 hex digits"));
  s.key_hex = std::string(63, '1');
  CHECK_THROWS_WITH(app::loadAuditKey(s, dir.file("vigil.db"), false), Catch::Contains("64 hex digits"));
  s.key_hex = std::string(64, '1');
  CHECK(app::loadAuditKey(s, dir.file("vigil.db"), false) == std::string(32, '\x11'));
  s.key_hex = std::string(63, '1') + "g";
  CHECK_THROWS_WITH(app::loadAuditKey(s, dir.file("vigil.db"), false), Catch::Contains("64 hex digits"));
  // The same rule for the key file; surrounding whitespace (a trailing newline) is fine.
  s.key_hex.clear();
  {
    std::ofstream(s.key_file) << std::string(62, 'a') << "\n";
  }
  REQUIRE(chmod(s.key_file.c_str(), 0600) == 0);
  CHECK_THROWS_WITH(app::loadAuditKey(s, dir.file("vigil.db"), false), Catch::Contains("64 hex digits"));
  {
    std::ofstream(s.key_file) << std::string(64, 'a') << "\n";
  }
  CHECK(app::loadAuditKey(s, dir.file("vigil.db"), false) == std::string(32, '\xaa'));
}

TEST_CASE("an error about the key never shows the key", "[app]") {
  test::TempDir dir;
  auto s = settingsIn(dir);
  s.key_hex = std::string(63, 'c');
  try {
    (void)app::loadAuditKey(s, dir.file("vigil.db"), false);
    FAIL("a 63-digit key was accepted");
  } catch (const app::AuditKeyError& e) {
    CHECK(std::string(e.what()).find("ccccc") == std::string::npos);
  }
}
