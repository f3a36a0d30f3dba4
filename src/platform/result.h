// Error handling for user input (files, requests, command lines).
// Kernels and internal invariants use WHALE_CHECK (always on); anything a user can get
// wrong returns an Error as a value, never aborts (STYLE.md 13).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <variant>

namespace whale {

struct Error {
  std::string message;  // one line, says what is wrong and, where it helps, how to fix it
};

// Result<T>: either a value or an Error. Deliberately tiny; no exceptions cross layers.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Error error) : v_(std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& operator*() & { return std::get<0>(v_); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// Status: a Result without a value.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)), ok_(false) {}
  static Status Ok() { return Status(); }
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

template <typename... Args>
Error make_error(const char* fmt, Args... args) {
  char buf[1024];
  std::snprintf(buf, sizeof buf, fmt, args...);
  return Error{buf};
}
inline Error make_error(const char* msg) {
  return Error{msg};
}

[[noreturn]] inline void check_failed(const char* expr, const char* file, int line,
                                      const char* msg) {
  std::fprintf(stderr, "whale: internal check failed: %s (%s) at %s:%d\n", expr, msg, file, line);
  std::abort();
}

}  // namespace whale

// Internal invariant (not for user input): stays on in release builds.
#define WHALE_CHECK(cond, msg)                                          \
  do {                                                                  \
    if (!(cond)) ::whale::check_failed(#cond, __FILE__, __LINE__, msg); \
  } while (0)

// Propagate an error out of a function returning Result<U> or Status.
#define WHALE_TRY(expr)                                  \
  do {                                                   \
    auto&& whale_try_r_ = (expr);                        \
    if (!whale_try_r_.ok()) return whale_try_r_.error(); \
  } while (0)
