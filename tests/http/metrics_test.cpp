#include <catch2/catch.hpp>

#include "http/metrics.h"

using vigil::http::Metrics;

TEST_CASE("metrics count requests by route and status and bucket their latency", "[http]") {
  Metrics m;
  m.observe("POST", "/api/v1/labs", 201, 0.002);
  m.observe("POST", "/api/v1/labs", 201, 0.030);
  m.observe("POST", "/api/v1/labs", 422, 0.0004);
  const std::string text = m.render(7, 12.5);
  CHECK_THAT(text, Catch::Contains("vigil_http_requests_total{method=\"POST\",route=\"/api/v1/labs\",status=\"201\"} 2"));
  CHECK_THAT(text, Catch::Contains("vigil_http_requests_total{method=\"POST\",route=\"/api/v1/labs\",status=\"422\"} 1"));
  // 0.0004 s falls in le=0.0005; 0.002 s first counts in le=0.0025; 0.030 s in le=0.05.
  CHECK_THAT(text, Catch::Contains("vigil_http_request_duration_seconds_bucket{route=\"/api/v1/labs\",le=\"0.0005\"} 1"));
  CHECK_THAT(text, Catch::Contains("vigil_http_request_duration_seconds_bucket{route=\"/api/v1/labs\",le=\"0.0025\"} 2"));
  CHECK_THAT(text, Catch::Contains("vigil_http_request_duration_seconds_bucket{route=\"/api/v1/labs\",le=\"0.025\"} 2"));
  CHECK_THAT(text, Catch::Contains("vigil_http_request_duration_seconds_bucket{route=\"/api/v1/labs\",le=\"0.05\"} 3"));
  CHECK_THAT(text, Catch::Contains("vigil_http_request_duration_seconds_count{route=\"/api/v1/labs\"} 3"));
  CHECK_THAT(text, Catch::Contains("vigil_store_commits_total 7"));
}
