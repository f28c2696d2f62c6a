#pragma once

#include <cstdint>
#include <expected>
#include <span>
#include <string>
#include <string_view>

namespace cdc {

enum class DecimalErrc {
  Syntax,      // not a decimal number
  OutOfRange,  // does not fit the exact representation
  Inexact,     // would need rounding to fit (more fractional digits than the target keeps)
};

const char* toString(DecimalErrc e);

// An exact decimal number: an unscaled integer and the count of digits after the point.
// 1299.99 is {129999, 2}. Holds up to 38 significant digits.
struct Decimal {
  __int128 unscaled = 0;
  int32_t scale = 0;
};

// Parses a plain or exponent decimal literal ("1299.99", "-5", "1.5E3") exactly, without
// going through a binary float.
std::expected<Decimal, DecimalErrc> parseDecimal(std::string_view text);

// Builds a decimal from Java's BigInteger.toByteArray() form: big-endian two's complement
// in the fewest bytes, as Debezium's `precise` decimal handling mode sends it.
std::expected<Decimal, DecimalErrc> decimalFromTwosComplement(std::span<const uint8_t> bytes, int32_t scale);

// Encodes the unscaled value back into the fewest big-endian two's-complement bytes.
std::string twosComplementBytes(__int128 unscaled);

// Writes a decimal in plain notation with exactly `scale` fractional digits.
std::string formatDecimal(const Decimal& d);

// An amount of money in exact integer cents. Never a binary float.
class Money {
 public:
  constexpr Money() = default;
  static constexpr Money fromCents(int64_t cents) { return Money(cents); }
  // Converts exactly; a value with non-zero digits past the cents is Inexact.
  static std::expected<Money, DecimalErrc> fromDecimal(const Decimal& d);
  static std::expected<Money, DecimalErrc> parse(std::string_view text);

  constexpr int64_t cents() const { return cents_; }
  // "1299.99", "-5.00", "0.29".
  std::string toString() const;
  void appendTo(std::string& out) const;

  friend constexpr auto operator<=>(Money, Money) = default;
  friend constexpr Money operator+(Money a, Money b) { return Money(a.cents_ + b.cents_); }
  friend constexpr Money operator-(Money a, Money b) { return Money(a.cents_ - b.cents_); }
  friend constexpr Money operator*(Money a, int64_t n) { return Money(a.cents_ * n); }
  constexpr Money& operator+=(Money o) {
    cents_ += o.cents_;
    return *this;
  }
  constexpr Money& operator-=(Money o) {
    cents_ -= o.cents_;
    return *this;
  }

 private:
  constexpr explicit Money(int64_t cents) : cents_(cents) {}
  int64_t cents_ = 0;
};

}  // namespace cdc
