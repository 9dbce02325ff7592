#include "audit/audit.h"

#include "core/crypto.h"

namespace vigil::audit {
namespace {
void put(std::string& out, const std::string& field) {
  out += std::to_string(field.size());
  out += ':';
  out += field;
  out += ';';
}

// The shared loop of verifyChain and verifyTail. expected_prev empty: take the first row's.
VerifyReport verifyFrom(const std::vector<AuditEntry>& entries, const std::string& key, std::string expected_prev,
                        int64_t expected_seq) {
  VerifyReport report;
  bool keyed_seen = false;
  for (const auto& e : entries) {
    ++report.entries;
    auto fail = [&](std::string why) {
      report.first_broken_seq = e.seq;
      report.problem = std::move(why);
      return report;
    };
    if (e.seq != expected_seq)
      return fail("sequence gap: expected row " + std::to_string(expected_seq) + ", found " + std::to_string(e.seq));
    if (!expected_prev.empty() && e.prev_hash != expected_prev)
      return fail("prev_hash does not match the hash of the row before");
    if (e.scheme == kKeyedScheme) {
      if (key.empty()) return fail("the row is keyed (hmac-sha256) and no audit key was given");
      keyed_seen = true;
    } else if (e.scheme == kPlainScheme) {
      // A plain row after a keyed one is a forgery: someone re-hashed rows without the key.
      if (keyed_seen) return fail("a plain sha256 row after keyed rows: re-hashed without the audit key");
      ++report.plain_entries;
    } else {
      return fail("unknown hash scheme '" + e.scheme + "'");
    }
    if (computeHash(e, key) != e.hash)
      return fail(e.scheme == kKeyedScheme ? "stored hash does not match the row's content under the audit key"
                                           : "stored hash does not match the row's content");
    expected_prev = e.hash;
    ++expected_seq;
  }
  // Under a key, a chain must end keyed: every row written since keying is, and vigilctl audit
  // init-key seals the plain rows of an older database with a keyed row. A chain that is plain
  // to its end was re-hashed from its start without the key (or never sealed); without this
  // rule only the anchor would catch it.
  if (!key.empty() && !entries.empty() && !keyed_seen) {
    report.first_broken_seq = entries.front().seq;
    report.problem = "no row is keyed under the audit key: the chain was re-hashed with plain sha256, or a database "
                     "from before keyed chains was never sealed with vigilctl audit init-key";
  }
  return report;
}
}  // namespace

std::string computeHash(const AuditEntry& e, const std::string& key) {
  const bool keyed = e.scheme == kKeyedScheme;
  if (keyed && key.empty()) return {};
  std::string buf;
  buf.reserve(160 + e.before.size() + e.after.size());
  if (keyed) put(buf, e.scheme);
  put(buf, e.prev_hash);
  put(buf, std::to_string(e.seq));
  put(buf, e.at);
  put(buf, e.actor);
  put(buf, e.action);
  put(buf, e.entity);
  put(buf, e.entity_id);
  put(buf, e.before);
  put(buf, e.after);
  return keyed ? core::hmacSha256Hex(key, buf) : core::sha256Hex(buf);
}

VerifyReport verifyChain(const std::vector<AuditEntry>& entries, const std::string& key) {
  return verifyFrom(entries, key, kGenesisHash, 1);
}

VerifyReport verifyTail(const std::vector<AuditEntry>& entries, const std::string& key) {
  if (entries.empty()) return {};
  return verifyFrom(entries, key, "", entries.front().seq);
}

std::optional<std::string> checkAnchor(const std::vector<AuditEntry>& entries, const Head& anchor) {
  const int64_t last = entries.empty() ? 0 : entries.back().seq;
  if (anchor.seq > last)
    return "the audit trail ends at row " + std::to_string(last) + " but the anchor records row " +
           std::to_string(anchor.seq) + ": " + std::to_string(anchor.seq - last) + " newest row(s) were removed";
  if (anchor.seq == 0) return anchor.hash == kGenesisHash ? std::nullopt
                                                          : std::optional<std::string>("the anchor of row 0 is not the genesis hash");
  for (const auto& e : entries)
    if (e.seq == anchor.seq)
      return e.hash == anchor.hash ? std::nullopt
                                   : std::optional<std::string>("row " + std::to_string(anchor.seq) +
                                                                " does not hold the hash the anchor records");
  return "row " + std::to_string(anchor.seq) + " that the anchor records is missing";
}

}  // namespace vigil::audit
