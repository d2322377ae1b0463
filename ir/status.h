// One error model for the compiler: Status for success/failure, Expected<T> for values that may fail.
#pragma once

#include <sstream>
#include <string>
#include <utility>
#include <variant>

namespace dlc {

// Concatenates any streamable values into a string: str("node ", name, " has ", n, " inputs").
template <typename... Args>
std::string str(Args&&... args) {
  std::ostringstream os;
  (os << ... << std::forward<Args>(args));
  return os.str();
}

class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status success() { return Status(); }
  static Status error(std::string message) { return Status(std::move(message)); }

  bool ok() const { return !failed_; }
  const std::string& message() const { return message_; }

  // Prefixes context ("while importing node 'conv1'") to a failure; success stays success.
  Status withContext(const std::string& context) const {
    if (ok()) return *this;
    return Status(context + ": " + message_);
  }

 private:
  explicit Status(std::string message) : failed_(true), message_(std::move(message)) {}
  bool failed_ = false;
  std::string message_;
};

template <typename T>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Expected(Status status) : v_(std::move(status)) {}  // NOLINT: must be an error

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  T& operator*() { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace dlc

#define DLC_CONCAT_INNER(a, b) a##b
#define DLC_CONCAT(a, b) DLC_CONCAT_INNER(a, b)

#define DLC_RETURN_IF_ERROR(expr)              \
  do {                                         \
    ::dlc::Status _dlc_status = (expr);        \
    if (!_dlc_status.ok()) return _dlc_status; \
  } while (0)

#define DLC_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()

// DLC_ASSIGN_OR_RETURN(auto x, computeX()); returns the error from the enclosing function.
#define DLC_ASSIGN_OR_RETURN(lhs, expr) \
  DLC_ASSIGN_OR_RETURN_IMPL(DLC_CONCAT(_dlc_expected_, __LINE__), lhs, expr)
