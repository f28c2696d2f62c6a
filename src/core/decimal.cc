#include "core/decimal.h"

#include <algorithm>
#include <charconv>

namespace cdc {
namespace {

constexpr int kMaxDigits = 38;

__int128 pow10(int n) {
  __int128 r = 1;
  for (int i = 0; i < n; ++i) r *= 10;
  return r;
}

const __int128 kMaxUnscaled = pow10(kMaxDigits) - 1;

void appendUnsigned(std::string& out, unsigned __int128 v, int minDigits) {
  char buf[48];
  int n = 0;
  // 128-bit division is a library call: divide in 64 bits once the value fits.
  while (v > UINT64_MAX) {
    buf[n++] = static_cast<char>('0' + static_cast<int>(v % 10));
    v /= 10;
  }
  auto small = static_cast<uint64_t>(v);
  do {
    buf[n++] = static_cast<char>('0' + static_cast<int>(small % 10));
    small /= 10;
  } while (small != 0);
  while (n < minDigits) buf[n++] = '0';
  for (int i = n - 1; i >= 0; --i) out.push_back(buf[i]);
}

}  // namespace

const char* toString(DecimalErrc e) {
  switch (e) {
    case DecimalErrc::Syntax:
      return "not a decimal number";
    case DecimalErrc::OutOfRange:
      return "number out of range";
    case DecimalErrc::Inexact:
      return "more fractional digits than can be kept exactly";
  }
  return "decimal error";
}

std::expected<Decimal, DecimalErrc> parseDecimal(std::string_view s) {
  size_t i = 0;
  bool negative = false;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) {
    negative = s[i] == '-';
    ++i;
  }
  __int128 unscaled = 0;
  int digits = 0;
  int scale = 0;
  bool anyDigit = false;
  bool afterPoint = false;
  for (; i < s.size(); ++i) {
    char c = s[i];
    if (c >= '0' && c <= '9') {
      anyDigit = true;
      if (unscaled == 0 && c == '0') {
        if (afterPoint) ++scale;
        continue;
      }
      if (++digits > kMaxDigits) return std::unexpected(DecimalErrc::OutOfRange);
      unscaled = unscaled * 10 + (c - '0');
      if (afterPoint) ++scale;
    } else if (c == '.' && !afterPoint) {
      afterPoint = true;
    } else {
      break;
    }
  }
  if (!anyDigit) return std::unexpected(DecimalErrc::Syntax);
  if (i < s.size()) {
    if (s[i] != 'e' && s[i] != 'E') return std::unexpected(DecimalErrc::Syntax);
    ++i;
    int exponent = 0;
    const char* begin = s.data() + i;
    const char* end = s.data() + s.size();
    if (begin < end && *begin == '+') ++begin;
    auto [ptr, ec] = std::from_chars(begin, end, exponent);
    if (ec != std::errc() || ptr != end) return std::unexpected(DecimalErrc::Syntax);
    if (exponent > 1000 || exponent < -1000) return std::unexpected(DecimalErrc::OutOfRange);
    scale -= exponent;
  }
  if (scale < 0) {
    // Zero times any power of ten is zero: 10^400 itself must never be computed.
    if (unscaled != 0) {
      if (digits - scale > kMaxDigits) return std::unexpected(DecimalErrc::OutOfRange);
      unscaled *= pow10(-scale);
    }
    scale = 0;
  }
  if (scale > kMaxDigits) {
    if (unscaled != 0) return std::unexpected(DecimalErrc::OutOfRange);
    scale = kMaxDigits;
  }
  return Decimal{negative ? -unscaled : unscaled, scale};
}

std::expected<Decimal, DecimalErrc> decimalFromTwosComplement(std::span<const uint8_t> bytes, int32_t scale) {
  if (bytes.empty()) return std::unexpected(DecimalErrc::Syntax);
  if (scale < 0 || scale > kMaxDigits) return std::unexpected(DecimalErrc::OutOfRange);
  // Strip redundant sign-extension bytes so that long encodings of small values still fit.
  size_t start = 0;
  while (start + 1 < bytes.size() &&
         ((bytes[start] == 0x00 && (bytes[start + 1] & 0x80) == 0) || (bytes[start] == 0xFF && (bytes[start + 1] & 0x80) != 0))) {
    ++start;
  }
  if (bytes.size() - start > 16) return std::unexpected(DecimalErrc::OutOfRange);
  unsigned __int128 u = (bytes[start] & 0x80) ? ~static_cast<unsigned __int128>(0) : 0;
  for (size_t i = start; i < bytes.size(); ++i) u = (u << 8) | bytes[i];
  auto v = static_cast<__int128>(u);
  if (v > kMaxUnscaled || v < -kMaxUnscaled) return std::unexpected(DecimalErrc::OutOfRange);
  return Decimal{v, scale};
}

std::string twosComplementBytes(__int128 unscaled) {
  std::string out;
  auto u = static_cast<unsigned __int128>(unscaled);
  uint8_t bytes[16];
  for (int i = 15; i >= 0; --i) {
    bytes[i] = static_cast<uint8_t>(u & 0xFF);
    u >>= 8;
  }
  int start = 0;
  while (start < 15 &&
         ((bytes[start] == 0x00 && (bytes[start + 1] & 0x80) == 0) || (bytes[start] == 0xFF && (bytes[start + 1] & 0x80) != 0))) {
    ++start;
  }
  out.assign(reinterpret_cast<const char*>(bytes + start), static_cast<size_t>(16 - start));
  return out;
}

std::string formatDecimal(const Decimal& d) {
  std::string out;
  bool negative = d.unscaled < 0;
  unsigned __int128 mag =
      negative ? static_cast<unsigned __int128>(-(d.unscaled + 1)) + 1 : static_cast<unsigned __int128>(d.unscaled);
  if (negative) out.push_back('-');
  if (d.scale <= 0) {
    appendUnsigned(out, mag, 1);
    return out;
  }
  auto div = static_cast<unsigned __int128>(pow10(d.scale));
  appendUnsigned(out, mag / div, 1);
  out.push_back('.');
  appendUnsigned(out, mag % div, d.scale);
  return out;
}

std::expected<Money, DecimalErrc> Money::fromDecimal(const Decimal& d) {
  __int128 cents = d.unscaled;
  if (d.scale <= 2) {
    // The range check comes before the multiplication: 38 digits times 100 overflow __int128.
    if (cents == 0) return Money();
    if (2 - d.scale > 18) return std::unexpected(DecimalErrc::OutOfRange);
    __int128 factor = pow10(2 - d.scale);
    if (cents > INT64_MAX / factor || cents < INT64_MIN / factor) return std::unexpected(DecimalErrc::OutOfRange);
    cents *= factor;
  } else {
    __int128 div = pow10(d.scale - 2);
    if (cents % div != 0) return std::unexpected(DecimalErrc::Inexact);
    cents /= div;
  }
  if (cents > INT64_MAX || cents < INT64_MIN) return std::unexpected(DecimalErrc::OutOfRange);
  return Money(static_cast<int64_t>(cents));
}

std::expected<Money, DecimalErrc> Money::parse(std::string_view text) {
  auto d = parseDecimal(text);
  if (!d) return std::unexpected(d.error());
  return fromDecimal(*d);
}

void Money::appendTo(std::string& out) const {
  int64_t c = cents_;
  unsigned __int128 mag = c < 0 ? static_cast<unsigned __int128>(-(static_cast<__int128>(c))) : static_cast<unsigned __int128>(c);
  if (c < 0) out.push_back('-');
  appendUnsigned(out, mag / 100, 1);
  out.push_back('.');
  appendUnsigned(out, mag % 100, 2);
}

std::string Money::toString() const {
  std::string out;
  appendTo(out);
  return out;
}

}  // namespace cdc
