#include "debezium/avro.h"

#include <charconv>
#include <cstring>
#include <map>

#include <simdjson.h>

namespace cdc::debezium::avro {
namespace {

constexpr int kMaxDepth = 64;

struct Primitive {
  std::string_view name;
  Type type;
};
constexpr Primitive kPrimitives[] = {{"null", Type::Null},   {"boolean", Type::Boolean}, {"int", Type::Int},
                                     {"long", Type::Long},   {"float", Type::Float},     {"double", Type::Double},
                                     {"bytes", Type::Bytes}, {"string", Type::String}};

std::optional<Type> primitive(std::string_view name) {
  for (const auto& p : kPrimitives) {
    if (p.name == name) return p.type;
  }
  return std::nullopt;
}

}  // namespace

const char* typeName(Type t) {
  switch (t) {
    case Type::Null:
      return "null";
    case Type::Boolean:
      return "boolean";
    case Type::Int:
      return "int";
    case Type::Long:
      return "long";
    case Type::Float:
      return "float";
    case Type::Double:
      return "double";
    case Type::Bytes:
      return "bytes";
    case Type::String:
      return "string";
    case Type::Record:
      return "record";
    case Type::Enum:
      return "enum";
    case Type::Array:
      return "array";
    case Type::Map:
      return "map";
    case Type::Union:
      return "union";
    case Type::Fixed:
      return "fixed";
  }
  return "?";
}

// Builds the node list from the schema's JSON (simdjson's DOM: a schema is parsed once per id).
class SchemaBuilder {
 public:
  std::expected<Schema, std::string> build(std::string_view json) {
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    if (auto e = parser.parse(json.data(), json.size()).get(root)) {
      return std::unexpected(std::string("the schema is not JSON: ") + simdjson::error_message(e));
    }
    schema_.nodes_.emplace_back();  // the root is node 0
    if (auto why = fill(0, root, "", 0); !why.empty()) return std::unexpected(why);
    return std::move(schema_);
  }

 private:
  Schema schema_;
  std::map<std::string, int32_t, std::less<>> named_;

  static std::string fullName(std::string_view name, std::string_view ns) {
    if (name.find('.') != std::string_view::npos || ns.empty()) return std::string(name);
    return std::string(ns) + "." + std::string(name);
  }

  // A new node for `json`, or the named node it refers to.
  std::expected<int32_t, std::string> add(simdjson::dom::element json, std::string_view ns, int depth) {
    std::string_view name;
    if (json.get_string().get(name) == simdjson::SUCCESS && !primitive(name)) {
      auto it = named_.find(fullName(name, ns));
      if (it == named_.end()) it = named_.find(name);
      if (it == named_.end()) return std::unexpected("unknown type '" + std::string(name) + "'");
      return it->second;
    }
    auto index = static_cast<int32_t>(schema_.nodes_.size());
    schema_.nodes_.emplace_back();
    if (auto why = fill(index, json, ns, depth + 1); !why.empty()) return std::unexpected(why);
    return index;
  }

  std::string fill(int32_t index, simdjson::dom::element json, std::string_view ns, int depth) {
    if (depth > kMaxDepth) return "the schema nests too deeply";
    std::string_view text;
    if (json.get_string().get(text) == simdjson::SUCCESS) {
      auto p = primitive(text);
      if (!p) return "'" + std::string(text) + "' is not a type here";
      schema_.nodes_[static_cast<size_t>(index)].type = *p;
      return {};
    }
    simdjson::dom::array branches;
    if (json.get_array().get(branches) == simdjson::SUCCESS) {
      schema_.nodes_[static_cast<size_t>(index)].type = Type::Union;
      for (auto branch : branches) {
        auto b = add(branch, ns, depth);
        if (!b) return b.error();
        schema_.nodes_[static_cast<size_t>(index)].branches.push_back(*b);
      }
      return {};
    }
    simdjson::dom::object object;
    if (json.get_object().get(object) != simdjson::SUCCESS) return "a type is a string, an array or an object";
    return fillObject(index, object, ns, depth);
  }

  std::string fillObject(int32_t index, simdjson::dom::object object, std::string_view ns, int depth) {
    simdjson::dom::element typeJson;
    if (object["type"].get(typeJson) != simdjson::SUCCESS) return "a type object without \"type\"";
    std::string_view type;
    if (typeJson.get_string().get(type) != simdjson::SUCCESS) {
      // {"type": {…}} or {"type": […]}: the inner schema is the type.
      return fill(index, typeJson, ns, depth + 1);
    }
    auto node = [&]() -> Node& { return schema_.nodes_[static_cast<size_t>(index)]; };
    readAttributes(node(), object);
    if (auto p = primitive(type)) {
      node().type = *p;
      return {};
    }
    if (type == "record" || type == "error" || type == "enum" || type == "fixed")
      return fillNamed(index, type, object, ns, depth);
    if (type == "array" || type == "map") {
      node().type = type == "array" ? Type::Array : Type::Map;
      simdjson::dom::element inner;
      if (object[type == "array" ? "items" : "values"].get(inner) != simdjson::SUCCESS) {
        return std::string(type) + " without its " + (type == "array" ? "items" : "values");
      }
      auto t = add(inner, ns, depth);
      if (!t) return t.error();
      node().items = *t;
      return {};
    }
    return "unknown type '" + std::string(type) + "'";
  }

  // A named type: a record (its fields), an enum (its symbols) or a fixed (its size).
  std::string fillNamed(int32_t index, std::string_view type, simdjson::dom::object object, std::string_view ns, int depth) {
    auto node = [&]() -> Node& { return schema_.nodes_[static_cast<size_t>(index)]; };
    std::string_view name, own;
    if (object["name"].get_string().get(name) != simdjson::SUCCESS) return std::string(type) + " without a name";
    if (object["namespace"].get_string().get(own) == simdjson::SUCCESS) ns = own;
    node().name = fullName(name, ns);
    named_[node().name] = index;
    auto dot = node().name.rfind('.');
    std::string inner = dot == std::string::npos ? std::string() : node().name.substr(0, dot);
    if (type == "enum") {
      node().type = Type::Enum;
      simdjson::dom::array symbols;
      if (object["symbols"].get_array().get(symbols) != simdjson::SUCCESS) return "an enum without symbols";
      node().size = static_cast<int32_t>(symbols.size());
      return {};
    }
    if (type == "fixed") {
      node().type = Type::Fixed;
      int64_t size = 0;
      if (object["size"].get_int64().get(size) != simdjson::SUCCESS || size < 0 || size > INT32_MAX) {
        return "a fixed type without a size";
      }
      node().size = static_cast<int32_t>(size);
      return {};
    }
    node().type = Type::Record;
    simdjson::dom::array fields;
    if (object["fields"].get_array().get(fields) != simdjson::SUCCESS) return "a record without fields";
    for (auto f : fields) {
      std::string_view fieldName;
      simdjson::dom::element fieldType;
      if (f["name"].get_string().get(fieldName) != simdjson::SUCCESS || f["type"].get(fieldType) != simdjson::SUCCESS) {
        return "a field of " + node().name + " without a name or type";
      }
      auto t = add(fieldType, inner, depth);
      if (!t) return t.error();
      node().fields.push_back(Field{std::string(fieldName), *t});
    }
    return {};
  }

  static void readAttributes(Node& node, simdjson::dom::object object) {
    std::string_view s;
    if (object["connect.name"].get_string().get(s) == simdjson::SUCCESS) node.connectName = s;
    if (object["logicalType"].get_string().get(s) == simdjson::SUCCESS) node.logicalType = s;
    int64_t scale = 0;
    if (object["scale"].get_int64().get(scale) == simdjson::SUCCESS && scale >= 0 && scale <= 38) {
      node.scale = static_cast<int32_t>(scale);
    } else if (object.at_pointer("/connect.parameters/scale").get_string().get(s) == simdjson::SUCCESS) {
      int value = -1;
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
      if (ec == std::errc() && end == s.data() + s.size() && value >= 0 && value <= 38) node.scale = value;
    }
  }
};

std::expected<Schema, std::string> Schema::parse(std::string_view json) { return SchemaBuilder().build(json); }

const Field* Schema::field(const Node& record, std::string_view name) const {
  for (const auto& f : record.fields) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::optional<Schema::Nullable> Schema::nullable(const Node& n) const {
  if (n.type != Type::Union || n.branches.size() != 2) return std::nullopt;
  bool firstNull = node(n.branches[0]).type == Type::Null;
  bool secondNull = node(n.branches[1]).type == Type::Null;
  if (firstNull == secondNull) return std::nullopt;
  int32_t branch = firstNull ? 1 : 0;
  return Nullable{n.branches[static_cast<size_t>(branch)], branch};
}

int64_t Reader::readLong() {
  uint64_t value = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (p_ == end_) {
      fail("the bytes end inside a number");
      return 0;
    }
    uint8_t b = *p_++;
    value |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      if (shift == 63 && b > 1) break;
      return static_cast<int64_t>(value >> 1) ^ -static_cast<int64_t>(value & 1);
    }
  }
  fail("a number longer than 64 bits");
  return 0;
}

int32_t Reader::readInt() {
  int64_t v = readLong();
  if (v < INT32_MIN || v > INT32_MAX) {
    fail("an int beyond 32 bits");
    return 0;
  }
  return static_cast<int32_t>(v);
}

bool Reader::readBoolean() {
  if (p_ == end_) {
    fail("the bytes end inside a boolean");
    return false;
  }
  uint8_t b = *p_++;
  if (b > 1) fail("a boolean that is neither 0 nor 1");
  return b == 1;
}

double Reader::readDouble() {
  if (remaining() < 8) {
    fail("the bytes end inside a double");
    return 0;
  }
  uint64_t bits = 0;
  for (int i = 7; i >= 0; --i) bits = bits << 8 | p_[i];  // little-endian
  p_ += 8;
  double d = 0;
  std::memcpy(&d, &bits, sizeof d);
  return d;
}

float Reader::readFloat() {
  if (remaining() < 4) {
    fail("the bytes end inside a float");
    return 0;
  }
  uint32_t bits = 0;
  for (int i = 3; i >= 0; --i) bits = bits << 8 | p_[i];
  p_ += 4;
  float f = 0;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

std::string_view Reader::readBytes() {
  int64_t n = readLong();
  if (!ok()) return {};
  if (n < 0 || static_cast<uint64_t>(n) > remaining()) {
    fail(n < 0 ? "a negative length" : "a length past the end of the bytes");
    return {};
  }
  std::string_view s(reinterpret_cast<const char*>(p_), static_cast<size_t>(n));
  p_ += n;
  return s;
}

std::string_view Reader::readFixed(int32_t size) {
  if (size < 0 || static_cast<size_t>(size) > remaining()) {
    fail("a fixed value past the end of the bytes");
    return {};
  }
  std::string_view s(reinterpret_cast<const char*>(p_), static_cast<size_t>(size));
  p_ += size;
  return s;
}

void Reader::skip(const Schema& schema, int32_t index, int depth) {
  if (depth > kMaxDepth) {
    fail("values nest too deeply");
    return;
  }
  const Node& n = schema.node(index);
  switch (n.type) {
    case Type::Null:
      return;
    case Type::Boolean:
      readBoolean();
      return;
    case Type::Int:
    case Type::Long:
    case Type::Enum:
      readLong();
      return;
    case Type::Float:
      readFloat();
      return;
    case Type::Double:
      readDouble();
      return;
    case Type::Bytes:
    case Type::String:
      readBytes();
      return;
    case Type::Fixed:
      readFixed(n.size);
      return;
    case Type::Record:
      for (const auto& f : n.fields) {
        skip(schema, f.type, depth + 1);
        if (!ok()) return;
      }
      return;
    case Type::Union: {
      int64_t branch = readLong();
      if (!ok()) return;
      if (branch < 0 || static_cast<size_t>(branch) >= n.branches.size()) {
        fail("a union branch the schema does not have");
        return;
      }
      skip(schema, n.branches[static_cast<size_t>(branch)], depth + 1);
      return;
    }
    case Type::Array:
    case Type::Map:
      skipBlocks(schema, n, depth);
      return;
  }
}

void Reader::skipBlocks(const Schema& schema, const Node& n, int depth) {
  while (ok()) {
    int64_t count = readLong();
    if (!ok() || count == 0) return;
    if (count < 0) {
      readLong();  // the block's size in bytes
      count = -count;
    }
    if (static_cast<uint64_t>(count) > remaining()) {
      fail("a block count past the end of the bytes");
      return;
    }
    for (int64_t i = 0; i < count && ok(); ++i) {
      if (n.type == Type::Map) readBytes();
      skip(schema, n.items, depth + 1);
    }
  }
}

}  // namespace cdc::debezium::avro
