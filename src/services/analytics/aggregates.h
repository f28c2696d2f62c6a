#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/decimal.h"

namespace cdc::analytics {

// Order statuses are a handful of strings: rows keep a 2-byte id of a process-wide table.
uint16_t statusId(std::string_view name);
// statusId for a name from a message: nullopt for a new name once kMaxStatuses are known (a
// stream of made-up statuses must not grow the table without bound or wrap its ids).
inline constexpr size_t kMaxStatuses = 1024;
std::optional<uint16_t> newStatusId(std::string_view name);
const std::string& statusName(uint16_t id);

// What one order row contributes to the aggregates (its last version is kept per order id).
// 16 bytes: millions of them are kept as keyed state. customer_id is an int4 column.
struct OrderFacts {
  Money total;
  int32_t customerId = 0;
  uint16_t day = 0;  // UTC epoch day of created_at (1970 to 2149)
  uint16_t status = 0;
  friend bool operator==(const OrderFacts&, const OrderFacts&) = default;
};

// What one order-item row contributes (24 bytes; product_id and quantity are int4 columns).
struct ItemFacts {
  Money price;
  int32_t productId = 0;
  int32_t quantity = 0;
  int32_t day = 0;  // UTC epoch day of the item's created_at
  Money revenue() const { return price * quantity; }
  friend bool operator==(const ItemFacts&, const ItemFacts&) = default;
};

struct DayTotals {
  int64_t orders = 0;
  Money revenue;      // sum of total_amount of the day's orders
  int64_t units = 0;  // quantity of the day's order items
  Money itemRevenue;  // quantity * price of the day's order items
  bool empty() const { return orders == 0 && revenue == Money{} && units == 0 && itemRevenue == Money{}; }
};

struct ProductTotals {
  int64_t units = 0;
  Money revenue;
  int64_t items = 0;  // live order items of the product
};

struct CustomerTotals {
  int64_t orders = 0;
  Money spent;
};

// Additive aggregates: a row is added with sign +1 and retracted with sign -1, so an update is
// a retraction of the old row and an addition of the new one, and aggregates of disjoint sets
// of rows (partitions) merge by addition. Entries that fall back to zero are removed, so the
// result does not depend on the history, only on the rows present.
class Aggregates {
 public:
  void addOrder(const OrderFacts& o, int sign);
  void addItem(const ItemFacts& i, int sign);
  void merge(const Aggregates& other);

  const std::map<int64_t, DayTotals>& days() const { return days_; }
  const std::unordered_map<int64_t, ProductTotals>& products() const { return products_; }
  const std::unordered_map<int64_t, CustomerTotals>& customers() const { return customers_; }
  const std::map<std::string, int64_t>& statuses() const { return statuses_; }
  int64_t orderCount() const { return orders_; }
  Money revenue() const { return revenue_; }

  friend bool operator==(const Aggregates&, const Aggregates&);

 private:
  std::map<int64_t, DayTotals> days_;
  std::unordered_map<int64_t, ProductTotals> products_;
  std::unordered_map<int64_t, CustomerTotals> customers_;
  std::map<std::string, int64_t> statuses_;
  int64_t orders_ = 0;
  Money revenue_;
};

}  // namespace cdc::analytics
