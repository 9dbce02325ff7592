#include "support/socket_crowd.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>

namespace vigil::test {
namespace {

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void sendAll(int fd, const std::string& text) {
  [[maybe_unused]] const ssize_t n = ::send(fd, text.data(), text.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
}

}  // namespace

int connectFrom(const std::string& source, int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (!source.empty()) {
    sockaddr_in local{};
    local.sin_family = AF_INET;
    ::inet_pton(AF_INET, source.c_str(), &local.sin_addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
      ::close(fd);
      return -1;
    }
  }
  sockaddr_in remote{};
  remote.sin_family = AF_INET;
  remote.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof remote) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

long SocketCrowd::raiseDescriptorLimit() {
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &limit);
  ::getrlimit(RLIMIT_NOFILE, &limit);
  return static_cast<long>(limit.rlim_cur);
}

SocketCrowd::SocketCrowd(CrowdOptions options) : o_(options) {
  raiseDescriptorLimit();
  const int total = o_.silent + o_.dripping;
  members_.resize(static_cast<size_t>(total));
  const int64_t now = nowMs();
  for (int i = 0; i < total; ++i) {
    Member& m = members_[static_cast<size_t>(i)];
    m.drips = i >= o_.silent;
    m.source = i % std::max(1, o_.sources);
    // Spread the drips over the interval so that they do not arrive in one burst.
    m.next_drip_ms = now + (o_.drip_interval_ms * static_cast<int64_t>(i)) / std::max(1, total);
    if (!connectMember(m)) {
      for (auto& other : members_)
        if (other.fd >= 0) ::close(other.fd);
      throw std::runtime_error("socket crowd: connection " + std::to_string(i) + " could not be opened");
    }
  }
  thread_ = std::thread([this] { run(); });
}

SocketCrowd::~SocketCrowd() { stop(); }

void SocketCrowd::stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
  for (auto& m : members_)
    if (m.fd >= 0) {
      ::close(m.fd);
      m.fd = -1;
    }
  open_ = 0;
}

bool SocketCrowd::connectMember(Member& m) {
  m.fd = connectFrom("127.0.0." + std::to_string(2 + m.source), o_.port);
  if (m.fd < 0) {
    ++failed_connects_;
    return false;
  }
  ++open_;
  m.lines_sent = 0;
  if (m.drips) sendAll(m.fd, "GET /api/v1/participants HTTP/1.1\r\n");
  return true;
}

void SocketCrowd::run() {
  std::vector<pollfd> fds;
  while (!stopping_) {
    fds.clear();
    for (const auto& m : members_) fds.push_back({m.fd, POLLIN, 0});
    ::poll(fds.data(), fds.size(), 50);
    const int64_t now = nowMs();
    for (size_t i = 0; i < members_.size(); ++i) {
      Member& m = members_[i];
      if (m.fd < 0) {  // an earlier reconnect failed: try again
        connectMember(m);
        continue;
      }
      if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
        // The server answered (408, 503) or closed: either way this member starts over.
        char buf[512];
        const ssize_t n = ::recv(m.fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0 && std::string(buf, static_cast<size_t>(n)).rfind("HTTP/1.1 408", 0) == 0) ++answered408_;
        ::close(m.fd);
        m.fd = -1;
        --open_;
        ++reopened_;
        connectMember(m);
        continue;
      }
      if (m.drips && now >= m.next_drip_ms) {
        sendAll(m.fd, "X-Drip-" + std::to_string(m.lines_sent++) + ": still coming\r\n");
        m.next_drip_ms = now + o_.drip_interval_ms;
      }
    }
  }
}

}  // namespace vigil::test
