#pragma once
// The audit key (issue 13.4): the secret under which every new audit row is HMAC-SHA-256'd. It
// lives outside the database: VIGIL_AUDIT_KEY (64 or more hex digits) or a key file holding the
// same, readable by its owner only (mode 0600; vigild and vigilctl refuse a looser one).
//
// A brand-new database (no audit rows yet) gets a key file of its own on first use, so a fresh
// clone's make run keys its chain with no set-up. A database that already has rows but no key
// is one from before issue 13.4: vigild and vigilctl refuse it until an operator runs
// vigilctl audit init-key, which creates the key and appends a keyed "init-key" entry.

#include <stdexcept>
#include <string>

#include "app/settings.h"
#include "core/status.h"

namespace vigil::app {

class AuditKeyError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Whether the database at path has no audit rows (or does not exist yet).
bool databaseIsNew(const std::string& path);

// Reads the key: VIGIL_AUDIT_KEY if set, else audit.key_file. When neither exists and
// create_for_new_database is set and the database is new, creates the key file (created is
// then set true). Throws AuditKeyError with what an operator must do.
std::string loadAuditKey(const AuditSettings& audit, const std::string& database_path, bool create_for_new_database,
                         bool* created = nullptr);

// Writes a new random 256-bit key to path, mode 0600, failing (never overwriting) if path
// exists. Returns the key (raw bytes).
core::Result<std::string> createAuditKeyFile(const std::string& path);

// A short, non-secret name of a key for logs and audit entries: the first 16 hex digits of the
// SHA-256 of the key.
std::string keyFingerprint(const std::string& key);

}  // namespace vigil::app
