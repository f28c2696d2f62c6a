#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>

#include "core/flat_map.h"

#include "core/result.h"
#include "debezium/event.h"
#include "services/analytics/aggregates.h"

namespace cdc::analytics {

// The keyed state of one Kafka partition of the orders or order_items topic: the last row of
// every key (the production messages carry no `before` image, so an update can only retract
// what we kept), the aggregates those rows add up to, and the offset up to which it is
// complete. State and offset belong together: they are checkpointed together and move
// together with the partition.
//
// Dead letters: the rows keep no per-key position, so a change below nextOffset() can only be
// applied when nothing newer of its row was: the state remembers each row whose latest change
// became a dead letter (at which offset) until a later change of that row is applied. Such a
// dead letter, replayed, is still the row's latest change and is applied out of order; any
// other is superseded. Not thread-safe.
class PartitionState {
 public:
  enum class Outcome { Applied, AlreadyApplied, Superseded };

  // Applies the change at `offset`. A change below nextOffset() was applied before (a replay
  // after a restart from an older checkpoint) and is skipped. Poison for impossible values
  // (the row is then remembered as dead-lettered at `offset`).
  Result<Outcome> apply(const debezium::ChangeEvent& change, int64_t offset);
  // A dead letter replayed: applied like apply() at or above nextOffset(); below it, applied
  // when it is still its row's latest change, else Superseded.
  Result<Outcome> replay(const debezium::ChangeEvent& change, int64_t offset);
  // The change of row `id` at `offset` became a dead letter before it could be decoded
  // (remembered only at or above nextOffset(): below it, the state has moved on already).
  void noteDeadLetter(int64_t id, int64_t offset);
  // Rows whose latest change is a dead letter, and its offset.
  const std::unordered_map<int64_t, int64_t>& deadLettered() const { return deadLettered_; }

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
  void restoreDeadLetter(int64_t id, int64_t offset) { deadLettered_[id] = offset; }
  void forgetDeadLetter(int64_t id) { deadLettered_.erase(id); }

 private:
  Result<Outcome> applyOrder(const debezium::ChangeEvent& c);
  Result<Outcome> applyItem(const debezium::ChangeEvent& c);
  Result<Outcome> applyRow(const debezium::ChangeEvent& c);

  int64_t nextOffset_ = 0;
  FlatMap<OrderFacts> orders_;
  FlatMap<ItemFacts> items_;
  Aggregates aggregates_;
  std::unordered_map<int64_t, int64_t> deadLettered_;  // row id -> offset of its dead-lettered change
};

}  // namespace cdc::analytics
