#pragma once
// Apache Avro as Kafka Connect's Avro converters write it: a writer schema parsed from its JSON
// (as a schema registry serves it) and a reader of the binary encoding. Confluent's wire format
// puts a magic byte 0 and the schema's 4-byte id (big-endian) before the Avro bytes.

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cdc::debezium::avro {

enum class Type : uint8_t { Null, Boolean, Int, Long, Float, Double, Bytes, String, Record, Enum, Array, Map, Union, Fixed };

const char* typeName(Type t);  // "null", "int", "record" …

struct Field {
  std::string name;
  int32_t type = 0;  // node index
};

// One node of a schema. Named types (records, enums, fixed) are nodes that later references
// point to by index, so a record used twice (Debezium's `before` and `after`) is one node.
struct Node {
  Type type = Type::Null;
  std::string name;               // full name of a named type
  std::string connectName;        // "connect.name": Kafka Connect's and Debezium's semantic type
  std::string logicalType;        // Avro's "logicalType"
  int32_t scale = -1;             // a decimal's scale ("scale", or connect.parameters.scale)
  int32_t size = 0;               // fixed: its byte count; enum: its symbol count
  int32_t items = -1;             // array: the items' node; map: the values' node
  std::vector<Field> fields;      // record
  std::vector<int32_t> branches;  // union
};

class Schema {
 public:
  // Parses a schema's JSON (a registry's `schema` string). The root is node 0.
  static std::expected<Schema, std::string> parse(std::string_view json);

  const Node& node(int32_t index) const { return nodes_[static_cast<size_t>(index)]; }
  const Node& root() const { return nodes_.front(); }
  size_t size() const { return nodes_.size(); }
  // The field of a record node by name, or nullptr.
  const Field* field(const Node& record, std::string_view name) const;
  // A union of null and one other type: the other branch's node and index; nullopt otherwise.
  struct Nullable {
    int32_t node;
    int32_t branch;
  };
  std::optional<Nullable> nullable(const Node& n) const;

 private:
  friend class SchemaBuilder;
  std::vector<Node> nodes_;
};

// The Confluent wire format: magic byte 0, then the schema id (4 bytes, big-endian).
inline constexpr size_t kWireHeader = 5;
// The schema id of a message in the Confluent wire format, or nullopt when it is not one
// (JSON never starts with a zero byte).
inline std::optional<int32_t> wireSchemaId(std::string_view bytes) {
  if (bytes.size() < kWireHeader || bytes[0] != '\0') return std::nullopt;
  auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(bytes[i])); };
  return static_cast<int32_t>(b(1) << 24 | b(2) << 16 | b(3) << 8 | b(4));
}

// Reads Avro's binary encoding from a byte range; every read checks the bounds and the first
// failure sticks (`ok()` false, `error()` says what).
class Reader {
 public:
  explicit Reader(std::string_view bytes) : p_(reinterpret_cast<const uint8_t*>(bytes.data())), end_(p_ + bytes.size()) {}

  bool ok() const { return error_ == nullptr; }
  const char* error() const { return error_; }
  bool atEnd() const { return p_ == end_; }
  size_t remaining() const { return static_cast<size_t>(end_ - p_); }

  int64_t readLong();  // zig-zag varint
  int32_t readInt();   // zig-zag varint within 32 bits
  bool readBoolean();
  double readDouble();
  float readFloat();
  std::string_view readBytes();  // length-prefixed bytes or string
  std::string_view readFixed(int32_t size);
  // Skips a value of any node of `schema`.
  void skip(const Schema& schema, int32_t node, int depth = 0);
  // An array's or map's blocks of items (a negative count is followed by the block's size).
  void skipBlocks(const Schema& schema, const Node& n, int depth);

  void fail(const char* why) {
    if (error_ == nullptr) error_ = why;
    p_ = end_;
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
  const char* error_ = nullptr;
};

}  // namespace cdc::debezium::avro
