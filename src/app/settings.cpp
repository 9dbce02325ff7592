#include "app/settings.h"

#include <Poco/AutoPtr.h>
#include <Poco/Util/LayeredConfiguration.h>
#include <Poco/Util/MapConfiguration.h>
#include <Poco/Util/PropertyFileConfiguration.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <set>

extern char** environ;

namespace vigil::app {

std::string SettingsError::printable(const std::string& text) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += ch;
    }
  }
  return out;
}
namespace {

using Poco::AutoPtr;
using Poco::Util::AbstractConfiguration;

// Every key vigild understands; anything else in a file or override is a mistake.
const std::set<std::string>& knownKeys() {
  static const std::set<std::string> keys = {
      "http.host",        "http.port",          "http.threads",          "http.max_queued",
      "http.max_body_bytes", "http.body_budget_bytes", "http.keep_alive_seconds",
      "http.head_timeout_seconds", "http.body_timeout_seconds", "http.max_connections", "http.max_connections_per_client",
      "store.path",       "store.read_connections", "store.max_group",
      "log.level",        "log.file",           "log.max_size_mb",       "log.max_files", "log.console",
      "run.port_file",    "config.site_file", "ctcae.dir", "alerts.dir",
      "rules.sweep_seconds",
      "smtp.host",        "smtp.port",          "smtp.tls",              "smtp.auth",     "smtp.user",
      "smtp.password",    "smtp.timeout_ms",    "smtp.verify_certificate",
      "mail.from",        "mail.dir",           "mail.message_id_domain",
      "alerts.recipients_file", "alerts.link_base", "alerts.escalate_after_seconds", "alerts.reminder_percents",
      "alerts.digest_hour_utc", "alerts.late_entry_days",
      "outbox.give_up_after_seconds", "outbox.late_seconds.urgent", "outbox.late_seconds.sae",
      "outbox.late_seconds.other", "outbox.backoff_initial_ms", "outbox.backoff_max_ms", "outbox.poll_ms", "outbox.batch",
      "outbox.clock_ms", "study.id", "exports.dir",
      "audit.key",        "audit.key_file",     "audit.anchor_file",     "audit.verify_seconds"};
  return keys;
}

std::string absolute(const std::string& path, const std::string& base_dir) {
  if (path.empty()) return path;
  std::filesystem::path p(path);
  if (p.is_relative()) p = std::filesystem::path(base_dir) / p;
  return p.lexically_normal().string();
}

// std::filesystem's throwing forms end the process on a name the OS refuses (a component over
// 255 bytes: ENAMETOOLONG, found by fuzz_properties) or a directory that cannot be searched; a
// settings error names the setting instead.
bool pathExists(const std::string& key, const std::filesystem::path& path) {
  std::error_code ec;
  const bool found = std::filesystem::exists(path, ec);
  if (ec) throw SettingsError(key + ": cannot check " + path.string() + ": " + ec.message());
  return found;
}
bool isDirectory(const std::string& key, const std::filesystem::path& path) {
  std::error_code ec;
  const bool dir = std::filesystem::is_directory(path, ec);
  if (ec && ec != std::errc::no_such_file_or_directory && ec != std::errc::not_a_directory)
    throw SettingsError(key + ": cannot check " + path.string() + ": " + ec.message());
  return dir;
}

class Reader {
 public:
  explicit Reader(const AbstractConfiguration& c) : c_(c) {}

  std::string raw(const std::string& key, const std::string& fallback) const {
    if (!c_.hasProperty(key)) return fallback;
    std::string v = c_.getRawString(key);
    // An unresolved ${...} (e.g. an unset environment variable) must not pass as a value.
    if (v.find("${") != std::string::npos) v = c_.getString(key);
    if (v.find("${") != std::string::npos) throw SettingsError(key + ": unresolved reference in '" + v + "'");
    return v;
  }
  std::string text(const std::string& key, const std::string& fallback, bool allow_empty) const {
    std::string v = raw(key, fallback);
    if (!allow_empty && v.empty()) throw SettingsError(key + " must not be empty");
    return v;
  }
  long long integer(const std::string& key, long long fallback, long long lo, long long hi) const {
    const std::string v = raw(key, std::to_string(fallback));
    long long n = 0;
    try {
      size_t used = 0;
      n = std::stoll(v, &used);
      if (used != v.size()) throw std::invalid_argument(v);
    } catch (const std::exception&) {
      throw SettingsError(key + " must be an integer, not '" + v + "'");
    }
    if (n < lo || n > hi)
      throw SettingsError(key + " must be " + std::to_string(lo) + ".." + std::to_string(hi) + ", not " + v);
    return n;
  }
  bool boolean(const std::string& key, bool fallback) const {
    const std::string v = raw(key, fallback ? "true" : "false");
    if (v == "true") return true;
    if (v == "false") return false;
    throw SettingsError(key + " must be true or false, not '" + v + "'");
  }

 private:
  const AbstractConfiguration& c_;
};

void rejectUnknown(const AbstractConfiguration& c, const std::string& origin, const std::string& prefix = "") {
  AbstractConfiguration::Keys keys;
  c.keys(prefix, keys);
  for (const auto& k : keys) {
    const std::string full = prefix.empty() ? k : prefix + "." + k;
    // An empty part ("a..b", "a.") would make Poco list the same prefix for ever (found by
    // fuzz_properties: a stack overflow); no real key has one, nor is any deeper than 4 parts.
    if (k.empty() || std::count(full.begin(), full.end(), '.') > 8)
      throw SettingsError(full + ": malformed setting name (in " + origin + ")");
    AbstractConfiguration::Keys sub;
    c.keys(full, sub);
    if (!sub.empty()) {
      rejectUnknown(c, origin, full);
      continue;
    }
    if (!knownKeys().count(full)) throw SettingsError(full + ": unknown setting (in " + origin + ")");
  }
}

// The environment variable of a key: smtp.password is VIGIL_SMTP_PASSWORD.
std::string envName(const std::string& key) {
  std::string name = "VIGIL_";
  for (char ch : key) name += ch == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return name;
}

// Secrets come from the environment only (STYLE section 1), never from a committed file nor
// from the command line, where every user of the machine sees them in ps.
const std::set<std::string>& secretKeys() {
  static const std::set<std::string> keys = {"smtp.password", "audit.key"};
  return keys;
}

void rejectSecret(const AbstractConfiguration& c, const std::string& origin) {
  for (const auto& key : secretKeys())
    if (c.hasProperty(key))
      throw SettingsError(key + ": set it in the environment (" + envName(key) + "), not in " + origin);
}

// A VIGIL_ variable that is no setting is a misspelt one (VIGIL_HTTP_PROT): refused like an
// unknown key rather than silently ignored.
void rejectUnknownEnvironment() {
  std::set<std::string> known;
  for (const auto& key : knownKeys()) known.insert(envName(key));
  for (char** e = environ; e && *e; ++e) {
    const std::string entry = *e;
    if (entry.rfind("VIGIL_", 0) != 0) continue;
    const std::string name = entry.substr(0, entry.find('='));
    if (!known.count(name))
      throw SettingsError(name + ": unknown setting (in the environment; settings are VIGIL_ and the key in capitals "
                                 "with _ for ., e.g. VIGIL_HTTP_PORT)");
  }
}

std::vector<int> percents(const std::string& key, const std::string& text) {
  std::vector<int> out;
  size_t pos = 0;
  while (pos <= text.size()) {
    const size_t comma = text.find(',', pos);
    const std::string item = text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    try {
      size_t used = 0;
      const int v = std::stoi(item, &used);
      if (used != item.size() || v < 1 || v > 99 || (!out.empty() && v <= out.back())) throw std::invalid_argument(item);
      out.push_back(v);
    } catch (const std::exception&) {
      throw SettingsError(key + " must be increasing percentages 1..99 separated by commas, not '" + text + "'");
    }
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return out;
}

}  // namespace

Settings loadSettings(const std::string& config_file, const std::vector<std::string>& overrides,
                      const std::string& base_dir, PathChecks checks) {
  AutoPtr<Poco::Util::LayeredConfiguration> layered(new Poco::Util::LayeredConfiguration);
  Settings s;
  s.config_file = absolute(config_file, base_dir);
  if (!pathExists("config file", s.config_file)) throw SettingsError("config file " + s.config_file + " does not exist");
  AutoPtr<Poco::Util::PropertyFileConfiguration> main_file;
  try {
    main_file = new Poco::Util::PropertyFileConfiguration(s.config_file);
  } catch (const Poco::Exception& e) {
    throw SettingsError("cannot read " + s.config_file + ": " + e.displayText());
  }
  rejectUnknown(*main_file, s.config_file);
  rejectSecret(*main_file, s.config_file);
  layered->add(main_file, 0);

  rejectUnknownEnvironment();
  AutoPtr<Poco::Util::MapConfiguration> env(new Poco::Util::MapConfiguration);
  for (const auto& key : knownKeys())
    if (const char* v = std::getenv(envName(key).c_str())) env->setString(key, v);
  layered->add(env, -75);

  AutoPtr<Poco::Util::MapConfiguration> cli(new Poco::Util::MapConfiguration);
  for (const auto& o : overrides) {
    const auto eq = o.find('=');
    if (eq == std::string::npos || eq == 0) throw SettingsError("--set needs key=value, not '" + o + "'");
    const std::string key = o.substr(0, eq);
    if (!knownKeys().count(key)) throw SettingsError(key + ": unknown setting (in --set)");
    if (secretKeys().count(key))
      throw SettingsError(key + ": a secret on the command line is visible to every user in ps; set it in the "
                                "environment (" + envName(key) + ")");
    cli->setString(key, o.substr(eq + 1));
  }
  layered->add(cli, -100);

  Reader r(*layered);
  const std::string site_file = absolute(r.text("config.site_file", "", true), base_dir);
  if (!site_file.empty()) {
    if (!pathExists("config.site_file", site_file)) throw SettingsError("config.site_file: " + site_file + " does not exist");
    AutoPtr<Poco::Util::PropertyFileConfiguration> site(new Poco::Util::PropertyFileConfiguration(site_file));
    rejectUnknown(*site, site_file);
    rejectSecret(*site, site_file);
    layered->add(site, -50);
  }

  s.http.host = r.text("http.host", "127.0.0.1", false);
  s.http.port = static_cast<uint16_t>(r.integer("http.port", 8080, 0, 65535));
  s.http.threads = static_cast<int>(r.integer("http.threads", 16, 2, 1024));
  s.http.max_queued = static_cast<int>(r.integer("http.max_queued", 256, 1, 100000));
  s.http.max_body_bytes = static_cast<size_t>(r.integer("http.max_body_bytes", 16 << 20, 1024, 1LL << 30));
  s.http.body_budget_bytes = static_cast<size_t>(r.integer("http.body_budget_bytes", 64 << 20, 1024, 1LL << 34));
  if (s.http.body_budget_bytes < s.http.max_body_bytes)
    throw SettingsError("http.body_budget_bytes must be at least http.max_body_bytes (one largest body must fit)");
  s.http.keep_alive_seconds = static_cast<int>(r.integer("http.keep_alive_seconds", 15, 1, 3600));
  s.http.head_timeout_seconds = static_cast<int>(r.integer("http.head_timeout_seconds", 10, 1, 600));
  s.http.body_timeout_seconds = static_cast<int>(r.integer("http.body_timeout_seconds", 60, 1, 3600));
  s.http.max_connections = static_cast<int>(r.integer("http.max_connections", 4096, 16, 1000000));
  s.http.max_connections_per_client =
      static_cast<int>(r.integer("http.max_connections_per_client", 128, 1, 1000000));
  s.store.path = absolute(r.text("store.path", "var/vigil.db", false), base_dir);
  s.store.read_connections = static_cast<int>(r.integer("store.read_connections", 4, 1, 64));
  s.store.max_group = static_cast<int>(r.integer("store.max_group", 1024, 1, 100000));
  s.log.level = r.text("log.level", "info", false);
  if (s.log.level != "trace" && s.log.level != "debug" && s.log.level != "info" && s.log.level != "warn" &&
      s.log.level != "error")
    throw SettingsError("log.level must be one of trace, debug, info, warn, error, not '" + s.log.level + "'");
  s.log.file = absolute(r.text("log.file", "", true), base_dir);
  s.log.max_size_mb = static_cast<int>(r.integer("log.max_size_mb", 10, 1, 1024));
  s.log.max_files = static_cast<int>(r.integer("log.max_files", 5, 1, 100));
  s.log.console = r.boolean("log.console", true);
  s.port_file = absolute(r.text("run.port_file", "", true), base_dir);
  s.ctcae_dir = absolute(r.text("ctcae.dir", "ctcae", false), base_dir);
  if (!pathExists("ctcae.dir", s.ctcae_dir + "/terms.tsv"))
    throw SettingsError("ctcae.dir: " + s.ctcae_dir + " holds no terms.tsv");
  s.alerts_dir = absolute(r.text("alerts.dir", "alerts", false), base_dir);
  if (!pathExists("alerts.dir", s.alerts_dir + "/rules/categories.json"))
    throw SettingsError("alerts.dir: " + s.alerts_dir + " holds no rules/categories.json");

  s.sweep_seconds = static_cast<int>(r.integer("rules.sweep_seconds", 60, 1, 86400));
  s.study_id = r.text("study.id", "ANLO-SINTI-ESCC", false);
  s.exports_dir = absolute(r.text("exports.dir", "var/exports", false), base_dir);

  s.smtp.host = r.text("smtp.host", "", true);
  s.smtp.port = static_cast<int>(r.integer("smtp.port", 25, 1, 65535));
  const std::string tls = r.text("smtp.tls", "none", false);
  if (tls == "none") s.smtp.tls = mail::SmtpTls::kNone;
  else if (tls == "starttls") s.smtp.tls = mail::SmtpTls::kStartTls;
  else if (tls == "smtps") s.smtp.tls = mail::SmtpTls::kSmtps;
  else throw SettingsError("smtp.tls must be none, starttls or smtps, not '" + tls + "'");
  const std::string auth = r.text("smtp.auth", "none", false);
  if (auth == "none") s.smtp.auth = mail::SmtpAuth::kNone;
  else if (auth == "login") s.smtp.auth = mail::SmtpAuth::kLogin;
  else if (auth == "plain") s.smtp.auth = mail::SmtpAuth::kPlain;
  else throw SettingsError("smtp.auth must be none, login or plain, not '" + auth + "'");
  s.smtp.user = r.text("smtp.user", "", true);
  s.smtp.password = r.text("smtp.password", "", true);
  if (s.smtp.auth != mail::SmtpAuth::kNone && (s.smtp.user.empty() || s.smtp.password.empty()))
    throw SettingsError("smtp.auth = " + auth + " needs smtp.user and the password in VIGIL_SMTP_PASSWORD");
  s.smtp.timeout_ms = static_cast<int>(r.integer("smtp.timeout_ms", 10000, 100, 600000));
  s.smtp.verify_certificate = r.boolean("smtp.verify_certificate", true);
  s.outbox.from = r.text("mail.from", "vigil@localhost", false);
  s.mail_dir = absolute(r.text("mail.dir", "var/mail", false), base_dir);
  s.alerts.message_id_domain = r.text("mail.message_id_domain", "vigil.invalid", false);
  s.recipients_file = absolute(r.text("alerts.recipients_file", "config/recipients.json", false), base_dir);
  s.alerts.link_base = r.text("alerts.link_base", "http://127.0.0.1:8080", false);
  while (!s.alerts.link_base.empty() && s.alerts.link_base.back() == '/') s.alerts.link_base.pop_back();
  s.alerts.escalate_after_ms = 1000 * r.integer("alerts.escalate_after_seconds", 3600, 1, 7 * 86400);
  s.alerts.reminder_percents = percents("alerts.reminder_percents", r.text("alerts.reminder_percents", "50,90", false));
  s.alerts.digest_hour_utc = static_cast<int>(r.integer("alerts.digest_hour_utc", 7, 0, 23));
  s.alerts.late_entry_ms = 24 * 3600 * 1000LL * r.integer("alerts.late_entry_days", 3, 1, 365);
  s.outbox.give_up_after_ms = 1000 * r.integer("outbox.give_up_after_seconds", 7 * 86400, 1, 90 * 86400);
  s.alerts.late_urgent_ms = 1000 * r.integer("outbox.late_seconds.urgent", 900, 1, 30 * 86400);
  s.alerts.late_sae_ms = 1000 * r.integer("outbox.late_seconds.sae", 3600, 1, 30 * 86400);
  s.alerts.late_other_ms = 1000 * r.integer("outbox.late_seconds.other", 86400, 1, 30 * 86400);
  s.outbox.backoff_initial_ms = r.integer("outbox.backoff_initial_ms", 1000, 10, 3600000);
  s.outbox.backoff_max_ms = r.integer("outbox.backoff_max_ms", 300000, 10, 86400000);
  if (s.outbox.backoff_max_ms < s.outbox.backoff_initial_ms)
    throw SettingsError("outbox.backoff_max_ms must be at least outbox.backoff_initial_ms");
  s.outbox.poll_ms = static_cast<int>(r.integer("outbox.poll_ms", 100, 5, 60000));
  s.outbox.batch = static_cast<int>(r.integer("outbox.batch", 100, 1, 10000));
  s.outbox.clock_ms = r.integer("outbox.clock_ms", 5000, 10, 3600000);

  s.audit.key_hex = r.text("audit.key", "", true);
  // Beside the database's directory, not its name: a backup of vigil.db* must not take the key.
  const std::string default_key_file = (std::filesystem::path(s.store.path).parent_path() / "audit.key").string();
  s.audit.key_file = absolute(r.text("audit.key_file", default_key_file, false), base_dir);
  s.audit.anchor_file = absolute(r.text("audit.anchor_file", s.store.path + ".anchor", false), base_dir);
  s.audit.verify_seconds = static_cast<int>(r.integer("audit.verify_seconds", 3600, 1, 7 * 86400));
  s.store.anchor_path = s.audit.anchor_file;

  const auto store_dir = std::filesystem::path(s.store.path).parent_path();
  if (checks.store_dir && !isDirectory("store.path", store_dir))
    throw SettingsError("store.path: directory " + store_dir.string() + " does not exist");
  if (checks.log_dir && !s.log.file.empty() && !isDirectory("log.file", std::filesystem::path(s.log.file).parent_path()))
    throw SettingsError("log.file: directory " + std::filesystem::path(s.log.file).parent_path().string() +
                        " does not exist");
  return s;
}

std::vector<std::string> describe(const Settings& s) {
  return {
      "config.file=" + s.config_file,
      "http.host=" + s.http.host,
      "http.port=" + std::to_string(s.http.port),
      "http.threads=" + std::to_string(s.http.threads),
      "http.max_queued=" + std::to_string(s.http.max_queued),
      "http.max_body_bytes=" + std::to_string(s.http.max_body_bytes),
      "http.body_budget_bytes=" + std::to_string(s.http.body_budget_bytes),
      "http.keep_alive_seconds=" + std::to_string(s.http.keep_alive_seconds),
      "http.head_timeout_seconds=" + std::to_string(s.http.head_timeout_seconds),
      "http.body_timeout_seconds=" + std::to_string(s.http.body_timeout_seconds),
      "http.max_connections=" + std::to_string(s.http.max_connections),
      "http.max_connections_per_client=" + std::to_string(s.http.max_connections_per_client),
      "store.path=" + s.store.path,
      "store.read_connections=" + std::to_string(s.store.read_connections),
      "store.max_group=" + std::to_string(s.store.max_group),
      "log.level=" + s.log.level,
      "ctcae.dir=" + s.ctcae_dir,
      "alerts.dir=" + s.alerts_dir,
      "rules.sweep_seconds=" + std::to_string(s.sweep_seconds),
      "study.id=" + s.study_id,
      "exports.dir=" + s.exports_dir,
      "smtp.host=" + (s.smtp.host.empty() ? std::string("(none: .eml files in mail.dir)") : s.smtp.host),
      "smtp.port=" + std::to_string(s.smtp.port),
      "smtp.user=" + s.smtp.user,
      std::string("smtp.password=") + (s.smtp.password.empty() ? "(not set)" : "(set, redacted)"),
      "mail.from=" + s.outbox.from,
      "mail.dir=" + s.mail_dir,
      "alerts.recipients_file=" + s.recipients_file,
      "alerts.link_base=" + s.alerts.link_base,
      "alerts.escalate_after_seconds=" + std::to_string(s.alerts.escalate_after_ms / 1000),
      "alerts.digest_hour_utc=" + std::to_string(s.alerts.digest_hour_utc),
      "alerts.late_entry_days=" + std::to_string(s.alerts.late_entry_ms / (24 * 3600 * 1000LL)),
      "outbox.give_up_after_seconds=" + std::to_string(s.outbox.give_up_after_ms / 1000),
      "outbox.late_seconds=urgent " + std::to_string(s.alerts.late_urgent_ms / 1000) + ", sae " +
          std::to_string(s.alerts.late_sae_ms / 1000) + ", other " + std::to_string(s.alerts.late_other_ms / 1000),
      "outbox.backoff_initial_ms=" + std::to_string(s.outbox.backoff_initial_ms),
      "outbox.backoff_max_ms=" + std::to_string(s.outbox.backoff_max_ms),
      "log.file=" + s.log.file,
      std::string("audit.key=") + (s.audit.key_hex.empty() ? "(not set: audit.key_file)" : "(set, redacted)"),
      "audit.key_file=" + s.audit.key_file,
      "audit.anchor_file=" + s.audit.anchor_file,
      "audit.verify_seconds=" + std::to_string(s.audit.verify_seconds),
  };
}

}  // namespace vigil::app
