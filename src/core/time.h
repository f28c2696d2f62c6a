#pragma once

#include <atomic>
#include <chrono>
#include <compare>
#include <cstdint>
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

// Where the code reads the time: the wall clock (UTC instants: ledger expiry times, dead
// letters' times, span times, request signatures) and a steady clock (intervals, deadlines,
// pacing). Every component that reads the time takes one (its options' `time`, the system's by
// default); a test gives a ManualTime and moves it instead of sleeping for the code's timers.
class TimeSource {
 public:
  using Steady = std::chrono::steady_clock::time_point;
  virtual ~TimeSource() = default;
  virtual Timestamp wall() const = 0;
  virtual Steady steady() const = 0;
};

// The system's clocks.
const TimeSource& systemTime();
// An instant as std::chrono's system clock gives it (for APIs that take one).
inline std::chrono::system_clock::time_point toSystemClock(Timestamp t) {
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::microseconds(t.micros)));
}
Timestamp systemNow();

// Clocks that move only when told (tests): wall and steady advance together.
class ManualTime final : public TimeSource {
 public:
  explicit ManualTime(Timestamp start = Timestamp::fromMillis(int64_t{1767225600} * 1000)) : micros_(start.micros) {}
  Timestamp wall() const override { return {micros_.load()}; }
  Steady steady() const override { return Steady(std::chrono::microseconds(micros_.load() - start_)); }
  void advance(std::chrono::microseconds by) { micros_ += by.count(); }

 private:
  std::atomic<int64_t> micros_;
  const int64_t start_ = micros_.load();
};

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
