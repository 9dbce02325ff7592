#pragma once
// One vigild per database and per pidfile (issue 13.2). An exclusive flock(2) on a file held for
// the process's life: the kernel drops it when the process dies, however it dies, so a crash
// never leaves a stale lock. The file holds the holder's pid so that the one refused can name it.

#include <optional>
#include <string>

namespace vigil::app {

class InstanceLock {
 public:
  InstanceLock() = default;
  ~InstanceLock();
  InstanceLock(const InstanceLock&) = delete;
  InstanceLock& operator=(const InstanceLock&) = delete;

  // Takes the lock on path (created 0644 if missing) without waiting and writes this process's
  // pid into it. False when another process holds it (holder() then names its pid, if it wrote
  // one) or the file cannot be opened (error() says why).
  bool acquire(const std::string& path);
  // Removes the file (only while holding it) and releases the lock; the destructor only
  // releases, leaving the file for the next holder to overwrite.
  void releaseAndRemove();

  std::optional<long> holder() const { return holder_; }
  const std::string& error() const { return error_; }

 private:
  int fd_ = -1;
  std::string path_;
  std::optional<long> holder_;
  std::string error_;
};

}  // namespace vigil::app
