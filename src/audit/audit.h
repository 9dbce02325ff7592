#pragma once
// The append-only, hash-chained audit trail. Each entry carries the hash of the entry before
// it, so altering, removing or reordering any stored row breaks every later link. This module
// only computes and checks hashes; the store persists entries in the same transaction as the
// change they describe.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace vigil::audit {

// Hash of the (empty) chain before the first entry.
inline constexpr const char* kGenesisHash = "0000000000000000000000000000000000000000000000000000000000000000";

struct AuditEntry {
  int64_t seq = 0;          // 1, 2, 3, ... without gaps
  std::string at;           // UTC timestamp
  std::string actor;        // user name, or "vigilctl:<os user>" for admin commands
  std::string action;       // e.g. "create", "update"
  std::string entity;       // e.g. "adverse_event"
  std::string entity_id;
  std::string before;       // JSON of the entity before the change; empty for a creation
  std::string after;        // JSON after the change
  std::string prev_hash;
  std::string hash;
};

// SHA-256 (hex) over prev_hash and every field of the entry, each length-prefixed so no two
// different entries can serialise to the same bytes. Ignores entry.hash.
std::string computeHash(const AuditEntry& entry);

struct VerifyReport {
  int64_t entries = 0;
  std::optional<int64_t> first_broken_seq;  // nullopt when the whole chain verifies
  std::string problem;                      // why that row is broken
};

// Checks entries (ordered by seq) link to one another from the genesis hash and each stored
// hash matches its recomputation. Stops at the first broken row.
VerifyReport verifyChain(const std::vector<AuditEntry>& entries);

}  // namespace vigil::audit
