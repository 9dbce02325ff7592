#include "app/vigilctl_app.h"

#include <Poco/Util/HelpFormatter.h>
#include <Poco/Util/Option.h>
#include <Poco/Util/OptionSet.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>

#include "app/audit_key.h"
#include "app/knowledge.h"
#include "app/settings.h"
#include "app/vigilctl_alerts.h"
#include <nlohmann/json.hpp>

#include "audit/anchor.h"
#include "audit/audit.h"
#include "core/version.h"
#include "exports/exporter.h"
#include "grading/grade_lines.h"
#include "rules/evaluator.h"
#include "rules/scenario_json.h"
#include "intake/audit_check.h"
#include "intake/intake_service.h"
#include "outbox/routing.h"
#include "outbox/alert_planner.h"
#include "intake/json_codec.h"
#include "intake/lab_csv.h"
#include "store/sqlite_store.h"

namespace vigil::app {
namespace {

std::string operatorName() {
  const char* user = std::getenv("USER");
  return std::string("vigilctl:") + (user && *user ? user : "uid" + std::to_string(getuid()));
}

int fromStatus(const core::Status& s) {
  if (s.isOk()) return 0;
  std::cerr << "vigilctl: " << s.message() << "\n";
  switch (s.code()) {
    case core::StatusCode::kInvalid: return 65;      // EX_DATAERR
    case core::StatusCode::kConflict: return 65;
    case core::StatusCode::kNotFound: return 67;     // EX_NOUSER
    case core::StatusCode::kUnavailable: return 69;  // EX_UNAVAILABLE
    default: return 70;                              // EX_SOFTWARE
  }
}

}  // namespace

VigilctlApp::VigilctlApp(std::string base_dir) : base_dir_(std::move(base_dir)) { setUnixOptions(true); }

void VigilctlApp::defineOptions(Poco::Util::OptionSet& options) {
  Application::defineOptions(options);
  auto add = [&](const char* name, const char* help, const char* arg, bool repeatable = false) {
    Poco::Util::Option o(name, "", help);
    o.required(false).repeatable(repeatable);
    if (arg) o.argument(arg);
    options.addOption(o);
  };
  add("help", "show commands and options", nullptr);
  add("config", "main properties file (default config/vigil.properties)", "FILE");
  add("set", "override one setting", "KEY=VALUE", true);
  add("id", "site id (site add)", "ID");
  add("name", "site or user name", "NAME");
  add("role", "investigator, safety_officer, dsmb or admin (user add)", "ROLE");
  add("site", "site an investigator is bound to; repeatable (user add)", "SITE", true);
  add("test", "grade: LBTESTCD or LOINC code of one value", "TEST");
  add("value", "grade: the value", "NUMBER");
  add("unit", "grade: its unit", "UNIT");
  add("lln", "grade: lower limit of normal", "NUMBER");
  add("uln", "grade: upper limit of normal", "NUMBER");
  add("baseline", "grade: the participant's baseline value", "NUMBER");
  add("on-anticoagulation", "grade: the participant is anticoagulated (INR)", nullptr);
  add("ctcae-dir", "grade: CTCAE data directory (default: ctcae.dir from the settings)", "DIR");
  add("as-of", "export dsmb: the data cut, e.g. 2026-10-31T23:59:59Z", "TIMESTAMP");
  add("out", "export dsmb: the package directory to create (the zip is DIR.zip)", "DIR");
  add("zero-rows", "export dsmb: keep incidence rows for terms with no events", nullptr);
  add("state", "alerts list: dead, late or pending", "STATE");
  add("all-dead", "alerts retry: every dead delivery", nullptr);
  add("manifest", "audit verify: also check the audit anchor recorded in this DSMB manifest.json", "FILE");
  add("detail", "evaluate: add findings, flags, clocks and the events behind each recommendation", nullptr);
  add("user", "import labs: the investigator the results are recorded for (their sites' rights apply)", "NAME");
}

void VigilctlApp::handleOption(const std::string& name, const std::string& value) {
  Application::handleOption(name, value);
  if (name == "help") help_ = true;
  else if (name == "on-anticoagulation" || name == "detail" || name == "zero-rows" || name == "all-dead")
    values_[name] = "true";
  else if (name == "config") config_file_ = value;
  else if (name == "set") overrides_.push_back(value);
  else if (name == "site") sites_.push_back(value);
  else values_[name] = value;
}

std::string VigilctlApp::option(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::string() : it->second;
}

int VigilctlApp::usage(const std::string& problem) {
  if (!problem.empty()) std::cerr << "vigilctl: " << problem << "\n";
  Poco::Util::HelpFormatter help(options());
  help.setCommand(commandName());
  help.setUsage("COMMAND [OPTIONS]");
  help.setHeader(
      "Commands:\n"
      "  db migrate                                  apply pending schema migrations\n"
      "  site add --id=S01 --name=NAME               register a trial site\n"
      "  user add --name=N --role=R [--site=S ...]   create a user and print its API token once\n"
      "  user list                                   users, roles, sites and whether disabled\n"
      "  user disable NAME | user enable NAME        refuse (or accept again) NAME's token from the next request\n"
      "  user rotate-token NAME                      replace NAME's token; print the new one once\n"
      "  audit verify [--manifest=FILE]              check the keyed audit chain, its anchor and the data\n"
      "  audit show ENTITY ID                        one record's audit history (e.g. audit show lab_result 17)\n"
      "  import labs FILE.csv --user=NAME            a laboratory's CSV file (SDTM LB columns), as that investigator\n"
      "  audit init-key                              create the audit key (0600; or use VIGIL_AUDIT_KEY) and seal\n"
      "                                              the chain of a database from before keyed chains\n"
      "  audit anchor                                re-anchor the verified chain's head after an investigation\n"
      "  alerts list --state=dead|late|pending       alert mail not delivered\n"
      "  alerts retry ID | --all-dead                queue dead deliveries again\n"
      "  grade                                       grade JSON lines from stdin (see docs/grade.md)\n"
      "  grade --test=HGB --value=85 --unit=g/L [--lln= --uln= --baseline= --on-anticoagulation]\n"
      "  evaluate [--detail]                         evaluate one JSON scenario from stdin (see docs/evaluate.md)\n"
      "  export dsmb --as-of=TS --out=DIR [--zero-rows]  write the DSMB review package and DIR.zip");
  help.format(problem.empty() ? std::cout : std::cerr);
  return problem.empty() ? 0 : 64;  // EX_USAGE
}

int VigilctlApp::readSettings(Settings& settings, bool needs_database) const {
  try {
    settings = loadSettings(config_file_, overrides_, base_dir_, PathChecks{.store_dir = needs_database, .log_dir = false});
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "vigilctl: configuration error: " << e.what() << "\n";
    return 78;  // EX_CONFIG
  }
}

int VigilctlApp::readKnowledge(const Settings& settings, std::unique_ptr<Knowledge>& out) const {
  std::string problem;
  out = loadKnowledge(settings, problem);
  if (out) return 0;
  std::cerr << "vigilctl: cannot load the clinical data: " << problem << "\n";
  return 78;  // EX_CONFIG
}

int VigilctlApp::main(const std::vector<std::string>& args) {
  if (help_ || args.empty()) return usage(help_ ? "" : "no command given");
  const std::string command = args.size() >= 2 ? args[0] + " " + args[1] : args[0];
  if (args[0] == "grade" && args.size() == 1) return grade();
  if (args[0] == "evaluate" && args.size() == 1) return evaluate();
  static const std::set<std::string> kCommands = {"db migrate", "site add", "user add", "audit verify", "audit init-key",
                                                  "audit anchor", "audit show", "export dsmb",
                                                  "alerts list", "alerts retry", "user list", "user disable", "user enable",
                                                  "user rotate-token", "import labs"};
  static const std::set<std::string> kTakesName = {"alerts retry", "user disable", "user enable", "user rotate-token",
                                                   "import labs"};
  const size_t max_args = command == "audit show" ? 4 : kTakesName.count(command) ? 3 : 2;
  if (!kCommands.count(command) || args.size() > max_args) return usage("unknown command '" + command + "'");

  Settings settings;
  if (int rc = readSettings(settings, true)) return rc;
  // vigilctl logs warnings and errors only, to stderr; its output is the command's answer.
  spdlog::set_level(spdlog::level::warn);

  if (command == "audit init-key") return initAuditKey(settings);
  try {
    // A brand-new database gets its key here when vigilctl is the first to touch it.
    settings.store.audit_key = loadAuditKey(settings.audit, settings.store.path, true);
  } catch (const AuditKeyError& e) {
    std::cerr << "vigilctl: " << e.what() << "\n";
    return 78;  // EX_CONFIG
  }

  core::SystemClock clock;
  std::unique_ptr<store::SqliteStore> store;
  try {
    store = std::make_unique<store::SqliteStore>(settings.store, clock);
  } catch (const std::exception& e) {
    std::cerr << "vigilctl: cannot open " << settings.store.path << ": " << e.what() << "\n";
    return 74;  // EX_IOERR
  }
  std::unique_ptr<Knowledge> knowledge;
  if (int rc = readKnowledge(settings, knowledge)) return rc;
  intake::IntakeService intake(*store, clock, knowledge->catalogue, knowledge->grader, knowledge->reporting);

  if (command == "db migrate") {
    auto v = store->schemaVersion();
    if (!v.isOk()) return fromStatus(v.status());
    std::cout << "schema version " << v.value() << " (" << settings.store.path << ")\n";
    return 0;
  }
  if (command == "site add") {
    if (option("id").empty() || option("name").empty()) return usage("site add needs --id and --name");
    if (int rc = fromStatus(intake.addSite(operatorName(), option("id"), option("name")))) return rc;
    std::cout << "site " << option("id") << " added\n";
    return 0;
  }
  if (command == "user add") {
    core::User user;
    user.name = option("name");
    auto role = core::parseEnum<core::Role>(option("role"));
    if (user.name.empty() || !role)
      return usage("user add needs --name and --role (one of " + core::enumChoices<core::Role>() + ")");
    user.role = *role;
    user.sites = sites_;
    auto token = intake.addUser(operatorName(), user);
    if (!token.isOk()) return fromStatus(token.status());
    std::cerr << "user " << user.name << " (" << core::toString(user.role)
              << ") created; the token below is shown once and stored only as a hash\n";
    std::cout << token.value() << "\n";
    return 0;
  }
  if (command == "user list") {
    auto users = store->users();
    if (!users.isOk()) return fromStatus(users.status());
    for (const auto& u : users.value()) {
      std::string sites;
      for (const auto& site : u.sites) sites += (sites.empty() ? "" : ",") + site;
      std::cout << u.name << "\t" << core::toString(u.role) << "\t" << (sites.empty() ? "-" : sites) << "\t"
                << (u.disabled ? "disabled" : "enabled") << "\n";
    }
    return 0;
  }
  if (command == "user disable" || command == "user enable" || command == "user rotate-token") {
    const std::string name = args.size() == 3 ? args[2] : option("name");
    if (name.empty()) return usage(command + " needs a user name");
    if (command == "user rotate-token") {
      auto token = intake.rotateToken(operatorName(), name);
      if (!token.isOk()) return fromStatus(token.status());
      std::cerr << "token of " << name << " replaced; the old one is refused from now on. The new token is shown "
                << "once and stored only as a hash\n";
      std::cout << token.value() << "\n";
      return 0;
    }
    const bool disable = command == "user disable";
    if (int rc = fromStatus(intake.setUserDisabled(operatorName(), name, disable))) return rc;
    std::cout << "user " << name << (disable ? " disabled; its token is refused from the next request\n" : " enabled\n");
    return 0;
  }
  if (command == "export dsmb") return exportDsmb(*store, *knowledge, settings, clock);
  if (command == "alerts list") return alertsList(*store, option("state"), clock.nowMs());
  if (command == "alerts retry")
    return alertsRetry(*store, args.size() == 3 ? args[2] : "", option("all-dead") == "true", operatorName(),
                       clock.nowMs());
  if (command == "audit anchor") return anchorAudit(*store, settings);
  if (command == "import labs") {
    if (args.size() != 3 || option("user").empty()) return usage("import labs needs FILE.csv and --user=NAME");
    return importLabs(*store, *knowledge, settings, clock, args[2], option("user"));
  }
  if (command == "audit show") {
    if (args.size() != 4) return usage("audit show needs ENTITY and ID, e.g. audit show lab_result 17");
    return showAudit(*store, args[2], args[3]);
  }
  return verifyAudit(*store, settings);
}

// A laboratory's CSV file (issue 16; docs/api.md "Lab files"), recorded as the named investigator
// would record it over HTTP: the same checks, grading, re-evaluation and alerts, in one
// transaction; the running vigild's dispatcher sends the alerts. On a terminal a bar shows the
// rows being checked, then the store.
int VigilctlApp::importLabs(store::SqliteStore& store, const Knowledge& knowledge, const Settings& settings,
                            const core::Clock& clock, const std::string& file, const std::string& user_name) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::cerr << "vigilctl: cannot read " << file << "\n";
    return 66;  // EX_NOINPUT
  }
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto users = store.users();
  if (!users.isOk()) return fromStatus(users.status());
  const core::User* user = nullptr;
  for (const auto& u : users.value())
    if (u.name == user_name) user = &u;
  if (!user || user->disabled) {
    std::cerr << "vigilctl: no enabled user " << user_name << "\n";
    return 67;  // EX_NOUSER
  }
  std::unique_ptr<outbox::Routing> routing;
  try {
    routing = std::make_unique<outbox::Routing>(outbox::Routing::load(settings.recipients_file));
  } catch (const std::exception& e) {
    std::cerr << "vigilctl: cannot route alerts: " << e.what() << "\n";
    return 78;  // EX_CONFIG
  }
  std::vector<size_t> lines;
  auto batch = intake::labsFromCsv(text, intake::kMaxLabBatch, lines);
  auto report = [&](const core::Status& s) {
    std::cerr << "vigilctl: " << s.message() << "; nothing stored\n";
    for (const auto& f : s.fields()) std::cerr << "  " << intake::csvFieldName(f.field, lines) << ": " << f.detail << "\n";
    return 65;  // EX_DATAERR
  };
  if (!batch.isOk()) return report(batch.status());
  const bool terminal = ::isatty(STDERR_FILENO) == 1;
  const auto& rows = batch.value()["results"];
  if (terminal) {
    // The per-row check, with a bar; the store below checks again inside its transaction.
    intake::Errors ignored;
    for (size_t i = 0; i < rows.size(); ++i) {
      (void)intake::decodeLab(rows[i], "", ignored);
      if (i % 250 == 0 || i + 1 == rows.size()) {
        const size_t done = (i + 1) * 40 / rows.size();
        std::cerr << "\rchecking [" << std::string(done, '#') << std::string(40 - done, ' ') << "] " << (i + 1) << "/"
                  << rows.size() << std::flush;
      }
    }
    std::cerr << "\nstoring " << rows.size() << " rows in one transaction...\n";
  }
  const outbox::AlertPlanner planner(*routing, knowledge.dose, settings.alerts);
  const rules::Evaluator evaluator(knowledge.dose, knowledge.reporting, knowledge.categories, knowledge.grader);
  const intake::SafetyMonitor safety(evaluator, &planner);
  intake::IntakeService intake(store, clock, knowledge.catalogue, knowledge.grader, knowledge.reporting, &safety);
  auto reply = intake.recordLabs(intake::WriteContext{*user, std::nullopt, ""}, batch.value(), true);
  if (!reply.isOk()) {
    if (reply.status().code() != core::StatusCode::kInvalid) return fromStatus(reply.status());
    return report(reply.status());
  }
  const auto answer = nlohmann::json::parse(reply.value().body);
  std::cout << answer.value("stored", 0) << " stored, " << answer.value("already_recorded", 0) << " already recorded";
  if (answer.value("already_voided", 0) > 0) std::cout << ", " << answer.value("already_voided", 0) << " voided since";
  std::cout << " (" << file << ")\n";
  return 0;
}

// One record's history as a table: each audit entry with what it changed (issue 16). The read is
// itself audited, like a read of GET /api/v1/audit.
int VigilctlApp::showAudit(store::SqliteStore& store, const std::string& entity, const std::string& id) {
  store::AuditFilter f;
  f.entity = entity;
  f.entity_id = id;
  f.limit = 1000;
  std::vector<store::AuditRow> rows;
  while (true) {
    auto page = store.auditRows(f);
    if (!page.isOk()) return fromStatus(page.status());
    for (auto& r : page.value()) rows.push_back(std::move(r));
    if (page.value().size() < static_cast<size_t>(f.limit)) break;
    f.after_seq = rows.back().entry.seq;
  }
  const nlohmann::json query = {{"entity", entity}, {"id", id}, {"returned", rows.size()}};
  if (int rc = fromStatus(store.write([&](store::Transaction& tx) {
        tx.appendAudit({operatorName(), "read", "audit", "", "", query.dump()});
        return core::Status::ok();
      })))
    return rc;
  if (rows.empty()) {
    std::cerr << "vigilctl: no audit entry for " << entity << " " << id << "\n";
    return 1;
  }
  auto shortText = [](const nlohmann::json& v) {
    std::string t = v.is_string() ? v.get<std::string>() : v.dump();
    return t.size() > 60 ? t.substr(0, 57) + "..." : t;
  };
  std::cout << "seq\tat\tactor\taction\tchanges\n";
  for (const auto& r : rows) {
    const auto& e = r.entry;
    const auto before = nlohmann::json::parse(e.before.empty() ? "null" : e.before, nullptr, false);
    const auto after = nlohmann::json::parse(e.after.empty() ? "null" : e.after, nullptr, false);
    std::string changes;
    if (before.is_object() && after.is_object()) {
      for (auto it = after.begin(); it != after.end(); ++it)
        if (!before.contains(it.key()) || before[it.key()] != it.value())
          changes += (changes.empty() ? "" : "; ") + it.key() + ": " +
                     (before.contains(it.key()) ? shortText(before[it.key()]) : std::string("(none)")) + " -> " +
                     shortText(it.value());
      for (auto it = before.begin(); it != before.end(); ++it)
        if (!after.contains(it.key())) changes += (changes.empty() ? "" : "; ") + it.key() + ": removed";
      if (changes.empty()) changes = "(no field changed)";
    } else if (e.before.empty()) {
      changes = "created";
    } else {
      changes = shortText(after.is_discarded() ? nlohmann::json(e.after) : after);
    }
    std::cout << e.seq << "\t" << e.at << "\t" << e.actor << "\t" << e.action << "\t" << changes << "\n";
  }
  return 0;
}

int VigilctlApp::verifyAudit(store::SqliteStore& store, const Settings& settings) {
  const intake::AuditCheckOptions options{settings.store.audit_key, settings.audit.anchor_file};
  auto report = intake::checkAuditTrail(store, options);
  if (!report.isOk()) return fromStatus(report.status());
  if (!report.value().ok()) {
    // "audit trail broken at row N: why" reads as "audit trail BROKEN at row N: why".
    const std::string& problem = report.value().problem;
    if (report.value().broken_seq) std::cout << "audit trail BROKEN" << problem.substr(std::string("audit trail broken").size()) << "\n";
    else std::cout << "audit trail BROKEN: " << problem << "\n";
    return 1;
  }
  if (!option("manifest").empty()) {
    // The head a DSMB package recorded must still be in the chain, with the same hash.
    nlohmann::json manifest = nlohmann::json::parse(std::ifstream(option("manifest")), nullptr, false);
    if (!manifest.is_object() || !manifest.contains("audit_anchor") || !manifest["audit_anchor"].is_object()) {
      std::cerr << "vigilctl: " << option("manifest") << " is not a DSMB manifest with an audit_anchor\n";
      return 65;
    }
    const auto& a = manifest["audit_anchor"];
    const audit::Head head{a.value("seq", int64_t{-1}), a.value("hash", std::string())};
    auto entries = store.auditEntries();
    if (!entries.isOk()) return fromStatus(entries.status());
    if (auto problem = audit::checkAnchor(entries.value(), head)) {
      std::cout << "audit trail BROKEN against " << option("manifest") << ": " << *problem << "\n";
      return 1;
    }
  }
  std::cout << "audit trail verifies: " << report.value().entries << " entries";
  // Rows from before keying are reported as what they are: plain SHA-256, sealed by the keyed
  // row after them (the init-key entry), not silently counted as keyed.
  if (report.value().plain_entries > 0)
    std::cout << " (rows 1-" << report.value().plain_entries << " legacy-unkeyed: plain SHA-256 from before the "
              << "chain was keyed, sealed by keyed row " << report.value().plain_entries + 1 << ")";
  std::cout << ", " << report.value().rows << " data rows match their latest audit entry";
  if (report.value().anchor) std::cout << ", anchored at row " << report.value().anchor->seq;
  std::cout << "\n";
  return 0;
}

int VigilctlApp::initAuditKey(Settings& settings) {
  // With VIGIL_AUDIT_KEY set the key is the environment's: no file is written, but the chain is
  // sealed under it all the same.
  const bool from_environment = !settings.audit.key_hex.empty();
  std::string environment_key;
  try {
    if (from_environment) environment_key = loadAuditKey(settings.audit, settings.store.path, false);
  } catch (const AuditKeyError& e) {
    std::cerr << "vigilctl: " << e.what() << "\n";
    return 78;  // EX_CONFIG
  }
  if (!from_environment && std::filesystem::exists(settings.audit.key_file)) {
    std::cerr << "vigilctl: " << settings.audit.key_file << " exists; an audit key is never overwritten\n";
    return 73;  // EX_CANTCREAT
  }
  core::SystemClock clock;
  std::unique_ptr<store::SqliteStore> store;
  try {
    // Opened without the key (and without the anchor, which such a database does not have yet)
    // first: the rows from before keying must verify as they are, or keying them would seal a
    // forgery.
    store::SqliteOptions unkeyed = settings.store;
    unkeyed.anchor_path.clear();
    store = std::make_unique<store::SqliteStore>(unkeyed, clock);
  } catch (const std::exception& e) {
    std::cerr << "vigilctl: cannot open " << settings.store.path << ": " << e.what() << "\n";
    return 74;
  }
  auto entries = store->auditEntries();
  if (!entries.isOk()) return fromStatus(entries.status());
  for (const auto& e : entries.value()) {
    if (e.scheme != audit::kKeyedScheme) continue;
    std::cerr << "vigilctl: the audit chain is keyed from row " << e.seq
              << " on; init-key runs once per database, and only the key that sealed it verifies it\n";
    return 73;
  }
  const auto existing = audit::verifyChain(entries.value());
  if (existing.first_broken_seq) {
    std::cout << "audit trail BROKEN at row " << *existing.first_broken_seq << ": " << existing.problem
              << "; no key created\n";
    return 1;
  }
  store->close();
  core::Result<std::string> key = environment_key;
  if (!from_environment) key = createAuditKeyFile(settings.audit.key_file);
  if (!key.isOk()) return fromStatus(key.status());
  settings.store.audit_key = key.value();
  // Reopened under the key, still without the anchor: written below, once the seal is in.
  store::SqliteOptions keyed_options = settings.store;
  keyed_options.anchor_path.clear();
  store = std::make_unique<store::SqliteStore>(keyed_options, clock);
  const std::string fingerprint = keyFingerprint(key.value());
  core::Status keyed = store->write([&](store::Transaction& tx) {
    tx.appendAudit({operatorName(), "init-key", "audit_key", fingerprint, "",
                    nlohmann::json{{"key_id", fingerprint}, {"scheme", audit::kKeyedScheme},
                                   {"plain_rows", static_cast<int64_t>(entries.value().size())}}
                        .dump()});
    return core::Status::ok();
  });
  if (int rc = fromStatus(keyed)) return rc;
  // A database from before issue 13.4 has no anchor yet: anchor the head just sealed. One that
  // exists is evidence of something else and is left for audit verify to judge.
  auto head = store->auditHead();
  if (!head.isOk()) return fromStatus(head.status());
  if (std::filesystem::exists(settings.audit.anchor_file)) {
    std::cerr << "vigilctl: " << settings.audit.anchor_file
              << " exists and is left as it is: check it with vigilctl audit verify\n";
  } else if (int rc = fromStatus(audit::writeAnchor(settings.audit.anchor_file, head.value(), key.value()))) {
    return rc;
  }
  if (from_environment)
    std::cout << "audit chain sealed under the key " << fingerprint << " from VIGIL_AUDIT_KEY ("
              << entries.value().size() << " legacy-unkeyed rows before it)\n";
  else
    std::cout << "audit key " << fingerprint << " written to " << settings.audit.key_file
              << " (mode 0600); keep a copy somewhere safe: without it the chain cannot be verified\n";
  return 0;
}

int VigilctlApp::anchorAudit(store::SqliteStore& store, const Settings& settings) {
  // Only a chain whose links, hashes and data all hold may be anchored anew.
  auto report = intake::checkAuditTrail(store, {settings.store.audit_key, ""});
  if (!report.isOk()) return fromStatus(report.status());
  if (!report.value().ok()) {
    std::cout << "audit trail BROKEN: " << report.value().problem << "; not anchored\n";
    return 1;
  }
  const auto previous = store.anchorProblem();
  core::Status noted = store.write([&](store::Transaction& tx) {
    tx.appendAudit({operatorName(), "reanchor", "audit_anchor", settings.audit.anchor_file, "",
                    nlohmann::json{{"previous", previous ? *previous : std::string("(the anchor matched)")}}.dump()});
    return core::Status::ok();
  });
  if (int rc = fromStatus(noted)) return rc;
  auto head = store.reanchor();
  if (!head.isOk()) return fromStatus(head.status());
  std::cout << "audit chain anchored at row " << head.value().seq << " in " << settings.audit.anchor_file << "\n";
  return 0;
}

int VigilctlApp::exportDsmb(store::Store& store, const Knowledge& knowledge, const Settings& settings,
                            const core::Clock& clock) {
  if (option("as-of").empty() || option("out").empty()) return usage("export dsmb needs --as-of and --out");
  const exports::Reference ref = exportReference(knowledge);
  exports::PackageOptions options;
  options.study_id = settings.study_id;
  options.software_version = core::kVersion;
  options.late_entry_ms = settings.alerts.late_entry_ms;
  const exports::DsmbExporter exporter(store, ref, options, clock);
  // A progress bar when a person watches; nothing to clutter a pipe or a log.
  const bool tty = isatty(STDOUT_FILENO) != 0;
  auto progress = [&](std::string_view stage, double fraction) {
    if (!tty) return;
    const int width = 30;
    const int filled = static_cast<int>(fraction * width + 0.5);
    std::cout << "\r[" << std::string(static_cast<size_t>(filled), '#') << std::string(static_cast<size_t>(width - filled), '.')
              << "] " << std::setw(3) << static_cast<int>(fraction * 100 + 0.5) << "% " << std::left << std::setw(24)
              << stage << std::right << std::flush;
  };
  auto result = exporter.run({option("as-of"), option("zero-rows") == "true", operatorName(), option("out")}, progress);
  if (tty) std::cout << "\n";
  if (!result.isOk()) {
    for (const auto& f : result.status().fields()) std::cerr << "vigilctl: --" << (f.field == "as_of" ? "as-of" : f.field) << ": " << f.detail << "\n";
    return fromStatus(result.status());
  }
  const auto& r = result.value();
  std::cout << "package " << r.directory << " (" << r.files.size() + 1 << " files)\nzip " << r.zip
            << "\nmanifest sha256 " << r.manifest_sha256 << "\n";
  return 0;
}

int VigilctlApp::evaluate() {
  Settings settings;
  if (int rc = readSettings(settings, false)) return rc;
  std::unique_ptr<Knowledge> knowledge;
  if (int rc = readKnowledge(settings, knowledge)) return rc;
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(std::cin);
  } catch (const std::exception& e) {
    std::cerr << "vigilctl: the scenario is not JSON: " << e.what() << "\n";
    return 65;  // EX_DATAERR
  }
  auto scenario = rules::parseScenario(doc, knowledge->catalogue, knowledge->grader, knowledge->dose);
  if (!scenario.isOk()) {
    std::cerr << "vigilctl: " << scenario.status().message() << "\n";
    for (const auto& f : scenario.status().fields()) std::cerr << "  " << f.field << ": " << f.detail << "\n";
    return 65;
  }
  const rules::Evaluator evaluator(knowledge->dose, knowledge->reporting, knowledge->categories, knowledge->grader);
  std::cout << rules::evaluationToJson(evaluator.evaluate(scenario.value()), knowledge->dose, option("detail") == "true")
            << "\n";
  return 0;
}

int VigilctlApp::grade() {
  // Grading needs no database: the CTCAE directory comes from --ctcae-dir, else the settings,
  // else the copy the binary was built from.
  std::string dir = option("ctcae-dir");
  if (dir.empty()) {
    try {
      dir = loadSettings(config_file_, overrides_, base_dir_, PathChecks{.store_dir = false, .log_dir = false}).ctcae_dir;
    } catch (const std::exception&) {
      dir = VIGIL_DEFAULT_CTCAE_DIR;
    }
  }
  auto grader = grading::LabGrader::load(dir);
  if (!grader.isOk()) {
    std::cerr << "vigilctl: " << grader.status().message() << "\n";
    return 78;
  }
  if (option("test").empty()) {
    grading::gradeLines(grader.value(), stdin, stdout);
    return 0;
  }
  // One value from the options, answered as the line {"test":...} would be.
  nlohmann::json line = {{"test", option("test")}};
  for (const char* key : {"value", "lln", "uln", "baseline"}) {
    if (option(key).empty()) continue;
    try {
      size_t used = 0;
      line[key] = std::stod(option(key), &used);
      if (used != option(key).size()) throw std::invalid_argument(key);
    } catch (const std::exception&) {
      return usage(std::string("--") + key + " must be a number");
    }
  }
  if (!option("unit").empty()) line["unit"] = option("unit");
  if (!option("on-anticoagulation").empty()) line["on_anticoagulation"] = true;
  std::string out;
  grading::gradeLine(grader.value(), line.dump(), out);
  std::cout << out;
  return out.find("\"error\"") == std::string::npos ? 0 : 65;
}

}  // namespace vigil::app
