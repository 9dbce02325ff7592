// Times POST /api/v1/labs with a 10,000-result batch against a running vigild.
// Usage: bench_lab_batch PORT TOKEN STUDY_ID [repeats]
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s PORT TOKEN STUDY_ID [repeats]\n", argv[0]);
    return 64;
  }
  const int repeats = argc > 4 ? std::atoi(argv[4]) : 7;
  nlohmann::json batch = {{"results", nlohmann::json::array()}};
  for (int i = 0; i < 10000; ++i)
    batch["results"].push_back({{"study_id", argv[3]}, {"test", i % 2 ? "ALT" : "HGB"}, {"value", 30 + i % 50},
                                {"unit", i % 2 ? "U/L" : "g/L"}, {"lln", 7}, {"uln", 40},
                                {"collected_at", "2026-02-01T08:00:00Z"}, {"specimen", "serum"}});
  const std::string body = batch.dump();
  std::vector<double> ms;
  Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(std::atoi(argv[1])));
  for (int r = 0; r < repeats; ++r) {
    Poco::Net::HTTPRequest req("POST", "/api/v1/labs", Poco::Net::HTTPMessage::HTTP_1_1);
    req.set("Authorization", std::string("Bearer ") + argv[2]);
    req.setContentType("application/json");
    req.setContentLength64(static_cast<Poco::Int64>(body.size()));
    const auto start = std::chrono::steady_clock::now();
    session.sendRequest(req) << body;
    Poco::Net::HTTPResponse resp;
    std::stringstream ss;
    ss << session.receiveResponse(resp).rdbuf();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    if (resp.getStatus() != Poco::Net::HTTPResponse::HTTP_CREATED) {
      std::fprintf(stderr, "status %d: %s\n", static_cast<int>(resp.getStatus()), ss.str().substr(0, 300).c_str());
      return 1;
    }
  }
  std::sort(ms.begin(), ms.end());
  std::printf("10,000-result lab batch (%.1f MB) over HTTP, %d runs: min %.0f ms, median %.0f ms, max %.0f ms\n",
              static_cast<double>(body.size()) / 1e6, repeats, ms.front(), ms[ms.size() / 2], ms.back());
  return 0;
}
