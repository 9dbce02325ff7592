// Process lifecycle: configuration errors, --daemon with a pid file, graceful SIGTERM.
#include <catch2/catch.hpp>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

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
