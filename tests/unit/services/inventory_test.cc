#include "services/inventory/inventory_service.h"

#include <gtest/gtest.h>

#include <unistd.h>
#include <map>
#include <random>
#include <set>

#include "adapters/localfs/dir_object_store.h"
#include "adapters/sqlite/sqlite_table_store.h"
#include "runtime/dead_letter.h"
#include "runtime/runner.h"
#include "support/forwarding_table_store.h"
#include "support/vector_source.h"
#include "workload/encoder.h"
#include "workload/generator.h"

namespace cdc::inventory {
namespace {

namespace fs = std::filesystem;
using debezium::Op;
using store::AttributeValue;

constexpr std::string_view kProducts = "dbserver1.public.products";
constexpr std::string_view kItems = "dbserver1.public.order_items";

// Collects alerts in memory.
class RecordingAlerts final : public AlertSink {
 public:
  Status publish(std::span<const LowStockAlert> alerts) override {
    received.insert(received.end(), alerts.begin(), alerts.end());
    if (!alerts.empty()) undelivered = deliverOnlyWhenForced;
    return {};
  }
  bool settled(bool force) override {
    if (force) ++forced;
    if (force) undelivered = false;
    return !undelivered;
  }
  // Everything received counts as on the topic, unless told otherwise (a broker that has not
  // acknowledged them yet).
  std::vector<std::pair<int64_t, int64_t>> takeAcknowledged() override {
    std::vector<std::pair<int64_t, int64_t>> out;
    if (!acknowledge) return out;
    for (size_t i = acknowledgedUpTo; i < received.size(); ++i) out.emplace_back(received[i].productId, received[i].crossing);
    acknowledgedUpTo = received.size();
    return out;
  }
  std::vector<LowStockAlert> received;
  bool acknowledge = true;
  size_t acknowledgedUpTo = 0;
  bool deliverOnlyWhenForced = false;  // a broker slower than the batches
  bool undelivered = false;
  int forced = 0;
};

debezium::ProductRow productRow(int64_t id, int32_t stock, int64_t priceCents = 129999, std::string name = "Laptop") {
  debezium::ProductRow p;
  p.id = ProductId{id};
  p.name = std::move(name);
  p.description = "High-performance laptop";
  p.price = Money::fromCents(priceCents);
  p.stockQuantity = stock;
  p.createdAt = Timestamp{1767225600000000};
  p.updatedAt = p.createdAt;
  p.present = debezium::kAllColumns;
  return p;
}

debezium::OrderItemRow itemRow(int64_t id, int64_t productId, int32_t quantity) {
  debezium::OrderItemRow i;
  i.id = OrderItemId{id};
  i.orderId = OrderId{1};
  i.productId = ProductId{productId};
  i.quantity = quantity;
  i.price = Money::fromCents(999);
  i.createdAt = Timestamp{1767225600000000};
  i.present = debezium::kAllColumns;
  return i;
}

// Builds records in the production shape (flattened, schemas, precise decimals).
class Records {
 public:
  runtime::Record product(Op op, const debezium::ProductRow& row, int32_t partition = 0) {
    return make(kProducts, op, row, partition);
  }
  runtime::Record item(Op op, const debezium::OrderItemRow& row, int32_t partition = 0) {
    return make(kItems, op, row, partition);
  }
  runtime::Record raw(std::string_view topic, std::optional<std::string> value, int32_t partition = 0) {
    runtime::Record r;
    r.topic = topic;
    r.partition = partition;
    r.offset = offsets_[{std::string(topic), partition}]++;
    r.timestampMs = 1767225600000 + r.offset;
    r.value = std::move(value);
    return r;
  }
  // A delete as Debezium 3.x's default sends it: the key and no row, as a Kafka null value or
  // (schemas on) a value whose payload is null.
  runtime::Record tombstone(std::string_view topic, int64_t id, bool payloadNull = false, int32_t partition = 0) {
    std::optional<std::string> value;
    if (payloadNull) value = R"({"schema":{"type":"struct","fields":[],"optional":true,"name":"v"},"payload":null})";
    auto r = raw(topic, std::move(value), partition);
    r.key = "{\"id\":" + std::to_string(id) + "}";
    return r;
  }

 private:
  template <class Row>
  runtime::Record make(std::string_view topic, Op op, const Row& row, int32_t partition) {
    debezium::ChangeEvent c;
    c.table = Row::kTable;
    c.op = op;
    if (op == Op::Delete) {
      c.before = row;
    } else {
      c.after = row;
    }
    c.source.tsMs = 1767225600000 + static_cast<int64_t>(++clock_) * 1000;
    std::string value;
    encoder_.value(c, value);
    auto r = raw(topic, std::move(value), partition);
    encoder_.key(Row::kTable, row.id.value, r.key.emplace());
    return r;
  }
  workload::DebeziumEncoder encoder_{workload::EncoderOptions{}};
  std::map<std::pair<std::string, int32_t>, int64_t> offsets_;
  int clock_ = 0;
};

class InventoryTest : public ::testing::Test {
 protected:
  ManualTime time_;  // 2026-01-01T00:00:00Z, still
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("cdc-inventory-" + std::to_string(::getpid()) + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    tables_ = std::move(*sqlite::SqliteTableStore::open(":memory:"));
    objects_ = std::make_unique<localfs::DirObjectStore>(dir_);
    handler_ = makeHandler();
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<InventoryHandler> makeHandler() {
    InventoryOptions o;
    o.time = &time_;
    return std::make_unique<InventoryHandler>(*tables_, alerts_, o);
  }

  runtime::RunStats run(std::vector<runtime::Record> records, size_t batchSize = 100) {
    test::VectorSource src(std::move(records));
    runtime::RunnerOptions ro;
    ro.batchSize = batchSize;
    ro.retryInitial = std::chrono::milliseconds(1);
    std::atomic<bool> stop{false};
    auto stats = runtime::Runner(src, *handler_, *objects_, ro, stop).run();
    EXPECT_TRUE(stats.has_value()) << stats.error().message;
    return stats.value_or(runtime::RunStats{});
  }

  std::optional<store::Item> item(int64_t productId) {
    auto r = tables_->get("inventory-realtime", productKey(productId));
    EXPECT_TRUE(r.has_value());
    return r.value_or(std::nullopt);
  }
  int64_t stock(int64_t productId) {
    auto i = item(productId);
    EXPECT_TRUE(i.has_value()) << "no item for product " << productId;
    return i ? store::find(*i, "stock_quantity")->asIntOr(-999999) : -999999;
  }

  fs::path dir_;
  std::unique_ptr<sqlite::SqliteTableStore> tables_;
  std::unique_ptr<localfs::DirObjectStore> objects_;
  RecordingAlerts alerts_;
  std::unique_ptr<InventoryHandler> handler_;
  Records rec_;
};

TEST_F(InventoryTest, SnapshotWritesTheSeedItemLayout) {
  run({rec_.product(Op::Read, productRow(1, 50))});
  auto i = item(1);
  ASSERT_TRUE(i.has_value());
  EXPECT_EQ(store::find(*i, "name")->text(), "Laptop");
  EXPECT_EQ(store::find(*i, "description")->text(), "High-performance laptop");
  EXPECT_EQ(*store::find(*i, "price"), AttributeValue::s("1299.99"));  // exact string, from base64 bytes
  EXPECT_EQ(store::find(*i, "stock_quantity")->asInt(), 50);
  EXPECT_EQ(store::find(*i, "cdc_timestamp")->asInt(), 1767225601000);
  EXPECT_EQ(store::find(*i, "last_updated")->text(), "2026-01-01T00:00:01Z");
}

TEST_F(InventoryTest, OrderItemsDecrementAdjustAndGiveBack) {
  run({rec_.product(Op::Read, productRow(1, 50)), rec_.item(Op::Create, itemRow(10, 1, 3))});
  EXPECT_EQ(stock(1), 47);
  run({rec_.item(Op::Update, itemRow(10, 1, 5))});
  EXPECT_EQ(stock(1), 45);
  run({rec_.item(Op::Update, itemRow(10, 1, 1))});
  EXPECT_EQ(stock(1), 49);
  run({rec_.item(Op::Delete, itemRow(10, 1, 1))});
  EXPECT_EQ(stock(1), 50);
}

TEST_F(InventoryTest, RestocksMoveStockByTheDifferenceWithoutUndoingDecrements) {
  run({rec_.product(Op::Read, productRow(1, 50)), rec_.item(Op::Create, itemRow(10, 1, 3))});
  run({rec_.product(Op::Update, productRow(1, 150))});  // a restock of 100, no before image
  EXPECT_EQ(stock(1), 147);
  run({rec_.product(Op::Update, productRow(1, 150, 99999))});  // a price change keeps stock
  EXPECT_EQ(stock(1), 147);
  EXPECT_EQ(store::find(*item(1), "price")->text(), "999.99");
  run({rec_.product(Op::Update, productRow(1, 140))});  // a manual correction down
  EXPECT_EQ(stock(1), 137);
}

TEST_F(InventoryTest, AnOrderItemBeforeItsProductIsNotLost) {
  run({rec_.item(Op::Create, itemRow(10, 7, 4))});
  EXPECT_EQ(stock(7), -4);
  run({rec_.product(Op::Read, productRow(7, 30))});
  EXPECT_EQ(stock(7), 26);
}

TEST_F(InventoryTest, RedeliveryAndReplayChangeStockOnce) {
  auto p = rec_.product(Op::Read, productRow(1, 50));
  auto a = rec_.item(Op::Create, itemRow(10, 1, 3));
  auto b = rec_.item(Op::Create, itemRow(11, 1, 2));
  auto restock = rec_.product(Op::Update, productRow(1, 60));
  run({p, a, b, restock});
  EXPECT_EQ(stock(1), 55);
  run({a, b});                 // redelivered after a crash before the commit
  run({p, a, b, restock, a});  // a replay of everything from offset 0
  EXPECT_EQ(stock(1), 55);
  EXPECT_GT(handler_->stats().duplicates, 6u);
  // A re-snapshot (new offsets, same rows) is idempotent too.
  run({rec_.product(Op::Read, productRow(1, 60)), rec_.item(Op::Read, itemRow(10, 1, 3))});
  EXPECT_EQ(stock(1), 55);
}

// A zombie member: it read product 1 and its ledger bucket for an order item, then stalled past
// its session timeout, and its transaction reaches the store only after the group gave the
// partitions to another member, which applied that order item and later changes. The
// transaction is conditioned on the versions the zombie read, so the store refuses it; read
// again, the order item is found applied. Not exposed: the stock is a single member's. On a
// store that drops the conditions, the same interleaving loses the owner's changes.
TEST_F(InventoryTest, AZombiesWriteHeldUntilTheNewOwnerCommittedIsRefused) {
  class Holding final : public test::ForwardingTableStore {
   public:
    Holding(store::TableStore& inner, bool checked) : ForwardingTableStore(inner), checked_(checked) {}
    Result<store::TransactOutcome> transact(std::span<const store::TransactItem> items) override {
      if (meanwhile) std::exchange(meanwhile, nullptr)();  // held until the owner is done
      if (checked_) return inner_.transact(items);
      std::vector<store::TransactItem> unchecked;
      for (auto i : items) {
        if (std::holds_alternative<store::ConditionCheck>(i)) continue;
        std::visit(
            [](auto& w) {
              if constexpr (!std::is_same_v<std::decay_t<decltype(w)>, store::ConditionCheck>) w.condition.reset();
            },
            i);
        unchecked.push_back(std::move(i));
      }
      return inner_.transact(unchecked);
    }
    std::function<void()> meanwhile;

   private:
    bool checked_;
  };
  auto p = rec_.product(Op::Read, productRow(1, 50));
  auto a = rec_.item(Op::Create, itemRow(10, 1, 3));
  auto b = rec_.item(Op::Create, itemRow(11, 1, 2));
  auto c = rec_.item(Op::Create, itemRow(12, 1, 4));
  auto restock = rec_.product(Op::Update, productRow(1, 60));
  run({p, a, b, c, restock});
  const int64_t single = stock(1);
  ASSERT_EQ(single, 51);
  for (bool checked : {true, false}) {
    tables_ = std::move(*sqlite::SqliteTableStore::open(":memory:"));
    Holding zombieView(*tables_, checked);
    InventoryOptions o;
    o.time = &time_;
    InventoryHandler zombie(zombieView, alerts_, o);
    auto runOn = [&](runtime::Handler& h, std::vector<runtime::Record> records) {
      auto stats = test::runRecords(h, *objects_, std::move(records));
      ASSERT_TRUE(stats.has_value()) << stats.error().message;
    };
    runOn(zombie, {p, a});
    zombieView.meanwhile = [&] {
      InventoryHandler owner(*tables_, alerts_, o);
      runOn(owner, {b, c, restock});
    };
    runOn(zombie, {b});
    EXPECT_FALSE(zombieView.meanwhile);
    if (checked) {
      EXPECT_EQ(stock(1), single);
      EXPECT_GE(zombie.stats().conflicts, 1u);
    } else {
      EXPECT_NE(stock(1), single);  // the owner's later changes overwritten
    }
  }
}

TEST_F(InventoryTest, AnItemMovedToAnotherProduct) {
  run({rec_.product(Op::Read, productRow(1, 50)), rec_.product(Op::Read, productRow(2, 50)),
       rec_.item(Op::Create, itemRow(10, 1, 3))});
  run({rec_.item(Op::Update, itemRow(10, 2, 4))});
  EXPECT_EQ(stock(1), 50);
  EXPECT_EQ(stock(2), 46);
}

TEST_F(InventoryTest, ProductDeleteRemovesTheItemAndKeepsAnExpiringRecord) {
  run({rec_.product(Op::Read, productRow(1, 50)), rec_.product(Op::Read, productRow(2, 50)),
       rec_.product(Op::Delete, productRow(1, 50))});
  EXPECT_FALSE(item(1).has_value());  // as the Python service: no item for a deleted product
  EXPECT_EQ(stock(2), 50);
  auto record = tables_->get("inventory-realtime-ledger", deletedProductKey(1));
  ASSERT_TRUE(record.has_value() && record->has_value());
  EXPECT_EQ(store::find(**record, "product_id")->asInt(), 1);
  EXPECT_EQ(*store::find(**record, "deleted"), AttributeValue::boolean(true));
  EXPECT_EQ(store::find(**record, "expires_at")->asInt(), 1767225600 + 7 * 86400);  // LEDGER_RETENTION
  // A late or redelivered change of the product is recognised: it does not bring it back.
  auto stale = rec_.product(Op::Update, productRow(1, 70));
  stale.offset = 1;
  run({stale});
  EXPECT_FALSE(item(1).has_value());
  // An order item of the deleted product still arriving on the other topic is counted on the
  // record, and given back when its delete arrives.
  run({rec_.item(Op::Create, itemRow(10, 1, 3)), rec_.item(Op::Delete, itemRow(10, 1, 3))});
  EXPECT_FALSE(item(1).has_value());
  auto after = tables_->get("inventory-realtime-ledger", deletedProductKey(1));
  ASSERT_TRUE(after.has_value() && after->has_value());
  EXPECT_EQ(store::find(**after, "ordered")->asInt(), 0);
  // Re-created (a row inserted again with that id): the item is back and the record gone.
  run({rec_.product(Op::Create, productRow(1, 20))});
  EXPECT_EQ(stock(1), 20);
  auto gone = tables_->get("inventory-realtime-ledger", deletedProductKey(1));
  ASSERT_TRUE(gone.has_value());
  EXPECT_FALSE(gone->has_value());
}

// Debezium 3.x's default (delete.tombstone.handling.mode=tombstone): a delete is only a
// tombstone, acted on from the key and the service's own state.
TEST_F(InventoryTest, TombstoneOnlyDeletesGiveStockBackAndRemoveProducts) {
  run({rec_.product(Op::Read, productRow(1, 50)), rec_.product(Op::Read, productRow(2, 30)),
       rec_.item(Op::Create, itemRow(10, 1, 3)), rec_.item(Op::Create, itemRow(11, 1, 4))});
  EXPECT_EQ(stock(1), 43);
  run({rec_.tombstone(kItems, 10), rec_.tombstone(kItems, 11, /*payloadNull=*/true)});
  EXPECT_EQ(stock(1), 50);
  run({rec_.tombstone(kProducts, 2, true)});
  EXPECT_FALSE(item(2).has_value());
  EXPECT_EQ(stock(1), 50);
}

// rewrite-with-tombstone: the row with __deleted, then the tombstone, which changes nothing more.
TEST_F(InventoryTest, ATombstoneAfterARewrittenDeleteChangesNothingMore) {
  run({rec_.product(Op::Read, productRow(1, 50)), rec_.item(Op::Create, itemRow(10, 1, 3)),
       rec_.product(Op::Read, productRow(2, 5))});
  uint64_t writes = handler_->stats().transactions;
  run({rec_.item(Op::Delete, itemRow(10, 1, 3)), rec_.product(Op::Delete, productRow(2, 5))});
  EXPECT_EQ(stock(1), 50);
  uint64_t afterDeletes = handler_->stats().transactions;
  EXPECT_GT(afterDeletes, writes);
  auto stats = run({rec_.tombstone(kItems, 10), rec_.tombstone(kProducts, 2)});
  EXPECT_EQ(stats.deadLetters, 0u);
  EXPECT_EQ(handler_->stats().transactions, afterDeletes);  // nothing written
  EXPECT_EQ(stock(1), 50);
  // A tombstone of a row never seen (its create compacted away) is nothing to do either.
  run({rec_.tombstone(kItems, 99), rec_.tombstone(kProducts, 98)});
  EXPECT_EQ(handler_->stats().transactions, afterDeletes);
  EXPECT_FALSE(item(98).has_value());
}

TEST_F(InventoryTest, AColumnUpdatedToNullClearsTheAttribute) {
  run({rec_.product(Op::Read, productRow(1, 50))});
  ASSERT_NE(store::find(*item(1), "description"), nullptr);
  auto cleared = productRow(1, 50);
  cleared.present &= ~debezium::bit(debezium::ProductColumn::Description);  // NULL in the message
  run({rec_.product(Op::Update, cleared)});
  EXPECT_EQ(store::find(*item(1), "description"), nullptr);
  EXPECT_EQ(store::find(*item(1), "name")->text(), "Laptop");
  run({rec_.product(Op::Update, productRow(1, 50))});
  EXPECT_EQ(store::find(*item(1), "description")->text(), "High-performance laptop");
}

// Publishing an alert does not wait for its broker; the positions of the change that raised it
// are committed only once it is delivered (here: when the end of the run forces it).
TEST_F(InventoryTest, PositionsAreCommittedOnlyOnceTheirAlertsAreDelivered) {
  alerts_.deliverOnlyWhenForced = true;
  test::VectorSource src({rec_.product(Op::Read, productRow(1, 12, 100, "Mouse")), rec_.product(Op::Read, productRow(2, 50)),
                          rec_.item(Op::Create, itemRow(10, 1, 3)), rec_.item(Op::Create, itemRow(11, 2, 1)),
                          rec_.item(Op::Create, itemRow(12, 2, 1))});
  runtime::RunnerOptions ro;
  ro.batchSize = 2;
  std::atomic<bool> stop{false};
  auto stats = runtime::Runner(src, *handler_, *objects_, ro, stop).run();
  ASSERT_TRUE(stats.has_value()) << stats.error().message;
  ASSERT_EQ(alerts_.received.size(), 1u);
  // Batches 1 and 2 raised none and were committed; batch 2 raised the alert, so its positions
  // and those of batch 3 waited for the forced delivery at the end.
  ASSERT_EQ(src.commits.size(), 2u);
  EXPECT_EQ(alerts_.forced, 1);
  ASSERT_EQ(src.commits[0].size(), 1u);
  EXPECT_EQ(src.commits[0][0].topic, kProducts);
  ASSERT_EQ(src.commits[1].size(), 1u);  // the order items of batches 2 and 3 together
  EXPECT_EQ(src.commits[1][0].topic, kItems);
}

// A publisher acknowledges an alert by its id; the id gives back the product and crossing whose
// outbox entry may go.
TEST(LowStockAlertTest, AnIdGivesBackItsProductAndCrossing) {
  LowStockAlert a{.productId = 1234, .crossing = 7};
  EXPECT_EQ(LowStockAlert::parseId(a.id()), (std::pair<int64_t, int64_t>{1234, 7}));
  LowStockAlert negative{.productId = -3, .crossing = 1};
  EXPECT_EQ(LowStockAlert::parseId(negative.id()), (std::pair<int64_t, int64_t>{-3, 1}));
  for (const char* bad : {"", "12", "-1", "12-", "x-1", "1-x", "1-2-", "1-2x"}) {
    EXPECT_EQ(LowStockAlert::parseId(bad), std::nullopt) << bad;
  }
}

TEST_F(InventoryTest, LowStockAlertsOncePerCrossingOnEveryPath) {
  run({rec_.product(Op::Read, productRow(1, 12, 100, "Mouse"))});
  EXPECT_TRUE(alerts_.received.empty());
  run({rec_.item(Op::Create, itemRow(10, 1, 3))});  // 9: crosses below 10
  ASSERT_EQ(alerts_.received.size(), 1u);
  EXPECT_EQ(alerts_.received[0].productId, 1);
  EXPECT_EQ(alerts_.received[0].stock, 9);
  EXPECT_EQ(alerts_.received[0].name, "Mouse");
  EXPECT_EQ(*store::find(*item(1), "low_stock_alert"), AttributeValue::boolean(true));
  run({rec_.item(Op::Create, itemRow(11, 1, 1)), rec_.item(Op::Update, itemRow(11, 1, 2))});  // 8, 7: no new alert
  EXPECT_EQ(alerts_.received.size(), 1u);
  run({rec_.product(Op::Update, productRow(1, 32, 100, "Mouse"))});  // restock: 27, re-armed
  EXPECT_EQ(*store::find(*item(1), "low_stock_alert"), AttributeValue::boolean(false));
  run({rec_.product(Op::Update, productRow(1, 10, 100, "Mouse"))});  // a correction down: 5
  EXPECT_EQ(alerts_.received.size(), 2u);
  // Within one batch: recover and cross again, then an item update lowering stock.
  run({rec_.item(Op::Delete, itemRow(11, 1, 2)), rec_.item(Op::Delete, itemRow(10, 1, 3)),
       rec_.item(Op::Create, itemRow(12, 1, 6))});  // 7, 10 (re-armed), 4 (alert)
  EXPECT_EQ(alerts_.received.size(), 3u);
  EXPECT_EQ(alerts_.received.back().stock, 4);
  EXPECT_EQ(handler_->stats().alerts, 3u);
}

TEST_F(InventoryTest, EachCrossingHasAStableIdAndStaysInTheOutboxUntilAcknowledged) {
  alerts_.acknowledge = false;
  auto first = rec_.product(Op::Read, productRow(1, 5, 100, "Mouse"));  // crossing 1
  auto recover = rec_.product(Op::Update, productRow(1, 20, 100, "Mouse"));
  auto again = rec_.product(Op::Update, productRow(1, 3, 100, "Mouse"));  // crossing 2
  run({first, recover, again});
  ASSERT_EQ(alerts_.received.size(), 2u);
  EXPECT_EQ(alerts_.received[0].id(), "1-1");
  EXPECT_EQ(alerts_.received[1].id(), "1-2");
  EXPECT_EQ(alerts_.received[1].sourceTopic, kProducts);
  EXPECT_EQ(alerts_.received[1].sourceOffset, again.offset);
  EXPECT_NE(alerts_.received[1].toJson().find("\"alert_id\":\"1-2\""), std::string::npos);
  // The crossings are counted in the item, their alerts kept there (the outbox) by the same write.
  auto stored = *item(1);
  EXPECT_EQ(store::find(stored, "low_stock_crossings")->asIntOr(0), 2);
  ASSERT_NE(store::find(stored, outboxAttribute(1)), nullptr);
  ASSERT_NE(store::find(stored, outboxAttribute(2)), nullptr);
  auto back = LowStockAlert::fromOutbox(1, 2, store::find(stored, outboxAttribute(2))->text());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->stock, 3);
  EXPECT_EQ(back->sourceOffset, again.offset);

  // The batch again (a redelivery after a crash): the stock counts nothing twice, no crossing is
  // counted again, and the alerts of its changes are published again with the same ids.
  run({first, recover, again});
  ASSERT_EQ(alerts_.received.size(), 4u);
  EXPECT_EQ(alerts_.received[2].id(), "1-1");
  EXPECT_EQ(alerts_.received[3].id(), "1-2");
  EXPECT_EQ(store::find(*item(1), "low_stock_crossings")->asIntOr(0), 2);
  // A batch without those changes leaves their entries to whoever reads them again.
  run({rec_.product(Op::Update, productRow(1, 4, 100, "Mouse"))});
  EXPECT_EQ(alerts_.received.size(), 4u);

  // Acknowledged: the entries go with the next batch (or tick, or the end of a run).
  alerts_.acknowledge = true;
  run({rec_.product(Op::Read, productRow(2, 50))});
  stored = *item(1);
  EXPECT_EQ(store::find(stored, outboxAttribute(1)), nullptr);
  EXPECT_EQ(store::find(stored, outboxAttribute(2)), nullptr);
  EXPECT_EQ(store::find(stored, "low_stock_crossings")->asIntOr(0), 2);
  run({first, recover, again});  // nothing left to publish again
  EXPECT_EQ(alerts_.received.size(), 4u);
}

TEST_F(InventoryTest, PoisonGoesToTheDeadLetterQueueAndTheRestIsApplied) {
  auto negative = rec_.item(Op::Create, itemRow(10, 1, -2));
  auto orders = rec_.raw("dbserver1.public.orders", R"({"id":1,"customer_id":2,"__op":"c"})");
  auto broken = rec_.raw(kItems, R"({"id":12,"quantity":)");
  auto negativeStock = rec_.product(Op::Update, productRow(2, -5));
  auto stats = run({rec_.product(Op::Read, productRow(1, 50)), negative, orders, broken, negativeStock,
                    rec_.item(Op::Create, itemRow(11, 1, 1))});
  EXPECT_EQ(stats.deadLetters, 4u);
  EXPECT_EQ(stock(1), 49);
  auto letters = runtime::listDeadLetters(*objects_, "inventory-service");
  ASSERT_TRUE(letters.has_value());
  ASSERT_EQ(letters->size(), 4u);
  std::string errors;
  for (const auto& d : *letters) errors += d.error + "\n";
  EXPECT_NE(errors.find("negative quantity -2 in order item 10"), std::string::npos) << errors;
  EXPECT_NE(errors.find("does not consume orders"), std::string::npos) << errors;
  EXPECT_NE(errors.find("truncated_json"), std::string::npos) << errors;
  EXPECT_NE(errors.find("negative stock_quantity -5"), std::string::npos) << errors;
}

TEST_F(InventoryTest, ManyChangesToOneProductInABatchAreOneWrite) {
  std::vector<runtime::Record> records{rec_.product(Op::Read, productRow(1, 1000))};
  for (int i = 0; i < 60; ++i) records.push_back(rec_.item(Op::Create, itemRow(100 + i, 1, 1)));
  run(records, 1000);
  EXPECT_EQ(stock(1), 940);
  // One transaction for the product, then one for the ledger: the 60 holdings in 4 buckets.
  EXPECT_EQ(handler_->stats().transactions, 2u);
  EXPECT_EQ(handler_->stats().itemsWritten, 1u + 4u);
  std::vector<runtime::Record> more;
  for (int i = 0; i < 200; ++i) more.push_back(rec_.item(Op::Create, itemRow(1000 + i, 1, 1)));
  run(more, 1000);
  EXPECT_EQ(stock(1), 740);
  EXPECT_EQ(handler_->stats().transactions, 4u);
  EXPECT_EQ(handler_->stats().itemsWritten, 5u + 1u + 13u);  // 200 consecutive ids: 13 buckets
}

// Products of a batch are packed into TransactWriteItems of at most 100 items, sent together.
TEST_F(InventoryTest, ProductsArePackedIntoTransactionsOfAtMostAHundredItems) {
  std::vector<runtime::Record> records;
  for (int p = 1; p <= 250; ++p) records.push_back(rec_.product(Op::Read, productRow(p, 100)));
  for (int i = 0; i < 250; ++i) records.push_back(rec_.item(Op::Create, itemRow(1 + i, 1 + i, 2)));
  run(records, 1000);
  EXPECT_EQ(handler_->stats().transactions, 3u + 1u);  // 250 products in 3, 16 buckets in 1
  EXPECT_EQ(handler_->stats().itemsWritten, 250u + 16u);
  for (int p = 1; p <= 250; p += 83) EXPECT_EQ(stock(p), 98);
}

// A change of one order item reads the products that item held and holds, not those of the
// other items of its ledger bucket (a consumer at a steady rate applies batches of a few records,
// and the whole bucket's products were read for each).
TEST_F(InventoryTest, AnItemChangeReadsOnlyTheProductsItTouches) {
  class Counting final : public test::ForwardingTableStore {
   public:
    using ForwardingTableStore::ForwardingTableStore;
    Result<std::vector<store::Item>> batchGet(std::string_view t, std::span<const store::Item> k) override {
      if (t == "inventory-realtime") productKeys += k.size();
      return inner_.batchGet(t, k);
    }
    size_t productKeys = 0;
  } counting(*tables_);
  InventoryOptions o;
  InventoryHandler h(counting, alerts_, o);
  auto runWith = [&](std::vector<runtime::Record> records) {
    test::VectorSource src(std::move(records));
    std::atomic<bool> stop{false};
    auto stats = runtime::Runner(src, h, *objects_, runtime::RunnerOptions{}, stop).run();
    ASSERT_TRUE(stats.has_value());
    EXPECT_EQ(stats->deadLetters, 0u);
  };
  // Items 32..47 share one ledger bucket, each holding 1 of its own product.
  std::vector<runtime::Record> first;
  for (int p = 1; p <= 16; ++p) first.push_back(rec_.product(Op::Read, productRow(p, 100)));
  for (int p = 1; p <= 16; ++p) first.push_back(rec_.item(Op::Create, itemRow(31 + p, p, 1)));
  runWith(std::move(first));
  ASSERT_EQ(ledgerBucketOf(32), ledgerBucketOf(47));

  counting.productKeys = 0;
  runWith({rec_.item(Op::Update, itemRow(32, 2, 3))});  // moves from product 1 to product 2
  EXPECT_EQ(counting.productKeys, 2u);
  EXPECT_EQ(stock(1), 100);
  EXPECT_EQ(stock(2), 100 - 1 - 3);
  for (int p = 3; p <= 16; ++p) EXPECT_EQ(stock(p), 99);
}

// Products and buckets tied by items moving between products: no transaction of more than 100
// items is ever sent (DynamoDB refuses them), nothing is re-applied.
TEST_F(InventoryTest, NoTransactionHoldsMoreThanAHundredItems) {
  class Counting final : public test::ForwardingTableStore {
   public:
    using ForwardingTableStore::ForwardingTableStore;
    Result<store::TransactOutcome> transact(std::span<const store::TransactItem> items) override {
      largest = std::max(largest, items.size());
      if (items.size() > 100) return fail(Error::poison("ValidationException: more than 100 items"));
      return inner_.transact(items);
    }
    size_t largest = 0;
  } counting(*tables_);
  InventoryOptions o;
  InventoryHandler h(counting, alerts_, o);
  std::vector<runtime::Record> records{rec_.product(Op::Read, productRow(1, 1000)), rec_.product(Op::Read, productRow(2, 1000))};
  records.push_back(rec_.item(Op::Create, itemRow(1, 1, 1)));
  for (int i = 0; i < 60; ++i) records.push_back(rec_.item(Op::Create, itemRow(100 + i, 1, 1)));
  for (int i = 0; i < 60; ++i) records.push_back(rec_.item(Op::Create, itemRow(200 + i, 2, 1)));
  records.push_back(rec_.item(Op::Update, itemRow(1, 2, 5)));  // moves: joins the two groups
  for (int i = 0; i < 60; ++i) records.push_back(rec_.item(Op::Create, itemRow(300 + i, i % 2 + 1, 1)));
  test::VectorSource src(std::move(records));
  runtime::RunnerOptions ro;
  ro.batchSize = 1000;
  std::atomic<bool> stop{false};
  auto stats = runtime::Runner(src, h, *objects_, ro, stop).run();
  ASSERT_TRUE(stats.has_value());
  EXPECT_EQ(stats->deadLetters, 0u);
  EXPECT_LE(counting.largest, 100u);
  EXPECT_EQ(h.stats().duplicates, 0u);
  EXPECT_EQ(h.stats().conflicts, 0u);
  EXPECT_EQ(stock(1), 1000 - 60 - 30);
  EXPECT_EQ(stock(2), 1000 - 60 - 5 - 30);
}

// The products are durable, the ledger is not (the process dies between the two steps): the
// batch applied again by a new process counts nothing twice and writes the same holdings.
TEST_F(InventoryTest, ACrashBetweenProductsAndLedgerCountsNothingTwice) {
  run({rec_.product(Op::Read, productRow(1, 50)), rec_.product(Op::Read, productRow(2, 50)),
       rec_.item(Op::Create, itemRow(10, 1, 3))});
  std::vector<runtime::Record> batch{rec_.item(Op::Update, itemRow(10, 2, 4)), rec_.item(Op::Create, itemRow(11, 1, 5)),
                                     rec_.product(Op::Update, productRow(1, 60)), rec_.item(Op::Create, itemRow(40, 2, 1))};
  class DyingBeforeTheLedger final : public test::ForwardingTableStore {
   public:
    using ForwardingTableStore::ForwardingTableStore;
    Result<store::TransactOutcome> transact(std::span<const store::TransactItem> items) override {
      if (std::holds_alternative<store::UpdateRequest>(items.front())) return fail(Error::fatal("killed"));
      return inner_.transact(items);
    }
  } dying(*tables_);
  InventoryHandler first(dying, alerts_, InventoryOptions{});
  test::VectorSource src(batch);
  std::atomic<bool> stop{false};
  auto died = runtime::Runner(src, first, *objects_, runtime::RunnerOptions{}, stop).run();
  ASSERT_FALSE(died.has_value());
  EXPECT_EQ(stock(1), 60 - 5);  // the products are written, the holdings are not
  EXPECT_EQ(stock(2), 50 - 4 - 1);
  run(batch);  // the next process, from the last committed position
  EXPECT_EQ(stock(1), 55);
  EXPECT_EQ(stock(2), 45);
  run({rec_.item(Op::Delete, itemRow(10, 2, 4)), rec_.item(Op::Delete, itemRow(11, 1, 5))});
  EXPECT_EQ(stock(1), 60);
  EXPECT_EQ(stock(2), 49);
}

// Two replicas write holdings of different order items of one bucket at the same time (their
// ids are consecutive, their partitions differ): neither conflicts nor loses the other's.
TEST_F(InventoryTest, ReplicasWritingOneBucketNeitherConflictNorLoseEachOther) {
  run({rec_.product(Op::Read, productRow(1, 50)), rec_.product(Op::Read, productRow(2, 50))});
  InventoryHandler other(*tables_, alerts_, InventoryOptions{});
  std::vector<runtime::Record> otherBatch{rec_.item(Op::Create, itemRow(33, 2, 7), 1)};
  class Interleaving final : public test::ForwardingTableStore {
   public:
    using ForwardingTableStore::ForwardingTableStore;
    Result<store::TransactOutcome> transact(std::span<const store::TransactItem> items) override {
      if (before) std::exchange(before, nullptr)();  // the other replica's whole batch, after our reads
      return inner_.transact(items);
    }
    std::function<void()> before;
  } interleaving(*tables_);
  interleaving.before = [&] {
    test::VectorSource src(otherBatch);
    std::atomic<bool> stop{false};
    ASSERT_TRUE(runtime::Runner(src, other, *objects_, runtime::RunnerOptions{}, stop).run().has_value());
  };
  InventoryHandler h(interleaving, alerts_, InventoryOptions{});
  test::VectorSource src({rec_.item(Op::Create, itemRow(32, 1, 3), 0)});
  std::atomic<bool> stop{false};
  ASSERT_TRUE(runtime::Runner(src, h, *objects_, runtime::RunnerOptions{}, stop).run().has_value());
  EXPECT_EQ(h.stats().conflicts, 0u);
  EXPECT_EQ(stock(1), 47);
  EXPECT_EQ(stock(2), 43);
  auto bucket = tables_->get("inventory-realtime-ledger", ledgerBucketKey(32));
  ASSERT_TRUE(bucket.has_value() && bucket->has_value());
  EXPECT_EQ(store::find(**bucket, "32")->text(), "1:3:0:0");
  EXPECT_EQ(store::find(**bucket, "33")->text(), "2:7:1:0");
}

// A bucket whose order items are all deleted expires (DynamoDB TTL) with the last of them; a
// new live holding in it cancels that; a deleted holding past the retention goes with the next
// write of its bucket.
TEST_F(InventoryTest, TheLedgerKeepsDeletedItemsForTheRetentionOnly) {
  int64_t now = 1767225600;
  ASSERT_EQ(time_.wall().seconds(), now);
  InventoryOptions o;
  o.time = &time_;
  handler_ = std::make_unique<InventoryHandler>(*tables_, alerts_, o);
  auto bucket = [&] {
    auto b = tables_->get("inventory-realtime-ledger", ledgerBucketKey(16));
    EXPECT_TRUE(b.has_value() && b->has_value());
    return b.value_or(std::nullopt).value_or(store::Item{});
  };
  run({rec_.product(Op::Read, productRow(1, 50)), rec_.item(Op::Create, itemRow(17, 1, 1)),
       rec_.item(Op::Create, itemRow(18, 1, 2))});
  EXPECT_EQ(store::find(bucket(), "expires_at"), nullptr);
  run({rec_.item(Op::Delete, itemRow(17, 1, 1))});
  now += 100;
  time_.advance(std::chrono::seconds(100));
  run({rec_.item(Op::Delete, itemRow(18, 1, 2))});
  EXPECT_EQ(store::find(bucket(), "expires_at")->asInt(), now + 7 * 86400);  // with the later delete
  EXPECT_EQ(stock(1), 50);
  run({rec_.item(Op::Create, itemRow(19, 1, 4))});
  EXPECT_EQ(store::find(bucket(), "expires_at"), nullptr);
  EXPECT_NE(store::find(bucket(), "17"), nullptr);
  now += 8 * 86400;
  time_.advance(std::chrono::hours(8 * 24));
  run({rec_.item(Op::Update, itemRow(19, 1, 5))});
  EXPECT_EQ(store::find(bucket(), "17"), nullptr);
  EXPECT_EQ(store::find(bucket(), "18"), nullptr);
  EXPECT_EQ(store::find(bucket(), "19")->text().substr(0, 4), "1:5:");
  EXPECT_EQ(stock(1), 45);
}

// A concurrent writer (another replica) changes an item between our read and our write: the
// conditional transaction fails, the batch is retried, nothing is lost or counted twice.
TEST_F(InventoryTest, OptimisticConflictRetriesTheBatch) {
  run({rec_.product(Op::Read, productRow(1, 50))});
  class Interfering final : public test::ForwardingTableStore {
   public:
    using ForwardingTableStore::ForwardingTableStore;
    Result<store::TransactOutcome> transact(std::span<const store::TransactItem> items) override {
      if (!interfered) {
        // The other replica bumps the product's version first.
        interfered = true;
        store::UpdateRequest u{"inventory-realtime", productKey(1), {}, std::nullopt};
        u.update.add("version", AttributeValue::n(1));
        if (auto r = inner_.update(u); !r) return fail(r.error());
      }
      return inner_.transact(items);
    }
    bool interfered = false;
  } interfering(*tables_);
  InventoryOptions o;
  InventoryHandler h(interfering, alerts_, o);
  test::VectorSource src({rec_.item(Op::Create, itemRow(10, 1, 3))});
  runtime::RunnerOptions ro;
  ro.retryInitial = std::chrono::milliseconds(1);
  std::atomic<bool> stop{false};
  auto stats = runtime::Runner(src, h, *objects_, ro, stop).run();
  ASSERT_TRUE(stats.has_value());
  EXPECT_TRUE(interfering.interfered);
  EXPECT_EQ(h.stats().conflicts, 1u);
  EXPECT_EQ(stats->retries, 1u);
  EXPECT_EQ(stock(1), 47);
}

// ---- property test: every interleaving, duplicates and replays give the reference table ----

struct Reference {
  std::map<int64_t, debezium::ProductRow> products;  // last row per product
  std::map<int64_t, bool> productDeleted;
  std::map<int64_t, std::optional<debezium::OrderItemRow>> items;  // nullopt: deleted
};

// Each way Debezium sends deletes (rewrite-with-tombstone, the 3.x default tombstone only).
class InventoryDeletesTest : public InventoryTest, public ::testing::WithParamInterface<workload::WorkloadOptions::Deletes> {};

INSTANTIATE_TEST_SUITE_P(Deletes, InventoryDeletesTest,
                         ::testing::Values(workload::WorkloadOptions::Deletes::RewriteWithTombstone,
                                           workload::WorkloadOptions::Deletes::Tombstone));

TEST_P(InventoryDeletesTest, PropertyAnyInterleavingWithDuplicatesGivesTheReferenceTable) {
  workload::WorkloadOptions w;
  w.deletes = GetParam();
  w.products = 25;
  w.customers = 40;
  w.orders = 200;
  w.seed = 2026;
  workload::WorkloadGenerator gen(w);
  workload::GeneratedRecord g;
  std::map<std::pair<std::string, int32_t>, std::vector<runtime::Record>> streams;
  static runtime::TopicInterner topics;
  while (gen.next(g)) {
    if (g.topic == "dbserver1.public.orders") continue;
    runtime::Record r;
    r.topic = topics.intern(g.topic);
    r.partition = g.partition;
    r.offset = g.offset;
    r.timestampMs = g.timestampMs;
    r.key = g.key;
    r.value = g.value;
    streams[{g.topic, g.partition}].push_back(std::move(r));
  }
  // The reference: the database's final rows, from each record once in partition order.
  Reference ref;
  debezium::Decoder decoder;
  size_t tombstones = 0;
  for (const auto& [tp, records] : streams) {
    for (const auto& r : records) {
      debezium::ChangeEvent ev;
      std::optional<std::string_view> value;
      if (r.value) value = *r.value;
      ASSERT_TRUE(decoder.decode(r.topic, std::string_view(*r.key), value, ev).has_value());
      if (ev.tombstone) ++tombstones;
      if (ev.table == debezium::Table::Products) {
        if (ev.op == Op::Delete) {
          ref.productDeleted[ev.rowId()] = true;
        } else {
          ref.products[ev.rowId()] = *ev.afterAs<debezium::ProductRow>();
          ref.productDeleted[ev.rowId()] = false;
        }
      } else if (ev.op == Op::Delete) {
        ref.items[ev.rowId()] = std::nullopt;
      } else {
        ref.items[ev.rowId()] = *ev.afterAs<debezium::OrderItemRow>();
      }
    }
  }
  std::map<int64_t, int64_t> expected;
  for (const auto& [id, p] : ref.products) expected[id] += p.stockQuantity;
  for (const auto& [id, i] : ref.items) {
    if (i) expected[i->productId.value] -= i->quantity;
  }
  size_t total = 0;
  for (const auto& [tp, records] : streams) total += records.size();
  ASSERT_GT(total, 400u);
  ASSERT_GT(tombstones, 10u);

  for (int iteration = 0; iteration < 200; ++iteration) {
    std::mt19937_64 rng(static_cast<uint64_t>(iteration) * 7919 + 1);
    // Interleave the partitions at random, keeping each one's order; duplicate records at
    // random, now and then rewind a partition (a consumer restarting before its commit), and
    // deliver some stale records late on their own (a zombie consumer after a rebalance).
    std::vector<std::pair<const std::vector<runtime::Record>*, size_t>> cursors;
    for (const auto& [tp, records] : streams) cursors.push_back({&records, 0});
    std::vector<runtime::Record> delivery;
    int rewinds = 0;
    while (true) {
      std::vector<size_t> open;
      for (size_t c = 0; c < cursors.size(); ++c) {
        if (cursors[c].second < cursors[c].first->size()) open.push_back(c);
      }
      if (open.empty()) break;
      auto& [records, next] = cursors[open[rng() % open.size()]];
      delivery.push_back((*records)[next]);
      if (rng() % 100 < 4) delivery.push_back((*records)[next]);
      if (next > 0 && rng() % 100 < 3) delivery.push_back((*records)[next - 1 - rng() % std::min<size_t>(next, 30)]);
      ++next;
      if (rewinds < 4 && rng() % 1000 < 5) {
        ++rewinds;
        next -= std::min<size_t>(next, rng() % 40);
      }
    }
    // A fresh table per iteration.
    tables_ = std::move(*sqlite::SqliteTableStore::open(":memory:"));
    handler_ = makeHandler();
    size_t batch = 1 + rng() % 300;
    auto stats = run(std::move(delivery), batch);
    ASSERT_EQ(stats.deadLetters, 0u);
    for (const auto& [id, want] : expected) {
      if (ref.productDeleted[id]) continue;
      ASSERT_EQ(stock(id), want) << "product " << id << ", iteration " << iteration << ", batch " << batch;
    }
    size_t deletedProducts = 0;
    for (const auto& [id, p] : ref.products) {
      auto it = item(id);
      if (ref.productDeleted[id]) {
        ++deletedProducts;
        ASSERT_FALSE(it.has_value()) << "deleted product " << id << " still has an item";
        continue;
      }
      ASSERT_TRUE(it.has_value()) << "product " << id;
      ASSERT_EQ(store::find(*it, "price")->text(), p.price.toString()) << "product " << id;
      ASSERT_EQ(store::find(*it, "deleted"), nullptr) << "product " << id;
    }
    // The ledger: one bucket per 16 consecutive order item ids and one record per deleted
    // product, never one per event; each order item's holding is its last row (or deleted).
    auto ledger = tables_->scan({"inventory-realtime-ledger", 0, std::nullopt});
    ASSERT_TRUE(ledger.has_value());
    std::set<int64_t> buckets;
    for (const auto& [id, i] : ref.items) buckets.insert(ledgerBucketOf(id));
    ASSERT_EQ(ledger->items.size(), buckets.size() + deletedProducts);
    std::map<int64_t, Holding> holdings;
    for (const auto& bucket : ledger->items) {
      auto first = ledgerBucketFirst(bucket);
      if (!first) continue;
      for (const auto& [name, value] : bucket) {
        if (name == "ledger_key" || name == "expires_at") continue;
        auto h = Holding::decode(value.text());
        ASSERT_TRUE(h.has_value()) << name << " = " << value.text();
        holdings[std::stoll(name)] = *h;
      }
    }
    for (const auto& [id, i] : ref.items) {
      ASSERT_TRUE(holdings.contains(id)) << "order item " << id;
      ASSERT_EQ(holdings[id].deleted, !i.has_value()) << "order item " << id;
      if (i) {
        ASSERT_EQ(holdings[id].quantity, i->quantity) << "order item " << id;
        ASSERT_EQ(holdings[id].productId, i->productId.value) << "order item " << id;
      }
    }
  }
}

// A ledger table of the earlier layout (one record per order item, hash key order_item_id) is
// refused at start-up, naming the table and both key schemas: never written in the new layout.
TEST_F(InventoryTest, ALedgerTableOfAnotherLayoutIsRefusedAtStart) {
  ASSERT_TRUE(tables_
                  ->ensureTable({"inventory-realtime-ledger",
                                 {"order_item_id", AttributeValue::Type::N},
                                 std::nullopt,
                                 {},
                                 std::string("expires_at")})
                  .has_value());
  auto started = makeHandler()->start();
  ASSERT_FALSE(started.has_value());
  EXPECT_EQ(started.error().kind, ErrorKind::Fatal);
  EXPECT_EQ(started.error().message,
            "table inventory-realtime-ledger has hash key order_item_id (N), but this service keeps hash key ledger_key (S) "
            "there: a table of another layout; give the service another table");
}

// A product DynamoDB would refuse (a 10 MB description) is rejected before anything is written:
// the rest of the batch is applied once, not re-applied while the runner halves the batch.
TEST_F(InventoryTest, AnItemTooLargeForDynamoDbIsRejectedBeforeAnyWrite) {
  auto huge = productRow(2, 40);
  huge.description = std::string(10 << 20, 'x');
  auto stats = run({rec_.product(Op::Read, productRow(1, 50)), rec_.product(Op::Read, huge),
                    rec_.item(Op::Create, itemRow(10, 1, 3)), rec_.product(Op::Read, productRow(3, 20))});
  EXPECT_EQ(stats.deadLetters, 1u);
  EXPECT_EQ(handler_->stats().duplicates, 0u);  // nothing applied twice
  EXPECT_EQ(stock(1), 47);
  EXPECT_EQ(stock(3), 20);
  EXPECT_FALSE(item(2).has_value());
  auto letters = runtime::listDeadLetters(*objects_, "inventory-service");
  ASSERT_TRUE(letters.has_value());
  ASSERT_EQ(letters->size(), 1u);
  EXPECT_NE(letters->front().error.find("product 2: an item of 10486"), std::string::npos) << letters->front().error;
  EXPECT_NE(letters->front().error.find("exceeds DynamoDB's 400 KB item size"), std::string::npos);
}

}  // namespace
}  // namespace cdc::inventory
