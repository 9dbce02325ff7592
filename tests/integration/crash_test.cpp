// kill -9 while clients post AEs: every acknowledged AE survives and the audit chain verifies.
#include <catch2/catch.hpp>

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>

#include <atomic>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "support/daemon.h"

using namespace vigil::test;
using nlohmann::json;

TEST_CASE("kill -9 during AE intake loses no acknowledged AE", "[integration][crash]") {
  Daemon d;
  const std::string token = d.addUser("inv1", "investigator", {"S01"});
  d.start();
  REQUIRE(d.post("/api/v1/participants", token, participantBody("S01-001", "S01")).status == 201);

  std::mutex mutex;
  std::set<int64_t> acknowledged;
  std::atomic<int> posted{0};
  std::atomic<bool> stop{false};
  const std::string body = aeBody("S01-001").dump();
  std::vector<std::thread> clients;
  for (int c = 0; c < 8; ++c) {
    clients.emplace_back([&] {
      try {
        Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(d.port()));
        session.setKeepAlive(true);
        while (!stop) {
          Poco::Net::HTTPRequest req("POST", "/api/v1/adverse-events", Poco::Net::HTTPMessage::HTTP_1_1);
          req.set("Authorization", "Bearer " + token);
          req.setContentType("application/json");
          req.setContentLength64(static_cast<Poco::Int64>(body.size()));
          session.sendRequest(req) << body;
          Poco::Net::HTTPResponse resp;
          std::stringstream ss;
          ss << session.receiveResponse(resp).rdbuf();
          ++posted;
          if (resp.getStatus() == Poco::Net::HTTPResponse::HTTP_CREATED) {
            std::lock_guard lock(mutex);
            acknowledged.insert(json::parse(ss.str())["id"].get<int64_t>());
          }
        }
      } catch (const std::exception&) {
        // The daemon died under us: the request in flight was never acknowledged.
      }
    });
  }
  while (posted < 300) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  d.kill9();
  stop = true;
  for (auto& t : clients) t.join();
  REQUIRE(acknowledged.size() >= 300 - 8);

  d.start();
  std::set<int64_t> stored;
  int64_t after = 0;
  for (;;) {
    auto page = d.get("/api/v1/adverse-events?limit=1000&after_id=" + std::to_string(after), token).json();
    if (page["items"].empty()) break;
    for (const auto& ae : page["items"]) stored.insert(ae["id"].get<int64_t>());
    after = page["next_after_id"];
  }
  size_t missing = 0;
  for (int64_t id : acknowledged) missing += stored.count(id) == 0;
  CHECK(missing == 0);
  INFO("acknowledged " << acknowledged.size() << ", stored " << stored.size());
  CHECK(stored.size() >= acknowledged.size());
  d.stop();
  auto verify = d.ctl({"audit", "verify"});
  CHECK(verify.exit_code == 0);
  CHECK_THAT(verify.out, Catch::Contains("verifies"));
}
