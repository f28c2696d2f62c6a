// Memory of the analytics keyed state: 1M orders and 3M order items spread over 3 + 3
// partitions, filled through PartitionState::apply, then the process's resident set size.
// Usage: analytics_state_bench [ORDERS] [ITEMS]

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "services/analytics/partition_state.h"

namespace {

long rssKiB() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace cdc;
  int64_t orders = argc > 1 ? std::atoll(argv[1]) : 1'000'000;
  int64_t items = argc > 2 ? std::atoll(argv[2]) : 3'000'000;
  long before = rssKiB();
  analytics::PartitionState parts[6];
  const char* statuses[] = {"pending", "processing", "paid", "shipped", "delivered", "completed", "cancelled"};
  for (int64_t id = 1; id <= orders; ++id) {
    debezium::ChangeEvent c;
    c.table = debezium::Table::Orders;
    c.op = debezium::Op::Create;
    debezium::OrderRow r;
    r.id = OrderId{id};
    r.customerId = CustomerId{1000 + id % 100000};
    r.totalAmount = Money::fromCents(1000 + id % 50000);
    r.status = statuses[id % 7];
    r.createdAt = Timestamp{1767225600000000 + id * 1000000};
    r.present = debezium::kAllColumns;
    c.after = std::move(r);
    auto& p = parts[id % 3];
    (void)p.apply(c, p.nextOffset());
  }
  for (int64_t id = 1; id <= items; ++id) {
    debezium::ChangeEvent c;
    c.table = debezium::Table::OrderItems;
    c.op = debezium::Op::Create;
    debezium::OrderItemRow r;
    r.id = OrderItemId{id};
    r.orderId = OrderId{id / 3 + 1};
    r.productId = ProductId{1 + id % 20000};
    r.quantity = static_cast<int32_t>(1 + id % 3);
    r.price = Money::fromCents(100 + id % 9000);
    r.createdAt = Timestamp{1767225600000000 + id * 300000};
    r.present = debezium::kAllColumns;
    c.after = std::move(r);
    auto& p = parts[3 + id % 3];
    (void)p.apply(c, p.nextOffset());
  }
  long after = rssKiB();
  size_t table = 0, rows = 0;
  for (const auto& p : parts) {
    table += p.memoryBytes();
    rows += p.orders() + p.items();
  }
  std::printf("%lld orders + %lld order items: %zu rows, hash tables %.1f MiB, process RSS %.1f MiB (%.1f MiB before)\n",
              static_cast<long long>(orders), static_cast<long long>(items), rows, table / 1048576.0, after / 1024.0,
              before / 1024.0);
  return 0;
}
