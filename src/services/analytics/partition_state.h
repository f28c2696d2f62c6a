#pragma once

#include <cstdint>
#include <string>
#include "core/flat_map.h"

#include "core/result.h"
#include "debezium/event.h"
#include "services/analytics/aggregates.h"

namespace cdc::analytics {

// The keyed state of one Kafka partition of the orders or order_items topic: the last row of
// every key (the production messages carry no `before` image, so an update can only retract
// what we kept), the aggregates those rows add up to, and the offset up to which it is
// complete. State and offset belong together: they are checkpointed together and move
// together with the partition. Not thread-safe.
class PartitionState {
 public:
  enum class Outcome { Applied, AlreadyApplied };

  // Applies the change at `offset`. A change below nextOffset() was applied before (a replay
  // after a restart from an older checkpoint) and is skipped. Poison for impossible values.
  Result<Outcome> apply(const debezium::ChangeEvent& change, int64_t offset);

  int64_t nextOffset() const { return nextOffset_; }
  const Aggregates& aggregates() const { return aggregates_; }
  size_t orders() const { return orders_.size(); }
  size_t items() const { return items_.size(); }
  const FlatMap<OrderFacts>& orderRows() const { return orders_; }
  const FlatMap<ItemFacts>& itemRows() const { return items_; }
  size_t memoryBytes() const { return orders_.memoryBytes() + items_.memoryBytes(); }

 // Rebuilding from a checkpoint: rows and offset as they were saved.
  void restoreOrder(int64_t id, OrderFacts facts);
  void restoreItem(int64_t id, const ItemFacts& facts);
  void restoreRemoval(int64_t id);
  void restoreOffset(int64_t next) { nextOffset_ = next; }

 private:
  Result<Outcome> applyOrder(const debezium::ChangeEvent& c);
  Result<Outcome> applyItem(const debezium::ChangeEvent& c);

  int64_t nextOffset_ = 0;
  FlatMap<OrderFacts> orders_;
  FlatMap<ItemFacts> items_;
  Aggregates aggregates_;
};

}  // namespace cdc::analytics
