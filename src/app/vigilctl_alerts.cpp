// vigilctl alerts list --state=dead|late|pending and vigilctl alerts retry ID|--all-dead: the
// operator's hands on alert mail that did not go out (issue 13). Output names alerts, classes,
// roles and recipients' addresses; never patient data beyond the study ID.
#include "app/vigilctl_alerts.h"

#include <iomanip>
#include <iostream>

#include "core/time.h"
#include "outbox/dispatcher.h"

namespace vigil::app {

int alertsList(store::Store& store, const std::string& state_name, int64_t now_ms) {
  store::DeliveryState state;
  if (state_name == "dead") state = store::DeliveryState::kDead;
  else if (state_name == "late") state = store::DeliveryState::kLate;
  else if (state_name == "pending") state = store::DeliveryState::kPending;
  else {
    std::cerr << "vigilctl: alerts list needs --state=dead, late or pending\n";
    return 64;  // EX_USAGE
  }
  auto rows = store.deliveriesIn(state, now_ms, 100000);
  if (!rows.isOk()) {
    std::cerr << "vigilctl: " << rows.status().message() << "\n";
    return 69;  // EX_UNAVAILABLE
  }
  std::cout << std::left << std::setw(8) << "ALERT" << std::setw(11) << "CLASS" << std::setw(10) << "STUDY_ID"
            << std::setw(16) << "ROLE" << std::setw(9) << "STATE" << std::setw(9) << "ATTEMPTS" << std::setw(12)
            << "PENDING_S" << "LAST_ERROR\n";
  for (const auto& a : rows.value()) {
    const auto& d = a.deliveries.front();
    std::cout << std::left << std::setw(8) << a.id << std::setw(11) << a.alert_class << std::setw(10)
              << (a.study_id.empty() ? "-" : a.study_id) << std::setw(16) << d.role << std::setw(9) << d.state
              << std::setw(9) << d.attempts << std::setw(12) << (now_ms - d.pending_since_ms) / 1000
              << (d.last_error.empty() ? "-" : d.last_error) << "\n";
  }
  std::cerr << rows.value().size() << " " << state_name << " deliveries\n";
  return 0;
}

int alertsRetry(store::Store& store, const std::string& id_text, bool all_dead, const std::string& actor,
                int64_t now_ms) {
  std::optional<int64_t> id;
  if (!all_dead) {
    size_t used = 0;
    int64_t parsed = 0;
    try {
      parsed = std::stoll(id_text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (id_text.empty() || used != id_text.size() || parsed <= 0) {
      std::cerr << "vigilctl: alerts retry needs an alert id or --all-dead\n";
      return 64;  // EX_USAGE
    }
    id = parsed;
  }
  auto n = outbox::retryDeliveries(store, id, actor, now_ms);
  if (!n.isOk()) {
    std::cerr << "vigilctl: " << n.status().message() << "\n";
    return n.status().code() == core::StatusCode::kNotFound ? 65 : 69;
  }
  std::cout << n.value() << " deliveries queued again; vigild sends them on its next pass\n";
  return 0;
}

}  // namespace vigil::app
