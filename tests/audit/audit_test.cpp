#include <catch2/catch.hpp>

#include "audit/audit.h"

using namespace vigil::audit;

namespace {
std::vector<AuditEntry> chain(int n) {
  std::vector<AuditEntry> out;
  std::string prev = kGenesisHash;
  for (int i = 1; i <= n; ++i) {
    AuditEntry e{i, "2026-02-10T08:00:00.000Z", "inv1", "create", "adverse_event", std::to_string(i), "",
                 "{\"grade\":" + std::to_string(i) + "}", prev, ""};
    e.hash = computeHash(e);
    prev = e.hash;
    out.push_back(e);
  }
  return out;
}
}  // namespace

TEST_CASE("an intact chain verifies", "[audit]") {
  const auto report = verifyChain(chain(5));
  CHECK(report.entries == 5);
  CHECK_FALSE(report.first_broken_seq);
  CHECK(verifyChain({}).entries == 0);
}

TEST_CASE("changing any field of a row breaks the chain at that row", "[audit]") {
  auto entries = chain(5);
  entries[2].after = "{\"grade\":1}";
  const auto report = verifyChain(entries);
  REQUIRE(report.first_broken_seq);
  CHECK(*report.first_broken_seq == 3);
  CHECK(report.problem.find("content") != std::string::npos);
}

TEST_CASE("rehashing a tampered row still breaks the link to the next row", "[audit]") {
  auto entries = chain(5);
  entries[1].actor = "someone else";
  entries[1].hash = computeHash(entries[1]);
  const auto report = verifyChain(entries);
  REQUIRE(report.first_broken_seq);
  CHECK(*report.first_broken_seq == 3);
}

TEST_CASE("a removed row is found as a sequence gap", "[audit]") {
  auto entries = chain(5);
  entries.erase(entries.begin() + 3);
  const auto report = verifyChain(entries);
  REQUIRE(report.first_broken_seq);
  CHECK(*report.first_broken_seq == 5);
}

TEST_CASE("field boundaries are part of the hash", "[audit]") {
  AuditEntry a{1, "t", "ab", "c", "e", "1", "", "", kGenesisHash, ""};
  AuditEntry b{1, "t", "a", "bc", "e", "1", "", "", kGenesisHash, ""};
  CHECK(computeHash(a) != computeHash(b));
}
