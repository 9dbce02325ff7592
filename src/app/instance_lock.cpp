#include "app/instance_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace vigil::app {

InstanceLock::~InstanceLock() {
  if (fd_ >= 0) ::close(fd_);
}

bool InstanceLock::acquire(const std::string& path) {
  holder_.reset();
  error_.clear();
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    error_ = "cannot open " + path + ": " + std::strerror(errno);
    return false;
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    if (err == EWOULDBLOCK) {
      char buf[32] = {};
      const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
      if (n > 0) {
        char* end = nullptr;
        const long pid = std::strtol(buf, &end, 10);
        if (end != buf && pid > 0) holder_ = pid;
      }
      error_ = path + " is locked by another process";
    } else {
      error_ = "cannot lock " + path + ": " + std::strerror(err);
    }
    ::close(fd);
    return false;
  }
  const std::string pid = std::to_string(static_cast<long>(::getpid())) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    error_ = "cannot write " + path + ": " + std::strerror(errno);
    ::close(fd);
    return false;
  }
  fd_ = fd;
  path_ = path;
  return true;
}

void InstanceLock::releaseAndRemove() {
  if (fd_ < 0) return;
  ::unlink(path_.c_str());  // still holding it: nobody can have taken it in between
  ::close(fd_);
  fd_ = -1;
}

}  // namespace vigil::app
