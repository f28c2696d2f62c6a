#pragma once

#include <expected>
#include <string>
#include <utility>

namespace cdc {

// What the caller should do about an error at an I/O or decoding boundary.
enum class ErrorKind {
  Retry,     // transient (throttling, timeout, unavailable): try the same work again later
  Poison,    // the input itself is bad: send the message to the dead-letter queue and go on
  NotFound,  // the thing asked for does not exist
  Fatal,     // configuration or invariant broken: stop the process
};

const char* toString(ErrorKind kind);

struct Error {
  ErrorKind kind = ErrorKind::Fatal;
  std::string message;

  static Error retry(std::string m) { return {ErrorKind::Retry, std::move(m)}; }
  static Error poison(std::string m) { return {ErrorKind::Poison, std::move(m)}; }
  static Error notFound(std::string m) { return {ErrorKind::NotFound, std::move(m)}; }
  static Error fatal(std::string m) { return {ErrorKind::Fatal, std::move(m)}; }
};

template <class T>
using Result = std::expected<T, Error>;

using Status = std::expected<void, Error>;

inline std::unexpected<Error> fail(Error e) { return std::unexpected<Error>(std::move(e)); }

}  // namespace cdc
