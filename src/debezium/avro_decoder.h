#pragma once

#include <cstdint>
#include <expected>
#include <memory>
#include <optional>
#include <string_view>
#include <unordered_map>

#include "debezium/assembly.h"
#include "debezium/decoder.h"
#include "debezium/schema_cache.h"

namespace cdc::debezium {

// Decodes Debezium's records in Avro (Confluent's wire format, as Kafka Connect's Avro
// converters write them) into the same ChangeEvents as the JSON decoder: both shapes (the
// flattened rows of ExtractNewRecordState and the envelope), Debezium's logical types (Decimal
// with its scale, VariableScaleDecimal, micro/milli/nano timestamps, ZonedTimestamp, Date).
//
// Each writer schema is compiled once per table into a plan that maps its fields to our
// columns. A schema that lacks a column the service reads, or gives it a type we cannot read
// exactly, is incompatible: its records fail naming the schema id and the column. Fields we
// do not model (a column added later, with its default) are skipped by their type.
// Not thread-safe: one per decoder.
class AvroDecoder {
 public:
  AvroDecoder(const DecoderOptions& options, SchemaCache& schemas);
  ~AvroDecoder();
  AvroDecoder(const AvroDecoder&) = delete;
  AvroDecoder& operator=(const AvroDecoder&) = delete;

  // Reads `value`, in the wire format (avro::wireSchemaId gives its id), into the assembly and
  // the event's before/after/source; the Decoder applies the shape's rules after. Its schema
  // must have been loaded into the cache (an id never loaded fails as unknown).
  std::expected<void, DecodeError> read(Table table, std::string_view value, Assembly& st, ChangeEvent& out);
  // The `id` of a key in the wire format (a record with an `id` field).
  std::expected<int64_t, DecodeError> decodeKey(std::string_view key);

  struct Plan;

 private:
  std::expected<const Plan*, DecodeError> planFor(int32_t id, std::optional<Table> table);

  DecoderOptions options_;
  SchemaCache& schemas_;
  // Plans by schema id and table (keys: table -1).
  std::unordered_map<int64_t, std::unique_ptr<Plan>> plans_;
  int64_t lastKey_ = -1;
  const Plan* last_ = nullptr;
};

}  // namespace cdc::debezium
