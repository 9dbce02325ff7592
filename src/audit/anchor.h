#pragma once
// The audit anchor: the chain's head kept outside the database, so that cutting the newest rows
// (which leaves every remaining link intact) is still found. One line of text,
//
//   vigil-audit-anchor/1 <seq> <hash> <mac>
//
// where mac is HMAC-SHA-256 under the audit key of everything before it (so the anchor cannot
// be rewritten to point at an earlier row without the key), or "-" when there is no key.
// The store rewrites the file (a temporary file, then rename: readers see the old line or the
// new one, never a mix) after each commit, without an fsync: after a crash it may lag the
// database, but as it is written only after a commit it never leads it.

#include <optional>
#include <string>

#include "audit/audit.h"
#include "core/status.h"

namespace vigil::audit {

// The anchor's line for head (with its trailing newline).
std::string formatAnchor(const Head& head, const std::string& key);

// Parses an anchor line and, when key is not empty, checks its MAC. Status::invalid says why not.
core::Result<Head> parseAnchor(const std::string& text, const std::string& key);

// The anchor file's head; nullopt when the file does not exist; Status::invalid when it cannot
// be read, does not parse or its MAC does not match.
core::Result<std::optional<Head>> readAnchor(const std::string& path, const std::string& key);

// Replaces the anchor file with head's line: written to a temporary file beside it (named with
// the pid, so vigild and vigilctl never share one) and renamed over it. No fsync. Thread-safe
// for different paths; callers serialise writes to one path within a process.
core::Status writeAnchor(const std::string& path, const Head& head, const std::string& key);

}  // namespace vigil::audit
