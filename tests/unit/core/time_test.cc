#include "core/time.h"

#include <gtest/gtest.h>

#include "core/json_writer.h"

namespace cdc {
namespace {

constexpr int64_t kMidnight = 1767225600000000;  // 2026-01-01T00:00:00Z

TEST(TimeTest, ParsesIsoForms) {
  EXPECT_EQ(parseIsoTimestamp("2026-01-01T00:00:00Z")->micros, kMidnight);
  EXPECT_EQ(parseIsoTimestamp("2026-01-01T00:00:00.123456Z")->micros, kMidnight + 123456);
  EXPECT_EQ(parseIsoTimestamp("2026-01-01T02:00:00+02:00")->micros, kMidnight);
  EXPECT_EQ(parseIsoTimestamp("2025-12-31T19:00:00-05:00")->micros, kMidnight);
  EXPECT_EQ(parseIsoTimestamp("2026-01-01 00:00:00")->micros, kMidnight);
  EXPECT_EQ(parseIsoTimestamp("2026-01-01")->micros, kMidnight);
  EXPECT_EQ(parseIsoTimestamp("2026-01-01T00:00:00.5Z")->micros, kMidnight + 500000);
  EXPECT_EQ(parseIsoTimestamp("2026-01-01T00:00:00.123456789Z")->micros, kMidnight + 123456);
  EXPECT_FALSE(parseIsoTimestamp("2026-13-01T00:00:00Z"));
  EXPECT_FALSE(parseIsoTimestamp("2026-02-29T00:00:00Z"));
  EXPECT_FALSE(parseIsoTimestamp("yesterday"));
  EXPECT_FALSE(parseIsoTimestamp("2026-01-01T00:00:00Zjunk"));
}

TEST(TimeTest, Formats) {
  EXPECT_EQ(formatIsoTimestamp(Timestamp{kMidnight}), "2026-01-01T00:00:00Z");
  EXPECT_EQ(formatIsoTimestamp(Timestamp{kMidnight + 123000}), "2026-01-01T00:00:00.123Z");
  EXPECT_EQ(formatIsoTimestamp(Timestamp{kMidnight + 1}), "2026-01-01T00:00:00.000001Z");
  EXPECT_EQ(formatIsoTimestamp(Timestamp{kMidnight - 1}), "2025-12-31T23:59:59.999999Z");
  EXPECT_EQ(formatIsoTimestamp(Timestamp::fromMillis(253402300799999)), "9999-12-31T23:59:59.999Z");
  EXPECT_EQ(formatIsoTimestamp(Timestamp::fromMillis(253402300800000)), "10000-01-01T00:00:00Z");
  EXPECT_EQ(formatIsoDate(Timestamp{kMidnight}.epochDay()), "2026-01-01");
  EXPECT_EQ(formatCompactStamp(Timestamp{kMidnight + 3723000000}), "20260101_010203");
  EXPECT_EQ(Timestamp{-1}.epochDay(), -1);
  EXPECT_EQ(daysFromCivil(2026, 1, 1), 20454);
}

TEST(JsonWriterTest, EscapesAndSeparates) {
  std::string out;
  JsonWriter w(out);
  w.beginObject().field("a", "x\"y\\z\n\x01").field("n", int64_t{-3}).key("l").beginArray();
  w.integer(1).boolean(true).null().endArray().field("u", "é").endObject();
  EXPECT_EQ(out, R"({"a":"x\"y\\z\n\u0001","n":-3,"l":[1,true,null],"u":"é"})");
}

}  // namespace
}  // namespace cdc
