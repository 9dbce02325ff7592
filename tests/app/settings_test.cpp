#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "app/settings.h"
#include "support/temp_dir.h"

using namespace vigil;

namespace {
std::string writeConfig(const test::TempDir& dir, const std::string& body) {
  const std::string path = dir.file("vigil.properties");
  std::ofstream(path) << "store.path = vigil.db\nlog.file =\nctcae.dir = " VIGIL_SOURCE_DIR "/ctcae\n"
                       << "alerts.dir = " VIGIL_SOURCE_DIR "/alerts\n" << body;
  return path;
}
}  // namespace

TEST_CASE("the committed vigil.properties is valid", "[app]") {
  test::TempDir dir;
  std::filesystem::create_directories(dir.file("var/log"));
  auto s = app::loadSettings(VIGIL_SOURCE_DIR "/config/vigil.properties",
                             {"ctcae.dir=" VIGIL_SOURCE_DIR "/ctcae", "alerts.dir=" VIGIL_SOURCE_DIR "/alerts"}, dir.path());
  CHECK(s.http.host == "127.0.0.1");
  CHECK(s.http.port == 8080);
  CHECK(s.store.path == dir.file("var/vigil.db"));  // relative to the start directory
}

TEST_CASE("the command line overrides the environment, which overrides the file", "[app]") {
  test::TempDir dir;
  const auto cfg = writeConfig(dir, "http.port = 8080\nhttp.threads = 40\n");
  setenv("VIGIL_HTTP_PORT", "9090", 1);
  setenv("VIGIL_HTTP_THREADS", "48", 1);
  auto s = app::loadSettings(cfg, {"http.port=7070"}, dir.path());
  unsetenv("VIGIL_HTTP_PORT");
  unsetenv("VIGIL_HTTP_THREADS");
  CHECK(s.http.port == 7070);
  CHECK(s.http.threads == 48);
}

TEST_CASE("a bad value stops start-up with a message naming the key", "[app]") {
  test::TempDir dir;
  SECTION("out of range") {
    CHECK_THROWS_WITH(app::loadSettings(writeConfig(dir, "http.port = 70000\n"), {}, dir.path()),
                      Catch::StartsWith("http.port must be 0..65535"));
  }
  SECTION("not a number") {
    CHECK_THROWS_WITH(app::loadSettings(writeConfig(dir, ""), {"http.threads=many"}, dir.path()),
                      Catch::StartsWith("http.threads must be an integer"));
  }
  SECTION("an unknown key, a likely typo") {
    CHECK_THROWS_WITH(app::loadSettings(writeConfig(dir, "http.prot = 80\n"), {}, dir.path()),
                      Catch::StartsWith("http.prot: unknown setting"));
  }
  SECTION("an unresolved environment reference") {
    CHECK_THROWS_WITH(app::loadSettings(writeConfig(dir, "http.host = ${system.env.VIGIL_NOT_SET_ANYWHERE}\n"), {},
                                        dir.path()),
                      Catch::StartsWith("http.host: unresolved reference"));
  }
  SECTION("a log level that does not exist") {
    CHECK_THROWS_WITH(app::loadSettings(writeConfig(dir, "log.level = loud\n"), {}, dir.path()),
                      Catch::StartsWith("log.level must be one of"));
  }
  SECTION("a CTCAE directory without its data") {
    CHECK_THROWS_WITH(app::loadSettings(writeConfig(dir, ""), {"ctcae.dir=" + dir.path()}, dir.path()),
                      Catch::StartsWith("ctcae.dir:"));
  }
  SECTION("a database directory that does not exist") {
    CHECK_THROWS_WITH(app::loadSettings(writeConfig(dir, ""), {"store.path=/nonexistent/dir/v.db"}, dir.path()),
                      Catch::StartsWith("store.path: directory"));
  }
}

TEST_CASE("an unknown VIGIL_ environment variable stops start-up like an unknown key", "[app]") {
  test::TempDir dir;
  const auto cfg = writeConfig(dir, "");
  setenv("VIGIL_HTTP_PROT", "80", 1);  // a typo of VIGIL_HTTP_PORT
  CHECK_THROWS_WITH(app::loadSettings(cfg, {}, dir.path()), Catch::StartsWith("VIGIL_HTTP_PROT: unknown setting"));
  unsetenv("VIGIL_HTTP_PROT");
  // The variables of real keys, underscores inside the key included, are accepted.
  setenv("VIGIL_OUTBOX_LATE_SECONDS_URGENT", "600", 1);
  setenv("VIGIL_SMTP_PASSWORD", "from-the-environment", 1);
  auto s = app::loadSettings(cfg, {}, dir.path());
  unsetenv("VIGIL_OUTBOX_LATE_SECONDS_URGENT");
  unsetenv("VIGIL_SMTP_PASSWORD");
  CHECK(s.alerts.late_urgent_ms == 600 * 1000);
  CHECK(s.smtp.password == "from-the-environment");
  // Other programs' variables are none of vigild's business.
  setenv("VIGILANT_MODE", "1", 1);
  CHECK_NOTHROW(app::loadSettings(cfg, {}, dir.path()));
  unsetenv("VIGILANT_MODE");
}

TEST_CASE("a secret given on the command line is refused: ps shows it to every user", "[app]") {
  test::TempDir dir;
  CHECK_THROWS_WITH(app::loadSettings(writeConfig(dir, ""), {"smtp.password=hunter2"}, dir.path()),
                    Catch::StartsWith("smtp.password: a secret on the command line") &&
                        Catch::Contains("VIGIL_SMTP_PASSWORD"));
  CHECK_THROWS_WITH(app::loadSettings(writeConfig(dir, "smtp.password = hunter2\n"), {}, dir.path()),
                    Catch::StartsWith("smtp.password: set it in the environment (VIGIL_SMTP_PASSWORD)"));
}

TEST_CASE("a key or value with control characters is named readably in the message", "[app]") {
  // Found by fuzz_properties: a NUL-led key made the message print as nothing at all.
  test::TempDir dir;
  const std::string nul_key = std::string("\0\0http.port", 11) + " = 80\n";
  CHECK_THROWS_WITH(app::loadSettings(writeConfig(dir, nul_key), {}, dir.path()),
                    Catch::StartsWith("\\x00\\x00http.port: unknown setting"));
  CHECK_THROWS_WITH(app::loadSettings(writeConfig(dir, "http.host = a\x01b\n"), {"http.port=8\x7f"}, dir.path()),
                    Catch::StartsWith("http.port must be an integer, not '8\\x7f'"));
}

TEST_CASE("a setting name with an empty part is refused, not looped over", "[app]") {
  // Found by fuzz_properties: "a..b" made the unknown-key check recurse until the stack ran out.
  test::TempDir dir;
  for (const char* body : {"outbox..late = 1\n", "http. = 1\n", "a.b.c.d.e.f.g.h.i.j.k = 1\n"})
    CHECK_THROWS_AS(app::loadSettings(writeConfig(dir, body), {}, dir.path()), app::SettingsError);
}

TEST_CASE("a path the OS refuses to look up is a settings error naming the key, not an abort", "[app]") {
  // Found by fuzz_properties: a path component over 255 bytes made std::filesystem::exists throw
  // filesystem_error (ENAMETOOLONG) out of loadSettings, which ended vigild with no message.
  test::TempDir dir;
  const std::string long_part(300, 'x');
  for (const char* key : {"alerts.dir", "ctcae.dir", "config.site_file"})
    CHECK_THROWS_WITH(app::loadSettings(writeConfig(dir, std::string(key) + " = " + long_part + "\n"), {}, dir.path()),
                      Catch::StartsWith(std::string(key) + ": cannot check ") && Catch::Contains("too long"));
  CHECK_THROWS_WITH(app::loadSettings(writeConfig(dir, "store.path = " + long_part + "/vigil.db\n"), {}, dir.path()),
                    Catch::StartsWith("store.path: cannot check ") && Catch::Contains("too long"));
  // Just inside the limit: a 255-byte component that does not exist is the ordinary message.
  CHECK_THROWS_WITH(app::loadSettings(writeConfig(dir, "ctcae.dir = " + std::string(255, 'x') + "\n"), {}, dir.path()),
                    Catch::StartsWith("ctcae.dir: ") && Catch::Contains("holds no terms.tsv"));
}

TEST_CASE("the site file overrides the main file", "[app]") {
  test::TempDir dir;
  std::ofstream(dir.file("site.properties")) << "http.port = 8443\n";
  auto s = app::loadSettings(writeConfig(dir, "config.site_file = site.properties\n"), {}, dir.path());
  CHECK(s.http.port == 8443);
}

TEST_CASE("the audit key comes from VIGIL_AUDIT_KEY only: never from a file or --set", "[app]") {
  test::TempDir dir;
  const std::string key(64, 'a');
  CHECK_THROWS_WITH(app::loadSettings(writeConfig(dir, ""), {"audit.key=" + key}, dir.path()),
                    Catch::StartsWith("audit.key: a secret on the command line") && Catch::Contains("VIGIL_AUDIT_KEY"));
  CHECK_THROWS_WITH(app::loadSettings(writeConfig(dir, "audit.key = " + key + "\n"), {}, dir.path()),
                    Catch::StartsWith("audit.key: set it in the environment (VIGIL_AUDIT_KEY)"));
  setenv("VIGIL_AUDIT_KEY", key.c_str(), 1);
  const auto s = app::loadSettings(writeConfig(dir, ""), {}, dir.path());
  unsetenv("VIGIL_AUDIT_KEY");
  CHECK(s.audit.key_hex == key);
  CHECK(s.audit.key_file == dir.file("audit.key"));
  CHECK(s.audit.anchor_file == dir.file("vigil.db") + ".anchor");
  CHECK(s.store.anchor_path == s.audit.anchor_file);
  bool redacted = false;
  for (const auto& line : app::describe(s)) {
    CHECK(line.find(key) == std::string::npos);
    redacted = redacted || line == "audit.key=(set, redacted)";
  }
  CHECK(redacted);
}

TEST_CASE("the unknown VIGIL_ variable check knows the audit variables", "[app]") {
  test::TempDir dir;
  const std::string config = writeConfig(dir, "");
  setenv("VIGIL_AUDIT_KEY", std::string(64, 'a').c_str(), 1);
  setenv("VIGIL_AUDIT_KEY_FILE", "k", 1);
  setenv("VIGIL_AUDIT_ANCHOR_FILE", "a", 1);
  const auto s = app::loadSettings(config, {}, dir.path());
  CHECK(s.audit.key_file == dir.file("k"));
  CHECK(s.audit.anchor_file == dir.file("a"));
  setenv("VIGIL_AUDIT_KEYS", "x", 1);  // misspelt
  CHECK_THROWS_WITH(app::loadSettings(config, {}, dir.path()), Catch::StartsWith("VIGIL_AUDIT_KEYS: unknown setting"));
  unsetenv("VIGIL_AUDIT_KEYS");
  unsetenv("VIGIL_AUDIT_KEY");
  unsetenv("VIGIL_AUDIT_KEY_FILE");
  unsetenv("VIGIL_AUDIT_ANCHOR_FILE");
}

TEST_CASE("audit.verify_seconds: 0 refused and 1 and 604800 accepted and 604801 refused", "[app]") {
  test::TempDir dir;
  CHECK_THROWS_WITH(app::loadSettings(writeConfig(dir, "audit.verify_seconds = 0\n"), {}, dir.path()),
                    Catch::Contains("audit.verify_seconds"));
  CHECK(app::loadSettings(writeConfig(dir, "audit.verify_seconds = 1\n"), {}, dir.path()).audit.verify_seconds == 1);
  CHECK(app::loadSettings(writeConfig(dir, "audit.verify_seconds = 604800\n"), {}, dir.path()).audit.verify_seconds ==
        604800);
  CHECK_THROWS_WITH(app::loadSettings(writeConfig(dir, "audit.verify_seconds = 604801\n"), {}, dir.path()),
                    Catch::Contains("audit.verify_seconds"));
}
