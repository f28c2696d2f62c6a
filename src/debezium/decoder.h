#pragma once

#include <array>
#include <expected>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "debezium/decode_error.h"
#include "debezium/event.h"

namespace cdc::debezium {

class SchemaCache;

// How to read `numeric` columns when a message has no schema to say.
enum class SchemalessDecimals : uint8_t {
  Auto,     // a string with a '.' is `string` mode, any other string is `precise` base64
  Precise,  // base64 bytes at DecoderOptions::defaultDecimalScale
  String,   // "1299.99"
};

// How to read integer timestamps when a message has no schema to say.
enum class SchemalessTimestamps : uint8_t {
  Auto,  // by magnitude: ns above 1e17, µs above 1e14, ms above 1e11, else seconds
  Micro,
  Milli,
  Nano,
};

struct DecoderOptions {
  // Scale of `precise` decimals in messages without a schema (our money columns are numeric(10,2)).
  int32_t defaultDecimalScale = 2;
  SchemalessDecimals schemalessDecimals = SchemalessDecimals::Auto;
  SchemalessTimestamps schemalessTimestamps = SchemalessTimestamps::Auto;
  // Columns to decode, per table (index = Table); the rest are skipped without being converted.
  std::array<ColumnMask, kTableCount> wanted{kAllColumns, kAllColumns, kAllColumns};
};

// Bytes of readable memory the decoder needs past the end of a value to parse it in place.
inline constexpr size_t kDecoderPadding = 64;

enum class DecodeStatus : uint8_t {
  Event,      // `out` holds the change
  Tombstone,  // a delete without a row (Kafka null value, `payload: null`): `out` is a delete of
              // the key's id (op d, `before` holds only the id, `tombstone` set)
};

// Decodes Debezium messages (every shape of SPEC §1, in JSON or Avro) into ChangeEvents with simdjson's
// On-Demand API, touching only the fields that are wanted. The embedded schema is parsed once
// per distinct schema and then recognised by its bytes.
// Not thread-safe: one decoder per consuming thread.
class Decoder {
 public:
  explicit Decoder(DecoderOptions options = {});
  ~Decoder();
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  // `value` null is a tombstone. `key` is read only when the value lacks the row id (a
  // tombstone, a key-only delete); a tombstone without a usable key is an error.
  // When the memory behind `value` extends to `valueCapacity` bytes (at least
  // kDecoderPadding more than its size), it is parsed in place instead of being copied.
  std::expected<DecodeStatus, DecodeError> decode(std::string_view topic, std::optional<std::string_view> key,
                                                  std::optional<std::string_view> value, ChangeEvent& out,
                                                  size_t valueCapacity = 0);

  // The `id` of a message key ({"id":1}, with or without schema, or Avro).
  std::expected<int64_t, DecodeError> decodeKey(std::string_view key);

  // Records in Avro (Confluent's wire format) are decoded with the writer schemas of `schemas`
  // (which must outlive the decoder; the caller loads each record's schema id first). Without
  // one they fail as unknown_schema.
  void useSchemas(SchemaCache* schemas);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cdc::debezium
