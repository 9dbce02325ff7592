#pragma once
// vigilctl: what is not a request. Commands:
//   vigilctl db migrate
//   vigilctl site add --id=S01 --name="Site name"
//   vigilctl user add --name=N --role=R [--site=S ...]   prints the new token once
//   vigilctl audit verify [--manifest=FILE]               exit 0 if chain, anchor and data verify, 1 if not
//   vigilctl audit init-key                               create the audit key (never overwrites one)
//   vigilctl audit anchor                                 anchor the verified head anew (after an incident)
//   vigilctl alerts list --state=dead|late|pending        undelivered alert mail (app/vigilctl_alerts.h)
//   vigilctl alerts retry ID | --all-dead                 queue dead deliveries again
//   vigilctl grade [--test=T --value=V ...]               CTCAE grading (grading/grade_lines.h)
//   vigilctl evaluate [--detail] < scenario.json          safety rules on one scenario (docs/evaluate.md)
//   vigilctl export dsmb --as-of=TS --out=DIR [--zero-rows]  DSMB review package (exports/package.h)
// Common options: --config=FILE, --set=KEY=VALUE (as vigild). Exit codes follow sysexits.h.

#include <Poco/Util/Application.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace vigil::core {
class Clock;
}
namespace vigil::store {
class Store;
class SqliteStore;
}

namespace vigil::app {

struct Knowledge;
struct Settings;

class VigilctlApp final : public Poco::Util::Application {
 public:
  explicit VigilctlApp(std::string base_dir);

 protected:
  void defineOptions(Poco::Util::OptionSet& options) override;
  void handleOption(const std::string& name, const std::string& value) override;
  int main(const std::vector<std::string>& args) override;

 private:
  int usage(const std::string& problem);
  int grade();
  int evaluate();
  int importLabs(store::SqliteStore& store, const Knowledge& knowledge, const Settings& settings,
                 const core::Clock& clock, const std::string& file, const std::string& user_name);
  int showAudit(store::SqliteStore& store, const std::string& entity, const std::string& id);
  int verifyAudit(store::SqliteStore& store, const Settings& settings);
  // Creates the key file and appends a keyed "init-key" entry; the settings then carry the key.
  int initAuditKey(Settings& settings);
  int anchorAudit(store::SqliteStore& store, const Settings& settings);
  int exportDsmb(store::Store& store, const Knowledge& knowledge, const Settings& settings, const core::Clock& clock);
  // Exit code 0, or the sysexits code after printing why, as every command needs.
  // needs_database: the command opens the database, so its directory must exist. vigilctl
  // never writes a log file, so the log directory is never needed.
  int readSettings(Settings& settings, bool needs_database) const;
  int readKnowledge(const Settings& settings, std::unique_ptr<Knowledge>& out) const;
  std::string option(const std::string& name) const;

  std::string base_dir_;
  std::string config_file_ = "config/vigil.properties";
  std::vector<std::string> overrides_;
  std::map<std::string, std::string> values_;
  std::vector<std::string> sites_;
  bool help_ = false;
};

}  // namespace vigil::app
