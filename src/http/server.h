#pragma once
// vigild's HTTP listener: Poco's HTTPServer (one thread per keep-alive connection, so threads
// must cover the promised concurrent clients), bearer-token authentication looked up on every
// request, body size limit, metrics and access logging around the Api routes.

#include <cstdint>
#include <memory>
#include <string>

#include "core/health.h"
#include "core/time.h"
#include "http/metrics.h"
#include "intake/intake_service.h"
#include "store/store.h"

namespace vigil::exports {
class DsmbExporter;
}

namespace vigil::http {

struct HttpOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0 picks a free port; see Server::port()
  int threads = 64;      // concurrent connections served at once
  int max_queued = 256;  // accepted connections waiting for a thread
  size_t max_body_bytes = 16 * 1024 * 1024;
  // All request bodies in flight together; a body that does not fit is answered 503 with
  // Retry-After (at least max_body_bytes, so that one largest body always fits alone).
  size_t body_budget_bytes = 64 * 1024 * 1024;
  int keep_alive_seconds = 15;
};

class Server {
 public:
  Server(HttpOptions options, intake::IntakeService& intake, store::Store& store, const core::Clock& clock);
  ~Server();
  // Enables GET /api/v1/exports/dsmb (call before start); exporter must outlive the server.
  void setExports(const exports::DsmbExporter* exporter, std::string dir);
  // Problems posted on health turn /healthz degraded (call before start); health must outlive
  // the server.
  void setHealth(const core::HealthBoard* health);
  // Binds and starts serving. Throws Poco::Exception when the address cannot be bound.
  void start();
  // The bound port (useful with port 0).
  uint16_t port() const;
  // Stops accepting, lets in-flight requests finish, then returns.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::http
