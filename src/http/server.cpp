#include "http/server.h"

#include <Poco/Exception.h>
#include <Poco/String.h>
#include <Poco/URI.h>
#include <spdlog/spdlog.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include "core/crypto.h"
#include "core/memory.h"
#include "http/api.h"
#include "http/wire.h"

namespace vigil::http {
namespace {

std::shared_ptr<spdlog::logger> log() {
  static auto logger = [] {
    auto l = spdlog::get("http");
    return l ? l : spdlog::default_logger();
  }();
  return logger;
}

int64_t steadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct Shared {
  Shared(HttpOptions o, intake::IntakeService& intake, store::Store& s, const core::Clock& clock)
      : options(std::move(o)), api(intake, s, metrics, clock), store(s) {}
  HttpOptions options;
  Metrics metrics;
  Api api;
  store::Store& store;
};

// Bytes of the shared body budget held by one request, from its head until it is answered.
class BodyReservation {
 public:
  BodyReservation() = default;
  explicit BodyReservation(Metrics& m) : metrics_(&m) {}
  ~BodyReservation() { release(); }
  BodyReservation(BodyReservation&& o) noexcept : metrics_(o.metrics_), bytes_(std::exchange(o.bytes_, 0)) {}
  BodyReservation& operator=(BodyReservation&& o) noexcept {
    if (this != &o) {
      release();
      metrics_ = o.metrics_;
      bytes_ = std::exchange(o.bytes_, 0);
    }
    return *this;
  }
  // Holds at least `total` bytes; false (nothing more held) when they do not fit in the budget.
  bool growTo(size_t total, size_t budget) {
    if (total <= bytes_) return true;
    const size_t more = std::max<size_t>(total - bytes_, bytes_ == 0 ? total : 64 * 1024);
    if (!metrics_->reserveBody(more, budget)) return false;
    bytes_ += more;
    return true;
  }
  void release() {
    if (metrics_ != nullptr && bytes_ > 0) metrics_->releaseBody(bytes_);
    bytes_ = 0;
  }

 private:
  Metrics* metrics_ = nullptr;
  size_t bytes_ = 0;
};

WireResponse toWire(const Response& r, bool close) {
  WireResponse w;
  w.status = r.status;
  w.content_type = r.content_type;
  w.headers = r.headers;
  w.body = r.body;
  w.close = close;
  return w;
}

// Turns one complete request into its answer: the routes, authentication, header checks, the
// access log and the request metrics. Runs on a worker thread.
class Handler {
 public:
  explicit Handler(Shared& shared) : shared_(shared) {}

  WireResponse handle(const WireRequest& in) {
    const auto start = std::chrono::steady_clock::now();
    std::string route = "(unmatched)";
    std::string user = "-";
    Response response;
    try {
      response = dispatch(in, route, user);
    } catch (const std::exception& e) {
      log()->error("{} {} failed: {}", in.method, route, e.what());
      response = problem(core::Status::internal("internal error"));
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    shared_.api.metrics().observe(in.method, route, response.status, seconds);
    // The access log: one line per request. Route template and user id only: the raw URI could
    // carry query text.
    const auto level = response.status >= 500 ? spdlog::level::warn : spdlog::level::info;
    log()->log(level, "{} {} -> {} in {:.1f} ms user={}", in.method, route, response.status, seconds * 1000, user);
    return toWire(response, !in.keep_alive);
  }

 private:
  Response dispatch(const WireRequest& in, std::string& route, std::string& user_id) {
    Poco::URI uri;
    try {
      uri = Poco::URI(in.target);
    } catch (const Poco::SyntaxException&) {
      return problem(core::Status::invalid("malformed request target", {{"(uri)", "is not a valid URI"}}), 400);
    }
    Request req;
    req.method = in.method;
    req.path = uri.getPath();
    auto match = shared_.api.router().match(req.method, req.path);
    if (!match.path_known) return problem(core::Status::notFound("no such resource"));
    route = match.route;
    if (!match.handler) {
      Response r = problem(core::Status::invalid("method not allowed"), 405);
      std::string allow;
      for (const auto& m : match.methods) allow += (allow.empty() ? "" : ", ") + m;
      r.headers.emplace_back("Allow", allow);
      return r;
    }
    if (in.headerCount("Authorization") > 1)
      return problem(core::Status::invalid("more than one Authorization header",
                                           {{"Authorization", "must be sent once"}}),
                     400);
    core::User user;
    if (match.handler->authenticated) {
      auto auth = authenticate(in);
      if (!auth.isOk()) return problem(auth.status());
      user = std::move(auth.value());
      req.user = &user;
      user_id = std::to_string(user.id);
    }
    try {
      for (const auto& [k, v] : uri.getQueryParameters()) req.query[k] = v;
    } catch (const Poco::Exception&) {
      return problem(core::Status::invalid("malformed query", {{"(uri)", "the query cannot be decoded"}}), 400);
    }
    req.params = std::move(match.params);
    if (const std::string* key = in.header("Idempotency-Key")) {
      if (key->empty() || key->size() > 200)
        return problem(core::Status::invalid("bad Idempotency-Key", {{"Idempotency-Key", "must be 1-200 characters"}}), 400);
      req.idempotency_key = *key;
    }
    if (req.method == "POST" || req.method == "PUT" || req.method == "DELETE") {
      const std::string* type = in.header("Content-Type");
      // POST /api/v1/labs also takes the laboratory's CSV file (issue 16).
      const bool csv = type != nullptr && type->rfind("text/csv", 0) == 0 && req.method == "POST" &&
                       req.path == "/api/v1/labs";
      if (!csv && (type == nullptr || type->rfind("application/json", 0) != 0))
        return problem(core::Status::invalid("unsupported media type",
                                             {{"Content-Type", "must be application/json"}}),
                       415);
      req.content_type = csv ? "text/csv" : "application/json";
      req.body = in.body;
    }
    return match.handler->fn(shared_.api, req);
  }

  core::Result<core::User> authenticate(const WireRequest& in) {
    const std::string* found = in.header("Authorization");
    if (found == nullptr) return core::Status::unauthenticated("missing Authorization: Bearer <token>");
    const std::string& header = *found;
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

  Shared& shared_;
};

// A problem answer decided by the front stage itself (bad framing, a timeout, no room); the
// connection is closed after it.
// (problem() adds Retry-After to a 503.)
WireResponse frontProblem(const core::Status& status, int http_status) {
  return toWire(problem(status, http_status), true);
}

struct Job {
  uint64_t conn = 0;
  WireRequest request;
  BodyReservation budget;  // held until the answer is ready
};

struct Done {
  uint64_t conn = 0;
  std::string bytes;
  bool close = false;
};

// When the workers give free heap back to the system (core::releaseFreeMemory): after a request
// whose body or answer is 1 MiB or more (at most once a second: a trim holds each arena's lock
// while it walks the free lists, and large bodies are read before the token is checked), and
// otherwise at most every 10 s after a write; one worker at a time. Seven
// 10,000-row lab batches left vigild at 400 MB, one at 82 MB; trimmed, 130 and 49 MB (issue 13).
class HeapTrim {
 public:
  void after(const std::string& method, size_t body_bytes, size_t answer_bytes) {
    constexpr size_t kLarge = 1 << 20;
    const bool large = body_bytes >= kLarge || answer_bytes >= kLarge;
    if (!large && (method == "GET" || method == "HEAD")) return;
    const int64_t gap_ms = large ? 1000 : 10000;
    const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now().time_since_epoch())
                            .count();
    int64_t last = last_ms_.load();
    if (now - last < gap_ms || !last_ms_.compare_exchange_strong(last, now)) return;
    core::releaseFreeMemory();  // every arena, whichever thread freed into it
  }

 private:
  std::atomic<int64_t> last_ms_{0};
};

// The worker threads: complete requests in, answers out.
class Workers {
 public:
  Workers(Shared& shared, int count, int wake_fd) : wake_fd_(wake_fd) {
    for (int i = 0; i < count; ++i)
      threads_.emplace_back([this, &shared] {
        Handler handler(shared);
        for (;;) {
          Job job;
          {
            std::unique_lock lock(mutex_);
            ready_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
            if (jobs_.empty()) return;
            job = std::move(jobs_.front());
            jobs_.pop_front();
          }
          size_t answer_bytes = 0;
          {  // the answer is freed before any trim below
            WireResponse answer = handler.handle(job.request);
            job.budget.release();
            Done done{job.conn, serializeResponse(answer, job.request.minor_version), answer.close};
            answer_bytes = done.bytes.size();
            std::lock_guard lock(mutex_);
            done_.push_back(std::move(done));
          }
          const uint64_t one = 1;
          [[maybe_unused]] const ssize_t n = ::write(wake_fd_, &one, sizeof one);
          const size_t body_bytes = job.request.body.size();
          std::string().swap(job.request.body);
          trim_.after(job.request.method, body_bytes, answer_bytes);
        }
      });
  }
  ~Workers() { stop(); }

  size_t queued() {
    std::lock_guard lock(mutex_);
    return jobs_.size();
  }
  void push(Job job) {
    {
      std::lock_guard lock(mutex_);
      jobs_.push_back(std::move(job));
    }
    ready_.notify_one();
  }
  std::deque<Done> takeDone() {
    std::lock_guard lock(mutex_);
    return std::exchange(done_, {});
  }
  // Lets queued jobs finish, then joins.
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    ready_.notify_all();
    for (auto& t : threads_)
      if (t.joinable()) t.join();
    threads_.clear();
  }

 private:
  int wake_fd_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Job> jobs_;
  std::deque<Done> done_;
  bool stopping_ = false;
  HeapTrim trim_;
  std::vector<std::thread> threads_;
};

// One client connection, owned by the front stage.
struct Conn {
  enum class State {
    kReading,    // waiting for or reading a request
    kBusy,       // its request is with a worker
    kWriting,    // sending the answer
    kLingering,  // answered with Connection: close; reading and dropping what the client still sends
  };
  int fd = -1;
  std::string peer;
  State state = State::kReading;
  std::string in;
  RequestParser parser;
  BodyReservation budget;
  std::string out;
  size_t out_at = 0;
  bool close_after = false;
  bool served_one = false;  // an idle wait after an answer is the keep-alive time, not the head time
  int minor_version = 1;
  int64_t deadline_ms = 0;
  Metrics::Timeout deadline_kind = Metrics::Timeout::kHead;
  int64_t last_activity_ms = 0;
  uint32_t events = 0;  // what epoll is asked for

  Conn(int f, std::string p, WireLimits limits, Metrics& metrics)
      : fd(f), peer(std::move(p)), parser(limits), budget(metrics) {}
};

constexpr uint64_t kListenerKey = 0;
constexpr uint64_t kWakeKey = 1;

std::string peerOf(const sockaddr_storage& addr) {
  char host[INET6_ADDRSTRLEN] = "?";
  if (addr.ss_family == AF_INET)
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(addr).sin_addr, host, sizeof host);
  else if (addr.ss_family == AF_INET6)
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(addr).sin6_addr, host, sizeof host);
  return host;
}

// The front stage: one thread, epoll over the listener, a wake-up eventfd and every connection.
class FrontStage {
 public:
  FrontStage(Shared& shared, int listener)
      : shared_(shared),
        o_(shared.options),
        listener_(listener),
        epoll_(::epoll_create1(EPOLL_CLOEXEC)),
        wake_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
        workers_(shared, o_.threads, wake_) {
    if (epoll_ < 0 || wake_ < 0) throw std::runtime_error(std::string("epoll/eventfd: ") + std::strerror(errno));
    limits_.max_body_bytes = o_.max_body_bytes;
    watch(listener_, kListenerKey, EPOLLIN, EPOLL_CTL_ADD);
    watch(wake_, kWakeKey, EPOLLIN, EPOLL_CTL_ADD);
    thread_ = std::thread([this] { run(); });
  }

  ~FrontStage() { stop(); }

  // Stops accepting; idle connections close, requests under way are read (within their time
  // limits), handled and answered, then the thread ends. A request already with a worker is
  // always answered, however long it takes.
  void stop() {
    if (!thread_.joinable()) return;
    stopping_ = true;
    wake();
    thread_.join();
    workers_.stop();
    for (auto& [key, conn] : conns_) ::close(conn.fd);
    conns_.clear();
    ::close(epoll_);
    ::close(wake_);
  }

 private:
  void wake() {
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(wake_, &one, sizeof one);
  }

  void watch(int fd, uint64_t key, uint32_t events, int op) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = key;
    ::epoll_ctl(epoll_, op, fd, &ev);
  }

  void want(uint64_t key, Conn& c, uint32_t events) {
    if (c.events == events) return;
    c.events = events;
    watch(c.fd, key, events, EPOLL_CTL_MOD);
  }

  void run() {
    std::vector<epoll_event> events(256);
    bool accepting = true;
    int64_t next_sweep = 0;
    int64_t drain_until = 0;
    bool drained = false;
    for (;;) {
      if (stopping_ && accepting) {
        accepting = false;
        ::epoll_ctl(epoll_, EPOLL_CTL_DEL, listener_, nullptr);
        ::close(listener_);
        drain_until = steadyMs() + 1000L * (o_.head_timeout_seconds + o_.body_timeout_seconds);
        closeIdle();
      }
      if (stopping_ && !drained && steadyMs() > drain_until) {
        drained = true;  // answers that come later still get their own write and linger time
        closeAllButBusy();
      }
      if (stopping_ && conns_.empty()) return;
      const int n = ::epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), 100);
      const int64_t now = steadyMs();
      for (int i = 0; i < n; ++i) {
        const uint64_t key = events[i].data.u64;
        if (key == kListenerKey) {
          if (accepting) acceptAll(now);
        } else if (key == kWakeKey) {
          uint64_t count = 0;
          [[maybe_unused]] const ssize_t r = ::read(wake_, &count, sizeof count);
          for (auto& done : workers_.takeDone()) answered(std::move(done), now);
          if (stopping_) closeIdle();
        } else {
          onEvent(key, events[i].events, now);
        }
      }
      if (now >= next_sweep) {
        sweep(now);
        next_sweep = now + 100;
        if (paused_accept_ && accepting) {  // out of descriptors a moment ago: try again
          paused_accept_ = false;
          watch(listener_, kListenerKey, EPOLLIN, EPOLL_CTL_ADD);
        }
      }
    }
  }

  void acceptAll(int64_t now) {
    for (;;) {
      sockaddr_storage addr{};
      socklen_t len = sizeof addr;
      const int fd = ::accept4(listener_, reinterpret_cast<sockaddr*>(&addr), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
          log()->warn("accept: {}; pausing accepts for 100 ms", std::strerror(errno));
          ::epoll_ctl(epoll_, EPOLL_CTL_DEL, listener_, nullptr);
          paused_accept_ = true;
        }
        return;  // EAGAIN, or a connection reset before it was accepted
      }
      std::string peer = peerOf(addr);
      int& from_peer = per_client_[peer];
      if (from_peer >= o_.max_connections_per_client) {
        shared_.metrics.refusedPerClient();
        refuseNow(fd, "too many connections from your address (at most " +
                          std::to_string(o_.max_connections_per_client) + ")");
        if (from_peer == 0) per_client_.erase(peer);
        continue;
      }
      if (static_cast<int>(conns_.size()) >= o_.max_connections && !evictIdlest()) {
        shared_.metrics.refusedCapacity();
        refuseNow(fd, "the server has no room for another connection");
        if (from_peer == 0) per_client_.erase(peer);
        continue;
      }
      ++per_client_[peer];
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      const uint64_t key = next_key_++;
      auto [it, inserted] = conns_.try_emplace(key, fd, std::move(peer), limits_, shared_.metrics);
      Conn& c = it->second;
      c.deadline_ms = now + 1000L * o_.head_timeout_seconds;
      c.deadline_kind = Metrics::Timeout::kHead;
      c.last_activity_ms = now;
      c.events = EPOLLIN | EPOLLRDHUP;
      watch(fd, key, c.events, EPOLL_CTL_ADD);
      shared_.metrics.connectionOpened();
    }
  }

  // A 503 written straight to a connection not taken on, then closed.
  void refuseNow(int fd, const std::string& why) {
    const std::string bytes =
        serializeResponse(frontProblem(core::Status::unavailable(why), 503));
    [[maybe_unused]] const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    ::shutdown(fd, SHUT_WR);
    ::close(fd);
  }

  // Makes room when every connection slot is taken: closes the connection idle the longest
  // (between requests, nothing of a request read). False when none is idle.
  bool evictIdlest() {
    uint64_t victim = 0;
    int64_t oldest = INT64_MAX;
    for (auto& [key, c] : conns_)
      if (c.state == Conn::State::kReading && !c.parser.started() && c.in.empty() && c.last_activity_ms < oldest) {
        oldest = c.last_activity_ms;
        victim = key;
      }
    if (victim == 0) return false;
    closeConn(victim);
    return true;
  }

  void closeIdle() {
    std::vector<uint64_t> idle;
    for (auto& [key, c] : conns_)
      if (c.state == Conn::State::kReading && !c.parser.started() && c.in.empty()) idle.push_back(key);
    for (uint64_t key : idle) closeConn(key);
  }

  // The end of the drain: whatever is still reading, writing or lingering is closed. A request
  // with a worker is not: the worker finishes it (its writes are committed whether or not the
  // answer is sent), so its client is owed the answer.
  void closeAllButBusy() {
    std::vector<uint64_t> keys;
    for (auto& [key, c] : conns_)
      if (c.state != Conn::State::kBusy) keys.push_back(key);
    for (uint64_t key : keys) closeConn(key);
  }

  void closeConn(uint64_t key) {
    auto it = conns_.find(key);
    if (it == conns_.end()) return;
    Conn& c = it->second;
    ::epoll_ctl(epoll_, EPOLL_CTL_DEL, c.fd, nullptr);
    ::close(c.fd);
    auto peer = per_client_.find(c.peer);
    if (peer != per_client_.end() && --peer->second <= 0) per_client_.erase(peer);
    conns_.erase(it);
    shared_.metrics.connectionClosed();
  }

  void sweep(int64_t now) {
    std::vector<uint64_t> expired;
    for (auto& [key, c] : conns_)
      if (c.state != Conn::State::kBusy && now >= c.deadline_ms) expired.push_back(key);
    for (uint64_t key : expired) {
      Conn& c = conns_.at(key);
      if (c.state == Conn::State::kReading && (c.parser.started() || !c.in.empty())) {
        shared_.metrics.timedOut(c.deadline_kind);
        const bool head = c.deadline_kind == Metrics::Timeout::kHead;
        shared_.metrics.observe("-", "(unparsed)", 408, 0);
        log()->info("- (unparsed) -> 408: the request {} took longer than {} s", head ? "head" : "body",
                    head ? o_.head_timeout_seconds : o_.body_timeout_seconds);
        respond(key, c,
                frontProblem(core::Status::invalid("request timeout",
                                                   {{head ? "(headers)" : "(body)",
                                                     "must arrive within " +
                                                         std::to_string(head ? o_.head_timeout_seconds
                                                                             : o_.body_timeout_seconds) +
                                                         " s"}}),
                             408),
                now);
      } else {
        if (c.state == Conn::State::kWriting) shared_.metrics.timedOut(Metrics::Timeout::kWrite);
        if (c.state == Conn::State::kReading)
          shared_.metrics.timedOut(c.served_one ? Metrics::Timeout::kIdle : Metrics::Timeout::kHead);
        closeConn(key);
      }
    }
  }

  void onEvent(uint64_t key, uint32_t events, int64_t now) {
    auto it = conns_.find(key);
    if (it == conns_.end()) return;
    Conn& c = it->second;
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
      if (c.state == Conn::State::kReading || c.state == Conn::State::kLingering) {
        if (!readSome(key, c, now)) return;  // closed
        if (c.state == Conn::State::kReading) process(key, c, now);
        return;
      }
      if ((events & (EPOLLHUP | EPOLLERR)) && c.state == Conn::State::kWriting) {
        closeConn(key);
        return;
      }
    }
    if ((events & EPOLLOUT) && c.state == Conn::State::kWriting) flush(key, c, now);
  }

  // Reads what is there (at most 1 MiB per turn, so one fast sender cannot hold the stage).
  // False when the connection was closed.
  bool readSome(uint64_t key, Conn& c, int64_t now) {
    char buf[65536];
    for (size_t turn = 0; turn < 16; ++turn) {
      const ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
      if (n > 0) {
        c.last_activity_ms = now;
        if (c.state == Conn::State::kLingering) continue;  // dropped
        c.in.append(buf, static_cast<size_t>(n));
        if (static_cast<size_t>(n) < sizeof buf) return true;
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
      if (n < 0 && errno == EINTR) continue;
      // The client closed (or reset): whatever it had not finished is dropped.
      closeConn(key);
      return false;
    }
    return true;
  }

  // Runs the parser over what has arrived; hands a complete request to the workers.
  void process(uint64_t key, Conn& c, int64_t now) {
    for (;;) {
      const bool was_started = c.parser.started();
      const RequestParser::Step step = c.parser.advance(c.in);
      if (!was_started && c.parser.started()) {  // the first byte of a request: the head clock starts
        c.deadline_ms = now + 1000L * o_.head_timeout_seconds;
        c.deadline_kind = Metrics::Timeout::kHead;
      }
      switch (step) {
        case RequestParser::Step::kNeedMore:
          if (c.parser.declaredLength() == std::nullopt && c.parser.bodyBytes() > 0 &&
              !c.budget.growTo(c.parser.bodyBytes(), budget()))
            return overBudget(key, c, now);
          return;
        case RequestParser::Step::kHead: {
          c.minor_version = c.parser.request().minor_version;
          c.deadline_ms = now + 1000L * o_.body_timeout_seconds;
          c.deadline_kind = Metrics::Timeout::kBody;
          if (const auto declared = c.parser.declaredLength(); declared && *declared > 0) {
            // The declared length is reserved before a byte of the body is read.
            if (!c.budget.growTo(*declared, budget())) return overBudget(key, c, now);
            if (c.parser.request().expect_continue && c.in.empty()) sendContinue(c);
          } else if (!declared && c.parser.request().expect_continue && c.in.empty()) {
            sendContinue(c);
          }
          break;
        }
        case RequestParser::Step::kError:
          return unreadable(key, c, now);
        case RequestParser::Step::kComplete:
          return dispatch(key, c, now);
      }
    }
  }

  // The request cannot be read: answered here, and the connection closed.
  void unreadable(uint64_t key, Conn& c, int64_t now) {
    const WireError& e = c.parser.error();
    shared_.metrics.observe("-", "(unparsed)", e.status, 0);
    log()->info("- (unparsed) -> {} in 0.0 ms user=- ({}: {})", e.status, e.field, e.message);
    std::vector<core::FieldError> errors;
    errors.push_back({e.field, e.message});
    respond(key, c, frontProblem(core::Status::invalid(e.status == 413 ? "body too large" : "malformed request",
                                                       std::move(errors)),
                                 e.status),
            now);
  }

  void dispatch(uint64_t key, Conn& c, int64_t now) {
    if (workers_.queued() >= static_cast<size_t>(o_.max_queued)) {
      c.parser.take();
      respond(key, c, frontProblem(core::Status::unavailable("too many requests waiting; retry shortly"), 503), now);
      return;
    }
    Job job;
    job.conn = key;
    job.request = c.parser.take();
    job.budget = std::move(c.budget);
    c.budget = BodyReservation(shared_.metrics);
    if (stopping_) job.request.keep_alive = false;
    c.state = Conn::State::kBusy;
    want(key, c, 0);  // nothing more is read until the answer is out
    workers_.push(std::move(job));
  }

  size_t budget() const { return std::max(o_.body_budget_bytes, o_.max_body_bytes); }

  void sendContinue(Conn& c) {
    static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    [[maybe_unused]] const ssize_t n = ::send(c.fd, kContinue.data(), kContinue.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  }

  void overBudget(uint64_t key, Conn& c, int64_t now) {
    c.budget.release();
    respond(key, c, frontProblem(core::Status::unavailable("too many request bodies in flight; retry shortly"), 503),
            now);
  }

  // An answer decided here: the connection closes after it.
  void respond(uint64_t key, Conn& c, const WireResponse& answer, int64_t now) {
    c.budget.release();
    c.out = serializeResponse(answer, c.minor_version);
    c.out_at = 0;
    c.close_after = true;
    c.state = Conn::State::kWriting;
    c.deadline_ms = now + 1000L * o_.body_timeout_seconds;
    flush(key, c, now);
  }

  void answered(Done done, int64_t now) {
    auto it = conns_.find(done.conn);
    if (it == conns_.end()) return;  // the client went away meanwhile
    Conn& c = it->second;
    c.out = std::move(done.bytes);
    c.out_at = 0;
    c.close_after = done.close || stopping_;
    c.state = Conn::State::kWriting;
    c.deadline_ms = now + 1000L * o_.body_timeout_seconds;
    flush(done.conn, c, now);
  }

  void flush(uint64_t key, Conn& c, int64_t now) {
    while (c.out_at < c.out.size()) {
      const ssize_t n = ::send(c.fd, c.out.data() + c.out_at, c.out.size() - c.out_at, MSG_NOSIGNAL);
      if (n > 0) {
        c.out_at += static_cast<size_t>(n);
        c.last_activity_ms = now;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        want(key, c, EPOLLOUT | EPOLLRDHUP);
        return;
      }
      closeConn(key);
      return;
    }
    std::string().swap(c.out);
    c.out_at = 0;
    c.served_one = true;
    if (c.close_after) {
      // Half-close and drop what the client still sends for a moment, so that our answer is not
      // lost to a reset from unread bytes.
      ::shutdown(c.fd, SHUT_WR);
      c.state = Conn::State::kLingering;
      c.in.clear();
      c.deadline_ms = now + 2000;
      want(key, c, EPOLLIN | EPOLLRDHUP);
      return;
    }
    c.state = Conn::State::kReading;
    c.deadline_ms = now + 1000L * o_.keep_alive_seconds;
    c.deadline_kind = Metrics::Timeout::kIdle;
    want(key, c, EPOLLIN | EPOLLRDHUP);
    if (!c.in.empty()) process(key, c, now);  // a pipelined request already here
  }

  Shared& shared_;
  const HttpOptions& o_;
  WireLimits limits_;
  int listener_;
  int epoll_;
  int wake_;
  Workers workers_;
  std::unordered_map<uint64_t, Conn> conns_;
  std::unordered_map<std::string, int> per_client_;
  uint64_t next_key_ = 2;
  bool paused_accept_ = false;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

// Binds host:port with SO_REUSEADDR (a restart need not wait out TIME_WAIT) but not SO_REUSEPORT:
// a second vigild on the same port must fail with "address in use" instead of sharing it.
int bindListener(const std::string& host, uint16_t port, int backlog, uint16_t& bound_port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0)
    throw std::runtime_error(std::string("cannot resolve the host: ") + gai_strerror(rc));
  std::string why = "no address";
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, backlog) == 0) {
      sockaddr_storage addr{};
      socklen_t len = sizeof addr;
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
      bound_port = ntohs(addr.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6&>(addr).sin6_port
                                                    : reinterpret_cast<sockaddr_in&>(addr).sin_port);
      ::freeaddrinfo(found);
      return fd;
    }
    why = std::strerror(errno);
    ::close(fd);
  }
  ::freeaddrinfo(found);
  throw std::runtime_error(why);
}

// Each connection is a descriptor: lift the soft limit to the hard one so that max_connections
// can be reached.
void raiseDescriptorLimit(int wanted) {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return;
  const rlim_t need = static_cast<rlim_t>(wanted) + 256;
  if (lim.rlim_cur >= need) return;
  lim.rlim_cur = std::min(lim.rlim_max, need);
  ::setrlimit(RLIMIT_NOFILE, &lim);
  if (lim.rlim_cur < need)
    log()->warn("open-file limit {} is below http.max_connections {} + 256", lim.rlim_cur, wanted);
}

}  // namespace

struct Server::Impl {
  Impl(HttpOptions o, intake::IntakeService& intake, store::Store& store, const core::Clock& clock)
      : shared(std::move(o), intake, store, clock) {}
  Shared shared;
  std::unique_ptr<FrontStage> stage;
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
  raiseDescriptorLimit(o.max_connections);
  const int fd = bindListener(o.host, o.port, std::max(512, o.max_queued), impl_->port);
  impl_->stage = std::make_unique<FrontStage>(impl_->shared, fd);
}

void Server::setHealth(const core::HealthBoard* health) { impl_->shared.api.setHealth(health); }

uint16_t Server::port() const { return impl_->port; }

void Server::stop() {
  if (!impl_->stage) return;
  impl_->stage->stop();
  impl_->stage.reset();
}

}  // namespace vigil::http
