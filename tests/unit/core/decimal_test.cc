#include "core/decimal.h"

#include <gtest/gtest.h>

#include "core/base64.h"

namespace cdc {
namespace {

Money moneyFromBase64(std::string_view b64, int scale) {
  std::string bytes;
  EXPECT_TRUE(base64Decode(b64, bytes));
  auto d = decimalFromTwosComplement({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}, scale);
  EXPECT_TRUE(d.has_value());
  auto m = Money::fromDecimal(*d);
  EXPECT_TRUE(m.has_value());
  return *m;
}

// The worked values of DEBEZIUM-FORMATS.md.
TEST(DecimalTest, PreciseWorkedExamples) {
  EXPECT_EQ(moneyFromBase64("AfvP", 2).cents(), 129999);
  EXPECT_EQ(moneyFromBase64("C7c=", 2).cents(), 2999);
  EXPECT_EQ(moneyFromBase64("HQ==", 2).cents(), 29);
  EXPECT_EQ(moneyFromBase64("MgA=", 2).cents(), 12800);
  EXPECT_EQ(moneyFromBase64("/gw=", 2).cents(), -500);
}

TEST(DecimalTest, TwosComplementRoundTrip) {
  for (__int128 v : {__int128{0}, __int128{1}, __int128{-1}, __int128{127}, __int128{128}, __int128{-128}, __int128{-129},
                     __int128{129999}, __int128{-500}, static_cast<__int128>(INT64_MAX) * 1000}) {
    std::string bytes = twosComplementBytes(v);
    auto d = decimalFromTwosComplement({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}, 0);
    ASSERT_TRUE(d.has_value());
    EXPECT_TRUE(d->unscaled == v);
  }
  EXPECT_EQ(base64Encode(twosComplementBytes(129999)), "AfvP");
  EXPECT_EQ(base64Encode(twosComplementBytes(-500)), "/gw=");
  EXPECT_EQ(base64Encode(twosComplementBytes(12800)), "MgA=");
}

TEST(DecimalTest, RedundantSignBytesAreAccepted) {
  const uint8_t padded[] = {0x00, 0x00, 0x01, 0xFB, 0xCF};
  auto d = decimalFromTwosComplement(padded, 2);
  ASSERT_TRUE(d.has_value());
  EXPECT_TRUE(d->unscaled == 129999);
}

TEST(DecimalTest, ParsePlainAndExponent) {
  EXPECT_EQ(Money::parse("1299.99")->cents(), 129999);
  EXPECT_EQ(Money::parse("-5")->cents(), -500);
  EXPECT_EQ(Money::parse("0.29")->cents(), 29);
  EXPECT_EQ(Money::parse("1.5E3")->cents(), 150000);
  EXPECT_EQ(Money::parse("12.50000")->cents(), 1250);
  EXPECT_EQ(Money::parse("1e-2")->cents(), 1);
  EXPECT_EQ(Money::parse("1.005").error(), DecimalErrc::Inexact);
  EXPECT_EQ(Money::parse("abc").error(), DecimalErrc::Syntax);
  EXPECT_EQ(Money::parse("1.2.3").error(), DecimalErrc::Syntax);
  EXPECT_EQ(Money::parse("").error(), DecimalErrc::Syntax);
  EXPECT_EQ(Money::parse("99999999999999999999.99").error(), DecimalErrc::OutOfRange);
}

TEST(DecimalTest, FormatsWithTwoDecimals) {
  EXPECT_EQ(Money::fromCents(129999).toString(), "1299.99");
  EXPECT_EQ(Money::fromCents(29).toString(), "0.29");
  EXPECT_EQ(Money::fromCents(-500).toString(), "-5.00");
  EXPECT_EQ(Money::fromCents(-5).toString(), "-0.05");
  EXPECT_EQ(Money::fromCents(0).toString(), "0.00");
  EXPECT_EQ(formatDecimal(Decimal{-12345, 3}), "-12.345");
  EXPECT_EQ(formatDecimal(Decimal{7, 0}), "7");
}

TEST(Base64Test, StrictDecoding) {
  std::string out;
  EXPECT_TRUE(base64Decode("", out));
  EXPECT_TRUE(out.empty());
  EXPECT_FALSE(base64Decode("A", out));
  EXPECT_FALSE(base64Decode("A===", out));
  EXPECT_FALSE(base64Decode("AB=C", out));
  EXPECT_FALSE(base64Decode("AB==CD==", out));
  EXPECT_FALSE(base64Decode("AB\n=", out));
  EXPECT_TRUE(base64Decode("AB==", out));
  EXPECT_EQ(out.size(), 1u);
  EXPECT_EQ(base64Encode("hello"), "aGVsbG8=");
  EXPECT_TRUE(base64Decode("aGVsbG8=", out));
  EXPECT_EQ(out, "hello");
}

TEST(DecimalTest, MoneyOutOfRangeIsAnErrorNeverAWrap) {
  __int128 huge = (__int128{1} << 126) + 123;
  EXPECT_EQ(Money::fromDecimal(Decimal{huge, 0}).error(), DecimalErrc::OutOfRange);
  EXPECT_EQ(Money::fromDecimal(Decimal{-huge, 1}).error(), DecimalErrc::OutOfRange);
  EXPECT_EQ(Money::parse("85070591730234615865843651857942052987").error(), DecimalErrc::OutOfRange);
  EXPECT_EQ(Money::parse("92233720368547758.08").error(), DecimalErrc::OutOfRange);
  EXPECT_EQ(Money::parse("-92233720368547758.09").error(), DecimalErrc::OutOfRange);
  EXPECT_EQ(Money::parse("92233720368547758.07")->cents(), INT64_MAX);
  EXPECT_EQ(Money::parse("-92233720368547758.08")->cents(), INT64_MIN);
  EXPECT_EQ(Money::fromDecimal(Decimal{0, -30})->cents(), 0);
  EXPECT_EQ(Money::fromDecimal(Decimal{1, -30}).error(), DecimalErrc::OutOfRange);
  EXPECT_EQ(Money::fromDecimal(Decimal{5, -3})->cents(), 500000);
  // Found by the fuzzer: a zero with a huge exponent computed 10^400 (an __int128 overflow).
  EXPECT_EQ(Money::parse("0e400")->cents(), 0);
  EXPECT_EQ(Money::parse("-0.000E+999")->cents(), 0);
  EXPECT_EQ(Money::parse("0e-400")->cents(), 0);
  EXPECT_EQ(Money::parse("1e400").error(), DecimalErrc::OutOfRange);
}

}  // namespace
}  // namespace cdc
