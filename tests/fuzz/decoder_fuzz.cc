// libFuzzer target over the Debezium decoder: message values and keys of every shape of
// SPEC §1 (and anything else), decoded with each service's column selection and each
// schemaless reading mode. It fails on a crash, a sanitizer report, or a decoded event that
// breaks the decoder's promises.
//
// Input layout (what the seed corpus in corpus/decoder holds, see make-corpus):
//   byte 0        selector: bits 0-1 the topic's table (3: a topic of no table), bits 2-3 the
//                 columns wanted (all, inventory's, analytics', the search indexer's), bits 4-5
//                 the schemaless decimal mode, bits 6-7 the schemaless timestamp mode
//   then          the key bytes, 0xFF, the value bytes (no 0xFF: no key). A value that is
//                 exactly empty is a Kafka tombstone (a null value).
// Values and keys in Confluent's wire format (a zero byte, a schema id) are Avro: the decoders
// know the writer schemas of the Avro capture (tests/fixtures/captures/avro-schemas.json), and
// the seeds hold its records.

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string_view>

#include "debezium/decoder.h"
#include "debezium/file_schema_fetcher.h"
#include "debezium/schema_cache.h"

namespace {

using namespace cdc::debezium;

constexpr std::string_view kTopics[] = {"dbserver1.public.products", "dbserver1.public.orders", "dbserver1.public.order_items",
                                        "dbserver1.public.customers"};

std::array<ColumnMask, kTableCount> wantedColumns(int service) {
  switch (service) {
    case 1:  // inventory-service
      return {bit(ProductColumn::Name) | bit(ProductColumn::Description) | bit(ProductColumn::Price) |
                  bit(ProductColumn::StockQuantity),
              0, bit(OrderItemColumn::ProductId) | bit(OrderItemColumn::Quantity)};
    case 2:  // analytics-service
      return {
          0,
          bit(OrderColumn::CustomerId) | bit(OrderColumn::TotalAmount) | bit(OrderColumn::Status) | bit(OrderColumn::CreatedAt),
          bit(OrderItemColumn::ProductId) | bit(OrderItemColumn::Quantity) | bit(OrderItemColumn::Price) |
              bit(OrderItemColumn::CreatedAt)};
    case 3:  // search-indexer
      return {bit(ProductColumn::Name) | bit(ProductColumn::Description) | bit(ProductColumn::Price) |
                  bit(ProductColumn::StockQuantity),
              0, 0};
    default:
      return {kAllColumns, kAllColumns, kAllColumns};
  }
}

// The Avro capture's schemas by id, all loaded before the first input.
SchemaCache& capturedSchemas() {
  static FileSchemaFetcher fetcher(CDC_SOURCE_DIR "/tests/fixtures/captures/avro-schemas.json");
  static SchemaCache cache(fetcher);
  static const bool loaded = cache.load(fetcher.ids()).has_value();
  if (!loaded) std::abort();
  return cache;
}

// One decoder per option set, kept across inputs as a consumer keeps it (its schema cache
// compares bytes, so what it holds never depends on more than the bytes seen).
Decoder& decoderFor(uint8_t selector) {
  static std::unique_ptr<Decoder> decoders[64];
  int index = selector >> 2;
  if (!decoders[index]) {
    DecoderOptions o;
    o.wanted = wantedColumns(index & 3);
    o.schemalessDecimals = static_cast<SchemalessDecimals>(((index >> 2) & 3) % 3);
    o.schemalessTimestamps = static_cast<SchemalessTimestamps>((index >> 4) & 3);
    decoders[index] = std::make_unique<Decoder>(o);
    decoders[index]->useSchemas(&capturedSchemas());
  }
  return *decoders[index];
}

void check(bool promise, const char* what) {
  if (!promise) {
    std::fprintf(stderr, "decoder promise broken: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  uint8_t selector = data[0];
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  std::optional<std::string_view> key;
  std::string_view valueBytes = rest;
  if (auto sep = rest.find('\xff'); sep != std::string_view::npos) {
    key = rest.substr(0, sep);
    valueBytes = rest.substr(sep + 1);
  }
  std::optional<std::string_view> value;
  if (!valueBytes.empty()) value = valueBytes;
  Decoder& decoder = decoderFor(selector);
  std::string_view topic = kTopics[selector & 3];

  // Twice: the second decode meets the schema the first one cached.
  for (int round = 0; round < 2; ++round) {
    ChangeEvent event;
    auto r = decoder.decode(topic, key, value, event);
    if (!r) {
      check(!r.error().message().empty(), "an error without a message");
      continue;
    }
    check((selector & 3) != 3, "a topic of no table decoded");
    if (*r == DecodeStatus::Tombstone) continue;
    if (event.op == Op::Truncate) continue;
    const auto& row = event.op == Op::Delete ? event.before : event.after;
    check(row.has_value(), "an event without its row");
    check(event.op != Op::Delete || !event.after.has_value() || event.shape == Shape::Envelope,
          "a flattened delete with a new row");
    std::visit(
        [&](const auto& rr) {
          using Column = typename std::decay_t<decltype(rr)>::Column;
          check(rr.has(Column::Id), "an event whose row has no id");
          if (event.op != Op::Delete) {
            // A new row carries its id and every column the service reads (null or not).
            ColumnMask all = (ColumnMask{1} << static_cast<int>(Column::Count)) - 1;
            ColumnMask wanted = wantedColumns((selector >> 2) & 3)[static_cast<int>(event.table)];
            check(((wanted | 1) & all & ~rr.seen) == 0, "a row without a column the service reads");
          }
        },
        *row);
    check(event.rowId() == std::visit([](const auto& rr) { return rr.id.value; }, *row), "rowId differs from the row's id");
  }
  if (key) {
    auto id = decoder.decodeKey(*key);
    if (!id) check(!id.error().message().empty(), "a key error without a message");
  }
  return 0;
}
