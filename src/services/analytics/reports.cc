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

// A top-N report of keyed totals: those with `kept` above zero, by `amount` descending then by
// ascending id, each with its quantity, its amount and its rank.
template <typename Totals>
struct Ranking {
  const char* type;          // the report's report_type and folder
  int64_t Totals::* kept;    // a total counts when this is above zero
  const char* quantityName;  // "quantity_sold"
  int64_t Totals::* quantity;
  const char* amountName;  // "total_revenue"
  Money Totals::* amount;
};

template <typename Totals>
Report ranked(const Ranking<Totals>& r, const std::unordered_map<int64_t, Totals>& totals, size_t topN, const std::string& at) {
  std::vector<std::pair<int64_t, const Totals*>> top;
  for (const auto& [id, t] : totals) {
    if (t.*r.kept > 0) top.emplace_back(id, &t);
  }
  const size_t n = std::min(top.size(), topN);
  std::partial_sort(top.begin(), top.begin() + static_cast<std::ptrdiff_t>(n), top.end(), [&](const auto& x, const auto& y) {
    return x.second->*r.amount != y.second->*r.amount ? x.second->*r.amount > y.second->*r.amount : x.first < y.first;
  });
  std::string body;
  JsonWriter w(body);
  header(w, r.type, at);
  w.key("data").beginObject();
  for (size_t i = 0; i < n; ++i) {
    w.key(std::to_string(top[i].first)).beginObject().field(r.quantityName, top[i].second->*r.quantity);
    money(w, r.amountName, top[i].second->*r.amount);
    w.field("rank", static_cast<int64_t>(i + 1)).endObject();
  }
  w.endObject().endObject();
  return {r.type, std::move(body)};
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
  out.push_back(ranked(Ranking<ProductTotals>{"product_sales", &ProductTotals::items, "quantity_sold", &ProductTotals::units,
                                              "total_revenue", &ProductTotals::revenue},
                       a.products(), n, at));
  out.push_back(ranked(Ranking<CustomerTotals>{"customer_metrics", &CustomerTotals::orders, "order_count",
                                               &CustomerTotals::orders, "total_spent", &CustomerTotals::spent},
                       a.customers(), n, at));
  out.push_back(orderStatus(a, at));
  out.push_back(summary(a, at));
  return out;
}

std::vector<std::string> latestReportKeys() {
  std::vector<std::string> keys;
  for (const char* folder : {"daily_sales", "product_sales", "customer_metrics", "order_status", "summary"}) {
    keys.push_back("analytics/" + std::string(folder) + "/latest.json");
  }
  return keys;
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
