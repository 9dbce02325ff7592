// An authenticated client's latency while a crowd of silent and dripping sockets holds
// connections open against a running vigild (issue 13.3). Each request is a GET of the
// participant list on a fresh connection, one after the other; first without the crowd, then
// with it.
// Usage: bench_slow_clients PORT TOKEN SECONDS SILENT DRIPPING [SOURCES]
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "support/socket_crowd.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Run {
  std::vector<double> ms;
  int failures = 0;
};

Run measure(int port, const std::string& token, int seconds) {
  Run run;
  const auto end = Clock::now() + std::chrono::seconds(seconds);
  while (Clock::now() < end) {
    const auto start = Clock::now();
    int status = 0;
    try {
      Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(port));
      session.setTimeout(Poco::Timespan(30, 0));
      Poco::Net::HTTPRequest req("GET", "/api/v1/participants", Poco::Net::HTTPMessage::HTTP_1_1);
      req.set("Authorization", "Bearer " + token);
      session.sendRequest(req);
      Poco::Net::HTTPResponse resp;
      std::stringstream ss;
      ss << session.receiveResponse(resp).rdbuf();
      status = static_cast<int>(resp.getStatus());
    } catch (const std::exception&) {
      status = -1;
    }
    run.ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    if (status != 200) ++run.failures;
  }
  std::sort(run.ms.begin(), run.ms.end());
  return run;
}

void print(const char* label, const Run& r, int seconds) {
  const auto at = [&](double q) { return r.ms[static_cast<size_t>(q * static_cast<double>(r.ms.size() - 1))]; };
  std::printf("%s: %zu requests in %d s (%.0f/s), p50 %.2f ms, p99 %.2f ms, max %.2f ms, %d not 200\n", label,
              r.ms.size(), seconds, static_cast<double>(r.ms.size()) / seconds, at(0.5), at(0.99), r.ms.back(),
              r.failures);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr, "usage: %s PORT TOKEN SECONDS SILENT DRIPPING [SOURCES]\n", argv[0]);
    return 64;
  }
  const int port = std::atoi(argv[1]);
  const std::string token = argv[2];
  const int seconds = std::atoi(argv[3]);
  vigil::test::CrowdOptions crowd_options;
  crowd_options.port = port;
  crowd_options.silent = std::atoi(argv[4]);
  crowd_options.dripping = std::atoi(argv[5]);
  crowd_options.sources = argc > 6 ? std::atoi(argv[6]) : 20;
  crowd_options.drip_interval_ms = 2000;

  print("no crowd", measure(port, token, seconds), seconds);
  vigil::test::SocketCrowd crowd(crowd_options);
  const Run loaded = measure(port, token, seconds);
  const int open = crowd.open();
  crowd.stop();
  char label[128];
  std::snprintf(label, sizeof label, "%d silent + %d dripping sockets", crowd_options.silent, crowd_options.dripping);
  print(label, loaded, seconds);
  std::printf("crowd: %d sockets open at the end, %lld reopened after the server closed them (%lld of those after a 408)\n",
              open, static_cast<long long>(crowd.reopened()), static_cast<long long>(crowd.answered408()));
  return loaded.failures == 0 ? 0 : 1;
}
