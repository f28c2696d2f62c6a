#include "core/time.h"

#include <chrono>

#include <fmt/format.h>

namespace cdc {
namespace {

bool readDigits(std::string_view s, size_t& i, int count, int& out) {
  if (i + count > s.size()) return false;
  int v = 0;
  for (int k = 0; k < count; ++k) {
    char c = s[i + k];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  i += count;
  out = v;
  return true;
}

struct Civil {
  int year;
  unsigned month, day;
};

Civil civilFromDays(int64_t days) {
  std::chrono::year_month_day ymd{std::chrono::sys_days{std::chrono::days{days}}};
  return {static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day())};
}

}  // namespace

int64_t daysFromCivil(int year, unsigned month, unsigned day) {
  std::chrono::year_month_day ymd{std::chrono::year{year}, std::chrono::month{month}, std::chrono::day{day}};
  return std::chrono::sys_days{ymd}.time_since_epoch().count();
}

Timestamp systemNow() {
  return Timestamp{
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count()};
}

namespace {

class SystemTime final : public TimeSource {
 public:
  Timestamp wall() const override { return systemNow(); }
  Steady steady() const override { return std::chrono::steady_clock::now(); }
};

}  // namespace

const TimeSource& systemTime() {
  static const SystemTime time;
  return time;
}

namespace {

// Fractional seconds after the separator, as microseconds (digits past the sixth are read and
// dropped); nullopt without a digit.
std::optional<int64_t> readFraction(std::string_view s, size_t& i) {
  int digits = 0;
  int64_t frac = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    if (digits < 6) {
      frac = frac * 10 + (s[i] - '0');
      ++digits;
    }
    ++i;
  }
  if (digits == 0) return std::nullopt;
  for (int d = digits; d < 6; ++d) frac *= 10;
  return frac;
}

// The time of day after 'T' or ' ': hh:mm, hh:mm:ss or hh:mm:ss.ffffff.
bool readTimeOfDay(std::string_view s, size_t& i, int& hour, int& minute, int& second, int64_t& micros) {
  if (!readDigits(s, i, 2, hour) || i >= s.size() || s[i] != ':') return false;
  ++i;
  if (!readDigits(s, i, 2, minute)) return false;
  if (i < s.size() && s[i] == ':') {
    ++i;
    if (!readDigits(s, i, 2, second)) return false;
    if (i < s.size() && (s[i] == '.' || s[i] == ',')) {
      ++i;
      auto frac = readFraction(s, i);
      if (!frac) return false;
      micros = *frac;
    }
  }
  return hour <= 23 && minute <= 59 && second <= 60;
}

// The zone: Z, ±hh, ±hhmm or ±hh:mm (none: UTC), as seconds east of UTC.
std::optional<int64_t> readOffset(std::string_view s, size_t& i) {
  if (i >= s.size()) return 0;
  char c = s[i];
  if (c == 'Z' || c == 'z') {
    ++i;
    return 0;
  }
  if (c != '+' && c != '-') return 0;
  ++i;
  int oh, om = 0;
  if (!readDigits(s, i, 2, oh)) return std::nullopt;
  if (i < s.size() && s[i] == ':') ++i;
  if (i < s.size() && !readDigits(s, i, 2, om)) return std::nullopt;
  return (oh * 3600 + om * 60) * (c == '-' ? -1 : 1);
}

}  // namespace

std::optional<Timestamp> parseIsoTimestamp(std::string_view s) {
  size_t i = 0;
  // Whether the next character is `c`, consuming it when it is.
  auto take = [&](char c) {
    if (i >= s.size() || s[i] != c) return false;
    ++i;
    return true;
  };
  int year, month, day, hour = 0, minute = 0, second = 0;
  if (!readDigits(s, i, 4, year) || !take('-')) return std::nullopt;
  if (!readDigits(s, i, 2, month) || !take('-')) return std::nullopt;
  if (!readDigits(s, i, 2, day)) return std::nullopt;
  if (month < 1 || month > 12 || day < 1) return std::nullopt;
  std::chrono::year_month_day ymd{std::chrono::year{year}, std::chrono::month{static_cast<unsigned>(month)},
                                  std::chrono::day{static_cast<unsigned>(day)}};
  if (!ymd.ok()) return std::nullopt;
  int64_t micros = 0;
  if (i < s.size() && (s[i] == 'T' || s[i] == ' ')) {
    ++i;
    if (!readTimeOfDay(s, i, hour, minute, second, micros)) return std::nullopt;
  }
  auto offsetSeconds = readOffset(s, i);
  if (!offsetSeconds || i != s.size()) return std::nullopt;
  int64_t days = std::chrono::sys_days{ymd}.time_since_epoch().count();
  int64_t seconds = days * 86400 + hour * 3600 + minute * 60 + second - *offsetSeconds;
  return Timestamp{seconds * 1'000'000 + micros};
}

namespace {

// Writes `v` (non-negative) as exactly `width` digits at `out`.
void putDigits(char* out, int64_t v, int width) {
  for (int i = width - 1; i >= 0; --i) {
    out[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
}

}  // namespace

std::string formatIsoTimestamp(Timestamp t) {
  int64_t day = t.epochDay();
  int64_t microsOfDay = t.micros - day * 86'400'000'000LL;
  Civil c = civilFromDays(day);
  int64_t secs = microsOfDay / 1'000'000;
  int64_t frac = microsOfDay % 1'000'000;
  std::string out;
  if (c.year >= 0 && c.year <= 9999) {
    // Called for every item written: digits by hand, not through a format string.
    char buf[27] = "0000-00-00T00:00:00.000000";
    putDigits(buf, c.year, 4);
    putDigits(buf + 5, c.month, 2);
    putDigits(buf + 8, c.day, 2);
    putDigits(buf + 11, secs / 3600, 2);
    putDigits(buf + 14, (secs / 60) % 60, 2);
    putDigits(buf + 17, secs % 60, 2);
    size_t size = 19;
    if (frac != 0) {
      if (frac % 1000 == 0) {
        putDigits(buf + 20, frac / 1000, 3);
        size = 23;
      } else {
        putDigits(buf + 20, frac, 6);
        size = 26;
      }
    }
    out.reserve(size + 1);
    out.assign(buf, size);
  } else {
    out = fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}", c.year, c.month, c.day, secs / 3600, (secs / 60) % 60,
                      secs % 60);
    if (frac != 0) out += frac % 1000 == 0 ? fmt::format(".{:03d}", frac / 1000) : fmt::format(".{:06d}", frac);
  }
  out.push_back('Z');
  return out;
}

std::string formatIsoDate(int64_t epochDay) {
  Civil c = civilFromDays(epochDay);
  return fmt::format("{:04d}-{:02d}-{:02d}", c.year, c.month, c.day);
}

std::string formatCompactStamp(Timestamp t) {
  int64_t day = t.epochDay();
  int64_t secs = (t.micros - day * 86'400'000'000LL) / 1'000'000;
  Civil c = civilFromDays(day);
  return fmt::format("{:04d}{:02d}{:02d}_{:02d}{:02d}{:02d}", c.year, c.month, c.day, secs / 3600, (secs / 60) % 60, secs % 60);
}

}  // namespace cdc
