#include "store/expression.h"

#include <gtest/gtest.h>

#include "store/item_codec.h"

namespace cdc::store {
namespace {

TEST(ConditionTest, EvaluatesLikeDynamoDb) {
  Item item{{"stock", AttributeValue::n(5)}, {"name", AttributeValue::s("usb cable")}};
  EXPECT_TRUE(Condition::exists("stock").evaluate(&item));
  EXPECT_FALSE(Condition::exists("stock").evaluate(nullptr));
  EXPECT_TRUE(Condition::notExists("stock").evaluate(nullptr));
  EXPECT_TRUE(Condition::lt("stock", AttributeValue::n("5.5")).evaluate(&item));
  EXPECT_FALSE(Condition::lt("stock", AttributeValue::s("9")).evaluate(&item));  // different types never compare
  EXPECT_TRUE(Condition::beginsWith("name", AttributeValue::s("usb")).evaluate(&item));
  EXPECT_TRUE((Condition::ge("stock", AttributeValue::n(5)) && !Condition::exists("alert")).evaluate(&item));
  EXPECT_TRUE((Condition::notExists("x") || Condition::eq("stock", AttributeValue::n(1))).evaluate(&item));
  EXPECT_TRUE(Condition::ne("missing", AttributeValue::n(1)).evaluate(&item));
}

TEST(ConditionTest, ChainsOfAndOrKeepTheirMeaning) {
  Item item{{"a", AttributeValue::n(1)}, {"b", AttributeValue::n(2)}};
  auto a = Condition::exists("a"), b = Condition::exists("b"), c = Condition::exists("c");
  // A chain of one operator is one node with every operand.
  Condition all = a && b && Condition::eq("a", AttributeValue::n(1));
  EXPECT_EQ(all.kind(), Condition::Kind::And);
  EXPECT_EQ(all.children().size(), 3u);
  EXPECT_TRUE(all.evaluate(&item));
  EXPECT_FALSE((all && c).evaluate(&item));
  EXPECT_TRUE((c || c || a).evaluate(&item));
  EXPECT_FALSE((c || c || !a).evaluate(&item));
  // Mixed operators keep their grouping: (c OR a) AND b, c OR (a AND b), (a AND c) OR b.
  Condition grouped = (c || a) && b;
  EXPECT_EQ(grouped.children().size(), 2u);
  EXPECT_TRUE(grouped.evaluate(&item));
  EXPECT_FALSE(((c || a) && c).evaluate(&item));
  EXPECT_TRUE((c || (a && b)).evaluate(&item));
  EXPECT_TRUE(((a && c) || b).evaluate(&item));
  EXPECT_FALSE(((a && c) || c).evaluate(&item));
}

TEST(UpdateTest, SetsAndDeletes) {
  Item item{{"tokens", AttributeValue::stringSet({"usb", "cable"})}};
  Update u;
  u.add("tokens", AttributeValue::stringSet({"braided"})).deleteFromSet("tokens", AttributeValue::stringSet({"usb"}));
  ASSERT_TRUE(u.applyTo(item).has_value());
  EXPECT_EQ(find(item, "tokens")->members(), (std::vector<std::string>{"braided", "cable"}));
  Update all;
  all.deleteFromSet("tokens", AttributeValue::stringSet({"braided", "cable"}));
  ASSERT_TRUE(all.applyTo(item).has_value());
  EXPECT_EQ(find(item, "tokens"), nullptr);  // no empty sets
}

TEST(ItemCodecTest, DynamoJsonRoundTripAndPlainJson) {
  Item item{{"product_id", AttributeValue::n(1)},
            {"price", AttributeValue::s("1299.99")},
            {"cents", AttributeValue::n("129999")},
            {"ratio", AttributeValue::n("1.50")},
            {"tags", AttributeValue::list({AttributeValue::s("a"), AttributeValue::boolean(true), AttributeValue::null()})},
            {"m", AttributeValue::map({{"k", AttributeValue::n(-2)}})},
            {"ss", AttributeValue::stringSet({"b", "a", "b"})},
            {"bin", AttributeValue::b(std::string("\x00\xff", 2))}};
  std::string json = toDynamoJson(item);
  auto back = parseDynamoItem(json);
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_EQ(*back, item);
  EXPECT_NE(json.find(R"("ratio":{"N":"1.5"})"), std::string::npos);
  std::string plain;
  appendPlainJson(plain, item);
  EXPECT_EQ(
      plain,
      R"({"bin":"AP8=","cents":129999,"m":{"k":-2},"price":"1299.99","product_id":1,"ratio":1.5,"ss":["a","b"],"tags":["a",true,null]})");
}

}  // namespace
}  // namespace cdc::store
