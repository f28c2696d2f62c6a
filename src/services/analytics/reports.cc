#include "services/analytics/reports.h"

#include <algorithm>

#include "core/json_writer.h"

namespace cdc::analytics {
namespace {

void money(JsonWriter& w, std::string_view key, Money m) { w.key(key).raw(m.toString()); }

void header(JsonWriter& w, std::string_view type, const std::string& generatedAt) {
  w.beginObject().field("report_type", type).field("generated_at", generatedAt);
}

}  // namespace

Money averageOf(Money total, int64_t count) {
  if (count == 0) return Money{};
  __int128 c = total.cents();
  __int128 n = count;
  __int128 q = (2 * (c < 0 ? -c : c) + n) / (2 * n);
  return Money::fromCents(static_cast<int64_t>(c < 0 ? -q : q));
}

namespace {

// The first `n` of `totals` that count (`counts`), by `value` descending, then by ascending id.
template <typename Totals, typename Counts, typename Value>
std::vector<std::pair<int64_t, const Totals*>> topOf(const std::unordered_map<int64_t, Totals>& totals, size_t n, Counts counts,
                                                     Value value) {
  std::vector<std::pair<int64_t, const Totals*>> ranked;
  for (const auto& [id, t] : totals) {
    if (counts(t)) ranked.emplace_back(id, &t);
  }
  n = std::min(ranked.size(), n);
  std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(n), ranked.end(),
                    [&](const auto& x, const auto& y) {
                      return value(*x.second) != value(*y.second) ? value(*x.second) > value(*y.second) : x.first < y.first;
                    });
  ranked.resize(n);
  return ranked;
}

Report dailySales(const Aggregates& a, const std::string& at) {
  std::string body;
  JsonWriter w(body);
  header(w, "daily_sales", at);
  w.key("data").beginObject();
  for (const auto& [day, t] : a.days()) {
    w.key(formatIsoDate(day)).beginObject().field("order_count", t.orders);
    money(w, "total_amount", t.revenue);
    money(w, "average_order_value", averageOf(t.revenue, t.orders));
    w.field("units_sold", t.units);
    money(w, "item_revenue", t.itemRevenue);
    w.endObject();
  }
  w.endObject().endObject();
  return {"daily_sales", std::move(body)};
}

Report productSales(const Aggregates& a, size_t topN, const std::string& at) {
  auto ranked = topOf(
      a.products(), topN, [](const ProductTotals& t) { return t.items > 0; }, [](const ProductTotals& t) { return t.revenue; });
  std::string body;
  JsonWriter w(body);
  header(w, "product_sales", at);
  w.key("data").beginObject();
  for (size_t i = 0; i < ranked.size(); ++i) {
    w.key(std::to_string(ranked[i].first)).beginObject().field("quantity_sold", ranked[i].second->units);
    money(w, "total_revenue", ranked[i].second->revenue);
    w.field("rank", static_cast<int64_t>(i + 1)).endObject();
  }
  w.endObject().endObject();
  return {"product_sales", std::move(body)};
}

Report customerMetrics(const Aggregates& a, size_t topN, const std::string& at) {
  auto ranked = topOf(
      a.customers(), topN, [](const CustomerTotals& t) { return t.orders > 0; }, [](const CustomerTotals& t) { return t.spent; });
  std::string body;
  JsonWriter w(body);
  header(w, "customer_metrics", at);
  w.key("data").beginObject();
  for (size_t i = 0; i < ranked.size(); ++i) {
    w.key(std::to_string(ranked[i].first)).beginObject().field("order_count", ranked[i].second->orders);
    money(w, "total_spent", ranked[i].second->spent);
    w.field("rank", static_cast<int64_t>(i + 1)).endObject();
  }
  w.endObject().endObject();
  return {"customer_metrics", std::move(body)};
}

Report orderStatus(const Aggregates& a, const std::string& at) {
  std::string body;
  JsonWriter w(body);
  header(w, "order_status_distribution", at);
  w.key("data").beginObject();
  for (const auto& [status, n] : a.statuses()) w.field(status, n);
  w.endObject().endObject();
  return {"order_status", std::move(body)};
}

Report summary(const Aggregates& a, const std::string& at) {
  int64_t customers = 0, products = 0;
  for (const auto& [id, t] : a.customers()) customers += t.orders > 0;
  for (const auto& [id, t] : a.products()) products += t.items > 0;
  std::string body;
  JsonWriter w(body);
  header(w, "summary", at);
  w.key("metrics").beginObject().field("total_orders", a.orderCount());
  money(w, "total_revenue", a.revenue());
  money(w, "average_order_value", averageOf(a.revenue(), a.orderCount()));
  w.field("unique_customers", customers).field("unique_products_sold", products);
  w.key("order_status_breakdown").beginObject();
  for (const auto& [status, n] : a.statuses()) w.field(status, n);
  w.endObject().endObject().endObject();
  return {"summary", std::move(body)};
}

}  // namespace

std::vector<Report> renderReports(const Aggregates& a, int topN, Timestamp generatedAt) {
  const std::string at = formatIsoTimestamp(generatedAt);
  const auto n = static_cast<size_t>(topN);
  std::vector<Report> out;
  out.push_back(dailySales(a, at));
  out.push_back(productSales(a, n, at));
  out.push_back(customerMetrics(a, n, at));
  out.push_back(orderStatus(a, at));
  out.push_back(summary(a, at));
  return out;
}

std::vector<std::pair<std::string, const Report*>> reportKeys(const std::vector<Report>& reports, Timestamp generatedAt) {
  std::vector<std::pair<std::string, const Report*>> keys;
  keys.reserve(reports.size() * 2);
  std::string stamp = formatCompactStamp(generatedAt);
  for (const auto& r : reports) keys.emplace_back("analytics/" + r.folder + "/" + stamp + ".json", &r);
  for (const auto& r : reports) keys.emplace_back("analytics/" + r.folder + "/latest.json", &r);
  return keys;
}

}  // namespace cdc::analytics
