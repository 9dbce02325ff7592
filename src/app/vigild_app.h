#pragma once
// The daemon: Poco ServerApplication with --config, --set, --daemon and --pidfile. Start-up is
// linear (settings, logging, store with migrations, HTTP); shutdown on SIGTERM or SIGINT goes
// in reverse: stop accepting, finish in-flight requests, drain the write queue, close the
// database cleanly. vigild holds an exclusive lock on its database (DB.lock beside it) and on its
// pidfile: a second vigild on either exits at once naming the holder's pid.

#include <Poco/Util/ServerApplication.h>

#include <memory>
#include <string>
#include <vector>

#include "app/settings.h"

namespace vigil::app {

class VigildApp final : public Poco::Util::ServerApplication {
 public:
  explicit VigildApp(std::string base_dir);

 protected:
  void initialize(Poco::Util::Application& self) override;
  void defineOptions(Poco::Util::OptionSet& options) override;
  int main(const std::vector<std::string>& args) override;

 private:
  void handleOption(const std::string& name, const std::string& value) override;

  std::string base_dir_;
  std::string config_file_ = "config/vigil.properties";
  std::vector<std::string> overrides_;
  std::string pid_file_;
  bool help_ = false;
  Settings settings_;
};

// Reads --config=FILE and --set=k=v from argv the way VigildApp will, so that a bad setting
// stops vigild with a message on stderr before --daemon detaches from the terminal.
// Returns an empty string when the settings are valid, else the message.
std::string precheckSettings(int argc, char** argv, const std::string& base_dir);

}  // namespace vigil::app
