#pragma once
// A crowd of misbehaving HTTP clients for the slow-connection tests and the benchmark: sockets
// that connect and send nothing ("silent"), and sockets that send a request head one header line
// at a time, never finishing it ("dripping"). Each comes from one of several loopback source
// addresses (127.0.0.2, 127.0.0.3, ...), so the crowd can stay under a per-address cap. When the
// server closes one, the crowd opens it again at once, so the pressure never lets up.

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace vigil::test {

struct CrowdOptions {
  int port = 0;
  int silent = 0;
  int dripping = 0;
  int drip_interval_ms = 2000;  // one header line this often
  int sources = 10;             // source addresses 127.0.0.2 .. 127.0.0.(1 + sources)
};

class SocketCrowd {
 public:
  // Opens every socket (throws std::runtime_error when one cannot connect), then keeps them
  // open from a thread of its own until stop() or destruction.
  explicit SocketCrowd(CrowdOptions options);
  ~SocketCrowd();
  SocketCrowd(const SocketCrowd&) = delete;
  SocketCrowd& operator=(const SocketCrowd&) = delete;

  void stop();
  int open() const { return open_.load(); }
  // Connections the server answered or closed, opened again by the crowd.
  int64_t reopened() const { return reopened_.load(); }
  // Of those, how many the server first answered with a status line starting "HTTP/1.1 408".
  int64_t answered408() const { return answered408_.load(); }
  // connect() calls that failed (refused or reset).
  int64_t failedConnects() const { return failed_connects_.load(); }

  // Raises this process's descriptor limit to its hard limit; returns the new soft limit.
  static long raiseDescriptorLimit();

 private:
  struct Member {
    int fd = -1;
    bool drips = false;
    int lines_sent = 0;
    int64_t next_drip_ms = 0;
    int source = 0;
  };
  bool connectMember(Member& m);
  void run();

  CrowdOptions o_;
  std::vector<Member> members_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> open_{0};
  std::atomic<int64_t> reopened_{0};
  std::atomic<int64_t> answered408_{0};
  std::atomic<int64_t> failed_connects_{0};
  std::thread thread_;
};

// A connected TCP socket to 127.0.0.1:port from the given source address ("" for any); -1 on
// failure.
int connectFrom(const std::string& source, int port);

}  // namespace vigil::test
