#pragma once
// The routes of vigild's HTTP API, independent of Poco: each takes a decoded Request and
// returns a Response. Handlers only decode, call one service and map the result (STYLE R1).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/health.h"
#include "core/model.h"
#include "core/status.h"
#include "core/time.h"
#include "http/metrics.h"
#include "http/router.h"
#include "exports/exporter.h"
#include "intake/intake_service.h"
#include "store/store.h"

namespace vigil::http {

struct Request {
  std::string method;
  std::string path;
  std::map<std::string, std::string> params;  // from the route template
  std::map<std::string, std::string> query;
  std::string body;
  std::string content_type;  // application/json, or text/csv where a route takes a file
  std::optional<std::string> idempotency_key;
  const core::User* user = nullptr;  // set for authenticated routes
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// application/problem+json (RFC 9457) for a failed Status, naming every bad field.
// A problem+json answer. Field errors beyond kMaxProblemErrors are counted in more_errors.
constexpr size_t kMaxProblemErrors = 100;
Response problem(const core::Status& status, int http_status_override = 0);
int httpStatusOf(core::StatusCode code);

struct RouteSpec;
using RouteFn = Response (*)(class Api&, const Request&);
struct RouteSpec {
  RouteFn fn;
  bool authenticated;
};

class Api {
 public:
  Api(intake::IntakeService& intake, store::Store& store, Metrics& metrics, const core::Clock& clock);
  const Router<RouteSpec>& router() const { return router_; }

  intake::IntakeService& intake() { return intake_; }
  store::Store& store() { return store_; }
  Metrics& metrics() { return metrics_; }
  double uptimeSeconds() const;
  int64_t nowMs() const { return clock_.nowMs(); }
  // The DSMB package export (GET /api/v1/exports/dsmb): packages are written under dir. Set
  // before the server starts; without it the route answers 503.
  void setExports(const exports::DsmbExporter* exporter, std::string dir) {
    exporter_ = exporter;
    exports_dir_ = std::move(dir);
  }
  const exports::DsmbExporter* exporter() const { return exporter_; }
  const std::string& exportsDir() const { return exports_dir_; }
  // Problems posted by other components turn /healthz degraded (set before the server starts).
  void setHealth(const core::HealthBoard* health) { health_ = health; }
  const core::HealthBoard* health() const { return health_; }

 private:
  intake::IntakeService& intake_;
  store::Store& store_;
  Metrics& metrics_;
  const core::Clock& clock_;
  int64_t started_ms_;
  Router<RouteSpec> router_;
  const exports::DsmbExporter* exporter_ = nullptr;
  std::string exports_dir_;
  const core::HealthBoard* health_ = nullptr;
};

}  // namespace vigil::http
