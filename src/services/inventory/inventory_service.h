#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/stats.h"
#include "core/time.h"
#include "runtime/handler.h"
#include "services/inventory/alerts.h"
#include "services/inventory/state.h"
#include "store/table_store.h"

namespace prometheus {
class Counter;
}  // namespace prometheus

namespace cdc::inventory {

struct InventoryOptions {
  std::string table = "inventory-realtime";               // DYNAMODB_TABLE
  std::string ledgerTable = "inventory-realtime-ledger";  // exactly-once bookkeeping
  int64_t lowStockThreshold = 10;                         // LOW_STOCK_THRESHOLD
  int64_t tombstoneRetentionSeconds = 7 * 86400;          // how long a deleted item's record stays
  bool createTables = true;                               // CREATE_TABLES
  const TimeSource* time = &systemTime();                 // the wall clock (a test: a ManualTime)
  debezium::DecoderOptions decoding;                      // schemaless reading rules (columns are ours)
};

struct InventoryStats {
  Count productChanges;
  Count itemChanges;
  Count duplicates;    // changes already applied (redelivery, replay)
  Count transactions;  // TransactWriteItems sent (committed or not)
  Count itemsWritten;  // product items and ledger buckets inside committed transactions
  Count conflicts;     // optimistic-concurrency conflicts (the batch is retried)
  Count alerts;
  // DynamoDB write capacity units of the committed writes, as DynamoDB charges them: per item,
  // 1 per started KB of the larger of the item before and after, doubled in a transaction.
  Count writeUnits;
};

// inventory-service (SPEC §2): products and order_items changes into available stock.
//
// Each batch is applied in three steps: read what it touches (BatchGet of the ledger buckets of
// its order items, then of the products), apply every change in order to that in-memory copy,
// then write. Exactly once without a transaction per change (see ProductState and Holding):
//   1. every touched product is written with a condition on the version read (optimistic
//      concurrency: a concurrent writer makes the batch retry, never a lost update), its
//      `order_item_offsets` raised to the batch's last offset of each order_items partition;
//   2. only when all of them are durable, the changed ledger buckets, each holding with a
//      condition on the value read.
// A crash between the steps, or a redelivery, finds products that already count the batch
// (their offsets say so) and holdings as before it: applying the batch again changes the
// products not at all and writes the same holdings. Products of a batch are packed into
// TransactWriteItems of up to 100 items and 4 MB (a product moving between the table and its
// deleted record needs two), sent concurrently; so are the buckets. Many changes to one product
// in a batch become one write of it. Low-stock alerts are decided on every change, in order,
// and published once the product's write is durable.
// Runs on the runner's thread; not thread-safe.
class InventoryHandler final : public runtime::Handler {
 public:
  InventoryHandler(store::TableStore& tables, AlertSink& alerts, InventoryOptions options);

  std::string_view serviceName() const override { return "inventory-service"; }
  debezium::DecoderOptions decoderOptions() const override { return decoding(options_.decoding); }
  // The columns this service reads, on top of the schemaless rules in `base`.
  static debezium::DecoderOptions decoding(debezium::DecoderOptions base);
  Status start() override;
  // Removes the outbox entries of the alerts the sink acknowledged (also at each apply).
  Status tick(Timestamp now) override;
  Status finish() override { return clearAcknowledged(); }
  Status apply(std::span<const runtime::InputEvent> events, std::vector<runtime::Rejection>& rejected) override;
  // The tables are written by apply(); the alerts it raised may still be on their way.
  Result<bool> persisted(bool force) override { return alerts_.settled(force); }

  const InventoryStats& stats() const { return stats_; }
  // cdc_low_stock_alerts_total{service}.
  void instrument(metrics::Registry& registry, const std::string& service) override;
  std::string summary() const override;
  Stats counts() const override;

 private:
  struct Tracked {
    ProductState state;
    bool dirty = false;
    size_t storedBytes = 0;  // of the item as read (DynamoDB's size), for the write units
  };
  struct Bucket {
    std::map<int64_t, std::string> stored;  // holdings as read, encoded, by order item id
    std::set<int64_t> changed;              // order items whose holding the batch changed
  };

  // Why an event cannot be applied, or empty.
  std::string validate(const debezium::ChangeEvent& c) const;
  Status load(std::span<const runtime::InputEvent> events, const std::vector<bool>& valid);
  void applyProduct(const runtime::InputEvent& e);
  void applyItem(const runtime::InputEvent& e);
  Tracked& tracked(int64_t id);
  // Adds `quantity` to what order items hold of the product, unless the product already counts
  // the change at `partition`/`offset`.
  void hold(int64_t productId, int64_t quantity, int32_t partition, int64_t offset, int64_t sourceTsMs);
  void touch(Tracked& t, int64_t sourceTsMs);
  void checkThreshold(ProductState& p, int64_t sourceTsMs);
  // Writes the touched products, then the changed buckets; Retry on a conflict.
  Status flush();
  // The outbox entries of loaded products whose change is in this batch: published again (a
  // redelivery after a crash or an aborted transaction; the sink drops what it holds already).
  Status republish(std::span<const runtime::InputEvent> events);
  // Removes the outbox entries of acknowledged alerts from their products' items.
  Status clearAcknowledged();
  Status writeProducts();
  // The writes of one product's new state (a put, or a move between the table and the ledger),
  // its size and its write units.
  std::vector<store::TransactItem> productWrites(int64_t id, const Tracked& t, size_t& size, uint64_t& units) const;
  // After the transaction of `ids` committed: their state is the stored one, their alerts go out.
  Status productsWritten(const std::vector<int64_t>& ids);
  Status writeBuckets();
  // The update of one ledger bucket: its changed holdings, those past their retention removed,
  // each conditioned on what was read; its size after and its write units.
  store::UpdateRequest bucketWrite(int64_t first, const Bucket& bucket, int64_t now, size_t& bytesAfter, uint64_t& units);
  // Sends packed transactions; `committed(i)` is called for each one that committed. A conflict
  // or an error of any is returned after all were answered.
  Status send(std::vector<std::vector<store::TransactItem>>& transactions, const std::function<Status(size_t)>& committed);

  store::TableStore& tables_;
  AlertSink& alerts_;
  InventoryOptions options_;
  InventoryStats stats_;
  std::shared_ptr<void> alertsSeries_;  // cdc_low_stock_alerts_total, read from stats_.alerts
  std::unordered_map<int64_t, Tracked> products_;
  std::unordered_map<int64_t, std::optional<Holding>> holdings_;  // by order item; nullopt: none
  std::map<int64_t, Bucket> buckets_;                             // by first order item id
  std::vector<std::pair<int32_t, int64_t>> batchItemOffsets_;     // order_items partition -> last offset
  std::map<int64_t, std::vector<LowStockAlert>> pendingAlerts_;   // by product
  // The event being applied: an alert it raises carries its trace context (its record's span
  // when traced, else its record's traceparent; read only then, not for every event).
  const runtime::InputEvent* current_ = nullptr;
  std::string traceOfCurrent() const;
  std::vector<uint64_t> units_;                            // the write units of each transaction being sent
  std::vector<std::pair<int64_t, int64_t>> acknowledged_;  // (product, crossing) whose entries are to go
};

}  // namespace cdc::inventory
