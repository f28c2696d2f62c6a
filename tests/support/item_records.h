#pragma once

#include <string>
#include <string_view>

#include "debezium/decoder.h"
#include "runtime/record.h"

namespace cdc::test {

inline constexpr std::string_view kItems = "dbserver1.public.order_items";

// The columns the runtime's test handlers read (a message must carry them to be a row).
inline debezium::DecoderOptions itemColumns() {
  debezium::DecoderOptions o;
  o.wanted[static_cast<int>(debezium::Table::OrderItems)] =
      debezium::bit(debezium::OrderItemColumn::ProductId) | debezium::bit(debezium::OrderItemColumn::Quantity);
  return o;
}

// An order item's change (a flattened message) at `partition`/`offset`.
inline runtime::Record item(int32_t partition, int64_t offset, int id, int quantity) {
  runtime::Record r;
  r.topic = kItems;
  r.partition = partition;
  r.offset = offset;
  r.timestampMs = 1767225600000 + offset;
  r.key = "{\"id\":" + std::to_string(id) + "}";
  r.value = "{\"id\":" + std::to_string(id) + ",\"order_id\":1,\"product_id\":2,\"quantity\":" + std::to_string(quantity) +
            ",\"__op\":\"c\"}";
  return r;
}

}  // namespace cdc::test
