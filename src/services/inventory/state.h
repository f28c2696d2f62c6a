#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/decimal.h"
#include "runtime/source_position.h"
#include "services/inventory/alerts.h"
#include "store/table_store.h"

namespace cdc::inventory {

using runtime::SourcePos;

// One product's inventory, as kept in the `inventory-realtime` item. Available stock is the
// database's stock_quantity (`db_stock`, set by product changes) minus what live order items
// hold (`ordered`, moved by order-item changes), so neither kind of change overwrites the
// other and the result does not depend on how the two topics interleave.
//
// Exactly once: a product change is applied when it comes after `pos` (the product's own
// changes arrive in one partition, in order). An order-item change comes from any partition of
// the order_items topic: `itemOffsets` holds, for each partition, the offset up to which every
// order-item change of that partition has been counted in `ordered` (a watermark, raised to
// the end of the batch in the same write). A change at or below its partition's watermark is
// already counted.
//
// A deleted product has no item in `inventory-realtime` (as the Python service deletes it):
// its state moves to a record in the ledger table (key `product:<id>`), which expires after the
// retention period (DynamoDB TTL). That record recognises a late or redelivered change of the
// product and keeps what order items still hold until their own deletes arrive.
struct ProductState {
  int64_t productId = 0;
  bool stored = false;      // the item or record exists (version is meaningful)
  bool tombstoned = false;  // stored as a deleted-product record in the ledger table
  int64_t version = 0;      // optimistic-concurrency version of the item
  bool known = false;       // a product row has been seen (db_stock is set)
  bool deleted = false;
  std::optional<std::string> name;  // nullopt: the column is NULL (the attribute is absent)
  std::optional<std::string> description;
  std::optional<Money> price;
  int64_t dbStock = 0;
  int64_t ordered = 0;
  bool lowStock = false;  // an alert was raised and stock has not recovered since
  int64_t crossings = 0;  // downward crossings of the threshold so far
  // The alerts of crossings not yet known to be published (the outbox: written with the change
  // that raised them, removed once the alerts topic has them), by crossing number.
  std::vector<LowStockAlert> outbox;
  SourcePos pos;                                         // of the last applied product row
  std::vector<std::pair<int32_t, int64_t>> itemOffsets;  // order_items partition -> counted up to
  int64_t cdcTimestampMs = 0;                            // source time of the last applied change of any kind
  int64_t expiresAt = 0;                                 // epoch seconds, deleted-product records only

  int64_t stock() const { return dbStock - ordered; }
  // The watermark of an order_items partition (-1: nothing counted from it yet).
  int64_t itemOffset(int32_t partition) const;
  void raiseItemOffset(int32_t partition, int64_t offset);
  // The `inventory-realtime` item of a live product.
  store::Item toItem() const;
  // The ledger-table record of a deleted product (key `product:<id>`, `expires_at`).
  store::Item toDeletedRecord() const;
  // Either of the two.
  static ProductState fromItem(const store::Item& item);
};

// The attribute of a product's item that holds the outbox entry of crossing `crossing`.
std::string outboxAttribute(int64_t crossing);

// What one order item holds, as its last applied change left it: live (a product and a
// quantity) or deleted (nothing; kept until `expiresAt` so that a late or redelivered change
// of the item is recognised). `partition`/`offset` place that change in the order_items topic.
struct Holding {
  bool deleted = false;
  int64_t productId = 0;
  int64_t quantity = 0;
  int32_t partition = -1;
  int64_t offset = -1;
  int64_t expiresAt = 0;  // deleted only

  // "<product>:<quantity>:<partition>:<offset>" or "d:<partition>:<offset>:<expires_at>".
  std::string encode() const;
  static std::optional<Holding> decode(std::string_view text);
};

// The order-item ledger: the holdings of kLedgerBucket consecutive order item ids share one
// item of the ledger table (key `order_items:<first id>`, one attribute per order item named by
// its id), so that the items of new orders, whose ids are consecutive, cost one small write
// together. Each attribute is written with a condition on the value read (compare and set):
// replicas writing other order items of the same bucket never conflict, a stale writer fails.
// A bucket holding only deleted order items gets `expires_at` (DynamoDB TTL).
inline constexpr int64_t kLedgerBucket = 16;
// The first order item id of the bucket of `orderItemId`.
int64_t ledgerBucketOf(int64_t orderItemId);

store::TableSpec inventoryTableSpec(const std::string& name);
store::TableSpec ledgerTableSpec(const std::string& name);
store::Item productKey(int64_t productId);
store::Item ledgerBucketKey(int64_t firstOrderItemId);
// The ledger-table key of a deleted product's record.
store::Item deletedProductKey(int64_t productId);
// The first order item id of a bucket item, or nullopt for another record of the ledger table.
std::optional<int64_t> ledgerBucketFirst(const store::Item& item);

}  // namespace cdc::inventory
