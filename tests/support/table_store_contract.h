#pragma once

// The table store's contract, as DynamoDB defines it: the same tests run against every
// backend (the SQLite store in the unit tests, DynamoDB on moto in the integration tests).
// A backend's test file instantiates TableStoreContract with a factory type:
//   struct Factory { static std::unique_ptr<store::TableStore> make(); static std::string prefix(); };
// `prefix()` keeps table names apart when backends share one server.

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "store/table_store.h"

namespace cdc::test {

using store::AttributeValue;
using store::Condition;
using store::Item;

inline store::TableSpec inventorySpec() {
  return {"inventory-realtime", {"product_id", AttributeValue::Type::N}, std::nullopt, {}};
}

inline store::TableSpec searchSpec() {
  store::TableSpec s{"product-search-index", {"product_id", AttributeValue::Type::N}, std::nullopt, {}};
  s.indexes.push_back({"name-index", {"name_lower", AttributeValue::Type::S}, std::nullopt});
  s.indexes.push_back({"price-index", {"price", AttributeValue::Type::N}, std::nullopt});
  s.indexes.push_back(
      {"bucket-price", {"bucket", AttributeValue::Type::S}, store::KeyAttribute{"price", AttributeValue::Type::N}});
  return s;
}

inline Item key(int64_t id) { return {{"product_id", AttributeValue::n(id)}}; }

template <class Factory>
class TableStoreContract : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = Factory::make();
    ASSERT_NE(store_, nullptr);
    prefix_ = Factory::prefix();
    ASSERT_TRUE(store_->ensureTable(spec(inventorySpec())).has_value());
  }
  std::string name(const std::string& table) const { return prefix_ + table; }
  store::TableSpec spec(store::TableSpec s) const {
    s.name = name(s.name);
    return s;
  }
  std::unique_ptr<store::TableStore> store_;
  std::string prefix_;
};

TYPED_TEST_SUITE_P(TableStoreContract);

TYPED_TEST_P(TableStoreContract, PutGetDelete) {
  Item item = key(1);
  item["name"] = AttributeValue::s("Laptop");
  item["price"] = AttributeValue::s("1299.99");
  item["stock_quantity"] = AttributeValue::n(50);
  ASSERT_TRUE(this->store_->put({this->name("inventory-realtime"), item, std::nullopt}).has_value());
  auto got = this->store_->get(this->name("inventory-realtime"), key(1));
  ASSERT_TRUE(got.has_value());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(**got, item);
  ASSERT_TRUE(this->store_->remove({this->name("inventory-realtime"), key(1), std::nullopt}).has_value());
  EXPECT_FALSE(this->store_->get(this->name("inventory-realtime"), key(1))->has_value());
}

TYPED_TEST_P(TableStoreContract, UpdateWithAddSetRemoveAndConditions) {
  store::UpdateRequest u{
      this->name("inventory-realtime"), key(7), {}, Condition::notExists("product_id"), store::ReturnValues::AllNew};
  u.update.add("stock_quantity", AttributeValue::n(10)).set("name", AttributeValue::s("Mouse"));
  auto r = this->store_->update(u);
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->conditionFailed);
  EXPECT_EQ(store::find(*r->attributes, "stock_quantity")->asInt(), 10);

  // Same condition again: the item exists now, nothing is written.
  r = this->store_->update(u);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->conditionFailed);
  EXPECT_EQ(store::find(**this->store_->get(this->name("inventory-realtime"), key(7)), "stock_quantity")->asInt(), 10);

  store::UpdateRequest dec{this->name("inventory-realtime"), key(7), {}, Condition::ge("stock_quantity", AttributeValue::n(3))};
  dec.update.add("stock_quantity", AttributeValue::n(-3)).remove("name").setIfNotExists("alert", AttributeValue::boolean(false));
  ASSERT_FALSE(this->store_->update(dec)->conditionFailed);
  Item now = **this->store_->get(this->name("inventory-realtime"), key(7));
  EXPECT_EQ(store::find(now, "stock_quantity")->asInt(), 7);
  EXPECT_EQ(store::find(now, "name"), nullptr);
  EXPECT_EQ(*store::find(now, "alert"), AttributeValue::boolean(false));

  // Exact decimals: 0.1 + 0.2 is 0.3.
  store::UpdateRequest money{this->name("inventory-realtime"), key(7), {}, std::nullopt};
  money.update.add("revenue", AttributeValue::n("0.1"));
  ASSERT_TRUE(this->store_->update(money).has_value());
  money.update = {};
  money.update.add("revenue", AttributeValue::n("0.2"));
  ASSERT_TRUE(this->store_->update(money).has_value());
  EXPECT_EQ(store::find(**this->store_->get(this->name("inventory-realtime"), key(7)), "revenue")->text(), "0.3");
}

TYPED_TEST_P(TableStoreContract, UpdatingAKeyAttributeOrAddingToAStringIsRejected) {
  store::UpdateRequest u{this->name("inventory-realtime"), key(1), {}, std::nullopt};
  u.update.set("product_id", AttributeValue::n(2));
  auto r = this->store_->update(u);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().kind, ErrorKind::Poison);
  store::UpdateRequest s{this->name("inventory-realtime"), key(1), {}, std::nullopt};
  s.update.set("name", AttributeValue::s("x"));
  ASSERT_TRUE(this->store_->update(s).has_value());
  store::UpdateRequest bad{this->name("inventory-realtime"), key(1), {}, std::nullopt};
  bad.update.add("name", AttributeValue::n(1));
  EXPECT_EQ(this->store_->update(bad).error().kind, ErrorKind::Poison);
}

TYPED_TEST_P(TableStoreContract, TransactionIsAllOrNothing) {
  std::vector<store::TransactItem> items;
  store::PutRequest marker{this->name("inventory-realtime"), key(100), Condition::notExists("product_id")};
  store::UpdateRequest stock{this->name("inventory-realtime"), key(1), {}, std::nullopt};
  stock.update.add("stock_quantity", AttributeValue::n(-2));
  items.emplace_back(marker);
  items.emplace_back(stock);
  auto first = this->store_->transact(items);
  ASSERT_TRUE(first.has_value());
  EXPECT_TRUE(first->committed);
  // Replayed: the marker exists, so the whole transaction is refused and stock stays -2.
  auto second = this->store_->transact(items);
  ASSERT_TRUE(second.has_value());
  EXPECT_FALSE(second->committed);
  EXPECT_EQ(second->failedConditions, std::vector<size_t>{0});
  EXPECT_EQ(store::find(**this->store_->get(this->name("inventory-realtime"), key(1)), "stock_quantity")->asInt(), -2);
  // Two actions on one item are refused as DynamoDB does.
  std::vector<store::TransactItem> twice{stock, stock};
  EXPECT_EQ(this->store_->transact(twice).error().kind, ErrorKind::Poison);
}

TYPED_TEST_P(TableStoreContract, BatchWriteAndScanPagination) {
  std::vector<store::WriteRequest> batch;
  for (int i = 1; i <= 25; ++i) {
    Item it = key(i);
    it["v"] = AttributeValue::n(i * 10);
    batch.push_back({store::WriteRequest::Kind::Put, it});
  }
  auto unprocessed = this->store_->batchWrite(this->name("inventory-realtime"), batch);
  ASSERT_TRUE(unprocessed.has_value());
  EXPECT_TRUE(unprocessed->empty());
  std::vector<int64_t> ids;
  store::ScanRequest scan{this->name("inventory-realtime"), 10, std::nullopt};
  do {
    auto page = this->store_->scan(scan);
    ASSERT_TRUE(page.has_value());
    for (const auto& it : page->items) ids.push_back(*store::find(it, "product_id")->asInt());
    scan.exclusiveStartKey = page->lastEvaluatedKey;
  } while (scan.exclusiveStartKey);
  ASSERT_EQ(ids.size(), 25u);
  for (int i = 0; i < 25; ++i) EXPECT_EQ(ids[i], i + 1);  // numeric order, not "1, 10, 11"
  std::vector<store::WriteRequest> deletes{{store::WriteRequest::Kind::Delete, key(3)}};
  ASSERT_TRUE(this->store_->batchWrite(this->name("inventory-realtime"), deletes).has_value());
  EXPECT_FALSE(this->store_->get(this->name("inventory-realtime"), key(3))->has_value());
  EXPECT_EQ(this->store_->batchGet(this->name("inventory-realtime"), std::vector<Item>{key(1), key(3), key(4)})->size(), 2u);
  // The visiting read sees the same items, and stops at its visitor's error.
  std::map<int64_t, int64_t> seen;
  auto visited = this->store_->batchGetEach(this->name("inventory-realtime"), std::vector<Item>{key(1), key(3), key(4)},
                                            [&](const Item& it) -> Status {
                                              seen[*store::find(it, "product_id")->asInt()] = *store::find(it, "v")->asInt();
                                              return {};
                                            });
  ASSERT_TRUE(visited.has_value());
  EXPECT_EQ(seen, (std::map<int64_t, int64_t>{{1, 10}, {4, 40}}));
  int calls = 0;
  auto stopped =
      this->store_->batchGetEach(this->name("inventory-realtime"), std::vector<Item>{key(1), key(2)}, [&](const Item&) -> Status {
        ++calls;
        return fail(Error::fatal("enough"));
      });
  ASSERT_FALSE(stopped.has_value());
  EXPECT_EQ(stopped.error().message, "enough");
  EXPECT_EQ(calls, 1);
}

TYPED_TEST_P(TableStoreContract, QueriesOnSparseIndexesWithRangesAndPagination) {
  ASSERT_TRUE(this->store_->ensureTable(this->spec(searchSpec())).has_value());
  for (int i = 1; i <= 30; ++i) {
    Item it = key(i);
    it["name_lower"] = AttributeValue::s(i % 2 ? "mouse" : "laptop");
    it["price"] = AttributeValue::n(i * 100);
    if (i <= 20) it["bucket"] = AttributeValue::s("b0");  // items 21..30 are not in bucket-price
    ASSERT_TRUE(this->store_->put({this->name("product-search-index"), it, std::nullopt}).has_value());
  }
  store::QueryRequest byName{this->name("product-search-index"), "name-index", AttributeValue::s("mouse")};
  auto mice = this->store_->query(byName);
  ASSERT_TRUE(mice.has_value());
  EXPECT_EQ(mice->items.size(), 15u);

  store::QueryRequest range{this->name("product-search-index"), "bucket-price", AttributeValue::s("b0")};
  range.range = store::RangeCondition{store::KeyOp::Between, AttributeValue::n(500), AttributeValue::n(1500)};
  range.limit = 4;
  std::vector<int64_t> prices;
  do {
    auto page = this->store_->query(range);
    ASSERT_TRUE(page.has_value()) << page.error().message;
    for (const auto& it : page->items) prices.push_back(*store::find(it, "price")->asInt());
    range.exclusiveStartKey = page->lastEvaluatedKey;
  } while (range.exclusiveStartKey);
  std::vector<int64_t> expected;
  for (int p = 500; p <= 1500; p += 100) expected.push_back(p);
  EXPECT_EQ(prices, expected);

  store::QueryRequest desc{this->name("product-search-index"), "bucket-price", AttributeValue::s("b0")};
  desc.range = store::RangeCondition{store::KeyOp::Gt, AttributeValue::n(1800)};
  desc.forward = false;
  auto top = this->store_->query(desc);
  ASSERT_EQ(top->items.size(), 2u);
  EXPECT_EQ(store::find(top->items[0], "price")->asInt(), 2000);

  store::QueryRequest prefix{this->name("product-search-index"), "name-index", AttributeValue::s("laptop")};
  EXPECT_EQ(this->store_->query(prefix)->items.size(), 15u);
  store::QueryRequest unknown{this->name("product-search-index"), "nope", AttributeValue::s("x")};
  EXPECT_EQ(this->store_->query(unknown).error().kind, ErrorKind::Poison);
}

TYPED_TEST_P(TableStoreContract, RangeKeyTableBeginsWith) {
  store::TableSpec postings{
      this->name("postings"), {"token", AttributeValue::Type::S}, store::KeyAttribute{"doc", AttributeValue::Type::S}, {}};
  ASSERT_TRUE(this->store_->ensureTable(postings).has_value());
  for (const char* doc : {"p#1", "p#2", "q#1"}) {
    ASSERT_TRUE(
        this->store_
            ->put({this->name("postings"), {{"token", AttributeValue::s("usb")}, {"doc", AttributeValue::s(doc)}}, std::nullopt})
            .has_value());
  }
  store::QueryRequest q{this->name("postings"), std::nullopt, AttributeValue::s("usb")};
  q.range = store::RangeCondition{store::KeyOp::BeginsWith, AttributeValue::s("p#")};
  EXPECT_EQ(this->store_->query(q)->items.size(), 2u);
}

REGISTER_TYPED_TEST_SUITE_P(TableStoreContract, PutGetDelete, UpdateWithAddSetRemoveAndConditions,
                            UpdatingAKeyAttributeOrAddingToAStringIsRejected, TransactionIsAllOrNothing,
                            BatchWriteAndScanPagination, QueriesOnSparseIndexesWithRangesAndPagination, RangeKeyTableBeginsWith);

}  // namespace cdc::test
