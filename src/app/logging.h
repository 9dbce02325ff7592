#pragma once
// spdlog set-up: one logger per module ("app", "http", "store", "ctl") sharing a console sink
// and a size-rotated file sink. Log lines carry ids and study IDs only, never other
// participant data or narrative text (STYLE R7).

#include "app/settings.h"

namespace vigil::app {

// Creates or replaces the module loggers. Throws spdlog::spdlog_ex if the file cannot be opened.
void setupLogging(const LogSettings& settings);

}  // namespace vigil::app
