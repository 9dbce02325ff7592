#pragma once
// Expected failures as values (STYLE R5). Status carries a code, a message and, for invalid
// input, the list of bad fields so an HTTP layer can name each one.

#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace vigil::core {

struct FieldError {
  std::string field;   // JSON path of the offending field, e.g. "results[3].value"
  std::string detail;  // what is wrong, in words a data manager understands
};

enum class StatusCode { kOk, kInvalid, kUnauthenticated, kForbidden, kNotFound, kConflict, kUnavailable, kInternal };

class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status ok() { return {}; }
  static Status invalid(std::string message, std::vector<FieldError> fields = {});
  static Status unauthenticated(std::string message) { return {StatusCode::kUnauthenticated, std::move(message)}; }
  static Status forbidden(std::string message) { return {StatusCode::kForbidden, std::move(message)}; }
  static Status notFound(std::string message) { return {StatusCode::kNotFound, std::move(message)}; }
  static Status conflict(std::string message) { return {StatusCode::kConflict, std::move(message)}; }
  static Status unavailable(std::string message) { return {StatusCode::kUnavailable, std::move(message)}; }
  static Status internal(std::string message) { return {StatusCode::kInternal, std::move(message)}; }

  bool isOk() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  const std::vector<FieldError>& fields() const { return fields_; }

 private:
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  std::vector<FieldError> fields_;
};

// A value or the Status explaining why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}       // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {}  // NOLINT: implicit by design
  bool isOk() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() { return *value_; }
  const T& value() const { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace vigil::core
