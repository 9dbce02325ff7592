#include "intake/audit_check.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "audit/anchor.h"
#include "intake/json_codec.h"

namespace vigil::intake {
namespace {

using nlohmann::json;

// The anchor, read before the database: a commit after this read can only make the chain
// longer than the anchor, which is allowed, never shorter.
struct AnchorRead {
  std::optional<audit::Head> head;
  std::string problem;
};

AnchorRead readAnchorFirst(const AuditCheckOptions& options) {
  AnchorRead out;
  if (options.anchor_path.empty()) return out;
  auto anchor = audit::readAnchor(options.anchor_path, options.key);
  if (!anchor.isOk()) out.problem = anchor.status().message();
  else out.head = anchor.value();
  return out;
}

std::string brokenAt(const audit::VerifyReport& r) {
  return "audit trail broken at row " + std::to_string(*r.first_broken_seq) + ": " + r.problem;
}

// Equal as the audit recorded it. Serious criteria are kept in the order they were sent but
// read back in the catalogue's order: the same set either way.
bool sameField(const std::string& key, const json& recorded, const json& stored) {
  if (key == "serious_criteria" && recorded.is_array() && stored.is_array()) {
    auto a = recorded.get<std::vector<std::string>>();
    auto b = stored.get<std::vector<std::string>>();
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    return a == b;
  }
  return recorded == stored;
}

class DataChecker {
 public:
  explicit DataChecker(const std::vector<audit::AuditEntry>& entries) {
    for (const auto& e : entries) latest_[{e.entity, e.entity_id}] = &e;  // by seq: the last one wins
  }

  // The first field of the latest audit entry that the row no longer holds.
  std::optional<std::string> check(const std::string& entity, const std::string& id, const json& row) {
    ++rows_;
    const auto it = latest_.find({entity, id});
    if (it == latest_.end()) return entity + " " + id + " has no audit entry: it was written outside Vigil";
    const audit::AuditEntry& e = *it->second;
    const json recorded = json::parse(e.after, nullptr, false);
    if (!recorded.is_object()) return "audit row " + std::to_string(e.seq) + " of " + entity + " " + id + " is not a JSON object";
    for (auto f = recorded.begin(); f != recorded.end(); ++f) {
      if (!row.contains(f.key()) || !sameField(f.key(), f.value(), row[f.key()]))
        return entity + " " + id + ": field '" + f.key() + "' in its table differs from its latest audit entry (row " +
               std::to_string(e.seq) + ")";
    }
    return std::nullopt;
  }
  int64_t rows() const { return rows_; }

 private:
  std::map<std::pair<std::string, std::string>, const audit::AuditEntry*> latest_;
  int64_t rows_ = 0;
};

}  // namespace

std::optional<std::string> firstDataMismatch(const store::AuditSnapshot& s, int64_t* rows) {
  DataChecker checker(s.entries);
  std::optional<std::string> problem;
  auto run = [&](const std::string& entity, const std::string& id, const json& row) {
    if (!problem) problem = checker.check(entity, id, row);
  };
  for (const auto& p : s.participants) run("participant", p.study_id, toJson(p));
  for (const auto& d : s.doses) run("dose", std::to_string(d.id), toJson(d));
  for (const auto& a : s.adverse_events) run("adverse_event", std::to_string(a.id), toJson(a.current()));
  for (const auto& l : s.labs) run("lab_result", std::to_string(l.id), toJson(l));
  for (const auto& v : s.vitals) run("vital_signs", std::to_string(v.id), toJson(v));
  for (const auto& g : s.pregnancies) run("pregnancy", std::to_string(g.id), toJson(g));
  for (const auto& m : s.medications) run("concomitant_medication", std::to_string(m.id), toJson(m));
  if (rows) *rows = checker.rows();
  return problem;
}

core::Result<AuditCheckReport> checkAuditHead(store::Store& store, const AuditCheckOptions& options) {
  AuditCheckReport report;
  const AnchorRead anchor = readAnchorFirst(options);
  report.anchor = anchor.head;
  if (!anchor.problem.empty()) {
    report.problem = anchor.problem;
    return report;
  }
  // From the anchor's row on (normally the newest, or a few behind after a crash).
  const int64_t from = anchor.head ? std::max<int64_t>(1, anchor.head->seq) : 1;
  auto entries = store.auditEntriesFrom(from);
  if (!entries.isOk()) return entries.status();
  if (!options.anchor_path.empty() && !anchor.head && !entries.value().empty()) {
    report.problem = "the audit anchor " + options.anchor_path + " is missing, for a chain of " +
                     std::to_string(entries.value().back().seq) + " rows";
    return report;
  }
  if (anchor.head && entries.value().empty() && anchor.head->seq > 0) {
    // Nothing from the anchor on: the chain ends before it. Say where it ends.
    auto head = store.auditHead();
    if (!head.isOk()) return head.status();
    auto stretch = store.auditEntriesFrom(head.value().seq);
    if (!stretch.isOk()) return stretch.status();
    report.problem = audit::checkAnchor(stretch.value(), *anchor.head).value_or("");
    return report;
  }
  if (anchor.head) {
    if (auto p = audit::checkAnchor(entries.value(), *anchor.head)) {
      report.problem = *p;
      return report;
    }
  }
  const auto tail =
      from == 1 ? audit::verifyChain(entries.value(), options.key) : audit::verifyTail(entries.value(), options.key);
  report.entries = tail.entries;
  if (tail.first_broken_seq) {
    report.problem = brokenAt(tail);
    report.broken_seq = tail.first_broken_seq;
  }
  return report;
}

core::Result<AuditCheckReport> checkAuditTrail(store::Store& store, const AuditCheckOptions& options) {
  AuditCheckReport report;
  const AnchorRead anchor = readAnchorFirst(options);
  report.anchor = anchor.head;
  auto snapshot = store.auditSnapshot();
  if (!snapshot.isOk()) return snapshot.status();
  const auto& entries = snapshot.value().entries;
  const auto chain = audit::verifyChain(entries, options.key);
  report.entries = chain.entries;
  report.plain_entries = chain.plain_entries;
  if (chain.first_broken_seq) {
    report.problem = brokenAt(chain);
    report.broken_seq = chain.first_broken_seq;
    return report;
  }
  if (!anchor.problem.empty()) {
    report.problem = anchor.problem;
    return report;
  }
  if (!options.anchor_path.empty()) {
    if (!anchor.head && !entries.empty()) {
      report.problem = "the audit anchor " + options.anchor_path + " is missing, for a chain of " +
                       std::to_string(entries.back().seq) + " rows";
      return report;
    }
    if (anchor.head) {
      if (auto p = audit::checkAnchor(entries, *anchor.head)) {
        report.problem = *p;
        return report;
      }
    }
  }
  if (auto p = firstDataMismatch(snapshot.value(), &report.rows)) report.problem = *p;
  return report;
}

}  // namespace vigil::intake
