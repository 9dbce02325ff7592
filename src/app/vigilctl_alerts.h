#pragma once
// vigilctl's alert-mail commands (issue 13), over a store opened beside a running vigild (WAL).
// Each returns a sysexits exit code after printing its answer or why it failed.

#include <cstdint>
#include <string>

#include "store/store.h"

namespace vigil::app {

// Prints one row per delivery in state_name (dead, late or pending) as a table.
int alertsList(store::Store& store, const std::string& state_name, int64_t now_ms);
// Queues the dead (and pending) deliveries of alert id_text again, or every dead one with all_dead.
int alertsRetry(store::Store& store, const std::string& id_text, bool all_dead, const std::string& actor,
                int64_t now_ms);

}  // namespace vigil::app
