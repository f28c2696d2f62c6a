#include "store/item_codec.h"

#include <gtest/gtest.h>

#include <string>

namespace cdc::store {
namespace {

// Every kind of value DynamoDB has, nested, with lengths that need varints of two and three
// bytes, bytes that are not UTF-8, and empty compounds.
Item everyKind() {
  std::string bytes("\x00\x01\xff\x80 binary", 12);
  AttributeMap inner{
      {"deep", AttributeValue::list({AttributeValue::n("-0.5"), AttributeValue::null(), AttributeValue::boolean(true)})},
      {"", AttributeValue::s("empty name")},
  };
  return Item{
      {"s", AttributeValue::s("Smørrebrød ✓")},
      {"n_int", AttributeValue::n(int64_t{-1234567890123})},
      {"n_dec", AttributeValue::n("1299.50")},
      {"n_big", AttributeValue::n("123456789012345678901234567890.123456")},
      {"b", AttributeValue::b(bytes)},
      {"yes", AttributeValue::boolean(true)},
      {"no", AttributeValue::boolean(false)},
      {"nothing", AttributeValue::null()},
      {"list", AttributeValue::list({AttributeValue::s("a"), AttributeValue::map(inner), AttributeValue::list({})})},
      {"map", AttributeValue::map(inner)},
      {"empty_map", AttributeValue::map({})},
      {"ss", AttributeValue::stringSet({"pear", "apple", "pear"})},
      {"ns", AttributeValue::numberSet({"10", "2.50", "-3"})},
      {"long", AttributeValue::s(std::string(200, 'x'))},
      {"longer", AttributeValue::s(std::string(70000, 'y'))},
      {std::string(300, 'k'), AttributeValue::n(int64_t{7})},
  };
}

TEST(ItemRowTest, EveryKindOfValueReadsBackEqual) {
  Item item = everyKind();
  std::string row;
  appendItemRow(row, item);
  auto back = parseItemRow(row);
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_EQ(*back, item);
  EXPECT_EQ(find(*back, "n_dec")->text(), "1299.5");  // canonical, as written
  EXPECT_EQ(find(*back, "ns")->members(), (std::vector<std::string>{"-3", "10", "2.5"}));
  EXPECT_EQ(find(*back, "b")->text().size(), 12u);
}

TEST(ItemRowTest, AProductsRowIsUnderSevenTenthsOfItsJson) {
  Item product{
      {"product_id", AttributeValue::n(int64_t{1})},
      {"name", AttributeValue::s("Portable Kettle 1")},
      {"name_lower", AttributeValue::s("portable kettle 1")},
      {"description", AttributeValue::s("Made from recycled materials, ideal for travel")},
      {"price", AttributeValue::n("63.16")},
      {"price_display", AttributeValue::s("$63.16")},
      {"stock_quantity", AttributeValue::n(int64_t{1468})},
      {"search_tokens",
       AttributeValue::list({AttributeValue::s("kettle"), AttributeValue::s("portable"), AttributeValue::s("travel")})},
      {"token_weights",
       AttributeValue::list({AttributeValue::n(int64_t{3}), AttributeValue::n(int64_t{3}), AttributeValue::n(int64_t{1})})},
      {"version", AttributeValue::n(int64_t{3})},
      {"src_offset", AttributeValue::n(int64_t{2691})},
      {"src_partition", AttributeValue::n(int64_t{0})},
  };
  std::string row;
  appendItemRow(row, product);
  std::string json = toDynamoJson(product);
  EXPECT_LT(row.size() * 10, json.size() * 7) << row.size() << " bytes against " << json.size();
}

TEST(ItemRowTest, RowsWrittenAsDynamoJsonStillRead) {
  Item item = everyKind();
  auto back = parseItemRow(toDynamoJson(item));
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_EQ(*back, item);
}

TEST(ItemRowTest, ADamagedRowIsAnErrorAtEveryLength) {
  Item item = everyKind();
  item.erase("longer");
  std::string row;
  appendItemRow(row, item);
  for (size_t n = 0; n < row.size(); ++n) {
    // Some prefixes end between two attributes: those read as a shorter item.
    auto cut = parseItemRow(std::string_view(row).substr(0, n));
    if (cut) {
      EXPECT_LT(cut->size(), item.size()) << n;
    }
  }
  std::string unknownTag = row.substr(0, 1) + std::string(
                                                  "\x01"
                                                  "a"
                                                  "\x2a",
                                                  3);
  EXPECT_FALSE(parseItemRow(unknownTag).has_value());
  EXPECT_FALSE(parseItemRow(std::string("\x07", 1)).has_value());
  EXPECT_FALSE(parseItemRow("").has_value());
  // A count larger than the bytes left is refused before anything is allocated for it.
  std::string hugeList = row.substr(0, 1) + std::string(
                                                "\x01"
                                                "l"
                                                "\x07"
                                                "\xff\xff\xff\xff\x0f",
                                                8);
  EXPECT_FALSE(parseItemRow(hugeList).has_value());
}

}  // namespace
}  // namespace cdc::store
