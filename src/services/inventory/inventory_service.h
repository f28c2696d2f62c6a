#pragma once

#include <functional>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "runtime/handler.h"
#include "services/inventory/alerts.h"
#include "services/inventory/state.h"
#include "store/table_store.h"

namespace cdc::inventory {

struct InventoryOptions {
  std::string table = "inventory-realtime";                 // DYNAMODB_TABLE
  std::string ledgerTable = "inventory-realtime-order-items";  // exactly-once bookkeeping
  int64_t lowStockThreshold = 10;                            // LOW_STOCK_THRESHOLD
  int64_t tombstoneRetentionSeconds = 7 * 86400;             // how long a deleted item's record stays
  bool createTables = true;                                   // CREATE_TABLES
  std::function<int64_t()> nowSeconds;                        // injected for tests; wall clock by default
  debezium::DecoderOptions decoding;                          // schemaless reading rules (columns are ours)
};

struct InventoryStats {
  uint64_t productChanges = 0;
  uint64_t itemChanges = 0;
  uint64_t duplicates = 0;    // changes already applied (redelivery, replay)
  uint64_t transactions = 0;  // store writes (one transaction per coalesced group)
  uint64_t itemsWritten = 0;  // product and ledger items inside those transactions
  uint64_t conflicts = 0;     // optimistic-concurrency conflicts (the batch is retried)
  uint64_t alerts = 0;
};

// inventory-service (SPEC §2): products and order_items changes into available stock.
//
// Each batch is applied in three steps: read the items it touches (BatchGet of products and
// of the order-item ledger), apply every change in order to that in-memory copy (skipping
// changes at or before the recorded position: exactly-once), then write each group of touched
// items as one TransactWriteItems whose conditions require the versions read (optimistic
// concurrency: a concurrent writer makes the batch retry, never a lost update). Many changes
// to one product in a batch become one write of that product. Low-stock alerts are decided on
// every change, in order, and published after their write is durable.
// Runs on the runner's thread; not thread-safe.
class InventoryHandler final : public runtime::Handler {
 public:
  InventoryHandler(store::TableStore& tables, AlertSink& alerts, InventoryOptions options);

  std::string_view serviceName() const override { return "inventory-service"; }
  debezium::DecoderOptions decoderOptions() const override;
  Status start() override;
  Status apply(std::span<const runtime::InputEvent> events, std::vector<runtime::Rejection>& rejected) override;

  const InventoryStats& stats() const { return stats_; }

 private:
  struct Tracked {
    ProductState state;
    bool dirty = false;
  };
  struct TrackedLedger {
    LedgerEntry entry;
    bool dirty = false;
  };

  // Why an event cannot be applied, or empty.
  std::string validate(const debezium::ChangeEvent& c) const;
  Status load(std::span<const runtime::InputEvent> events, const std::vector<bool>& valid);
  // Transaction items the groups a change touches would hold after it (an upper bound).
  int slotsAfter(const debezium::ChangeEvent& c);
  // Each returns the product whose write group the change joined (0: it was already applied).
  int64_t applyProduct(const runtime::InputEvent& e);
  int64_t applyItem(const runtime::InputEvent& e);
  ProductState& product(int64_t id);
  void touch(int64_t productId, int64_t sourceTsMs);
  void checkThreshold(ProductState& p, int64_t sourceTsMs);
  int64_t unite(int64_t a, int64_t b);
  int64_t root(int64_t productId);
  // Writes every dirty group, each as one transaction; Retry on a conflict.
  Status flush();

  store::TableStore& tables_;
  AlertSink& alerts_;
  InventoryOptions options_;
  InventoryStats stats_;
  std::unordered_map<int64_t, Tracked> products_;
  std::unordered_map<int64_t, TrackedLedger> ledger_;
  std::unordered_map<int64_t, int64_t> parent_;   // union-find over products written together
  std::unordered_map<int64_t, int> groupSize_;   // transaction items per group root (products count 2)
  std::map<int64_t, std::vector<LowStockAlert>> pendingAlerts_;  // by product
};

}  // namespace cdc::inventory
