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
}  // namespace

std::string computeHash(const AuditEntry& e) {
  std::string buf;
  buf.reserve(128 + e.before.size() + e.after.size());
  put(buf, e.prev_hash);
  put(buf, std::to_string(e.seq));
  put(buf, e.at);
  put(buf, e.actor);
  put(buf, e.action);
  put(buf, e.entity);
  put(buf, e.entity_id);
  put(buf, e.before);
  put(buf, e.after);
  return core::sha256Hex(buf);
}

VerifyReport verifyChain(const std::vector<AuditEntry>& entries) {
  VerifyReport report;
  std::string expected_prev = kGenesisHash;
  int64_t expected_seq = 1;
  for (const auto& e : entries) {
    ++report.entries;
    auto fail = [&](std::string why) {
      report.first_broken_seq = e.seq;
      report.problem = std::move(why);
      return report;
    };
    if (e.seq != expected_seq)
      return fail("sequence gap: expected row " + std::to_string(expected_seq) + ", found " + std::to_string(e.seq));
    if (e.prev_hash != expected_prev) return fail("prev_hash does not match the hash of the row before");
    if (computeHash(e) != e.hash) return fail("stored hash does not match the row's content");
    expected_prev = e.hash;
    ++expected_seq;
  }
  return report;
}

}  // namespace vigil::audit
