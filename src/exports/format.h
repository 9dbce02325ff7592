#pragma once
// Small text helpers shared by the package's writers (CSV, SDTM, report.html). Internal to exports.

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "core/time.h"

namespace vigil::exports {

// A number with a fixed count of decimals ("64.3"): the same digits in every file and run.
inline std::string fixed(double v, int digits) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// Days since the epoch of a date or of a timestamp's date part; 0 when malformed.
inline int64_t dayNumber(std::string_view date_or_timestamp) {
  return core::parseDate(date_or_timestamp.substr(0, 10)).value_or(0);
}

}  // namespace vigil::exports
