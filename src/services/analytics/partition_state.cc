#include "services/analytics/partition_state.h"

namespace cdc::analytics {
namespace {

using debezium::Op;

// The UTC day a row counts for: its created_at, or the commit time when the column is null.
int32_t dayOf(bool hasCreatedAt, Timestamp createdAt, const debezium::ChangeEvent& c) {
  return static_cast<int32_t>(hasCreatedAt ? createdAt.epochDay() : Timestamp::fromMillis(c.source.tsMs).epochDay());
}

}  // namespace

Result<PartitionState::Outcome> PartitionState::apply(const debezium::ChangeEvent& change, int64_t offset) {
  if (offset < nextOffset_) return Outcome::AlreadyApplied;
  if (change.op == Op::Truncate) {
    return fail(Error::poison(std::string("truncate of ") + debezium::tableName(change.table) +
                              " is not applied: rebuild the reports from a snapshot"));
  }
  auto r = applyRow(change);
  // A poison change is skipped for good: the position moves past it either way.
  nextOffset_ = offset + 1;
  if (r) {
    if (!deadLettered_.empty()) deadLettered_.erase(change.rowId());  // rare: most partitions have none
  } else if (r.error().kind == ErrorKind::Poison &&
             (change.table == debezium::Table::Orders || change.table == debezium::Table::OrderItems)) {
    deadLettered_[change.rowId()] = offset;
  }
  return r;
}

Result<PartitionState::Outcome> PartitionState::replay(const debezium::ChangeEvent& change, int64_t offset) {
  if (offset >= nextOffset_) return apply(change, offset);
  if (change.op == Op::Truncate) return apply(change, offset);  // the same refusal
  auto it = deadLettered_.find(change.rowId());
  if (it == deadLettered_.end() || it->second != offset) return Outcome::Superseded;
  auto r = applyRow(change);
  if (r) deadLettered_.erase(it);
  return r;
}

void PartitionState::noteDeadLetter(int64_t id, int64_t offset) {
  if (offset >= nextOffset_) deadLettered_[id] = offset;
}

Result<PartitionState::Outcome> PartitionState::applyRow(const debezium::ChangeEvent& change) {
  if (change.table == debezium::Table::Orders) return applyOrder(change);
  if (change.table == debezium::Table::OrderItems) return applyItem(change);
  return fail(Error::poison(std::string("analytics-service does not consume ") + debezium::tableName(change.table)));
}

namespace {

// Bounds on one row's amount and status: the sums over every row of a partition stay exact in
// 64-bit cents (about 92,000 rows at the bound), and a status is a varchar(50).
constexpr int64_t kMaxRowCents = 100'000'000'000'000;  // $1,000,000,000,000.00
constexpr const char* kMaxRowText = "$1,000,000,000,000.00";
constexpr size_t kMaxStatusBytes = 200;

}  // namespace

Result<PartitionState::Outcome> PartitionState::applyOrder(const debezium::ChangeEvent& c) {
  int64_t id = c.rowId();
  OrderFacts next;
  if (c.op != Op::Delete) {
    const auto& row = *c.afterAs<debezium::OrderRow>();
    using Col = debezium::OrderColumn;
    if (row.has(Col::TotalAmount) && row.totalAmount < Money{}) {
      return fail(Error::poison("negative total_amount in order " + std::to_string(id)));
    }
    if (row.customerId.value < INT32_MIN || row.customerId.value > INT32_MAX) {
      return fail(Error::poison("customer_id out of the int4 range in order " + std::to_string(id)));
    }
    if (row.totalAmount.cents() > kMaxRowCents) {
      return fail(
          Error::poison("total_amount of order " + std::to_string(id) + " above the " + kMaxRowText + " a row may count"));
    }
    int32_t day = dayOf(row.has(Col::CreatedAt), row.createdAt, c);
    if (day < 0 || day > UINT16_MAX) return fail(Error::poison("created_at outside 1970-2149 in order " + std::to_string(id)));
    std::string_view statusText = row.has(Col::Status) ? std::string_view(row.status) : std::string_view("unknown");
    if (statusText.size() > kMaxStatusBytes) {
      return fail(Error::poison("status of " + std::to_string(statusText.size()) + " bytes in order " + std::to_string(id) +
                                " (varchar(50): at most " + std::to_string(kMaxStatusBytes) + " bytes)"));
    }
    auto status = newStatusId(statusText);
    if (!status) {
      return fail(
          Error::poison("order " + std::to_string(id) + ": more than " + std::to_string(kMaxStatuses) + " distinct statuses"));
    }
    next.customerId = static_cast<int32_t>(row.customerId.value);
    next.total = row.totalAmount;
    next.status = *status;
    next.day = static_cast<uint16_t>(day);
  }
  if (OrderFacts* old = orders_.find(id)) {
    aggregates_.addOrder(*old, -1);
    if (c.op == Op::Delete) {
      orders_.erase(id);
      return Outcome::Applied;
    }
    *old = next;
    aggregates_.addOrder(next, +1);
  } else if (c.op != Op::Delete) {
    aggregates_.addOrder(next, +1);
    orders_.put(id, next);
  }
  return Outcome::Applied;
}

Result<PartitionState::Outcome> PartitionState::applyItem(const debezium::ChangeEvent& c) {
  int64_t id = c.rowId();
  ItemFacts next;
  if (c.op != Op::Delete) {
    const auto& row = *c.afterAs<debezium::OrderItemRow>();
    using Col = debezium::OrderItemColumn;
    if (row.quantity < 0) return fail(Error::poison("negative quantity in order item " + std::to_string(id)));
    if (row.has(Col::Price) && row.price < Money{})
      return fail(Error::poison("negative price in order item " + std::to_string(id)));
    int64_t lineCents = 0;
    if (__builtin_mul_overflow(row.price.cents(), int64_t{row.quantity}, &lineCents) || lineCents > kMaxRowCents) {
      return fail(Error::poison("quantity × price of order item " + std::to_string(id) + " above the " + kMaxRowText +
                                " a row may count"));
    }
    if (row.productId.value < INT32_MIN || row.productId.value > INT32_MAX) {
      return fail(Error::poison("product_id out of the int4 range in order item " + std::to_string(id)));
    }
    next.productId = static_cast<int32_t>(row.productId.value);
    next.quantity = row.quantity;
    next.price = row.price;
    next.day = dayOf(row.has(Col::CreatedAt), row.createdAt, c);
  }
  if (ItemFacts* old = items_.find(id)) {
    aggregates_.addItem(*old, -1);
    if (c.op == Op::Delete) {
      items_.erase(id);
      return Outcome::Applied;
    }
    *old = next;
    aggregates_.addItem(next, +1);
  } else if (c.op != Op::Delete) {
    aggregates_.addItem(next, +1);
    items_.put(id, next);
  }
  return Outcome::Applied;
}

void PartitionState::restoreOrder(int64_t id, OrderFacts facts) {
  if (const OrderFacts* old = orders_.find(id)) aggregates_.addOrder(*old, -1);
  aggregates_.addOrder(facts, +1);
  orders_.put(id, facts);
}

void PartitionState::restoreItem(int64_t id, const ItemFacts& facts) {
  if (const ItemFacts* old = items_.find(id)) aggregates_.addItem(*old, -1);
  aggregates_.addItem(facts, +1);
  items_.put(id, facts);
}

void PartitionState::restoreRemoval(int64_t id) {
  if (const OrderFacts* old = orders_.find(id)) {
    aggregates_.addOrder(*old, -1);
    orders_.erase(id);
  }
  if (const ItemFacts* old = items_.find(id)) {
    aggregates_.addItem(*old, -1);
    items_.erase(id);
  }
}

}  // namespace cdc::analytics
