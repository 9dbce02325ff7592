#include "core/status.h"

namespace vigil::core {

Status Status::invalid(std::string message, std::vector<FieldError> fields) {
  Status s(StatusCode::kInvalid, std::move(message));
  s.fields_ = std::move(fields);
  return s;
}

}  // namespace vigil::core
