#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace cdc {

// A UTC instant in microseconds since the Unix epoch (PostgreSQL's own resolution).
struct Timestamp {
  int64_t micros = 0;
  friend constexpr auto operator<=>(Timestamp, Timestamp) = default;

  static constexpr Timestamp fromMillis(int64_t ms) { return {ms * 1000}; }
  static constexpr Timestamp fromNanos(int64_t ns) { return {ns / 1000 - (ns % 1000 < 0 ? 1 : 0)}; }
  static constexpr Timestamp fromDays(int64_t days) { return {days * 86'400'000'000LL}; }
  constexpr int64_t millis() const { return micros / 1000 - (micros % 1000 < 0 ? 1 : 0); }
  constexpr int64_t seconds() const { return micros / 1'000'000 - (micros % 1'000'000 < 0 ? 1 : 0); }
  // Days since the epoch of this instant's UTC date.
  constexpr int64_t epochDay() const { return micros / 86'400'000'000LL - (micros % 86'400'000'000LL < 0 ? 1 : 0); }
};

// The one wall clock the runtime and the services read (ledger expiry times, dead letters'
// times, latencies): the system's, or one a test injects. An empty Clock is the system's.
using Clock = std::function<Timestamp()>;
Timestamp systemNow();
inline Timestamp now(const Clock& clock) { return clock ? clock() : systemNow(); }

// Parses ISO-8601 as Debezium's ZonedTimestamp and PostgreSQL write it:
// "2026-01-01T10:15:30Z", "2026-01-01T10:15:30.123456+02:00", "2026-01-01 10:15:30" (UTC).
std::optional<Timestamp> parseIsoTimestamp(std::string_view text);

// "2026-01-01T10:15:30.123456Z" (fraction only when non-zero, in 3 or 6 digits).
std::string formatIsoTimestamp(Timestamp t);
// "2026-01-01".
std::string formatIsoDate(int64_t epochDay);
// "20260101_101530", the analytics report file stamp.
std::string formatCompactStamp(Timestamp t);

// Days since epoch for a civil date, and back.
int64_t daysFromCivil(int year, unsigned month, unsigned day);

}  // namespace cdc
