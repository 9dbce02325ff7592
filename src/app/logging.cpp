#include "app/logging.h"

#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace vigil::app {

void setupLogging(const LogSettings& settings) {
  std::vector<spdlog::sink_ptr> sinks;
  if (settings.console) sinks.push_back(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  if (!settings.file.empty())
    sinks.push_back(std::make_shared<spdlog::sinks::rotating_file_sink_mt>(
        settings.file, static_cast<size_t>(settings.max_size_mb) * 1024 * 1024, static_cast<size_t>(settings.max_files)));
  const auto level = spdlog::level::from_str(settings.level);
  for (const char* name : {"app", "http", "store", "outbox", "ctl"}) {
    spdlog::drop(name);
    auto logger = std::make_shared<spdlog::logger>(name, sinks.begin(), sinks.end());
    logger->set_level(level);
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %-5l [%n] %v", spdlog::pattern_time_type::utc);
    logger->flush_on(spdlog::level::warn);
    spdlog::register_logger(logger);
  }
  spdlog::set_default_logger(spdlog::get("app"));
  spdlog::flush_every(std::chrono::seconds(1));
}

}  // namespace vigil::app
