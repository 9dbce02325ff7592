#pragma once
// Checks the audit trail (issue 13.4) as vigilctl audit verify and vigild's start-up and
// background checks run it:
//   - the chain: every link and hash (HMAC-SHA-256 under the audit key; plain SHA-256 only for
//     the rows from before the chain was keyed, audit/audit.h);
//   - the anchor: the chain still holds the row the anchor file names, with the same hash, so
//     newest rows that were cut are found (audit/anchor.h);
//   - the data: each current clinical row (participants with their baseline labs, doses, AEs at
//     their current version, lab results, vital signs, pregnancies) still holds every field its
//     latest audit entry recorded, so a value edited in its table (with the append-only
//     triggers dropped) is found.
// Problems name rows by id and field, never their values (they may be patient data).

#include <cstdint>
#include <optional>
#include <string>

#include "audit/audit.h"
#include "core/status.h"
#include "store/store.h"

namespace vigil::intake {

struct AuditCheckOptions {
  std::string key;          // the audit key, raw bytes
  std::string anchor_path;  // the anchor file; empty: not checked
};

struct AuditCheckReport {
  int64_t entries = 0;  // audit rows checked
  int64_t plain_entries = 0;  // of those, plain SHA-256 rows from before the chain was keyed
  int64_t rows = 0;     // clinical rows compared with their latest audit entry
  std::optional<audit::Head> anchor;
  std::string problem;  // the first problem found, for an operator; empty when everything holds
  std::optional<int64_t> broken_seq;  // the first broken audit row, when a link or hash failed
  bool ok() const { return problem.empty(); }
};

// The quick start-up check: the anchor file is present (unless the chain is empty) and
// authentic, the chain still holds its row, and the rows from it to the newest link and hash
// correctly. Status only when the database cannot be read.
core::Result<AuditCheckReport> checkAuditHead(store::Store& store, const AuditCheckOptions& options);

// The whole check: chain, anchor and data, from one snapshot. Reads every audit row and every
// clinical row, so it runs in the background or on demand, not on a request path.
core::Result<AuditCheckReport> checkAuditTrail(store::Store& store, const AuditCheckOptions& options);

// The first clinical row of the snapshot that has no audit entry or differs from its latest
// one, named by entity, id and field; nullopt when every row matches. rows counts the rows read.
std::optional<std::string> firstDataMismatch(const store::AuditSnapshot& snapshot, int64_t* rows = nullptr);

}  // namespace vigil::intake
