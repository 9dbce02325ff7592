#pragma once
// The append-only, hash-chained audit trail. Each entry carries the hash of the entry before
// it, so altering, removing or reordering any stored row breaks every later link. This module
// only computes and checks hashes; the store persists entries in the same transaction as the
// change they describe.
//
// Keyed chain (issue 13.4). A row's scheme says how its hash was made:
//   "sha256"       plain SHA-256: rows written before the chain was keyed. Anyone can recompute
//                  these, so they are accepted only as a prefix: before the first keyed row.
//   "hmac-sha256"  HMAC-SHA-256 under the audit key, a secret kept outside the database; a
//                  forger who edits a row and re-hashes it without the key breaks the chain.
// The first keyed row links to the last plain one, so the key protects the old rows too.
//
// Anchor. The head (newest seq and its hash) is also written to a file beside the database
// after each commit (audit/anchor.h) and into each DSMB manifest: a chain that ends before the
// anchor has lost its tail, even though every remaining link holds.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace vigil::audit {

// Hash of the (empty) chain before the first entry.
inline constexpr const char* kGenesisHash = "0000000000000000000000000000000000000000000000000000000000000000";
inline constexpr const char* kPlainScheme = "sha256";
inline constexpr const char* kKeyedScheme = "hmac-sha256";

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
  std::string scheme = kPlainScheme;  // kPlainScheme or kKeyedScheme
};

// The newest row of a chain: what the anchor file and a DSMB manifest record.
struct Head {
  int64_t seq = 0;  // 0: the empty chain
  std::string hash = kGenesisHash;
};

// Hex hash over prev_hash and every field of the entry, each length-prefixed so no two
// different entries can serialise to the same bytes. Ignores entry.hash. A kPlainScheme entry
// gets SHA-256 (key ignored); a kKeyedScheme entry gets HMAC-SHA-256 under key (raw bytes) over
// the scheme name and the same bytes, or "" when key is empty (it cannot be computed).
std::string computeHash(const AuditEntry& entry, const std::string& key = {});

struct VerifyReport {
  int64_t entries = 0;
  int64_t plain_entries = 0;                // of those, plain SHA-256 rows from before keying
  std::optional<int64_t> first_broken_seq;  // nullopt when the whole chain verifies
  std::string problem;                      // why that row is broken
};

// Checks entries (ordered by seq) link to one another from the genesis hash, each stored hash
// matches its recomputation under key, and no plain row follows a keyed one. Under a key, a
// non-empty chain must also hold a keyed row (else row 1, or the stretch's first, is named).
// Stops at the first broken row.
VerifyReport verifyChain(const std::vector<AuditEntry>& entries, const std::string& key = {});

// Checks a stretch of the chain that starts at entries.front() (its own prev_hash is taken as
// given): the same checks as verifyChain from there on. For the start-up head check, which reads
// only the rows from the anchor onwards.
VerifyReport verifyTail(const std::vector<AuditEntry>& entries, const std::string& key);

// Whether the chain (ordered by seq; any stretch that holds the anchor's row or ends before it)
// still holds the row the anchor names with the same hash. Returns the problem, or nullopt.
// A chain longer than the anchor is fine (the anchor may lag after a crash); one shorter has
// lost its tail.
std::optional<std::string> checkAnchor(const std::vector<AuditEntry>& entries, const Head& anchor);

}  // namespace vigil::audit
