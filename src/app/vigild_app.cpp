#include "app/vigild_app.h"

#include <Poco/Exception.h>
#include <Poco/Util/HelpFormatter.h>
#include <Poco/Util/Option.h>
#include <Poco/Util/OptionSet.h>
#include <spdlog/spdlog.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <stdexcept>

#include "app/audit_key.h"
#include "app/audit_watch.h"
#include "app/instance_lock.h"
#include "app/knowledge.h"
#include "app/logging.h"
#include "app/ticker.h"
#include "core/memory.h"
#include "core/version.h"
#include "exports/exporter.h"
#include "http/server.h"
#include "intake/intake_service.h"
#include "mail/file_mailer.h"
#include "mail/smtp_mailer.h"
#include "mail/templates.h"
#include "outbox/alert_planner.h"
#include "outbox/dispatcher.h"
#include "outbox/routing.h"
#include "store/sqlite_store.h"

namespace vigil::app {

VigildApp::VigildApp(std::string base_dir) : base_dir_(std::move(base_dir)) { setUnixOptions(true); }

void VigildApp::defineOptions(Poco::Util::OptionSet& options) {
  // Poco's --daemon and --umask as they are; its --pidfile writes the file as the option is read,
  // overwriting (and at exit deleting) the pidfile of a vigild already running. vigild's own
  // --pidfile locks the file first (main()).
  Poco::Util::OptionSet base;
  ServerApplication::defineOptions(base);
  for (const auto& option : base)
    if (option.fullName() != "pidfile") options.addOption(option);
  options.addOption(Poco::Util::Option("pidfile", "", "write the process id to FILE, held locked while vigild runs")
                        .required(false)
                        .repeatable(false)
                        .argument("FILE"));
  options.addOption(Poco::Util::Option("help", "h", "show the options").required(false).repeatable(false));
  options.addOption(Poco::Util::Option("config", "c", "main properties file (default config/vigil.properties)")
                        .required(false)
                        .repeatable(false)
                        .argument("FILE"));
  options.addOption(Poco::Util::Option("set", "s", "override one setting, e.g. --set=http.port=0")
                        .required(false)
                        .repeatable(true)
                        .argument("KEY=VALUE"));
}

void VigildApp::handleOption(const std::string& name, const std::string& value) {
  ServerApplication::handleOption(name, value);
  if (name == "help") {
    help_ = true;
    stopOptionsProcessing();
  } else if (name == "config") {
    config_file_ = value;
  } else if (name == "set") {
    overrides_.push_back(value);
  } else if (name == "pidfile") {
    pid_file_ = value;
  }
}

void VigildApp::initialize(Poco::Util::Application& self) {
  ServerApplication::initialize(self);
  if (help_) return;
  settings_ = loadSettings(config_file_, overrides_, base_dir_);
  setupLogging(settings_.log);
}

int VigildApp::main(const std::vector<std::string>& args) {
  if (help_) {
    Poco::Util::HelpFormatter help(options());
    help.setCommand(commandName());
    help.setUsage("[--config=FILE] [--set=KEY=VALUE ...] [--daemon --pidfile=FILE]");
    help.setHeader("vigild: Vigil's safety-monitoring daemon for the anlotinib + sintilimab ESCC trial.");
    help.format(std::cout);
    return EXIT_OK;
  }
  if (!args.empty()) {
    spdlog::error("unexpected argument '{}'", args.front());
    return EXIT_USAGE;
  }
  auto log = spdlog::get("app");
  log->info("vigild {} starting", core::kVersion);
  // One vigild per pidfile and per database: a second one would run a second dispatcher and
  // send every alert twice. The locks go with the process, however it ends.
  auto refused = [&](const InstanceLock& lock, const std::string& what) {
    if (lock.holder())
      log->error("{} is in use by another vigild, pid {} (lock {}); stop it first", what, *lock.holder(),
                 lock.error());
    else
      log->error("{} is in use or cannot be locked: {}", what, lock.error());
    return EXIT_TEMPFAIL;
  };
  InstanceLock pid_lock;
  if (!pid_file_.empty() && !pid_lock.acquire(pid_file_)) return refused(pid_lock, "the pidfile " + pid_file_);
  struct RemovePidFile {
    InstanceLock& lock;
    ~RemovePidFile() { lock.releaseAndRemove(); }
  } remove_pid_file{pid_lock};
  InstanceLock db_lock;  // the file stays when vigild stops; the next one overwrites its pid
  if (!db_lock.acquire(settings_.store.path + ".lock"))
    return refused(db_lock, "the database " + settings_.store.path);
  for (const auto& line : describe(settings_)) log->info("setting {}", line);

  std::string problem;
  auto knowledge = loadKnowledge(settings_, problem);
  if (!knowledge) {
    log->error("cannot load the clinical data: {}", problem);
    return EXIT_CONFIG;
  }
  log->info("CTCAE v5.0: {} terms, {} gradable analytes; safety categories version {}", knowledge->catalogue.size(),
            knowledge->grader.analytes().size(), knowledge->categories.version());

  core::SystemClock clock;
  core::HealthBoard health;  // before everything that posts to it, so it outlives them
  std::unique_ptr<store::SqliteStore> store;
  try {
    bool key_created = false;  // a brand-new database gets its own audit key (issue 13.4)
    settings_.store.audit_key = loadAuditKey(settings_.audit, settings_.store.path, true, &key_created);
    log->info("audit key {} {}", keyFingerprint(settings_.store.audit_key),
              key_created ? "created in " + settings_.audit.key_file : "loaded");
    store = std::make_unique<store::SqliteStore>(settings_.store, clock);
  } catch (const AuditKeyError& e) {
    log->error("{}", e.what());
    return EXIT_CONFIG;
  } catch (const std::exception& e) {
    log->error("cannot open the database {}: {}", settings_.store.path, e.what());
    return EXIT_CANTCREAT;
  }
  auto version = store->schemaVersion();
  log->info("database {} open, schema version {}", settings_.store.path, version.isOk() ? version.value() : -1);

  // Alert delivery: who gets what, and the words. A class without its recipients, or a template
  // naming a field that does not exist, stops start-up here rather than losing an alert later.
  std::unique_ptr<outbox::Routing> routing;
  std::unique_ptr<mail::Templates> templates;
  try {
    routing = std::make_unique<outbox::Routing>(outbox::Routing::load(settings_.recipients_file));
    auto sites = store->siteIds();
    if (!sites.isOk()) throw std::runtime_error("cannot read the sites: " + sites.status().message());
    routing->checkSites(sites.value());
    templates = std::make_unique<mail::Templates>(
        mail::Templates::load(settings_.alerts_dir + "/templates", outbox::AlertPlanner::templateFields()));
  } catch (const std::exception& e) {
    log->error("cannot route alerts: {}", e.what());
    store->close();
    return EXIT_CONFIG;
  }
  std::unique_ptr<mail::Mailer> mailer;
  if (settings_.smtp.host.empty()) mailer = std::make_unique<mail::FileMailer>(settings_.mail_dir);
  else mailer = std::make_unique<mail::SmtpMailer>(settings_.smtp);
  log->info("alert email goes to {}", mailer->describe());
  const outbox::AlertPlanner planner(*routing, knowledge->dose, settings_.alerts);

  const rules::Evaluator evaluator(knowledge->dose, knowledge->reporting, knowledge->categories, knowledge->grader);
  const intake::SafetyMonitor safety(evaluator, &planner);
  intake::IntakeService intake(*store, clock, knowledge->catalogue, knowledge->grader, knowledge->reporting, &safety);
  // A first sweep at start-up records what clocks did while vigild was down.
  auto sweep = [&safety, &store, log] {
    auto n = safety.sweep(*store);
    if (!n.isOk()) log->error("safety sweep failed: {}", n.status().message());
    else if (n.value() > 0) log->info("safety sweep recorded {} change(s)", n.value());
    core::releaseFreeMemory();  // it evaluated every participant's whole history
    log->debug("safety sweep done");
  };
  sweep();
  Ticker sweeper(std::chrono::seconds(settings_.sweep_seconds), sweep);
  const intake::AuditCheckOptions audit_options{settings_.store.audit_key, settings_.audit.anchor_file};
  checkAuditInto(*store, audit_options, false, health);  // the head now; the whole trail in the background
  Ticker audit_checker(std::chrono::seconds(settings_.audit.verify_seconds),
                       [&] {
                         checkAuditInto(*store, audit_options, true, health);
                         core::releaseFreeMemory();  // it read the whole trail
                       },
                       true);
  outbox::Dispatcher dispatcher(*store, *mailer, *templates, planner, clock, settings_.outbox);
  // Late mail is written here for a person to send by hand (with smtp.host empty it is the mailer).
  mail::FileMailer fallback(settings_.mail_dir);
  dispatcher.setFallback(&fallback, &health);
  dispatcher.start();
  exports::PackageOptions package_options;
  package_options.study_id = settings_.study_id;
  package_options.software_version = core::kVersion;
  package_options.late_entry_ms = settings_.alerts.late_entry_ms;
  const exports::Reference reference = exportReference(*knowledge);
  const exports::DsmbExporter exporter(*store, reference, package_options, clock);
  http::Server server(settings_.http, intake, *store, clock);
  server.setExports(&exporter, settings_.exports_dir);
  server.setHealth(&health);
  try {
    try {
      server.start();
    } catch (const Poco::Exception& e) {
      // what() is only the class name ("Net Exception"); displayText() says why, e.g.
      // "Address already in use".
      throw std::runtime_error(e.displayText());
    }
  } catch (const std::exception& e) {
    log->error("cannot listen on {}:{}: {}", settings_.http.host, settings_.http.port, e.what());
    sweeper.stop();
    audit_checker.stop();
    dispatcher.stop();
    store->close();
    return EXIT_UNAVAILABLE;
  }
  log->info("listening on http://{}:{}", settings_.http.host, server.port());
  if (!settings_.port_file.empty()) {
    const std::string tmp = settings_.port_file + ".tmp";
    std::ofstream(tmp) << server.port() << "\n";
    std::filesystem::rename(tmp, settings_.port_file);
  }

  waitForTerminationRequest();

  log->info("stopping: finishing in-flight requests");
  server.stop();
  sweeper.stop();
  audit_checker.stop();
  dispatcher.stop();
  store->close();
  if (!settings_.port_file.empty()) std::filesystem::remove(settings_.port_file);
  log->info("stopped cleanly");
  spdlog::shutdown();
  return EXIT_OK;
}

std::string precheckSettings(int argc, char** argv, const std::string& base_dir) {
  std::string config = "config/vigil.properties";
  std::vector<std::string> overrides;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](const char* opt) -> std::optional<std::string> {
      const std::string prefix = std::string(opt) + "=";
      if (a.rfind(prefix, 0) == 0) return a.substr(prefix.size());
      if (a == opt && i + 1 < argc) return std::string(argv[++i]);
      return std::nullopt;
    };
    if (a == "--help" || a == "-h") return "";
    if (auto v = value("--config")) config = *v;
    else if (auto s = value("--set")) overrides.push_back(*s);
  }
  try {
    loadSettings(config, overrides, base_dir);
    return "";
  } catch (const std::exception& e) {
    return e.what();
  }
}

}  // namespace vigil::app
