#pragma once
// ISO 8601 dates and UTC timestamps, and an injectable clock. Time in Vigil is always UTC.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vigil::core {

// Days since 1970-01-01 for a calendar date "YYYY-MM-DD"; nullopt when malformed or not a real
// date (2026-02-30 is rejected).
std::optional<int64_t> parseDate(std::string_view text);

// Milliseconds since the epoch for "YYYY-MM-DDTHH:MM[:SS[.fff]](Z|+HH:MM|-HH:MM)". A timestamp
// without a zone designator is rejected rather than guessed.
std::optional<int64_t> parseTimestamp(std::string_view text);

inline constexpr int64_t kHourMs = 3600LL * 1000;
inline constexpr int64_t kDayMs = 24 * kHourMs;

// Milliseconds since the epoch for a date (taken at 00:00 UTC) or a zoned timestamp.
std::optional<int64_t> parseInstant(std::string_view text);

// "YYYY-MM-DDTHH:MM:SS.mmmZ" for milliseconds since the epoch.
std::string formatTimestamp(int64_t epoch_ms);
// "YYYY-MM-DD" for days since the epoch.
std::string formatDate(int64_t epoch_days);

// Source of the current time; tests inject a fixed one. Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t nowMs() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t nowMs() const override;
};

}  // namespace vigil::core
