#pragma once
// vigild's HTTP listener. One front-stage thread owns every socket (epoll): it accepts, reads
// request heads and bodies as their bytes arrive, enforces the time and size limits, and writes
// answers; only complete requests go to the worker threads. A client that is slow or silent
// holds a buffer, never a worker (issue 13.3). Around the Api routes: bearer-token
// authentication looked up on every request, the body budget, metrics and the access log.

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
  int threads = 16;      // worker threads: requests handled at once
  int max_queued = 256;  // complete requests waiting for a worker; beyond, 503 Retry-After
  size_t max_body_bytes = 16 * 1024 * 1024;
  // All request bodies in flight together; a body that does not fit is answered 503 with
  // Retry-After (at least max_body_bytes, so that one largest body always fits alone).
  size_t body_budget_bytes = 64 * 1024 * 1024;
  int keep_alive_seconds = 15;        // an idle keep-alive connection is closed after this
  int head_timeout_seconds = 10;      // from a request's first byte (or the accept) to its whole head; 408
  int body_timeout_seconds = 60;      // from the head to the whole body; also the time to read an answer
  int max_connections = 4096;         // open at once; when full, the longest-idle one is closed
  int max_connections_per_client = 128;  // open at once from one client address; more are refused
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
