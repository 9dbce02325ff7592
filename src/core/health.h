#pragma once
// vigild's health board: components that find a condition an operator must act on (alert mail
// late past its class's threshold, the audit chain broken, writes failing) post it here under
// their own name, and clear it when it is over. GET /healthz answers "degraded" while any
// problem is posted and lists each. Thread-safe; posting costs one short mutex hold, so callers
// post on a change, not in a tight loop.

#include <map>
#include <mutex>
#include <string>

namespace vigil::core {

class HealthBoard {
 public:
  // Posts (or replaces) component's problem; text is for operators: ids, never patient data.
  void set(const std::string& component, std::string problem);
  // Withdraws component's problem, if any.
  void clear(const std::string& component);
  // Every posted problem, by component; empty when healthy.
  std::map<std::string, std::string> problems() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::string> problems_;
};

}  // namespace vigil::core
