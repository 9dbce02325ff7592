#pragma once
#include <atomic>

#include "core/time.h"

namespace vigil::test {

// A clock that stands still until told to move.
class FixedClock final : public core::Clock {
 public:
  explicit FixedClock(int64_t ms) : ms_(ms) {}
  int64_t nowMs() const override { return ms_.load(); }
  void set(int64_t ms) { ms_ = ms; }

 private:
  std::atomic<int64_t> ms_;
};

}  // namespace vigil::test
