// Checks an inventory table against the replay file it was built from: the reference stock of
// every product is its last stock_quantity minus the quantities of its live order items, from
// each record once in partition order. Prints the mismatches; exit status 1 when there are any.
// Usage: inventory_check EVENTS.jsonl STORE.db [TABLE]

#include <cstdio>
#include <map>
#include <optional>

#include "adapters/replay/replay_source.h"
#include "adapters/sqlite/sqlite_table_store.h"
#include "debezium/decoder.h"

int main(int argc, char** argv) {
  using namespace cdc;
  if (argc < 3) {
    std::fprintf(stderr, "usage: inventory_check EVENTS.jsonl STORE.db [TABLE]\n");
    return 2;
  }
  std::string table = argc > 3 ? argv[3] : "inventory-realtime";
  auto src = replay::ReplaySource::open(argv[1]);
  if (!src) {
    std::fprintf(stderr, "%s\n", src.error().message.c_str());
    return 2;
  }
  std::map<int64_t, int64_t> dbStock;
  std::map<int64_t, bool> productDeleted;                // a deleted product has no item (SPEC §2)
  std::map<int64_t, std::pair<int64_t, int64_t>> items;  // item -> (product, quantity); quantity -1: deleted
  debezium::Decoder decoder;
  std::vector<runtime::Record> batch;
  uint64_t records = 0;
  while (true) {
    batch.clear();
    auto st = (*src)->poll(batch, 10000, std::chrono::milliseconds(0));
    if (!st) return 2;
    for (const auto& r : batch) {
      ++records;
      if (!r.value || r.topic.ends_with(".orders")) continue;
      debezium::ChangeEvent ev;
      auto d = decoder.decode(r.topic, std::nullopt, std::string_view(*r.value), ev);
      if (!d || *d != debezium::DecodeStatus::Event) continue;
      if (const auto* p = ev.afterAs<debezium::ProductRow>()) {
        dbStock[p->id.value] = p->stockQuantity;
        productDeleted[p->id.value] = false;
      }
      if (ev.table == debezium::Table::Products && ev.op == debezium::Op::Delete) productDeleted[ev.rowId()] = true;
      if (const auto* i = ev.afterAs<debezium::OrderItemRow>()) items[i->id.value] = {i->productId.value, i->quantity};
      if (ev.table == debezium::Table::OrderItems && ev.op == debezium::Op::Delete) items[ev.rowId()].second = -1;
    }
    if (*st == runtime::PollStatus::End) break;
  }
  std::map<int64_t, int64_t> expected = dbStock;
  for (const auto& [id, pq] : items) {
    if (pq.second >= 0) expected[pq.first] -= pq.second;
  }
  auto store = sqlite::SqliteTableStore::open(argv[2]);
  if (!store) return 2;
  size_t mismatches = 0, checked = 0;
  for (const auto& [product, want] : expected) {
    auto item = (*store)->get(table, {{"product_id", store::AttributeValue::n(product)}});
    ++checked;
    int64_t got = item && *item ? store::find(**item, "stock_quantity")->asIntOr(INT64_MIN) : INT64_MIN;
    if (productDeleted[product]) {
      if (item && *item && ++mismatches <= 10)
        std::printf("product %lld: deleted, but the table has its item\n", (long long)product);
      continue;
    }
    if (got != want) {
      if (++mismatches <= 10)
        std::printf("product %lld: table %lld, reference %lld\n", (long long)product, (long long)got, (long long)want);
    }
  }
  std::printf("%llu records; %zu products checked, %zu mismatches\n", (unsigned long long)records, checked, mismatches);
  return mismatches == 0 ? 0 : 1;
}
