#include "services/analytics/aggregates.h"

#include <cstdint>
#include <mutex>
#include <vector>

namespace cdc::analytics {

namespace {
std::mutex gStatusMutex;
std::vector<std::string>& statusTable() {
  static std::vector<std::string> names{""};
  return names;
}

// The name's id; a new name is added while the table holds fewer than `limit`.
std::optional<uint16_t> findOrAdd(std::string_view name, size_t limit) {
  std::lock_guard lock(gStatusMutex);
  auto& names = statusTable();
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) return static_cast<uint16_t>(i);
  }
  if (names.size() >= limit) return std::nullopt;
  names.emplace_back(name);
  return static_cast<uint16_t>(names.size() - 1);
}

}  // namespace

uint16_t statusId(std::string_view name) { return *findOrAdd(name, SIZE_MAX); }

std::optional<uint16_t> newStatusId(std::string_view name) { return findOrAdd(name, kMaxStatuses); }

const std::string& statusName(uint16_t id) {
  std::lock_guard lock(gStatusMutex);
  return statusTable().at(id);
}

void Aggregates::addOrder(const OrderFacts& o, int sign) {
  DayTotals& d = days_[o.day];
  d.orders += sign;
  d.revenue += o.total * sign;
  if (d.empty()) days_.erase(o.day);
  CustomerTotals& c = customers_[o.customerId];
  c.orders += sign;
  c.spent += o.total * sign;
  if (c.orders == 0 && c.spent == Money{}) customers_.erase(o.customerId);
  const std::string& name = statusName(o.status);
  int64_t& s = statuses_[name];
  s += sign;
  if (s == 0) statuses_.erase(name);
  orders_ += sign;
  revenue_ += o.total * sign;
}

void Aggregates::addItem(const ItemFacts& i, int sign) {
  DayTotals& d = days_[i.day];
  d.units += i.quantity * sign;
  d.itemRevenue += i.revenue() * sign;
  if (d.empty()) days_.erase(i.day);
  ProductTotals& p = products_[i.productId];
  p.units += i.quantity * sign;
  p.revenue += i.revenue() * sign;
  p.items += sign;
  if (p.items == 0 && p.units == 0 && p.revenue == Money{}) products_.erase(i.productId);
}

void Aggregates::merge(const Aggregates& other) {
  for (const auto& [day, t] : other.days_) {
    DayTotals& d = days_[day];
    d.orders += t.orders;
    d.revenue += t.revenue;
    d.units += t.units;
    d.itemRevenue += t.itemRevenue;
    if (d.empty()) days_.erase(day);
  }
  for (const auto& [id, t] : other.products_) {
    ProductTotals& p = products_[id];
    p.units += t.units;
    p.revenue += t.revenue;
    p.items += t.items;
    if (p.items == 0 && p.units == 0 && p.revenue == Money{}) products_.erase(id);
  }
  for (const auto& [id, t] : other.customers_) {
    CustomerTotals& c = customers_[id];
    c.orders += t.orders;
    c.spent += t.spent;
    if (c.orders == 0 && c.spent == Money{}) customers_.erase(id);
  }
  for (const auto& [status, n] : other.statuses_) {
    int64_t& s = statuses_[status];
    s += n;
    if (s == 0) statuses_.erase(status);
  }
  orders_ += other.orders_;
  revenue_ += other.revenue_;
}

bool operator==(const Aggregates& a, const Aggregates& b) {
  auto sameDays = a.days_.size() == b.days_.size();
  for (auto it = a.days_.begin(), jt = b.days_.begin(); sameDays && it != a.days_.end(); ++it, ++jt) {
    sameDays = it->first == jt->first && it->second.orders == jt->second.orders && it->second.revenue == jt->second.revenue &&
               it->second.units == jt->second.units && it->second.itemRevenue == jt->second.itemRevenue;
  }
  if (!sameDays || a.statuses_ != b.statuses_ || a.orders_ != b.orders_ || a.revenue_ != b.revenue_) return false;
  if (a.products_.size() != b.products_.size() || a.customers_.size() != b.customers_.size()) return false;
  for (const auto& [id, p] : a.products_) {
    auto it = b.products_.find(id);
    if (it == b.products_.end() || it->second.units != p.units || it->second.revenue != p.revenue ||
        it->second.items != p.items) {
      return false;
    }
  }
  for (const auto& [id, c] : a.customers_) {
    auto it = b.customers_.find(id);
    if (it == b.customers_.end() || it->second.orders != c.orders || it->second.spent != c.spent) return false;
  }
  return true;
}

}  // namespace cdc::analytics
