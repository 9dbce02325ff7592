#pragma once
// vigild's configuration, read once into types (STYLE R6). Layers, highest priority first:
//   1. --set=key=value on the command line
//   2. the environment: VIGIL_<KEY> with dots as underscores, e.g. VIGIL_HTTP_PORT
//   3. the site file named by config.site_file (optional)
//   4. the main properties file (config/vigil.properties)
// Every value is validated; the first bad one throws SettingsError naming the key. Relative
// paths are made absolute against base_dir, because --daemon changes directory to /.

#include <stdexcept>
#include <string>
#include <vector>

#include "http/server.h"
#include "mail/smtp_mailer.h"
#include "outbox/alert_planner.h"
#include "outbox/dispatcher.h"
#include "store/sqlite_store.h"

namespace vigil::app {

// The message quotes keys and values from the files as written; control characters in them (a
// NUL from a corrupt file, say) are shown as \xNN so that the message can always be read.
class SettingsError : public std::runtime_error {
 public:
  explicit SettingsError(const std::string& message) : std::runtime_error(printable(message)) {}

 private:
  static std::string printable(const std::string& text);
};

struct LogSettings {
  std::string level = "info";  // trace, debug, info, warn, error
  std::string file;            // rotating log file; empty for none
  int max_size_mb = 10;
  int max_files = 5;
  bool console = true;
};

// The audit trail's key and anchor (issue 13.4). The key is a secret: it comes from the
// environment (VIGIL_AUDIT_KEY, 64 hex digits) or from key_file (0600), never from a properties
// file or --set. app/audit_key.h loads it into store.audit_key.
struct AuditSettings {
  std::string key_hex;      // VIGIL_AUDIT_KEY as given; empty when not set
  std::string key_file;     // audit.key_file; default: audit.key in the database's directory
  std::string anchor_file;  // audit.anchor_file; default: the database path + ".anchor"
  int verify_seconds = 3600;  // how often vigild checks the whole chain in the background
};

struct Settings {
  http::HttpOptions http;
  store::SqliteOptions store;  // audit_key and anchor_path are set from audit by loadAuditKey
  AuditSettings audit;
  LogSettings log;
  std::string ctcae_dir;  // CTCAE terminology and grading data (ctcae/)
  std::string alerts_dir; // safety rule data (alerts/)
  int sweep_seconds = 60; // how often every participant is re-evaluated for clocks that ran out
  // Alert delivery (issue 5). With smtp.host empty, mail goes to .eml files under mail_dir.
  mail::SmtpOptions smtp;
  std::string mail_dir;
  std::string recipients_file;  // config/recipients.json
  outbox::AlertOptions alerts;
  outbox::DispatcherOptions outbox;
  std::string study_id;     // STUDYID of exported datasets (study.id)
  std::string exports_dir;  // where GET /api/v1/exports/dsmb writes its packages (exports.dir)
  std::string port_file;  // when set, vigild writes its bound port here after start
  std::string config_file;
};

// Which directories must exist: vigild writes its database and log; vigilctl never writes a log
// file, and its commands that touch no database (grade, evaluate) need no database directory.
struct PathChecks {
  bool store_dir = true;
  bool log_dir = true;
};

// Builds the layered configuration and reads it. overrides are "key=value" strings.
Settings loadSettings(const std::string& config_file, const std::vector<std::string>& overrides,
                      const std::string& base_dir, PathChecks checks = {});

// One line per effective setting, for the start-up log; smtp.password is shown as set or not.
std::vector<std::string> describe(const Settings& settings);

}  // namespace vigil::app
