#include "core/health.h"

namespace vigil::core {

void HealthBoard::set(const std::string& component, std::string problem) {
  std::lock_guard lock(mutex_);
  problems_[component] = std::move(problem);
}

void HealthBoard::clear(const std::string& component) {
  std::lock_guard lock(mutex_);
  problems_.erase(component);
}

std::map<std::string, std::string> HealthBoard::problems() const {
  std::lock_guard lock(mutex_);
  return problems_;
}

}  // namespace vigil::core
