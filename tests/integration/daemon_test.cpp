// Process lifecycle: configuration errors, --daemon with a pid file, graceful SIGTERM.
#include <catch2/catch.hpp>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <signal.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "store/sqlite.h"
#include "support/daemon.h"

using namespace vigil::test;
using nlohmann::json;

namespace {
template <typename Pred>
bool waitFor(Pred pred, int seconds = 20) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}
}  // namespace

TEST_CASE("a bad setting stops vigild at start-up with a message naming the key", "[integration][daemon]") {
  Daemon d;
  auto args = d.commonArgs();
  args.push_back("--set=http.threads=0");
  auto r = runCommand(VIGILD_PATH, args);
  CHECK(r.exit_code == 78);
  CHECK_THAT(r.err, Catch::Contains("http.threads must be 2..1024"));
  auto env = runCommand(VIGILD_PATH, d.commonArgs(), {{"VIGIL_HTTP_PORT", "eighty"}});
  CHECK(env.exit_code == 78);
  CHECK_THAT(env.err, Catch::Contains("http.port must be an integer"));
  auto typo = runCommand(VIGILD_PATH, d.commonArgs(), {{"VIGIL_HTTP_PROT", "8081"}});
  CHECK(typo.exit_code == 78);
  CHECK_THAT(typo.err, Catch::Contains("VIGIL_HTTP_PROT: unknown setting"));
  auto secret = d.commonArgs();
  secret.push_back("--set=smtp.password=hunter2");
  auto in_ps = runCommand(VIGILD_PATH, secret);
  CHECK(in_ps.exit_code == 78);
  CHECK_THAT(in_ps.err, Catch::Contains("smtp.password: a secret on the command line"));
  CHECK_FALSE(std::filesystem::exists(d.dbPath()));  // nothing was created
}

TEST_CASE("vigild --daemon detaches, writes its pid file and stops on SIGTERM", "[integration][daemon]") {
  Daemon d;
  const std::string token = d.addUser("inv1", "investigator", {"S01"});
  const std::string pid_file = d.dir() + "/vigild.pid";
  const std::string port_file = d.dir() + "/port";
  auto args = d.commonArgs();
  args.insert(args.end(), {"--daemon", "--pidfile=" + pid_file, "--set=http.port=0", "--set=run.port_file=" + port_file,
                           "--set=log.console=false"});
  auto launched = runCommand(VIGILD_PATH, args);
  REQUIRE(launched.exit_code == 0);  // the foreground process returns at once
  REQUIRE(waitFor([&] { return std::filesystem::exists(port_file); }));
  long pid = 0;
  std::ifstream(pid_file) >> pid;
  REQUIRE(pid > 1);
  CHECK(::kill(static_cast<pid_t>(pid), 0) == 0);
  REQUIRE(::kill(static_cast<pid_t>(pid), SIGTERM) == 0);
  CHECK(waitFor([&] { return ::kill(static_cast<pid_t>(pid), 0) != 0; }));
  CHECK_FALSE(std::filesystem::exists(pid_file));
}

TEST_CASE("a second vigild on the same database exits at once naming the first one's pid", "[integration][daemon]") {
  Daemon d;
  const std::string token = d.addUser("inv1", "investigator", {"S01"});
  d.start();
  auto args = d.commonArgs();
  args.insert(args.end(), {"--set=http.port=0", "--set=run.port_file=" + d.dir() + "/port2"});
  const auto started = std::chrono::steady_clock::now();
  auto second = runCommand(VIGILD_PATH, args);
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));
  CHECK(second.exit_code == 75);  // EX_TEMPFAIL
  CHECK_THAT(second.err, Catch::Contains("in use by another vigild, pid " + std::to_string(d.pid())));
  CHECK_FALSE(std::filesystem::exists(d.dir() + "/port2"));  // it never listened
  // vigilctl keeps working beside the running daemon, and the first vigild is untouched.
  CHECK(d.ctl({"user", "list"}).exit_code == 0);
  CHECK(d.get("/api/v1/participants", token).status == 200);
  // Once the first has stopped, the lock is free again (nothing stale is left behind).
  REQUIRE(d.stop() == 0);
  d.start();
  CHECK(d.get("/api/v1/participants", token).status == 200);
}

TEST_CASE("a second vigild given a pidfile in use exits and leaves the holder's pidfile alone", "[integration][daemon]") {
  Daemon first;
  Daemon other;  // another database: only the pidfile is shared
  const std::string pid_file = first.dir() + "/vigild.pid";
  first.start({"--pidfile=" + pid_file});
  long pid = 0;
  std::ifstream(pid_file) >> pid;
  REQUIRE(pid == first.pid());
  auto args = other.commonArgs();
  args.insert(args.end(), {"--pidfile=" + pid_file, "--set=http.port=0"});
  auto second = runCommand(VIGILD_PATH, args);
  CHECK(second.exit_code == 75);
  CHECK_THAT(second.err, Catch::Contains("pidfile " + pid_file + " is in use by another vigild, pid " +
                                         std::to_string(first.pid())));
  long still = 0;
  std::ifstream(pid_file) >> still;
  CHECK(still == first.pid());
  REQUIRE(first.stop() == 0);
  CHECK_FALSE(std::filesystem::exists(pid_file));
}

TEST_CASE("vigilctl grade and evaluate need no log directory and no database directory", "[integration][daemon]") {
  // As on a fresh clone: the configured var/log (and here var/) do not exist.
  TempDir dir;
  const std::string config = dir.file("vigil.properties");
  std::ofstream(config) << "store.path = " << dir.file("missing/vigil.db") << "\nlog.file = " << dir.file("missing/log/vigild.log")
                        << "\nctcae.dir = " VIGIL_SOURCE_DIR "/ctcae\nalerts.dir = " VIGIL_SOURCE_DIR "/alerts\n";
  auto graded = runCommand(VIGILCTL_PATH, {"--config=" + config, "grade", "--test=HGB", "--value=85", "--unit=g/L",
                                           "--lln=120", "--uln=160"});
  CHECK(graded.exit_code == 0);
  CHECK_THAT(graded.out, Catch::Contains("\"grade\":2"));
  std::ofstream(dir.file("scenario.json"))
      << R"({"as_of":"2026-03-01T00:00:00Z","participant":{"id":"S01-001","site":"S01","enrolled":"2026-01-05",)"
      << R"("liver_metastases":false,"baseline_labs":[],"dose_mg":{"anlotinib":12,"sintilimab":200}},"doses":[],)"
      << R"("adverse_events":[],"labs":[],"vitals":[]})";
  auto evaluated = runCommand("/bin/sh", {"-c", "exec \"$0\" --config=\"$1\" evaluate < \"$2\"", VIGILCTL_PATH, config,
                                          dir.file("scenario.json")});
  CHECK(evaluated.exit_code == 0);
  CHECK_THAT(evaluated.out, Catch::Contains("\"anlotinib\""));
  CHECK(evaluated.err.find("does not exist") == std::string::npos);
  // A command that opens the database still says what is missing.
  auto listed = runCommand(VIGILCTL_PATH, {"--config=" + config, "user", "list"});
  CHECK(listed.exit_code == 78);
  CHECK_THAT(listed.err, Catch::Contains("store.path: directory"));
}

TEST_CASE("SIGTERM lets an in-flight batch finish and closes the database cleanly", "[integration][daemon]") {
  Daemon d;
  const std::string token = d.addUser("inv1", "investigator", {"S01"});
  d.start();
  REQUIRE(d.post("/api/v1/participants", token, participantBody("S01-001", "S01")).status == 201);
  json batch = {{"results", json::array()}};
  for (int i = 0; i < 10000; ++i) batch["results"].push_back(labBody("S01-001"));
  const std::string body = batch.dump();

  // The request is surely in flight: headers and half the body are sent before SIGTERM, the rest
  // after it.
  Poco::Net::StreamSocket socket(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(d.port())));
  const std::string head = "POST /api/v1/labs HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token +
                           "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                           "\r\n\r\n";
  const size_t half = body.size() / 2;
  socket.sendBytes(head.data(), static_cast<int>(head.size()));
  socket.sendBytes(body.data(), static_cast<int>(half));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  d.signalTerm();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  for (size_t sent = half; sent < body.size();)
    sent += static_cast<size_t>(socket.sendBytes(body.data() + sent, static_cast<int>(body.size() - sent)));
  std::string response;
  char buf[4096];
  int n = 0;
  while ((n = socket.receiveBytes(buf, sizeof buf)) > 0) {
    response.append(buf, static_cast<size_t>(n));
    if (response.find("\"stored\":10000") != std::string::npos) break;
  }
  CHECK(response.rfind("HTTP/1.1 201", 0) == 0);
  CHECK(d.waitExit() == 0);
  // A clean close checkpoints the write-ahead log into the database and removes it.
  CHECK_FALSE(std::filesystem::exists(d.dbPath() + "-wal"));
  d.start();
  auto labs = d.get("/api/v1/labs?participant=S01-001&limit=1000", token).json()["items"];
  CHECK(labs.size() == 1000);  // the first page of the 10,000 stored
  CHECK(d.ctl({"audit", "verify"}).exit_code == 0);
}

TEST_CASE("a request still with a worker when the drain ends is answered", "[integration][daemon]") {
  // The drain after SIGTERM is head + body timeout = 2 s here. The request is complete and with a
  // worker before SIGTERM; the worker cannot write until this test releases the database, 3 s
  // after SIGTERM, past the drain. The answer must still come (earlier vigild closed the
  // connection at the end of the drain, having stored the batch).
  Daemon d;
  const std::string token = d.addUser("inv1", "investigator", {"S01"});
  d.start({"--set=http.head_timeout_seconds=1", "--set=http.body_timeout_seconds=1"});
  REQUIRE(d.post("/api/v1/participants", token, participantBody("S01-001", "S01")).status == 201);
  vigil::store::Connection blocker(d.dbPath(), false);
  blocker.execute("BEGIN IMMEDIATE");  // holds the write lock
  const std::string body = json{{"results", json::array({labBody("S01-001"), labBody("S01-001")})}}.dump();
  Poco::Net::StreamSocket socket(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(d.port())));
  socket.setReceiveTimeout(Poco::Timespan(20, 0));
  const std::string request = "POST /api/v1/labs HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token +
                              "\r\nContent-Type: application/json\r\nContent-Length: " +
                              std::to_string(body.size()) + "\r\n\r\n" + body;
  socket.sendBytes(request.data(), static_cast<int>(request.size()));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the front stage hands it on
  d.signalTerm();
  std::this_thread::sleep_for(std::chrono::milliseconds(3000));  // past the 2 s drain, within the 5 s busy wait
  blocker.execute("ROLLBACK");
  std::string response;
  char buf[4096];
  int n = 0;
  while ((n = socket.receiveBytes(buf, sizeof buf)) > 0) response.append(buf, static_cast<size_t>(n));
  CHECK(response.rfind("HTTP/1.1 201", 0) == 0);
  CHECK_THAT(response, Catch::Contains("\"stored\":2"));
  CHECK(d.waitExit() == 0);
}

TEST_CASE("a second vigild on a port already served fails with address in use", "[integration][daemon]") {
  Daemon first;
  first.start();
  Daemon second;  // its own database, log and data directory
  // Daemon::start throws with vigild's stderr when it exits during start-up; a vigild that
  // shared the port (SO_REUSEPORT) would start instead, and the check below fail at once.
  std::string failure;
  try {
    second.start({"--set=http.port=" + std::to_string(first.port())});
  } catch (const std::exception& e) {
    failure = e.what();
  }
  CHECK_FALSE(second.running());
  CHECK_THAT(failure, Catch::Contains("exited during start-up (exit code "));
  CHECK_THAT(failure, !Catch::Contains("(exit code 0)"));
  CHECK_THAT(failure, Catch::Contains("cannot listen on 127.0.0.1:" + std::to_string(first.port())));
  CHECK_THAT(failure, Catch::Contains("already in use"));
  CHECK(first.get("/healthz", "").status == 200);  // the first is unaffected
  CHECK(first.stop() == 0);
}

TEST_CASE("/healthz turns degraded while writes fail on a full disk, and the refused write is a 503 that stores nothing",
          "[integration][daemon]") {
  Daemon d;
  const std::string inv = d.addUser("inv1", "investigator", {"S01"});
  // A full disk for vigild alone: a file-size limit, inherited across fork and exec, that its
  // database and WAL cannot grow past. SIGXFSZ ignored (also inherited) makes that EFBIG, not a kill.
  ::signal(SIGXFSZ, SIG_IGN);
  rlimit before{};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &before) == 0);
  rlimit small = before;
  small.rlim_cur = 4 << 20;
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
  d.start();
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &before) == 0);
  REQUIRE(d.post("/api/v1/participants", inv, participantBody("S01-001", "S01")).status == 201);
  CHECK(d.get("/healthz", "").json()["status"] == "ok");

  auto stored = [&] {
    size_t n = 0;
    int64_t after = 0;
    while (true) {
      const json page = d.get("/api/v1/labs?participant=S01-001&limit=1000&after_id=" + std::to_string(after), inv).json();
      n += page["items"].size();
      if (page["next_after_id"].is_null() || page["items"].empty()) return n;
      after = page["next_after_id"];
    }
  };
  // Batches of 10,000 results until the disk is full (4 MiB holds at most a couple).
  HttpResult refused;
  size_t before_refusal = 0;
  for (int batch = 0; batch < 6 && refused.status != 503; ++batch) {
    json results = json::array();
    for (int i = 0; i < 10000; ++i) {
      json lab = labBody("S01-001");
      lab["value"] = 40 + batch * 10000 + i;  // distinct values: nothing is a duplicate
      results.push_back(lab);
    }
    before_refusal = stored();
    auto r = d.post("/api/v1/labs", inv, {{"results", results}});
    if (r.status != 201) refused = r;
  }
  REQUIRE(refused.status == 503);
  CHECK(refused.content_type == "application/problem+json");
  CHECK(stored() == before_refusal);  // nothing of the refused batch
  const json health = d.get("/healthz", "").json();
  CHECK(health["status"] == "degraded");
  REQUIRE(health["problems"].contains("store"));
  CHECK_THAT(health["problems"]["store"].get<std::string>(), Catch::StartsWith("writes are failing"));
  // Reads still work while writes fail.
  CHECK(d.get("/api/v1/participants/S01-001", inv).status == 200);
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define VIGIL_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define VIGIL_SANITIZED 1
#endif
#endif

namespace {
long residentKb(long pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}
}  // namespace

TEST_CASE("vigild gives the memory of two 10,000-result lab batches and of its sweeps over them back", "[integration][daemon]") {
#ifdef VIGIL_SANITIZED
  // The sanitizers' allocators keep freed memory in quarantine: resident memory says nothing there.
  WARN("resident memory is not measured in a sanitized build");
#else
  Daemon d;
  const std::string token = d.addUser("inv1", "investigator", {"S01"});
  d.start({"--set=rules.sweep_seconds=1", "--set=log.level=debug"});
  REQUIRE(d.post("/api/v1/participants", token, participantBody("S01-001", "S01")).status == 201);
  const long before = residentKb(d.pid());
  REQUIRE(before > 0);
  // Each batch's evaluation reads the participant's whole history: the second peaks higher. Kept
  // mapped, the two left vigild 127 MB above its idle size in a release build; given back, 54 MB.
  for (int b = 0; b < 2; ++b) {
    nlohmann::json batch = {{"results", nlohmann::json::array()}};
    for (int i = 0; i < 10000; ++i) {
      const int minute = b * 10000 + i;
      char at[32];
      std::snprintf(at, sizeof at, "2026-02-%02dT%02d:%02d:00Z", 1 + minute / 1440, minute / 60 % 24, minute % 60);
      batch["results"].push_back({{"study_id", "S01-001"}, {"test", i % 2 ? "ALT" : "HGB"}, {"value", 30 + i % 50},
                                  {"unit", i % 2 ? "U/L" : "g/L"}, {"lln", 7}, {"uln", 40}, {"collected_at", at}});
    }
    const auto stored = d.post("/api/v1/labs", token, batch);
    INFO(stored.body.substr(0, 300));
    REQUIRE(stored.status == 201);
  }
  // The trim follows the answer on the worker: wait for it, up to 5 s.
  long after = 0;
  // (after > 0: a vigild that died has given nothing back.)
  const bool given_back = waitFor([&] { return (after = residentKb(d.pid())) > 0 && after - before < 90 * 1024; }, 5);
  INFO("resident before " << before / 1024 << " MB, after " << after / 1024 << " MB");
  CHECK(given_back);
  // The sweep (every second here) evaluates the participant's 20,000 results on a thread of its
  // own: without a trim its peak stays (109-136 MB above idle measured); with it, 29-32 MB.
  auto sweeps = [&] {
    std::ifstream log(d.logPath());
    std::string line;
    int n = 0;
    while (std::getline(log, line)) n += line.find("safety sweep done") != std::string::npos;
    return n;
  };
  const int swept = sweeps();
  REQUIRE(waitFor([&] { return sweeps() >= swept + 2; }, 20));
  const bool sweeps_given_back =
      waitFor([&] { return (after = residentKb(d.pid())) > 0 && after - before < 80 * 1024; }, 10);
  INFO("after two more sweeps " << after / 1024 << " MB");
  CHECK(sweeps_given_back);
#endif
}
