#pragma once
// Runs the real vigild and vigilctl binaries for integration tests: a temporary directory with
// the database and log, an ephemeral port (http.port=0, read back from run.port_file), and a
// small HTTP client.

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "support/temp_dir.h"

namespace vigil::test {

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs a program to completion, capturing stdout and stderr.
CommandResult runCommand(const std::string& program, const std::vector<std::string>& args,
                         const std::map<std::string, std::string>& env = {});

struct HttpResult {
  int status = 0;
  std::string reason;  // the status line's reason phrase
  std::string body;
  std::string content_type;
  std::map<std::string, std::string> headers;
  nlohmann::json json() const { return nlohmann::json::parse(body); }
};

class Daemon {
 public:
  // Prepares a data directory; start() launches vigild on it.
  Daemon();
  ~Daemon();

  // Starts vigild (extra args appended) and waits until it listens. Throws on failure.
  void start(const std::vector<std::string>& extra_args = {});
  // Sends SIGTERM and waits for exit; returns the exit code.
  int stop();
  // Sends SIGTERM without waiting; waitExit() then collects the exit code.
  void signalTerm();
  int waitExit();
  // SIGKILL, no clean-up: for crash tests.
  void kill9();
  bool running() const;
  int port() const { return port_; }
  long pid() const;

  // vigilctl against the same database.
  CommandResult ctl(const std::vector<std::string>& args) const;
  // Creates site (if new) and a user; returns the token.
  std::string addUser(const std::string& name, const std::string& role, const std::vector<std::string>& sites = {});
  void addSite(const std::string& id);

  HttpResult request(const std::string& method, const std::string& path, const std::string& token,
                     const std::string& body = "", const std::map<std::string, std::string>& headers = {}) const;
  HttpResult post(const std::string& path, const std::string& token, const nlohmann::json& body,
                  const std::map<std::string, std::string>& headers = {}) const {
    return request("POST", path, token, body.dump(), headers);
  }
  HttpResult get(const std::string& path, const std::string& token) const { return request("GET", path, token); }

  const std::string& dir() const { return dir_.path(); }
  std::string dbPath() const { return dir_.file("vigil.db"); }
  std::string logPath() const { return dir_.file("vigild.log"); }
  // Waits until /healthz reports no pending alert email and at least min_sent sent; false on
  // timeout.
  bool waitOutboxIdle(int64_t min_sent, int timeout_ms = 10000) const;
  // Where alert emails go as .eml files when no SMTP server is configured.
  std::string mailDir() const { return dir_.file("mail"); }
  std::vector<std::string> commonArgs() const;

 private:
  TempDir dir_;
  struct Process;
  std::unique_ptr<Process> process_;
  int port_ = 0;
};

// A valid body for each resource, to be varied by tests.
nlohmann::json participantBody(const std::string& study_id, const std::string& site);
nlohmann::json aeBody(const std::string& study_id);
nlohmann::json labBody(const std::string& study_id);
nlohmann::json doseBody(const std::string& study_id);
nlohmann::json vitalsBody(const std::string& study_id);

}  // namespace vigil::test
