#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/decimal.h"
#include "runtime/source_position.h"
#include "store/table_store.h"

namespace cdc::inventory {

using runtime::SourcePos;

// One product's inventory, as kept in the `inventory-realtime` item. Available stock is the
// database's stock_quantity (`db_stock`, set by product changes) minus what live order items
// hold (`ordered`, moved by order-item changes), so neither kind of change overwrites the
// other and the result does not depend on how the two topics interleave.
//
// A deleted product has no item in `inventory-realtime` (as the Python service deletes it):
// its state moves to a record in the ledger table under the key −product_id, which expires
// after the retention period (DynamoDB TTL). That record recognises a late or redelivered
// change of the product (its position) and keeps what order items still hold until their own
// deletes arrive on the other topic.
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
  SourcePos pos;          // of the last applied product row
  int64_t cdcTimestampMs = 0;  // source time of the last applied change of any kind
  int64_t expiresAt = 0;       // epoch seconds, deleted-product records only

  int64_t stock() const { return dbStock - ordered; }
  // The `inventory-realtime` item of a live product.
  store::Item toItem() const;
  // The ledger-table record of a deleted product (key −product_id, `expires_at`).
  store::Item toDeletedRecord() const;
  // Either of the two.
  static ProductState fromItem(const store::Item& item);
};

// What one order item currently holds: the exactly-once bookkeeping, one small record per
// order item. A deleted item leaves a tombstone that expires (DynamoDB TTL) after the
// retention period, so the ledger stays bounded by the live rows.
struct LedgerEntry {
  int64_t orderItemId = 0;
  bool stored = false;
  int64_t version = 0;
  int64_t productId = 0;
  int64_t quantity = 0;
  bool deleted = false;
  SourcePos pos;
  int64_t expiresAt = 0;  // epoch seconds, tombstones only

  store::Item toItem() const;
  static LedgerEntry fromItem(const store::Item& item);
};

store::TableSpec inventoryTableSpec(const std::string& name);
store::TableSpec ledgerTableSpec(const std::string& name);
store::Item productKey(int64_t productId);
store::Item ledgerKey(int64_t orderItemId);
// The ledger-table key of a deleted product's record.
store::Item deletedProductKey(int64_t productId);

}  // namespace cdc::inventory
