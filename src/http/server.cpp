#include "http/server.h"

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPServerConnection.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/TCPServer.h>
#include <Poco/Net/TCPServerConnectionFactory.h>
#include <Poco/ThreadPool.h>
#include <Poco/Exception.h>
#include <Poco/String.h>
#include <Poco/URI.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <istream>
#include <optional>
#include <sstream>

#include <sys/socket.h>
#include <unistd.h>

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
    std::string user = "-";
    Response response;
    try {
      response = dispatch(in, route, user);
    } catch (const std::exception& e) {
      log()->error("{} {} failed: {}", in.getMethod(), route, e.what());
      response = problem(core::Status::internal("internal error"));
    }
    send(in, out, response);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    shared_.api.metrics().observe(in.getMethod(), route, response.status, seconds);
    // The access log: one line per request. Route template and user id only: the raw URI could
    // carry query text.
    const auto level = response.status >= 500 ? spdlog::level::warn : spdlog::level::info;
    log()->log(level, "{} {} -> {} in {:.1f} ms user={}", in.getMethod(), route, response.status, seconds * 1000,
               user);
  }

 private:
  Response dispatch(Poco::Net::HTTPServerRequest& in, std::string& route, std::string& user_id) {
    Poco::URI uri;
    try {
      uri = Poco::URI(in.getURI());
    } catch (const Poco::SyntaxException&) {
      drain(in);
      return problem(core::Status::invalid("malformed request target", {{"(uri)", "is not a valid URI"}}), 400);
    }
    if (auto refused = checkContentLength(in)) return *refused;
    Request req;
    BodyReservation budget(shared_.api.metrics());
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
      std::string allow;
      for (const auto& m : match.methods) allow += (allow.empty() ? "" : ", ") + m;
      r.headers.emplace_back("Allow", allow);
      return r;
    }
    if (headerCount(in, "Authorization") > 1) {
      drain(in);
      return problem(core::Status::invalid("more than one Authorization header",
                                           {{"Authorization", "must be sent once"}}),
                     400);
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
      user_id = std::to_string(user.id);
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
      if (!readBody(in, req.body, budget)) return budget.refused ? overBudget(in) : tooLarge();
    }
    return match.handler->fn(shared_.api, req);  // the body's budget is held until the answer is ready
  }

  core::Result<core::User> authenticate(Poco::Net::HTTPServerRequest& in) {
    if (!in.has("Authorization")) return core::Status::unauthenticated("missing Authorization: Bearer <token>");
    const std::string& header = in.get("Authorization");
    // The scheme is case-insensitive (RFC 7235 section 2.1); one or more spaces before the token.
    static const std::string kScheme = "bearer";
    const size_t space = header.find(' ');
    const size_t token_at = header.find_first_not_of(' ', space);
    if (space != kScheme.size() || Poco::icompare(header.substr(0, space), kScheme) != 0 ||
        token_at == std::string::npos)
      return core::Status::unauthenticated("Authorization must be: Bearer <token>");
    // Looked up on every request (an indexed read, no cache) so that a user disabled or a token
    // replaced by vigilctl is refused on the very next request.
    auto user = shared_.store.userByTokenHash(core::sha256Hex(header.substr(token_at)));
    if (!user.isOk() && user.status().code() == core::StatusCode::kUnauthenticated)
      return core::Status::unauthenticated("invalid or disabled token");
    return user;
  }

  static size_t headerCount(const Poco::Net::HTTPServerRequest& in, const std::string& name) {
    size_t n = 0;  // MessageHeader is a case-insensitive multimap: equal names are adjacent
    for (auto it = in.find(name); it != in.end() && Poco::icompare(it->first, name) == 0; ++it) ++n;
    return n;
  }

  // A negative or unreadable Content-Length is a 400, one above the body limit a 413; either way
  // the body is not read and the connection is closed after the answer.
  std::optional<Response> checkContentLength(Poco::Net::HTTPServerRequest& in) const {
    if (!in.hasContentLength()) return std::nullopt;
    Poco::Int64 length = -1;
    try {
      length = in.getContentLength64();
    } catch (const Poco::Exception&) {
    }
    if (headerCount(in, "Content-Length") > 1) length = -1;
    if (length < 0) {
      in.setKeepAlive(false);
      return problem(core::Status::invalid("bad Content-Length",
                                           {{"Content-Length", "must be a single non-negative integer"}}),
                     400);
    }
    if (length > static_cast<Poco::Int64>(shared_.options.max_body_bytes)) {
      in.setKeepAlive(false);
      return tooLarge();
    }
    return std::nullopt;
  }

  Response tooLarge() const {
    return problem(core::Status::invalid("body too large",
                                         {{"(body)", "must be at most " +
                                                         std::to_string(shared_.options.max_body_bytes) + " bytes"}}),
                   413);
  }

  // Bytes of the shared body budget held by one request, given back when it is answered.
  struct BodyReservation {
    explicit BodyReservation(Metrics& m) : metrics(m) {}
    ~BodyReservation() { metrics.releaseBody(bytes); }
    BodyReservation(const BodyReservation&) = delete;
    BodyReservation& operator=(const BodyReservation&) = delete;
    bool grow(size_t more, size_t budget) {
      if (!metrics.reserveBody(more, budget)) return refused = true, false;
      bytes += more;
      return true;
    }
    Metrics& metrics;
    size_t bytes = 0;
    bool refused = false;
  };

  // Reads the body up to the limit, inside the shared budget: a declared length is reserved
  // before a byte is read, a chunked body as it grows. False (and the connection closed) when
  // it is larger than the limit or does not fit in the budget.
  bool readBody(Poco::Net::HTTPServerRequest& in, std::string& body, BodyReservation& budget) {
    const size_t limit = shared_.options.max_body_bytes;
    const size_t total = std::max(shared_.options.body_budget_bytes, limit);
    if (in.hasContentLength() && in.getContentLength64() > static_cast<Poco::Int64>(limit)) {
      in.setKeepAlive(false);
      return false;
    }
    if (in.hasContentLength()) {
      const auto declared = static_cast<size_t>(in.getContentLength64());
      if (!budget.grow(declared, total)) {
        in.setKeepAlive(false);
        return false;
      }
      body.reserve(declared);
    }
    std::istream& stream = in.stream();
    char buf[16384];
    while (stream.read(buf, sizeof buf) || stream.gcount() > 0) {
      body.append(buf, static_cast<size_t>(stream.gcount()));
      if (body.size() > limit) {
        in.setKeepAlive(false);
        return false;
      }
      if (body.size() > budget.bytes && !budget.grow(std::max<size_t>(body.size() - budget.bytes, 64 * 1024), total)) {
        in.setKeepAlive(false);
        return false;
      }
    }
    return true;
  }

  // The body did not fit beside the others in flight: try again shortly.
  static Response overBudget(Poco::Net::HTTPServerRequest& in) {
    in.setKeepAlive(false);
    return problem(core::Status::unavailable("too many request bodies in flight; retry shortly"), 503);
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

  static void send(const Poco::Net::HTTPServerRequest& in, Poco::Net::HTTPServerResponse& out, const Response& r) {
    // setStatus alone would leave the reason phrase "OK" on every status line.
    out.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(r.status));
    if (!in.getKeepAlive()) out.setKeepAlive(false);  // a refused body is left unread
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
  // What Poco's HTTPServer::stopAll does: connections finish their request and stop.
  void stopConnections(const void* sender) { serverStopped(sender, false); }

 private:
  Shared& shared_;
};

// Poco reads Content-Length while it builds the request, before any handler runs: a value that is
// not a 64-bit integer ("abc", "99999999999999999999") throws Poco::SyntaxException there and
// Poco would drop the connection without a word. This connection answers it instead: 413 for a
// number too large to read, 400 for anything else, then closes.
class GuardedConnection final : public Poco::Net::HTTPServerConnection {
 public:
  GuardedConnection(const Poco::Net::StreamSocket& socket, Poco::Net::HTTPServerParams::Ptr params,
                    Poco::Net::HTTPRequestHandlerFactory::Ptr handlers, Shared& shared)
      : HTTPServerConnection(socket, params, handlers), shared_(shared) {}

  void run() override {
    // Poco's session closes the socket while the exception unwinds; a duplicate descriptor keeps
    // the connection open long enough to answer.
    const int fd = ::dup(socket().impl()->sockfd());
    try {
      HTTPServerConnection::run();
    } catch (const Poco::SyntaxException& e) {
      if (fd >= 0) refuse(fd, e.message());
    }
    if (fd >= 0) ::close(fd);
  }

 private:
  void refuse(int fd, const std::string& why) {
    // NumberParser's message ends with the text it could not read: "Not a valid integer: <text>".
    const size_t colon = why.rfind(": ");
    std::string value = colon == std::string::npos ? "" : why.substr(colon + 2);
    if (!value.empty() && value[0] == '+') value.erase(0, 1);
    const bool digits = !value.empty() && value.find_first_not_of("0123456789") == std::string::npos;
    Response r;
    if (digits)
      r = problem(core::Status::invalid("body too large", {{"Content-Length", "must be at most " +
                                                                                  std::to_string(shared_.options.max_body_bytes) +
                                                                                  " bytes"}}),
                  413);
    else
      r = problem(core::Status::invalid("bad Content-Length", {{"Content-Length", "must be a single non-negative integer"}}),
                  400);
    Poco::Net::HTTPResponse head(Poco::Net::HTTPMessage::HTTP_1_1,
                                 static_cast<Poco::Net::HTTPResponse::HTTPStatus>(r.status));
    head.setContentType(r.content_type);
    head.setContentLength64(static_cast<Poco::Int64>(r.body.size()));
    head.setKeepAlive(false);
    head.set("Server", "vigild");
    std::ostringstream text;
    head.write(text);
    text << r.body;
    const std::string bytes = text.str();
    for (size_t sent = 0; sent < bytes.size();) {
      const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) break;  // the client has gone; nothing more to answer
      sent += static_cast<size_t>(n);
    }
    ::shutdown(fd, SHUT_WR);
    shared_.api.metrics().observe("-", "(unparsed)", r.status, 0);
    log()->info("- (unparsed) -> {} in 0.0 ms user=- (unreadable Content-Length)", r.status);
  }

  Shared& shared_;
};

class ConnectionFactory final : public Poco::Net::TCPServerConnectionFactory {
 public:
  ConnectionFactory(Poco::Net::HTTPServerParams::Ptr params, Poco::Net::HTTPRequestHandlerFactory::Ptr handlers,
                    Shared& shared)
      : params_(std::move(params)), handlers_(std::move(handlers)), shared_(shared) {}
  Poco::Net::TCPServerConnection* createConnection(const Poco::Net::StreamSocket& socket) override {
    return new GuardedConnection(socket, params_, handlers_, shared_);
  }

 private:
  Poco::Net::HTTPServerParams::Ptr params_;
  Poco::Net::HTTPRequestHandlerFactory::Ptr handlers_;
  Shared& shared_;
};

}  // namespace

struct Server::Impl {
  Impl(HttpOptions o, intake::IntakeService& intake, store::Store& store, const core::Clock& clock)
      : shared(o, intake, store, clock), pool("http", 2, o.threads + 2) {}
  Shared shared;
  Poco::ThreadPool pool;
  Poco::SharedPtr<Factory> handlers;
  std::unique_ptr<Poco::Net::TCPServer> server;
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
  // SO_REUSEADDR (a restart need not wait out TIME_WAIT) but not SO_REUSEPORT: a second vigild on
  // the same port must fail with "address in use" instead of sharing the listener.
  socket.bind(Poco::Net::SocketAddress(o.host, o.port), true, false);
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
  impl_->handlers = new Factory(impl_->shared);
  Poco::Net::HTTPServerParams::Ptr shared_params(params);
  impl_->server = std::make_unique<Poco::Net::TCPServer>(
      new ConnectionFactory(shared_params, impl_->handlers, impl_->shared), impl_->pool, socket, shared_params);
  impl_->server->start();
}

void Server::setHealth(const core::HealthBoard* health) { impl_->shared.api.setHealth(health); }

uint16_t Server::port() const { return impl_->port; }

void Server::stop() {
  if (!impl_->server) return;
  // Stop accepting; requests already being served complete (HTTPServer::stopAll(false)).
  impl_->server->stop();
  impl_->handlers->stopConnections(impl_->server.get());
  impl_->pool.joinAll();
  impl_->server.reset();
}

}  // namespace vigil::http
