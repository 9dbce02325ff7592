#include "http/server.h"

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/ThreadPool.h>
#include <Poco/Exception.h>
#include <Poco/URI.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <istream>

#include "core/crypto.h"
#include "http/api.h"

namespace vigil::http {
namespace {

std::shared_ptr<spdlog::logger> log() {
  static auto logger = [] {
    auto l = spdlog::get("http");
    return l ? l : spdlog::default_logger();
  }();
  return logger;
}

struct Shared {
  Shared(HttpOptions o, intake::IntakeService& intake, store::Store& s, const core::Clock& clock)
      : options(std::move(o)), api(intake, s, metrics, clock), store(s) {}
  HttpOptions options;
  Metrics metrics;
  Api api;
  store::Store& store;
};

class ApiHandler final : public Poco::Net::HTTPRequestHandler {
 public:
  explicit ApiHandler(Shared& shared) : shared_(shared) {}

  void handleRequest(Poco::Net::HTTPServerRequest& in, Poco::Net::HTTPServerResponse& out) override {
    const auto start = std::chrono::steady_clock::now();
    std::string route = "(unmatched)";
    Response response;
    try {
      response = dispatch(in, route);
    } catch (const std::exception& e) {
      log()->error("{} {} failed: {}", in.getMethod(), route, e.what());
      response = problem(core::Status::internal("internal error"));
    }
    send(out, response);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    shared_.api.metrics().observe(in.getMethod(), route, response.status, seconds);
    // Route template and ids only: the raw URI could carry query text.
    if (response.status >= 500)
      log()->warn("{} {} -> {} in {:.1f} ms", in.getMethod(), route, response.status, seconds * 1000);
    else
      log()->debug("{} {} -> {} in {:.1f} ms", in.getMethod(), route, response.status, seconds * 1000);
  }

 private:
  Response dispatch(Poco::Net::HTTPServerRequest& in, std::string& route) {
    Poco::URI uri;
    try {
      uri = Poco::URI(in.getURI());
    } catch (const Poco::SyntaxException&) {
      drain(in);
      return problem(core::Status::invalid("malformed request target", {{"(uri)", "is not a valid URI"}}), 400);
    }
    Request req;
    req.method = in.getMethod();
    req.path = uri.getPath();
    auto match = shared_.api.router().match(req.method, req.path);
    if (!match.path_known) {
      drain(in);
      return problem(core::Status::notFound("no such resource"));
    }
    route = match.route;
    if (!match.handler) {
      drain(in);
      Response r = problem(core::Status::invalid("method not allowed"), 405);
      return r;
    }
    core::User user;
    if (match.handler->authenticated) {
      auto auth = authenticate(in);
      if (!auth.isOk()) {
        drain(in);
        return problem(auth.status());
      }
      user = std::move(auth.value());
      req.user = &user;
    }
    for (const auto& [k, v] : uri.getQueryParameters()) req.query[k] = v;
    req.params = std::move(match.params);
    if (in.has("Idempotency-Key")) {
      const std::string& key = in.get("Idempotency-Key");
      if (key.empty() || key.size() > 200) {
        drain(in);  // an unread body would be taken for the next request on this connection
        return problem(core::Status::invalid("bad Idempotency-Key", {{"Idempotency-Key", "must be 1-200 characters"}}), 400);
      }
      req.idempotency_key = key;
    }
    if (req.method == "POST" || req.method == "PUT") {
      const std::string type = in.getContentType();
      if (type.rfind("application/json", 0) != 0) {
        drain(in);
        return problem(core::Status::invalid("unsupported media type",
                                             {{"Content-Type", "must be application/json"}}),
                       415);
      }
      if (!readBody(in, req.body)) {
        return problem(core::Status::invalid("body too large",
                                             {{"(body)", "must be at most " + std::to_string(shared_.options.max_body_bytes) +
                                                             " bytes"}}),
                       413);
      }
    }
    return match.handler->fn(shared_.api, req);
  }

  core::Result<core::User> authenticate(Poco::Net::HTTPServerRequest& in) {
    if (!in.has("Authorization")) return core::Status::unauthenticated("missing Authorization: Bearer <token>");
    const std::string& header = in.get("Authorization");
    static const std::string kPrefix = "Bearer ";
    if (header.size() <= kPrefix.size() || header.compare(0, kPrefix.size(), kPrefix) != 0)
      return core::Status::unauthenticated("Authorization must be: Bearer <token>");
    // Looked up on every request (an indexed read, no cache) so that a user disabled or a token
    // replaced by vigilctl is refused on the very next request.
    auto user = shared_.store.userByTokenHash(core::sha256Hex(header.substr(kPrefix.size())));
    if (!user.isOk() && user.status().code() == core::StatusCode::kUnauthenticated)
      return core::Status::unauthenticated("invalid or disabled token");
    return user;
  }

  // Reads the body up to the limit; false (and the connection closed) when it is larger.
  bool readBody(Poco::Net::HTTPServerRequest& in, std::string& body) {
    const size_t limit = shared_.options.max_body_bytes;
    if (in.hasContentLength() && in.getContentLength64() > static_cast<Poco::Int64>(limit)) {
      in.setKeepAlive(false);
      return false;
    }
    if (in.hasContentLength()) body.reserve(static_cast<size_t>(in.getContentLength64()));
    std::istream& stream = in.stream();
    char buf[16384];
    while (stream.read(buf, sizeof buf) || stream.gcount() > 0) {
      body.append(buf, static_cast<size_t>(stream.gcount()));
      if (body.size() > limit) {
        in.setKeepAlive(false);
        return false;
      }
    }
    return true;
  }

  // Consumes an unread body so that the keep-alive connection stays usable.
  static void drain(Poco::Net::HTTPServerRequest& in) {
    if (in.hasContentLength() && in.getContentLength64() > 1024 * 1024) {
      in.setKeepAlive(false);
      return;
    }
    std::istream& stream = in.stream();
    char buf[4096];
    while (stream.read(buf, sizeof buf) || stream.gcount() > 0) {
    }
  }

  static void send(Poco::Net::HTTPServerResponse& out, const Response& r) {
    out.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(r.status));
    out.setContentType(r.content_type);
    for (const auto& [k, v] : r.headers) out.set(k, v);
    out.setContentLength64(static_cast<Poco::Int64>(r.body.size()));
    out.send().write(r.body.data(), static_cast<std::streamsize>(r.body.size()));
  }

  Shared& shared_;
};

class Factory final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit Factory(Shared& shared) : shared_(shared) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
    return new ApiHandler(shared_);
  }

 private:
  Shared& shared_;
};

}  // namespace

struct Server::Impl {
  Impl(HttpOptions o, intake::IntakeService& intake, store::Store& store, const core::Clock& clock)
      : shared(o, intake, store, clock), pool("http", 2, o.threads + 2) {}
  Shared shared;
  Poco::ThreadPool pool;
  std::unique_ptr<Poco::Net::HTTPServer> server;
  uint16_t port = 0;
};

Server::Server(HttpOptions options, intake::IntakeService& intake, store::Store& store, const core::Clock& clock)
    : impl_(std::make_unique<Impl>(std::move(options), intake, store, clock)) {}

Server::~Server() { stop(); }

void Server::setExports(const exports::DsmbExporter* exporter, std::string dir) {
  impl_->shared.api.setExports(exporter, std::move(dir));
}

void Server::start() {
  const auto& o = impl_->shared.options;
  Poco::Net::ServerSocket socket;
  socket.bind(Poco::Net::SocketAddress(o.host, o.port), true);
  socket.listen(std::max(64, o.max_queued));
  impl_->port = socket.address().port();
  auto* params = new Poco::Net::HTTPServerParams;
  params->setMaxThreads(o.threads);
  params->setMaxQueued(o.max_queued);
  params->setKeepAlive(true);
  params->setKeepAliveTimeout(Poco::Timespan(o.keep_alive_seconds, 0));
  params->setMaxKeepAliveRequests(0);
  params->setTimeout(Poco::Timespan(30, 0));
  params->setServerName("vigild");
  impl_->server = std::make_unique<Poco::Net::HTTPServer>(new Factory(impl_->shared), impl_->pool, socket, params);
  impl_->server->start();
}

void Server::setHealth(const core::HealthBoard* health) { impl_->shared.api.setHealth(health); }

uint16_t Server::port() const { return impl_->port; }

void Server::stop() {
  if (!impl_->server) return;
  impl_->server->stopAll(false);  // stop accepting; requests already being served complete
  impl_->pool.joinAll();
  impl_->server.reset();
}

}  // namespace vigil::http
