#pragma once
// What one message said, field by field, before the rules of its shape make it a ChangeEvent:
// filled by the JSON decoder (decoder.cc) and the Avro one (avro_decoder.cc) alike. Internal to
// the decoders.

#include <optional>

#include "debezium/event.h"

namespace cdc::debezium {

struct Assembly {
  Table table = Table::Products;
  ColumnMask wanted = kAllColumns;
  bool envelope = false;   // the message had envelope fields (before, after, op, source)
  bool sawColumn = false;  // a flattened column was read
  bool deleted = false;    // `__deleted: "true"`
  std::optional<Op> op;
  Row flatRow;  // the flattened form's row
};

inline Row emptyRow(Table table) {
  switch (table) {
    case Table::Products:
      return ProductRow{};
    case Table::Orders:
      return OrderRow{};
    case Table::OrderItems:
      return OrderItemRow{};
  }
  return ProductRow{};
}

}  // namespace cdc::debezium
