#pragma once

#include <array>
#include <cstdint>
#include <expected>
#include <span>
#include <string>
#include <string_view>

#include "debezium/decode_error.h"
#include "debezium/event.h"

namespace cdc::debezium {

// How a column's value is encoded, as Kafka Connect's schema says.
enum class ColumnKind : uint8_t {
  Unknown,  // no schema: decided from the JSON value
  Integer,
  String,                // plain string (and `decimal.handling.mode=string` for numerics)
  DecimalBytes,          // org.apache.kafka.connect.data.Decimal: base64 bytes, fixed scale
  VariableScaleDecimal,  // io.debezium.data.VariableScaleDecimal: {"scale":…,"value":…}
  Double,                // decimal.handling.mode=double
  MicroTimestamp,        // io.debezium.time.MicroTimestamp
  MilliTimestamp,        // io.debezium.time.Timestamp, org.apache.kafka.connect.data.Timestamp
  NanoTimestamp,         // io.debezium.time.NanoTimestamp
  ZonedTimestamp,        // io.debezium.time.ZonedTimestamp (ISO-8601 string)
  Date,                  // io.debezium.time.Date, org.apache.kafka.connect.data.Date (days)
};

struct ColumnType {
  ColumnKind kind = ColumnKind::Unknown;
  int32_t scale = 0;  // DecimalBytes only
};

inline constexpr int kMaxColumns = 8;

// What the embedded schema of one table's messages says about its columns, by column index.
struct SchemaInfo {
  std::array<ColumnType, kMaxColumns> columns{};
};

// Reads the `schema` object of a value message for `table`. Works on both the envelope
// (columns under the `after`/`before` struct fields) and the flattened form (columns at the top).
std::expected<SchemaInfo, DecodeError> parseSchema(std::string_view schemaJson, Table table);

// Column index of `name` in `table`, or -1 for a column we do not model.
int columnIndex(Table table, std::string_view name);
// The names of `table`'s columns, by index.
std::span<const std::string_view> columnNames(Table table);

}  // namespace cdc::debezium
