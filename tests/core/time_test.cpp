#include <catch2/catch.hpp>

#include "core/time.h"

using namespace vigil::core;

TEST_CASE("calendar dates parse to days since the epoch and back", "[core]") {
  CHECK(parseDate("1970-01-01") == 0);
  CHECK(parseDate("2026-01-05") == 20458);
  CHECK(formatDate(20458) == "2026-01-05");
  CHECK(parseDate("2024-02-29").has_value());  // leap year
}

TEST_CASE("impossible or malformed dates are rejected, never corrected", "[core]") {
  CHECK_FALSE(parseDate("2026-02-29"));  // not a leap year
  CHECK_FALSE(parseDate("2026-02-30"));
  CHECK_FALSE(parseDate("2026-13-01"));
  CHECK_FALSE(parseDate("2026-1-5"));
  CHECK_FALSE(parseDate("05/01/2026"));
  CHECK_FALSE(parseDate("2026-01-05T00:00:00Z"));
  CHECK_FALSE(parseDate(""));
}

TEST_CASE("timestamps need a zone and are normalised to UTC", "[core]") {
  const auto utc = parseTimestamp("2026-02-10T08:00:00Z");
  REQUIRE(utc);
  CHECK(formatTimestamp(*utc) == "2026-02-10T08:00:00.000Z");
  // 16:00 in Beijing is 08:00 UTC.
  CHECK(parseTimestamp("2026-02-10T16:00:00+08:00") == utc);
  CHECK(parseTimestamp("2026-02-10T08:00Z") == utc);
  CHECK(formatTimestamp(*parseTimestamp("2026-02-10T08:00:00.25Z")) == "2026-02-10T08:00:00.250Z");
  CHECK_FALSE(parseTimestamp("2026-02-10T08:00:00"));  // no zone: ambiguous
  CHECK_FALSE(parseTimestamp("2026-02-10T24:00:00Z"));
  CHECK_FALSE(parseTimestamp("2026-02-10 08:00:00Z"));
  CHECK_FALSE(parseTimestamp("2026-02-10T08:00:00Zjunk"));
}

TEST_CASE("formatting crosses day boundaries correctly", "[core]") {
  const auto t = parseTimestamp("2026-03-01T00:30:00+01:00");
  REQUIRE(t);
  CHECK(formatTimestamp(*t) == "2026-02-28T23:30:00.000Z");
}
