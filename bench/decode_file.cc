// The decode-alone baseline of bench/ratios: reads a replay file (kcat -J lines) exactly as a
// service does (ReplaySource with the service's subscription, batches of 2000) and decodes
// every record with that service's decoder options, doing nothing else. Its instruction count
// per record is what a service's count is compared with.
// Usage: decode_file inventory|analytics|search FILE
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "adapters/localfs/dir_object_store.h"
#include "adapters/replay/replay_source.h"
#include "adapters/sqlite/sqlite_table_store.h"
#include "services/analytics/analytics_service.h"
#include "services/inventory/inventory_service.h"
#include "services/search/indexer.h"

using namespace cdc;

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: decode_file inventory|analytics|search FILE\n");
    return 2;
  }
  const std::string service = argv[1];
  // The handlers are built only for their decoder options: nothing is written.
  auto tables = sqlite::SqliteTableStore::open(":memory:");
  if (!tables) return 1;
  localfs::DirObjectStore objects("/nonexistent-decode-file");
  inventory::LogAlertSink alerts;
  debezium::DecoderOptions options;
  std::vector<std::string> topics;
  if (service == "inventory") {
    options = inventory::InventoryHandler(**tables, alerts, {}).decoderOptions();
    topics = {"dbserver1.public.products", "dbserver1.public.order_items"};
  } else if (service == "analytics") {
    options = analytics::AnalyticsHandler(objects, {}).decoderOptions();
    topics = {"dbserver1.public.orders", "dbserver1.public.order_items"};
  } else if (service == "search") {
    options = search::IndexerHandler(**tables, {}).decoderOptions();
    topics = {"dbserver1.public.products"};
  } else {
    std::fprintf(stderr, "decode_file: unknown service %s\n", service.c_str());
    return 2;
  }
  auto source = replay::ReplaySource::open(argv[2], topics);
  if (!source) {
    std::fprintf(stderr, "decode_file: %s\n", source.error().message.c_str());
    return 1;
  }
  debezium::Decoder decoder(options);
  debezium::ChangeEvent event;
  std::vector<runtime::Record> records;
  uint64_t count = 0, events = 0, errors = 0;
  for (;;) {
    records.clear();
    auto polled = (*source)->poll(records, 2000, std::chrono::milliseconds(0));
    if (!polled) return 1;
    for (const auto& r : records) {
      ++count;
      if (r.sourceError) {
        ++errors;
        continue;
      }
      std::optional<std::string_view> key, value;
      if (r.key) key = *r.key;
      if (r.value) value = *r.value;
      auto decoded = decoder.decode(r.topic, key, value, event, r.value ? r.value->capacity() : 0);
      if (decoded) {
        ++events;
      } else {
        ++errors;
      }
    }
    if (*polled == runtime::PollStatus::End) break;
  }
  std::printf("%llu records, %llu decoded, %llu errors\n", static_cast<unsigned long long>(count),
              static_cast<unsigned long long>(events), static_cast<unsigned long long>(errors));
  return 0;
}
