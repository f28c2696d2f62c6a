#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <regex>
#include <set>

#include <simdjson.h>

#include "adapters/localfs/dir_object_store.h"
#include "debezium/decoder.h"
#include "services/analytics/analytics_service.h"
#include "services/analytics/partition_state.h"
#include "services/analytics/reports.h"
#include "workload/generator.h"

namespace cdc::analytics {
namespace {

using debezium::Op;

struct Change {
  std::string topic;
  int32_t partition;
  int64_t offset;
  debezium::ChangeEvent event;
};

// The changes of a generated workload (orders and order items, every op), in the given shape.
std::vector<Change> workloadChanges(
    workload::MessageShape shape, uint64_t seed = 11,
    workload::WorkloadOptions::Deletes deletes = workload::WorkloadOptions::Deletes::RewriteWithTombstone) {
  workload::WorkloadOptions o;
  o.deletes = deletes;
  o.products = 40;
  o.customers = 60;
  o.orders = 600;
  o.seed = seed;
  o.encoder.shape = shape;
  workload::WorkloadGenerator g(o);
  workload::GeneratedRecord r;
  debezium::Decoder d;
  std::vector<Change> out;
  while (g.next(r)) {
    if (r.table == debezium::Table::Products) continue;
    Change c{r.topic, r.partition, r.offset, {}};
    std::optional<std::string_view> value;
    if (r.value) value = *r.value;
    auto s = d.decode(r.topic, std::string_view(r.key), value, c.event);
    EXPECT_TRUE(s.has_value());
    out.push_back(std::move(c));
  }
  return out;
}

// The reports a reader expects, computed the plain way from the final rows.
struct Expected {
  std::map<std::string, std::tuple<int64_t, int64_t, int64_t, int64_t>> days;  // orders, revenue, units, item revenue (cents)
  std::map<int64_t, std::pair<int64_t, int64_t>> products;                     // units, revenue
  std::map<int64_t, std::pair<int64_t, int64_t>> customers;                    // orders, spent
  std::map<std::string, int64_t> statuses;
  int64_t orders = 0, revenue = 0;
};

Expected reference(const std::vector<Change>& changes) {
  std::map<int64_t, debezium::OrderRow> orders;
  std::map<int64_t, debezium::OrderItemRow> items;
  for (const auto& c : changes) {  // generation order is each key's order
    if (c.event.table == debezium::Table::Orders) {
      if (c.event.op == Op::Delete)
        orders.erase(c.event.rowId());
      else
        orders[c.event.rowId()] = *c.event.afterAs<debezium::OrderRow>();
    } else {
      if (c.event.op == Op::Delete)
        items.erase(c.event.rowId());
      else
        items[c.event.rowId()] = *c.event.afterAs<debezium::OrderItemRow>();
    }
  }
  Expected e;
  for (const auto& [id, o] : orders) {
    auto& d = e.days[formatIsoDate(o.createdAt.epochDay())];
    ++std::get<0>(d);
    std::get<1>(d) += o.totalAmount.cents();
    ++e.customers[o.customerId.value].first;
    e.customers[o.customerId.value].second += o.totalAmount.cents();
    ++e.statuses[o.status];
    ++e.orders;
    e.revenue += o.totalAmount.cents();
  }
  for (const auto& [id, i] : items) {
    auto& d = e.days[formatIsoDate(i.createdAt.epochDay())];
    std::get<2>(d) += i.quantity;
    std::get<3>(d) += i.quantity * i.price.cents();
    e.products[i.productId.value].first += i.quantity;
    e.products[i.productId.value].second += i.quantity * i.price.cents();
  }
  return e;
}

Aggregates runPartitions(const std::vector<Change>& changes, std::mt19937_64* shuffle) {
  std::map<std::pair<std::string, int32_t>, std::vector<const Change*>> streams;
  for (const auto& c : changes) streams[{c.topic, c.partition}].push_back(&c);
  std::map<std::pair<std::string, int32_t>, PartitionState> states;
  std::vector<std::pair<std::string, int32_t>> order;
  for (const auto& [tp, s] : streams) order.push_back(tp);
  if (shuffle) std::shuffle(order.begin(), order.end(), *shuffle);
  for (const auto& tp : order) {
    for (const Change* c : streams[tp]) {
      auto r = states[tp].apply(c->event, c->offset);
      EXPECT_TRUE(r.has_value()) << r.error().message;
    }
  }
  Aggregates merged;
  for (const auto& [tp, s] : states) merged.merge(s.aggregates());
  return merged;
}

std::string cents(int64_t c) { return Money::fromCents(c).toString(); }

// A money field read back as cents (the text form is checked by moneyIsExact).
std::string raw(simdjson::dom::element e) { return Money::fromCents(std::llround(double(e) * 100)).toString(); }

// Every money field of a report body is a JSON number with exactly two decimals.
bool moneyIsExact(const std::string& body) {
  static const std::regex field(R"re("(total_amount|average_order_value|item_revenue|total_revenue|total_spent)":([^,}]*))re");
  static const std::regex exact(R"re(-?[0-9]+\.[0-9]{2})re");
  for (auto it = std::sregex_iterator(body.begin(), body.end(), field); it != std::sregex_iterator(); ++it) {
    if (!std::regex_match((*it)[2].str(), exact)) return false;
  }
  return true;
}

// The production shape, the plain envelope, and the production shape with Debezium 3.x's
// default tombstone-only deletes (the reports are the same: a tombstone retracts its key).
TEST(AnalyticsTest, ReportsMatchTheReferenceInEveryShape) {
  using Deletes = workload::WorkloadOptions::Deletes;
  for (auto [shape, deletes] : {std::pair{workload::MessageShape::Unwrap, Deletes::RewriteWithTombstone},
                                std::pair{workload::MessageShape::Envelope, Deletes::RewriteWithTombstone},
                                std::pair{workload::MessageShape::Unwrap, Deletes::Tombstone}}) {
    auto changes = workloadChanges(shape, 11, deletes);
    size_t tombstones = std::count_if(changes.begin(), changes.end(), [](const Change& c) { return c.event.tombstone; });
    EXPECT_GT(tombstones, 10u);
    Expected e = reference(changes);
    ASSERT_GT(e.orders, 100);
    ASSERT_GT(e.revenue, 0);  // precise decimals are never read as 0
    Aggregates merged = runPartitions(changes, nullptr);
    auto reports = renderReports(merged, 100, Timestamp{1767225600000000});
    ASSERT_EQ(reports.size(), 5u);
    for (const auto& r : reports) EXPECT_TRUE(moneyIsExact(r.body)) << r.body.substr(0, 400);
    simdjson::dom::parser parser;

    simdjson::dom::element daily = parser.parse(reports[0].body);
    EXPECT_EQ(std::string_view(daily["report_type"]), "daily_sales");
    size_t days = 0;
    for (auto [day, v] : daily["data"].get_object()) {
      ++days;
      const auto& want = e.days.at(std::string(day));
      EXPECT_EQ(int64_t(v["order_count"]), std::get<0>(want)) << day;
      EXPECT_EQ(raw(v["total_amount"]), cents(std::get<1>(want))) << day;
      EXPECT_EQ(raw(v["average_order_value"]), averageOf(Money::fromCents(std::get<1>(want)), std::get<0>(want)).toString());
      EXPECT_EQ(int64_t(v["units_sold"]), std::get<2>(want)) << day;
      EXPECT_EQ(raw(v["item_revenue"]), cents(std::get<3>(want))) << day;
    }
    EXPECT_EQ(days, e.days.size());

    // Top products: by revenue, ties by ascending id, in rank order.
    std::vector<std::pair<int64_t, int64_t>> ranked;  // (-revenue, id)
    for (const auto& [id, p] : e.products) ranked.emplace_back(-p.second, id);
    std::sort(ranked.begin(), ranked.end());
    simdjson::dom::element products = parser.parse(reports[1].body);
    size_t rank = 0;
    for (auto [id, v] : products["data"].get_object()) {
      ASSERT_LT(rank, ranked.size());
      EXPECT_EQ(std::string(id), std::to_string(ranked[rank].second));
      EXPECT_EQ(raw(v["total_revenue"]), cents(-ranked[rank].first));
      EXPECT_EQ(int64_t(v["quantity_sold"]), e.products.at(ranked[rank].second).first);
      ++rank;
    }
    EXPECT_EQ(rank, std::min<size_t>(100, ranked.size()));

    std::vector<std::pair<int64_t, int64_t>> spenders;
    for (const auto& [id, c] : e.customers) spenders.emplace_back(-c.second, id);
    std::sort(spenders.begin(), spenders.end());
    simdjson::dom::element customers = parser.parse(reports[2].body);
    rank = 0;
    for (auto [id, v] : customers["data"].get_object()) {
      EXPECT_EQ(std::string(id), std::to_string(spenders[rank].second));
      EXPECT_EQ(raw(v["total_spent"]), cents(-spenders[rank].first));
      EXPECT_EQ(int64_t(v["order_count"]), e.customers.at(spenders[rank].second).first);
      ++rank;
    }
    EXPECT_EQ(rank, std::min<size_t>(100, spenders.size()));

    simdjson::dom::element status = parser.parse(reports[3].body);
    EXPECT_EQ(std::string_view(status["report_type"]), "order_status_distribution");
    std::map<std::string, int64_t> got;
    for (auto [s, n] : status["data"].get_object()) got[std::string(s)] = int64_t(n);
    EXPECT_EQ(got, e.statuses);
    EXPECT_GT(got.size(), 3u);

    simdjson::dom::element summary = parser.parse(reports[4].body);
    auto m = summary["metrics"];
    EXPECT_EQ(int64_t(m["total_orders"]), e.orders);
    EXPECT_EQ(raw(m["total_revenue"]), cents(e.revenue));
    EXPECT_NE(reports[4].body.find("\"total_revenue\":" + cents(e.revenue) + ","), std::string::npos);
    EXPECT_EQ(int64_t(m["unique_customers"]), static_cast<int64_t>(e.customers.size()));
    EXPECT_EQ(int64_t(m["unique_products_sold"]), static_cast<int64_t>(e.products.size()));
  }
}

TEST(AnalyticsTest, PartitionsMergeTheSameInAnyOrder) {
  auto changes = workloadChanges(workload::MessageShape::Unwrap, 5);
  Aggregates once = runPartitions(changes, nullptr);
  for (int i = 0; i < 20; ++i) {
    std::mt19937_64 rng(static_cast<uint64_t>(i));
    EXPECT_TRUE(runPartitions(changes, &rng) == once);
  }
}

debezium::ChangeEvent order(Op op, int64_t id, int64_t customer, int64_t cents, std::string status) {
  debezium::ChangeEvent c;
  c.table = debezium::Table::Orders;
  c.op = op;
  c.shape = debezium::Shape::Flattened;
  debezium::OrderRow r;
  r.id = OrderId{id};
  r.customerId = CustomerId{customer};
  r.totalAmount = Money::fromCents(cents);
  r.status = std::move(status);
  r.createdAt = Timestamp{1767225600000000};
  r.present = debezium::kAllColumns;
  if (op == Op::Delete) {
    c.before = r;
  } else {
    c.after = r;
  }
  return c;
}

TEST(AnalyticsTest, FlattenedStatusChangesMoveTheDistribution) {
  PartitionState s;
  ASSERT_TRUE(s.apply(order(Op::Create, 1, 7, 11998, "pending"), 0).has_value());
  ASSERT_TRUE(s.apply(order(Op::Create, 2, 8, 2999, "pending"), 1).has_value());
  ASSERT_TRUE(s.apply(order(Op::Update, 1, 7, 11998, "paid"), 2).has_value());  // no before image
  EXPECT_EQ(s.aggregates().statuses(), (std::map<std::string, int64_t>{{"paid", 1}, {"pending", 1}}));
  EXPECT_EQ(s.aggregates().orderCount(), 2);
  EXPECT_EQ(s.aggregates().revenue(), Money::fromCents(14997));
  ASSERT_TRUE(s.apply(order(Op::Update, 1, 7, 9999, "cancelled"), 3).has_value());  // amount edited too
  EXPECT_EQ(s.aggregates().revenue(), Money::fromCents(12998));
  EXPECT_EQ(s.aggregates().customers().at(7).spent, Money::fromCents(9999));
  ASSERT_TRUE(s.apply(order(Op::Delete, 2, 8, 2999, "pending"), 4).has_value());
  EXPECT_EQ(s.aggregates().statuses(), (std::map<std::string, int64_t>{{"cancelled", 1}}));
  EXPECT_FALSE(s.aggregates().customers().contains(8));
  EXPECT_EQ(s.nextOffset(), 5);
  // A replay from an older offset changes nothing.
  auto again = s.apply(order(Op::Create, 2, 8, 2999, "pending"), 1);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(*again, PartitionState::Outcome::AlreadyApplied);
  EXPECT_EQ(s.aggregates().orderCount(), 1);
}

TEST(AnalyticsTest, ImpossibleValuesArePoison) {
  PartitionState s;
  auto bad = s.apply(order(Op::Create, 1, 7, -100, "pending"), 0);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().kind, ErrorKind::Poison);
  EXPECT_EQ(s.nextOffset(), 1);  // skipped for good, the position moves on
  debezium::ChangeEvent truncate;
  truncate.table = debezium::Table::Orders;
  truncate.op = Op::Truncate;
  EXPECT_EQ(s.apply(truncate, 1).error().kind, ErrorKind::Poison);
}

TEST(AnalyticsTest, AverageRoundsHalfAwayFromZeroAndKeysWriteLatestLast) {
  EXPECT_EQ(averageOf(Money::fromCents(1000), 3).cents(), 333);
  EXPECT_EQ(averageOf(Money::fromCents(1001), 2).cents(), 501);
  EXPECT_EQ(averageOf(Money::fromCents(-1001), 2).cents(), -501);
  EXPECT_EQ(averageOf(Money::fromCents(5), 0).cents(), 0);
  Aggregates a;
  auto reports = renderReports(a, 100, Timestamp{1767225600000000 + 3723000000});
  auto keys = reportKeys(reports, Timestamp{1767225600000000 + 3723000000});
  ASSERT_EQ(keys.size(), 10u);
  EXPECT_EQ(keys[0].first, "analytics/daily_sales/20260101_010203.json");
  for (size_t i = 5; i < 10; ++i) EXPECT_TRUE(keys[i].first.ends_with("/latest.json"));
  EXPECT_EQ(keys[9].first, "analytics/summary/latest.json");
  EXPECT_NE(reports[4].body.find(R"("total_revenue":0.00)"), std::string::npos) << reports[4].body;
}

TEST(AnalyticsTest, ReportsAreFlushedEveryFlushIntervalAndAtTheEnd) {
  auto dir = std::filesystem::temp_directory_path() / ("cdc-analytics-flush-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  localfs::DirObjectStore objects(dir);
  AnalyticsOptions o;
  o.flushIntervalSeconds = 300;
  AnalyticsHandler h(objects, o);
  const Timestamp t0{1767225600000000};
  auto reports = [&] { return objects.listAll("analytics/summary/")->size(); };
  ASSERT_TRUE(h.tick(t0).has_value());
  ASSERT_TRUE(h.tick(Timestamp{t0.micros + 299'000'000}).has_value());
  EXPECT_EQ(reports(), 0u);
  ASSERT_TRUE(h.tick(Timestamp{t0.micros + 300'000'000}).has_value());
  EXPECT_EQ(reports(), 2u);  // the timestamped object and latest.json
  ASSERT_TRUE(h.tick(Timestamp{t0.micros + 450'000'000}).has_value());
  EXPECT_EQ(reports(), 2u);
  ASSERT_TRUE(h.tick(Timestamp{t0.micros + 601'000'000}).has_value());
  EXPECT_EQ(reports(), 3u);
  EXPECT_EQ(h.stats().flushes, 2u);
  ASSERT_TRUE(h.finish().has_value());
  EXPECT_EQ(h.stats().flushes, 3u);
  std::filesystem::remove_all(dir);
}

// Amounts whose sums could leave 64-bit cents, and statuses no varchar(50) holds, are poison:
// they never reach the aggregates (quantity × price once overflowed silently). Last in the
// file: it fills the process-wide status table.
TEST(AnalyticsTest, AmountsAndStatusesBeyondTheirBoundsArePoison) {
  PartitionState s;
  auto huge = s.apply(order(Op::Create, 1, 7, 100'000'000'000'001, "paid"), 0);
  ASSERT_FALSE(huge.has_value());
  EXPECT_EQ(huge.error().message, "total_amount of order 1 above the $1,000,000,000,000.00 a row may count");
  EXPECT_TRUE(s.apply(order(Op::Create, 2, 7, 100'000'000'000'000, "paid"), 1).has_value());
  auto longStatus = s.apply(order(Op::Create, 3, 7, 100, std::string(201, 's')), 2);
  ASSERT_FALSE(longStatus.has_value());
  EXPECT_EQ(longStatus.error().message, "status of 201 bytes in order 3 (varchar(50): at most 200 bytes)");
  for (int i = 0; i < 1100; ++i) (void)s.apply(order(Op::Create, 10 + i, 7, 100, "made-up-" + std::to_string(i)), 3 + i);
  auto many = s.apply(order(Op::Create, 5000, 7, 100, "one-too-many"), 5000);
  ASSERT_FALSE(many.has_value());
  EXPECT_EQ(many.error().message, "order 5000: more than 1024 distinct statuses");

  debezium::ChangeEvent item;
  item.table = debezium::Table::OrderItems;
  item.op = Op::Create;
  debezium::OrderItemRow row;
  row.id = OrderItemId{9};
  row.productId = ProductId{1};
  row.quantity = INT32_MAX;
  row.price = Money::fromCents(INT64_MAX / 2);
  row.createdAt = Timestamp{1767225600000000};
  row.present = debezium::kAllColumns;
  item.after = row;
  auto overflow = s.apply(item, 6000);
  ASSERT_FALSE(overflow.has_value());
  EXPECT_EQ(overflow.error().message, "quantity × price of order item 9 above the $1,000,000,000,000.00 a row may count");
  EXPECT_EQ(s.aggregates().products().size(), 0u);
}

}  // namespace
}  // namespace cdc::analytics
