#include "adapters/sqlite/sqlite_table_store.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace cdc::sqlite {
namespace {

using store::AttributeValue;
using store::Condition;
using store::Item;

store::TableSpec inventorySpec() {
  return {"inventory-realtime", {"product_id", AttributeValue::Type::N}, std::nullopt, {}};
}

store::TableSpec searchSpec() {
  store::TableSpec s{"product-search-index", {"product_id", AttributeValue::Type::N}, std::nullopt, {}};
  s.indexes.push_back({"name-index", {"name_lower", AttributeValue::Type::S}, std::nullopt});
  s.indexes.push_back({"price-index", {"price", AttributeValue::Type::N}, std::nullopt});
  s.indexes.push_back({"bucket-price", {"bucket", AttributeValue::Type::S}, store::KeyAttribute{"price", AttributeValue::Type::N}});
  return s;
}

Item key(int64_t id) { return {{"product_id", AttributeValue::n(id)}}; }

class SqliteTableStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = SqliteTableStore::open(":memory:");
    ASSERT_TRUE(s.has_value()) << s.error().message;
    store_ = std::move(*s);
    ASSERT_TRUE(store_->ensureTable(inventorySpec()).has_value());
  }
  std::unique_ptr<SqliteTableStore> store_;
};

TEST_F(SqliteTableStoreTest, PutGetDelete) {
  Item item = key(1);
  item["name"] = AttributeValue::s("Laptop");
  item["price"] = AttributeValue::s("1299.99");
  item["stock_quantity"] = AttributeValue::n(50);
  ASSERT_TRUE(store_->put({"inventory-realtime", item, std::nullopt}).has_value());
  auto got = store_->get("inventory-realtime", key(1));
  ASSERT_TRUE(got.has_value());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(**got, item);
  ASSERT_TRUE(store_->remove({"inventory-realtime", key(1), std::nullopt}).has_value());
  EXPECT_FALSE(store_->get("inventory-realtime", key(1))->has_value());
}

TEST_F(SqliteTableStoreTest, UpdateWithAddSetRemoveAndConditions) {
  store::UpdateRequest u{"inventory-realtime", key(7), {}, Condition::notExists("product_id"), store::ReturnValues::AllNew};
  u.update.add("stock_quantity", AttributeValue::n(10)).set("name", AttributeValue::s("Mouse"));
  auto r = store_->update(u);
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->conditionFailed);
  EXPECT_EQ(store::find(*r->attributes, "stock_quantity")->asInt(), 10);

  // Same condition again: the item exists now, nothing is written.
  r = store_->update(u);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->conditionFailed);
  EXPECT_EQ(store::find(**store_->get("inventory-realtime", key(7)), "stock_quantity")->asInt(), 10);

  store::UpdateRequest dec{"inventory-realtime", key(7), {}, Condition::ge("stock_quantity", AttributeValue::n(3))};
  dec.update.add("stock_quantity", AttributeValue::n(-3)).remove("name").setIfNotExists("alert", AttributeValue::boolean(false));
  ASSERT_FALSE(store_->update(dec)->conditionFailed);
  Item now = **store_->get("inventory-realtime", key(7));
  EXPECT_EQ(store::find(now, "stock_quantity")->asInt(), 7);
  EXPECT_EQ(store::find(now, "name"), nullptr);
  EXPECT_EQ(*store::find(now, "alert"), AttributeValue::boolean(false));

  // Exact decimals: 0.1 + 0.2 is 0.3.
  store::UpdateRequest money{"inventory-realtime", key(7), {}, std::nullopt};
  money.update.add("revenue", AttributeValue::n("0.1"));
  ASSERT_TRUE(store_->update(money).has_value());
  money.update = {};
  money.update.add("revenue", AttributeValue::n("0.2"));
  ASSERT_TRUE(store_->update(money).has_value());
  EXPECT_EQ(store::find(**store_->get("inventory-realtime", key(7)), "revenue")->text(), "0.3");
}

TEST_F(SqliteTableStoreTest, UpdatingAKeyAttributeOrAddingToAStringIsRejected) {
  store::UpdateRequest u{"inventory-realtime", key(1), {}, std::nullopt};
  u.update.set("product_id", AttributeValue::n(2));
  auto r = store_->update(u);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().kind, ErrorKind::Poison);
  store::UpdateRequest s{"inventory-realtime", key(1), {}, std::nullopt};
  s.update.set("name", AttributeValue::s("x"));
  ASSERT_TRUE(store_->update(s).has_value());
  store::UpdateRequest bad{"inventory-realtime", key(1), {}, std::nullopt};
  bad.update.add("name", AttributeValue::n(1));
  EXPECT_EQ(store_->update(bad).error().kind, ErrorKind::Poison);
}

TEST_F(SqliteTableStoreTest, TransactionIsAllOrNothing) {
  std::vector<store::TransactItem> items;
  store::PutRequest marker{"inventory-realtime", key(100), Condition::notExists("product_id")};
  store::UpdateRequest stock{"inventory-realtime", key(1), {}, std::nullopt};
  stock.update.add("stock_quantity", AttributeValue::n(-2));
  items.emplace_back(marker);
  items.emplace_back(stock);
  auto first = store_->transact(items);
  ASSERT_TRUE(first.has_value());
  EXPECT_TRUE(first->committed);
  // Replayed: the marker exists, so the whole transaction is refused and stock stays -2.
  auto second = store_->transact(items);
  ASSERT_TRUE(second.has_value());
  EXPECT_FALSE(second->committed);
  EXPECT_EQ(second->failedConditions, std::vector<size_t>{0});
  EXPECT_EQ(store::find(**store_->get("inventory-realtime", key(1)), "stock_quantity")->asInt(), -2);
  // Two actions on one item are refused as DynamoDB does.
  std::vector<store::TransactItem> twice{stock, stock};
  EXPECT_EQ(store_->transact(twice).error().kind, ErrorKind::Poison);
}

TEST_F(SqliteTableStoreTest, BatchWriteAndScanPagination) {
  std::vector<store::WriteRequest> batch;
  for (int i = 1; i <= 25; ++i) {
    Item it = key(i);
    it["v"] = AttributeValue::n(i * 10);
    batch.push_back({store::WriteRequest::Kind::Put, it});
  }
  auto unprocessed = store_->batchWrite("inventory-realtime", batch);
  ASSERT_TRUE(unprocessed.has_value());
  EXPECT_TRUE(unprocessed->empty());
  std::vector<int64_t> ids;
  store::ScanRequest scan{"inventory-realtime", 10, std::nullopt};
  do {
    auto page = store_->scan(scan);
    ASSERT_TRUE(page.has_value());
    for (const auto& it : page->items) ids.push_back(*store::find(it, "product_id")->asInt());
    scan.exclusiveStartKey = page->lastEvaluatedKey;
  } while (scan.exclusiveStartKey);
  ASSERT_EQ(ids.size(), 25u);
  for (int i = 0; i < 25; ++i) EXPECT_EQ(ids[i], i + 1);  // numeric order, not "1, 10, 11"
  std::vector<store::WriteRequest> deletes{{store::WriteRequest::Kind::Delete, key(3)}};
  ASSERT_TRUE(store_->batchWrite("inventory-realtime", deletes).has_value());
  EXPECT_FALSE(store_->get("inventory-realtime", key(3))->has_value());
  EXPECT_EQ(store_->batchGet("inventory-realtime", std::vector<Item>{key(1), key(3), key(4)})->size(), 2u);
}

TEST_F(SqliteTableStoreTest, QueriesOnSparseIndexesWithRangesAndPagination) {
  ASSERT_TRUE(store_->ensureTable(searchSpec()).has_value());
  for (int i = 1; i <= 30; ++i) {
    Item it = key(i);
    it["name_lower"] = AttributeValue::s(i % 2 ? "mouse" : "laptop");
    it["price"] = AttributeValue::n(i * 100);
    if (i <= 20) it["bucket"] = AttributeValue::s("b0");  // items 21..30 are not in bucket-price
    ASSERT_TRUE(store_->put({"product-search-index", it, std::nullopt}).has_value());
  }
  store::QueryRequest byName{"product-search-index", "name-index", AttributeValue::s("mouse")};
  auto mice = store_->query(byName);
  ASSERT_TRUE(mice.has_value());
  EXPECT_EQ(mice->items.size(), 15u);

  store::QueryRequest range{"product-search-index", "bucket-price", AttributeValue::s("b0")};
  range.range = store::RangeCondition{store::KeyOp::Between, AttributeValue::n(500), AttributeValue::n(1500)};
  range.limit = 4;
  std::vector<int64_t> prices;
  do {
    auto page = store_->query(range);
    ASSERT_TRUE(page.has_value()) << page.error().message;
    for (const auto& it : page->items) prices.push_back(*store::find(it, "price")->asInt());
    range.exclusiveStartKey = page->lastEvaluatedKey;
  } while (range.exclusiveStartKey);
  std::vector<int64_t> expected;
  for (int p = 500; p <= 1500; p += 100) expected.push_back(p);
  EXPECT_EQ(prices, expected);

  store::QueryRequest desc{"product-search-index", "bucket-price", AttributeValue::s("b0")};
  desc.range = store::RangeCondition{store::KeyOp::Gt, AttributeValue::n(1800)};
  desc.forward = false;
  auto top = store_->query(desc);
  ASSERT_EQ(top->items.size(), 2u);
  EXPECT_EQ(store::find(top->items[0], "price")->asInt(), 2000);

  store::QueryRequest prefix{"product-search-index", "name-index", AttributeValue::s("laptop")};
  EXPECT_EQ(store_->query(prefix)->items.size(), 15u);
  store::QueryRequest unknown{"product-search-index", "nope", AttributeValue::s("x")};
  EXPECT_EQ(store_->query(unknown).error().kind, ErrorKind::Poison);
}

TEST_F(SqliteTableStoreTest, RangeKeyTableBeginsWith) {
  store::TableSpec postings{"postings", {"token", AttributeValue::Type::S}, store::KeyAttribute{"doc", AttributeValue::Type::S}, {}};
  ASSERT_TRUE(store_->ensureTable(postings).has_value());
  for (const char* doc : {"p#1", "p#2", "q#1"}) {
    ASSERT_TRUE(store_->put({"postings", {{"token", AttributeValue::s("usb")}, {"doc", AttributeValue::s(doc)}}, std::nullopt}).has_value());
  }
  store::QueryRequest q{"postings", std::nullopt, AttributeValue::s("usb")};
  q.range = store::RangeCondition{store::KeyOp::BeginsWith, AttributeValue::s("p#")};
  EXPECT_EQ(store_->query(q)->items.size(), 2u);
}

TEST(SqliteTableStoreFileTest, SurvivesReopen) {
  auto path = std::filesystem::temp_directory_path() / ("cdc-store-test-" + std::to_string(::getpid()) + ".db");
  std::filesystem::remove(path);
  {
    auto s = SqliteTableStore::open(path.string());
    ASSERT_TRUE(s.has_value());
    ASSERT_TRUE((*s)->ensureTable(inventorySpec()).has_value());
    ASSERT_TRUE((*s)->put({"inventory-realtime", key(5), std::nullopt}).has_value());
  }
  auto s = SqliteTableStore::open(path.string());
  ASSERT_TRUE(s.has_value());
  auto spec = (*s)->describeTable("inventory-realtime");
  ASSERT_TRUE(spec.has_value());
  EXPECT_EQ(spec->hash.name, "product_id");
  EXPECT_TRUE((*s)->get("inventory-realtime", key(5))->has_value());
  EXPECT_EQ((*s)->describeTable("missing").error().kind, ErrorKind::NotFound);
  std::filesystem::remove(path);
}

TEST(SqliteTableStoreFileTest, ConnectionsOfSeveralProcessesTakeTurnsWriting) {
  // Replicas of a service share one file: each write must get the lock once the other's
  // transaction is over, whatever each connection read before.
  auto path = std::filesystem::temp_directory_path() / ("cdc-store-shared-" + std::to_string(::getpid()) + ".db");
  std::filesystem::remove(path);
  auto a = SqliteTableStore::open(path.string());
  auto b = SqliteTableStore::open(path.string());
  ASSERT_TRUE(a.has_value() && b.has_value());
  ASSERT_TRUE((*a)->ensureTable(inventorySpec()).has_value());
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE((*b)->put({"inventory-realtime", key(100 + round), std::nullopt}).has_value()) << round;
    ASSERT_TRUE((*b)->get("inventory-realtime", key(100 + round)).has_value());
    ASSERT_TRUE((*a)->put({"inventory-realtime", key(200 + round), std::nullopt}).has_value()) << round;
    ASSERT_TRUE((*a)->get("inventory-realtime", key(200 + round)).has_value());
  }
  EXPECT_TRUE((*a)->get("inventory-realtime", key(102))->has_value());
  EXPECT_TRUE((*b)->get("inventory-realtime", key(202))->has_value());
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace cdc::sqlite
