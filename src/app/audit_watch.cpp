#include "app/audit_watch.h"

#include <spdlog/spdlog.h>

namespace vigil::app {

void checkAuditInto(store::Store& store, const intake::AuditCheckOptions& options, bool whole_trail,
                    core::HealthBoard& health) {
  auto log = spdlog::get("app");
  if (!log) log = spdlog::default_logger();
  const char* what = whole_trail ? "audit trail check" : "audit head check";
  try {
    auto report = whole_trail ? intake::checkAuditTrail(store, options) : intake::checkAuditHead(store, options);
    if (!report.isOk()) {
      // The database could not be read: the store's own health reports that; try again next time.
      log->warn("{} could not run: {}", what, report.status().message());
      return;
    }
    if (!report.value().ok()) {
      log->error("{} failed: {}; run vigilctl audit verify and investigate", what, report.value().problem);
      health.set("audit", report.value().problem);
      return;
    }
    health.clear("audit");
    log->info("{} passed: {} audit rows, {} data rows", what, report.value().entries, report.value().rows);
  } catch (const std::exception& e) {
    log->error("{} failed: {}", what, e.what());
    health.set("audit", std::string(what) + " failed: " + e.what());
  }
}

}  // namespace vigil::app
