#pragma once
// Request counters and latency histograms for GET /metrics (Prometheus text format 0.0.4), plus
// the standard process_* metrics read from /proc.
// Thread-safe; recording costs one short mutex hold per request.

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace vigil::http {

class Metrics {
 public:
  static constexpr std::array<double, 12> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,   0.5,   1.0,  2.5};

  // route is the route template ("/api/v1/adverse-events/{id}"), never the raw path.
  void observe(const std::string& method, const std::string& route, int status, double seconds);
  // Renders every metric; gauges that live elsewhere are passed in.
  std::string render(uint64_t store_commits, double uptime_seconds) const;

  // Request bodies in flight share one memory budget (issue 13.5): a body is admitted only when
  // its bytes fit beside the others'. False (and a refusal counted) when they do not.
  bool reserveBody(size_t bytes, size_t budget);
  void releaseBody(size_t bytes) { body_bytes_.fetch_sub(bytes, std::memory_order_relaxed); }
  size_t bodyBytesInFlight() const { return body_bytes_.load(std::memory_order_relaxed); }

  // The front stage's connections (issue 13.3).
  static constexpr std::array<const char*, 4> kTimeoutPhases = {"head", "body", "idle", "write"};
  enum class Timeout { kHead = 0, kBody = 1, kIdle = 2, kWrite = 3 };
  void connectionOpened() { connections_open_.fetch_add(1, std::memory_order_relaxed); }
  void connectionClosed() { connections_open_.fetch_sub(1, std::memory_order_relaxed); }
  void refusedPerClient() { refused_per_client_.fetch_add(1, std::memory_order_relaxed); }
  void refusedCapacity() { refused_capacity_.fetch_add(1, std::memory_order_relaxed); }
  void timedOut(Timeout phase) { timed_out_[static_cast<size_t>(phase)].fetch_add(1, std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> connections_open_{0};
  std::atomic<uint64_t> refused_per_client_{0};
  std::atomic<uint64_t> refused_capacity_{0};
  std::array<std::atomic<uint64_t>, kTimeoutPhases.size()> timed_out_{};
  std::atomic<size_t> body_bytes_{0};
  std::atomic<uint64_t> body_refusals_{0};

  struct Histogram {
    std::array<uint64_t, kBuckets.size()> buckets{};
    uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mutex_;
  std::map<std::tuple<std::string, std::string, int>, uint64_t> requests_;
  std::map<std::string, Histogram> latency_;
};

}  // namespace vigil::http
