#pragma once
// vigild's audit checks (issue 13.4): the head at start-up, the whole trail in the background.
// A broken trail is posted to the health board as "audit" (GET /healthz answers degraded) and
// logged as an ERROR; a check that passes withdraws it.

#include "core/health.h"
#include "intake/audit_check.h"
#include "store/store.h"

namespace vigil::app {

// Runs one check (whole_trail: chain, anchor and data; else the head only) and posts the
// outcome under "audit". Never throws; safe to call from a Ticker's thread.
void checkAuditInto(store::Store& store, const intake::AuditCheckOptions& options, bool whole_trail,
                    core::HealthBoard& health);

}  // namespace vigil::app
