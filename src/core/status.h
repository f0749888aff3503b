// Status and Result<T>: the value types every layer returns for failures it expects.
//
// One ErrorCode enum serves the whole project; it is mapped to HTTP statuses in one place
// (server) and to CLI exit codes in one place (cli). Exceptions are reserved for failures
// that abort the program. Status and Result are plain values: copyable, not thread-safe
// beyond that.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace todo::core {

enum class ErrorCode {
  kOk = 0,
  kInvalidArgument,   // the caller's input is wrong; retrying the same input fails again
  kNotFound,          // no such task (or not visible to the caller)
  kPermissionDenied,  // the caller's role may not do this
  kUnauthenticated,   // no or unknown credentials
  kConflict,          // name taken, idempotency key reused for another request
  kTooLarge,          // the request or payload is over a limit
  kUnavailable,       // the database or server cannot answer now; retrying may succeed
  kInternal,          // a bug or an unexpected failure of a dependency
};

// The stable snake_case name of a code, as used in JSON error bodies ("invalid_argument").
std::string_view ErrorCodeName(ErrorCode code);
// The inverse of ErrorCodeName; kInternal for a name it does not know.
ErrorCode ErrorCodeFromName(std::string_view name);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }
  static Status InvalidArgument(std::string m) { return {ErrorCode::kInvalidArgument, std::move(m)}; }
  static Status NotFound(std::string m) { return {ErrorCode::kNotFound, std::move(m)}; }
  static Status PermissionDenied(std::string m) {
    return {ErrorCode::kPermissionDenied, std::move(m)};
  }
  static Status Unauthenticated(std::string m) {
    return {ErrorCode::kUnauthenticated, std::move(m)};
  }
  static Status Conflict(std::string m) { return {ErrorCode::kConflict, std::move(m)}; }
  static Status TooLarge(std::string m) { return {ErrorCode::kTooLarge, std::move(m)}; }
  static Status Unavailable(std::string m) { return {ErrorCode::kUnavailable, std::move(m)}; }
  static Status Internal(std::string m) { return {ErrorCode::kInternal, std::move(m)}; }

  bool ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "not_found: task 7 not found"; "ok" when OK.
  std::string ToString() const;

  friend bool operator==(const Status&, const Status&) = default;

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
};

// Either a T or a non-OK Status. Accessing value() of a failed Result is a bug (asserted).
template <typename T>
class [[nodiscard]] Result {
 public:
  // An empty Result holds kInternal; it exists because asio's coroutine plumbing needs a
  // default-constructible result type. Every real Result holds a value or an error.
  Result() : status_(ErrorCode::kInternal, "result was never set") {}
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    if (status_.ok()) status_ = Status::Internal("Result built from an OK status without a value");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace todo::core
