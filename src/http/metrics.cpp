#include "http/metrics.h"

#include <cstdio>
#include <tuple>

namespace vigil::http {

void Metrics::observe(const std::string& method, const std::string& route, int status, double seconds) {
  std::lock_guard lock(mutex_);
  ++requests_[{method, route, status}];
  auto& h = latency_[route];
  for (size_t i = 0; i < kBuckets.size(); ++i)
    if (seconds <= kBuckets[i]) ++h.buckets[i];
  ++h.count;
  h.sum += seconds;
}

std::string Metrics::render(uint64_t store_commits, double uptime_seconds) const {
  std::string out;
  char buf[256];
  out += "# HELP vigil_http_requests_total HTTP requests by method, route and status.\n";
  out += "# TYPE vigil_http_requests_total counter\n";
  std::lock_guard lock(mutex_);
  for (const auto& [key, n] : requests_) {
    const auto& [method, route, status] = key;
    std::snprintf(buf, sizeof buf, "vigil_http_requests_total{method=\"%s\",route=\"%s\",status=\"%d\"} %llu\n",
                  method.c_str(), route.c_str(), status, static_cast<unsigned long long>(n));
    out += buf;
  }
  out += "# HELP vigil_http_request_duration_seconds Time from request start to response sent.\n";
  out += "# TYPE vigil_http_request_duration_seconds histogram\n";
  for (const auto& [route, h] : latency_) {
    for (size_t i = 0; i < kBuckets.size(); ++i) {
      std::snprintf(buf, sizeof buf, "vigil_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
                    route.c_str(), kBuckets[i], static_cast<unsigned long long>(h.buckets[i]));
      out += buf;
    }
    std::snprintf(buf, sizeof buf,
                  "vigil_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n"
                  "vigil_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n"
                  "vigil_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
                  route.c_str(), static_cast<unsigned long long>(h.count), route.c_str(), h.sum, route.c_str(),
                  static_cast<unsigned long long>(h.count));
    out += buf;
  }
  char tail[512];
  std::snprintf(tail, sizeof tail,
                "# HELP vigil_store_commits_total Write transactions committed (each may carry many requests).\n"
                "# TYPE vigil_store_commits_total counter\nvigil_store_commits_total %llu\n"
                "# HELP vigil_uptime_seconds Seconds since vigild started.\n"
                "# TYPE vigil_uptime_seconds gauge\nvigil_uptime_seconds %.3f\n",
                static_cast<unsigned long long>(store_commits), uptime_seconds);
  out += tail;
  return out;
}

}  // namespace vigil::http
