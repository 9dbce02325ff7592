#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <fstream>

#include "audit/anchor.h"
#include "audit/audit.h"
#include "support/temp_dir.h"

using namespace vigil::audit;

namespace {
const std::string kKey(32, 'k');

// n rows; the first `plain` of them plain SHA-256, the rest keyed with key.
std::vector<AuditEntry> chain(int n, const std::string& key = {}, int plain = -1) {
  std::vector<AuditEntry> out;
  std::string prev = kGenesisHash;
  for (int i = 1; i <= n; ++i) {
    const bool keyed = !key.empty() && (plain < 0 ? true : i > plain);
    AuditEntry e{i, "2026-02-10T08:00:00.000Z", "inv1", "create", "adverse_event", std::to_string(i), "",
                 "{\"grade\":" + std::to_string(i) + "}", prev, "", keyed ? kKeyedScheme : kPlainScheme};
    e.hash = computeHash(e, key);
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
  AuditEntry a{1, "t", "ab", "c", "e", "1", "", "", kGenesisHash, "", kPlainScheme};
  AuditEntry b{1, "t", "a", "bc", "e", "1", "", "", kGenesisHash, "", kPlainScheme};
  CHECK(computeHash(a) != computeHash(b));
}

// ---- keyed chain and anchor (issue 13.4) ----------------------------------------------------

TEST_CASE("a keyed chain verifies only under its key", "[audit]") {
  const auto entries = chain(5, kKey);
  CHECK_FALSE(verifyChain(entries, kKey).first_broken_seq);
  const auto other = verifyChain(entries, std::string(32, 'x'));
  REQUIRE(other.first_broken_seq);
  CHECK(*other.first_broken_seq == 1);
  const auto none = verifyChain(entries);
  REQUIRE(none.first_broken_seq);
  CHECK(none.problem.find("no audit key") != std::string::npos);
}

TEST_CASE("a middle row re-hashed with plain SHA-256 breaks a keyed chain", "[audit]") {
  // The forger edits row 5 and re-hashes it and every later row with plain SHA-256.
  SECTION("labelled keyed, hashed plain") {
    auto forged = chain(9, kKey);
    forged[4].after = "{\"grade\":1}";
    for (size_t i = 4; i < forged.size(); ++i) {
      forged[i].prev_hash = forged[i - 1].hash;
      AuditEntry plain = forged[i];
      plain.scheme = kPlainScheme;
      forged[i].hash = computeHash(plain);
    }
    const auto report = verifyChain(forged, kKey);
    REQUIRE(report.first_broken_seq);
    CHECK(*report.first_broken_seq == 5);
  }
  SECTION("relabelled plain") {
    auto forged = chain(9, kKey);
    forged[4].after = "{\"grade\":1}";
    for (size_t i = 4; i < forged.size(); ++i) {
      forged[i].prev_hash = forged[i - 1].hash;
      forged[i].scheme = kPlainScheme;
      forged[i].hash = computeHash(forged[i]);
    }
    const auto report = verifyChain(forged, kKey);
    REQUIRE(report.first_broken_seq);
    CHECK(*report.first_broken_seq == 5);
    CHECK(report.problem.find("plain sha256 row after keyed rows") != std::string::npos);
  }
}

TEST_CASE("plain rows from before keying verify as a prefix", "[audit]") {
  const auto entries = chain(6, kKey, 3);  // rows 1-3 plain, 4-6 keyed
  CHECK(entries[2].scheme == kPlainScheme);
  CHECK(entries[3].scheme == kKeyedScheme);
  CHECK_FALSE(verifyChain(entries, kKey).first_broken_seq);
}

TEST_CASE("re-hashing the plain prefix breaks the first keyed row", "[audit]") {
  auto entries = chain(6, kKey, 3);
  entries[1].actor = "someone else";
  entries[1].hash = computeHash(entries[1]);
  entries[2].prev_hash = entries[1].hash;
  entries[2].hash = computeHash(entries[2]);
  const auto report = verifyChain(entries, kKey);
  REQUIRE(report.first_broken_seq);
  CHECK(*report.first_broken_seq == 4);  // its prev_hash is sealed by the key
}

TEST_CASE("a chain cut below its anchor is found", "[audit]") {
  auto entries = chain(600, kKey);
  const Head anchor{600, entries.back().hash};
  CHECK_FALSE(checkAnchor(entries, anchor));
  SECTION("the newest row removed") {
    entries.pop_back();
    CHECK_FALSE(verifyChain(entries, kKey).first_broken_seq);  // every remaining link holds
    auto problem = checkAnchor(entries, anchor);
    REQUIRE(problem);
    CHECK(problem->find("ends at row 599") != std::string::npos);
  }
  SECTION("the newest 500 rows removed") {
    entries.resize(100);
    CHECK_FALSE(verifyChain(entries, kKey).first_broken_seq);
    auto problem = checkAnchor(entries, anchor);
    REQUIRE(problem);
    CHECK(problem->find("500 newest row(s) were removed") != std::string::npos);
  }
  SECTION("an anchor that lags the chain is fine") { CHECK_FALSE(checkAnchor(entries, Head{590, entries[589].hash})); }
  SECTION("an anchor whose row holds another hash") {
    auto problem = checkAnchor(entries, Head{590, entries[588].hash});
    REQUIRE(problem);
    CHECK(problem->find("row 590") != std::string::npos);
  }
}

TEST_CASE("the tail from the anchor verifies on its own", "[audit]") {
  auto entries = chain(20, kKey);
  std::vector<AuditEntry> tail(entries.begin() + 15, entries.end());
  CHECK_FALSE(verifyTail(tail, kKey).first_broken_seq);
  tail.back().after = "{}";
  const auto report = verifyTail(tail, kKey);
  REQUIRE(report.first_broken_seq);
  CHECK(*report.first_broken_seq == 20);
}

TEST_CASE("an anchor file round-trips and refuses a forged MAC", "[audit]") {
  vigil::test::TempDir dir;
  const std::string path = dir.file("db.anchor");
  auto missing = readAnchor(path, kKey);
  REQUIRE(missing.isOk());
  CHECK_FALSE(missing.value());
  const Head head{42, std::string(64, 'a')};
  REQUIRE(writeAnchor(path, head, kKey).isOk());
  auto back = readAnchor(path, kKey);
  REQUIRE(back.isOk());
  REQUIRE(back.value());
  CHECK(back.value()->seq == 42);
  CHECK(back.value()->hash == head.hash);
  // Pointing the anchor at an earlier row needs the key.
  std::ofstream(path) << "vigil-audit-anchor/1 41 " << std::string(64, 'a') << " " << std::string(64, '0') << "\n";
  auto forged = readAnchor(path, kKey);
  REQUIRE_FALSE(forged.isOk());
  CHECK(forged.status().message().find("MAC") != std::string::npos);
  CHECK_FALSE(parseAnchor("garbage", kKey).isOk());
}

TEST_CASE("a chain re-hashed plain from its first row fails under the key", "[audit]") {
  // Every row rewritten as plain SHA-256: each link holds, but no row is keyed any more.
  auto forged = chain(8, kKey);
  forged[0].after = "{\"grade\":0}";
  std::string prev = kGenesisHash;
  for (auto& e : forged) {
    e.prev_hash = prev;
    e.scheme = kPlainScheme;
    e.hash = computeHash(e);
    prev = e.hash;
  }
  CHECK_FALSE(verifyChain(forged).first_broken_seq);  // what the old verifier saw
  const auto report = verifyChain(forged, kKey);
  REQUIRE(report.first_broken_seq);
  CHECK(*report.first_broken_seq == 1);
  CHECK(report.problem.find("no row is keyed") != std::string::npos);
  CHECK(verifyTail(std::vector<AuditEntry>(forged.begin() + 4, forged.end()), kKey).first_broken_seq == 5);
}

TEST_CASE("verify counts the legacy plain rows before the keyed epoch", "[audit]") {
  CHECK(verifyChain(chain(6, kKey, 3), kKey).plain_entries == 3);
  CHECK(verifyChain(chain(6, kKey, 0), kKey).plain_entries == 0);
  CHECK(verifyChain(chain(6, kKey, 5), kKey).plain_entries == 5);  // one keyed row seals them
  CHECK(verifyChain(chain(6), {}).plain_entries == 6);
}
