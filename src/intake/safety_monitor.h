#pragma once
// Keeps each participant's recorded safety evaluation current (issue 4: "evaluated on every AE,
// lab, vital-sign and dosing write"). Every write that can change a participant's evaluation calls
// record() inside its own unit of work, so the change is stored atomically with the data that
// caused it; the sweep re-evaluates every participant on a timer, so clocks that run out without
// any write (a hold past its maximum, a 12-week irAE clock, diarrhoea persisting past 72 h) are
// recorded too.
//
// What is recorded: per participant a summary of the last evaluation (safety_state), and one
// append-only safety_changes row per drug whose recommendation changed (action, dose or rule ids),
// per new protocol-deviation finding and per new on-study flag, each with an audit entry. A
// finding or flag that later disappears (the AE behind it was corrected) is dropped from the
// summary; its change row stays.

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "core/model.h"
#include "core/status.h"
#include "core/time.h"
#include "outbox/alert_planner.h"
#include "rules/evaluator.h"
#include "store/store.h"

namespace vigil::intake {

// The rules' view of a stored history, evaluated as of as_of_ms. Refs are "ae/ID", "lab/ID",
// "vitals/ID" and "dose/ID".
rules::Scenario scenarioOf(const store::History& history, int64_t as_of_ms);

class SafetyMonitor {
 public:
  // With an alert planner, record() also writes the alerts the evaluation calls for (issue 5),
  // in the same unit of work.
  explicit SafetyMonitor(const rules::Evaluator& evaluator, const outbox::AlertPlanner* alerts = nullptr)
      : evaluator_(evaluator), alerts_(alerts) {}

  const rules::Evaluator& evaluator() const { return evaluator_; }

  // Evaluates the participant's history as this unit sees it, as of the unit's time, and records
  // what changed since the last recorded evaluation. Returns the changes recorded (none for an
  // unknown participant). Throws only what the Transaction throws.
  std::vector<core::SafetyChange> record(store::Transaction& tx, const std::string& study_id,
                                         const std::string& actor, const std::string& cause) const;

  // Re-evaluates every participant, each in its own unit of work, with actor "vigild" and cause
  // "clock". Returns the number of changes recorded, or the first store failure.
  core::Result<size_t> sweep(store::Store& store) const;

 private:
  const rules::Evaluator& evaluator_;
  const outbox::AlertPlanner* alerts_;
};

}  // namespace vigil::intake
