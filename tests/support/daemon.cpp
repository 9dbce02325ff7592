#include "support/daemon.h"

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace vigil::test {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// fork + exec with stdout/stderr sent to files; returns the child's pid.
pid_t spawn(const std::string& program, const std::vector<std::string>& args, const std::string& out_file,
            const std::string& err_file, const std::map<std::string, std::string>& env) {
  std::vector<std::string> argv_store{program};
  argv_store.insert(argv_store.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_store) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    const int out = open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int in = open("/dev/null", O_RDONLY);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    if (chdir(VIGIL_SOURCE_DIR) != 0) _exit(126);
    execv(program.c_str(), argv.data());
    _exit(127);
  }
  return pid;
}

int reap(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

CommandResult runCommand(const std::string& program, const std::vector<std::string>& args,
                         const std::map<std::string, std::string>& env) {
  TempDir tmp;
  const pid_t pid = spawn(program, args, tmp.file("out"), tmp.file("err"), env);
  CommandResult r;
  r.exit_code = reap(pid);
  r.out = slurp(tmp.file("out"));
  r.err = slurp(tmp.file("err"));
  return r;
}

struct Daemon::Process {
  pid_t pid = -1;
  bool exited = false;
};

Daemon::Daemon() = default;

Daemon::~Daemon() {
  if (running()) {
    ::kill(process_->pid, SIGKILL);
    reap(process_->pid);
  }
}

bool Daemon::waitOutboxIdle(int64_t min_sent, int timeout_ms) const {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    auto h = get("/healthz", "");
    if (h.status == 200) {
      auto o = h.json()["outbox"];
      if (o.value("pending", 1) == 0 && o.value("sent", 0) >= min_sent) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

std::vector<std::string> Daemon::commonArgs() const {
  return {"--config=" VIGIL_SOURCE_DIR "/config/vigil.properties", "--set=store.path=" + dbPath(),
          "--set=log.file=" + logPath(), "--set=mail.dir=" + mailDir(),
          "--set=exports.dir=" + dir_.file("exports")};
}

void Daemon::start(const std::vector<std::string>& extra_args) {
  const std::string port_file = dir_.file("port");
  std::remove(port_file.c_str());
  auto args = commonArgs();
  args.push_back("--set=http.port=0");
  args.push_back("--set=run.port_file=" + port_file);
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  process_ = std::make_unique<Process>();
  process_->pid = spawn(VIGILD_PATH, args, dir_.file("stdout"), dir_.file("stderr"), {});
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(process_->pid, &status, WNOHANG) == process_->pid) {
      process_->exited = true;
      const std::string how = WIFSIGNALED(status) ? "killed by signal " + std::to_string(WTERMSIG(status))
                                                  : "exit code " + std::to_string(WEXITSTATUS(status));
      throw std::runtime_error("vigild exited during start-up (" + how + "): " + slurp(dir_.file("stderr")));
    }
    std::ifstream in(port_file);
    if (in >> port_) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error("vigild did not start within 20 s");
}

bool Daemon::running() const { return process_ && !process_->exited && process_->pid > 0; }
long Daemon::pid() const { return process_ ? process_->pid : -1; }

int Daemon::stop() {
  if (!running()) return -1;
  ::kill(process_->pid, SIGTERM);
  const int code = reap(process_->pid);
  process_->exited = true;
  return code;
}

void Daemon::signalTerm() {
  if (running()) ::kill(process_->pid, SIGTERM);
}

int Daemon::waitExit() {
  if (!running()) return -1;
  const int code = reap(process_->pid);
  process_->exited = true;
  return code;
}

void Daemon::kill9() {
  if (!running()) return;
  ::kill(process_->pid, SIGKILL);
  reap(process_->pid);
  process_->exited = true;
}

CommandResult Daemon::ctl(const std::vector<std::string>& args) const {
  auto all = args;
  for (const auto& a : commonArgs()) all.push_back(a);
  return runCommand(VIGILCTL_PATH, all);
}

void Daemon::addSite(const std::string& id) {
  auto r = ctl({"site", "add", "--id=" + id, "--name=Site " + id});
  if (r.exit_code != 0 && r.err.find("already exists") == std::string::npos)
    throw std::runtime_error("site add failed: " + r.err);
}

std::string Daemon::addUser(const std::string& name, const std::string& role, const std::vector<std::string>& sites) {
  std::vector<std::string> args{"user", "add", "--name=" + name, "--role=" + role};
  for (const auto& s : sites) {
    addSite(s);
    args.push_back("--site=" + s);
  }
  auto r = ctl(args);
  if (r.exit_code != 0) throw std::runtime_error("user add failed: " + r.err);
  std::string token = r.out;
  while (!token.empty() && (token.back() == '\n' || token.back() == ' ')) token.pop_back();
  return token;
}

HttpResult Daemon::request(const std::string& method, const std::string& path, const std::string& token,
                           const std::string& body, const std::map<std::string, std::string>& headers) const {
  Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(port_));
  session.setTimeout(Poco::Timespan(30, 0));
  Poco::Net::HTTPRequest req(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
  if (!token.empty()) req.set("Authorization", "Bearer " + token);
  if (!body.empty() || method == "POST" || method == "PUT") {
    req.setContentType("application/json");
    req.setContentLength64(static_cast<Poco::Int64>(body.size()));
  }
  for (const auto& [k, v] : headers) req.set(k, v);
  session.sendRequest(req) << body;
  Poco::Net::HTTPResponse resp;
  std::istream& in = session.receiveResponse(resp);
  HttpResult r;
  r.status = static_cast<int>(resp.getStatus());
  r.reason = resp.getReason();
  r.content_type = resp.getContentType();
  for (const auto& [k, v] : resp) r.headers[k] = v;
  std::stringstream ss;
  ss << in.rdbuf();
  r.body = ss.str();
  return r;
}

nlohmann::json participantBody(const std::string& study_id, const std::string& site) {
  return {{"study_id", study_id},
          {"site", site},
          {"enrolled_on", "2026-01-05"},
          {"liver_metastases", false},
          {"prior_thoracic_radiotherapy", true},
          {"dose_mg", {{"anlotinib", 12}, {"sintilimab", 200}}},
          {"baseline_labs", {{{"test", "ALT"}, {"value", 30}, {"unit", "U/L"}, {"lln", 7}, {"uln", 40}}}}};
}

nlohmann::json aeBody(const std::string& study_id) {
  return {{"study_id", study_id},
          {"verbatim", "nose bleed"},
          {"ctcae_term", "Epistaxis"},
          {"meddra_code", "10015090"},
          {"grade", 1},
          {"serious_criteria", nlohmann::json::array()},
          {"relatedness", {{"anlotinib", "possible"}, {"sintilimab", "unlikely"}}},
          {"action_taken", {{"anlotinib", "dose_not_changed"}, {"sintilimab", "dose_not_changed"}}},
          {"outcome", "recovering"},
          {"start", "2026-02-10"},
          {"site_aware_at", "2026-02-10T08:00:00Z"},
          {"narrative", "Self-limiting epistaxis."}};
}

nlohmann::json labBody(const std::string& study_id) {
  return {{"study_id", study_id}, {"test", "ALT"},  {"value", 250},
          {"unit", "U/L"},        {"lln", 7},       {"uln", 40},
          {"collected_at", "2026-02-01T08:00:00Z"}, {"specimen", "serum"}};
}

nlohmann::json doseBody(const std::string& study_id) {
  return {{"study_id", study_id}, {"drug", "anlotinib"}, {"dose_mg", 12},   {"route", "oral"},
          {"date", "2026-01-05"}, {"cycle", 1},          {"day", 1},        {"status", "given"}};
}

nlohmann::json vitalsBody(const std::string& study_id) {
  return {{"study_id", study_id}, {"measured_at", "2026-02-03T09:00:00Z"}, {"systolic_mmhg", 172},
          {"diastolic_mmhg", 104}, {"heart_rate_bpm", 80},                 {"temperature_c", 37.1}};
}

}  // namespace vigil::test

// ---- SmtpSink ------------------------------------------------------------------------------

#include "support/smtp_sink.h"

#include <filesystem>

namespace vigil::test {
namespace {

// Lenient quoted-printable decoding: soft breaks removed, =XY decoded, anything else kept.
std::string decodeQp(const std::string& in) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '=' && i + 2 < in.size() && in[i + 1] == '\r' && in[i + 2] == '\n') {
      i += 2;
    } else if (in[i] == '=' && i + 1 < in.size() && in[i + 1] == '\n') {
      i += 1;
    } else if (in[i] == '=' && i + 2 < in.size() && hex(in[i + 1]) >= 0 && hex(in[i + 2]) >= 0) {
      out += static_cast<char>(hex(in[i + 1]) * 16 + hex(in[i + 2]));
      i += 2;
    } else {
      out += in[i];
    }
  }
  return out;
}

}  // namespace

SmtpSink::~SmtpSink() { stop(); }

void SmtpSink::start(const SinkOptions& options) {
  const std::string port_file = dir_.file("port");
  std::remove(port_file.c_str());
  std::vector<std::string> args = {VIGIL_SOURCE_DIR "/tests/support/smtp_sink.py", "--port",
                                   std::to_string(options.port), "--port-file", port_file, "--out", dir_.file("messages")};
  for (const auto& r : options.refuse) args.insert(args.end(), {"--refuse", r});
  if (options.delay_ms) args.insert(args.end(), {"--delay-ms", std::to_string(options.delay_ms)});
  if (!options.auth.empty()) args.insert(args.end(), {"--auth", options.auth});
  if (!options.tls.empty()) {
    const std::string cert = dir_.file("cert.pem"), key = dir_.file("key.pem");
    auto made = runCommand("/usr/bin/openssl", {"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                                                "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                                                "-keyout", key, "-out", cert});
    if (made.exit_code != 0) throw std::runtime_error("openssl could not make a test certificate: " + made.err);
    args.insert(args.end(), {"--tls", options.tls, "--cert", cert, "--key", key});
  }
  pid_ = spawn("/usr/bin/python3", args, dir_.file("sink.out"), dir_.file("sink.err"), {});
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream in(port_file);
    if (in >> port_ && port_ > 0) return;
    int status = 0;
    if (waitpid(static_cast<pid_t>(pid_), &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("smtp_sink.py exited: " + slurp(dir_.file("sink.err")));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error("smtp_sink.py did not start: " + slurp(dir_.file("sink.err")));
}

void SmtpSink::stop() {
  if (pid_ <= 0) return;
  ::kill(static_cast<pid_t>(pid_), SIGTERM);
  reap(static_cast<pid_t>(pid_));
  pid_ = -1;
}

std::vector<SinkMessage> SmtpSink::messages() const {
  namespace fs = std::filesystem;
  std::vector<std::string> files;
  const fs::path dir = dir_.file("messages");
  if (fs::exists(dir))
    for (const auto& e : fs::directory_iterator(dir))
      if (e.path().extension() == ".json") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  std::vector<SinkMessage> out;
  for (const auto& f : files) {
    auto j = nlohmann::json::parse(slurp(f));
    SinkMessage m;
    m.mail_from = j.value("mail_from", "");
    m.rcpt_tos = j.value("rcpt_tos", std::vector<std::string>{});
    m.data = j.value("data", "");
    m.received_ms = j.value("received_ms", int64_t{0});
    m.tls = j.value("tls", false);
    size_t end = m.data.find("\r\n\r\n");
    const size_t sep = end == std::string::npos ? 0 : 4;
    if (end == std::string::npos) end = m.data.find("\n\n");
    const std::string head = m.data.substr(0, end);
    m.body = decodeQp(end == std::string::npos ? "" : m.data.substr(end + (sep ? sep : 2)));
    std::istringstream lines(head);
    std::string line, last;
    while (std::getline(lines, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!line.empty() && (line[0] == ' ' || line[0] == '\t') && !last.empty()) {
        m.headers[last] += line;
        continue;
      }
      const auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon);
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      m.headers[name] = value;
      last = name;
    }
    out.push_back(std::move(m));
  }
  return out;
}

bool SmtpSink::waitFor(size_t n, int timeout_ms) const {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (messages().size() >= n) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return messages().size() >= n;
}

}  // namespace vigil::test
