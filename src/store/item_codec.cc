#include "store/item_codec.h"

#include <algorithm>
#include <cstring>
#include <optional>

#include <simdjson.h>

#include "core/base64.h"
#include "core/json_writer.h"

namespace cdc::store {
namespace {

using simdjson::dom::element;

Result<AttributeValue> fromElement(element e);

Result<Item> mapFromElement(element e) {
  simdjson::dom::object o;
  if (e.get_object().get(o)) return fail(Error::fatal("item is not a JSON object"));
  Item item;
  for (auto [k, v] : o) {
    auto av = fromElement(v);
    if (!av) return fail(av.error());
    item.emplace(std::string(k), std::move(*av));
  }
  return item;
}

Result<AttributeValue> fromElement(element e) {
  simdjson::dom::object o;
  if (e.get_object().get(o) || o.size() != 1) return fail(Error::fatal("attribute value is not {\"T\": …}"));
  auto [type, v] = *o.begin();
  std::string_view s;
  if (type == "S") {
    if (v.get_string().get(s)) return fail(Error::fatal("S is not a string"));
    return AttributeValue::s(std::string(s));
  }
  if (type == "N") {
    if (v.get_string().get(s)) return fail(Error::fatal("N is not a string"));
    return AttributeValue::n(s);
  }
  if (type == "B") {
    if (v.get_string().get(s)) return fail(Error::fatal("B is not a string"));
    std::string bytes;
    if (!base64Decode(s, bytes)) return fail(Error::fatal("B is not base64"));
    return AttributeValue::b(std::move(bytes));
  }
  if (type == "BOOL") {
    bool b = false;
    if (v.get_bool().get(b)) return fail(Error::fatal("BOOL is not a boolean"));
    return AttributeValue::boolean(b);
  }
  if (type == "NULL") return AttributeValue::null();
  if (type == "L") {
    simdjson::dom::array a;
    if (v.get_array().get(a)) return fail(Error::fatal("L is not an array"));
    std::vector<AttributeValue> items;
    for (element x : a) {
      auto av = fromElement(x);
      if (!av) return fail(av.error());
      items.push_back(std::move(*av));
    }
    return AttributeValue::list(std::move(items));
  }
  if (type == "M") {
    auto m = mapFromElement(v);
    if (!m) return fail(m.error());
    return AttributeValue::map(std::move(*m));
  }
  if (type == "SS" || type == "NS") {
    simdjson::dom::array a;
    if (v.get_array().get(a)) return fail(Error::fatal("set is not an array"));
    std::vector<std::string> members;
    for (element x : a) {
      if (x.get_string().get(s)) return fail(Error::fatal("set member is not a string"));
      members.emplace_back(s);
    }
    return type == "SS" ? AttributeValue::stringSet(std::move(members)) : AttributeValue::numberSet(std::move(members));
  }
  return fail(Error::fatal("unknown attribute type " + std::string(type)));
}

void appendPlain(std::string& out, const AttributeValue& v) {
  switch (v.type()) {
    case AttributeValue::Type::S:
      appendJsonString(out, v.text());
      break;
    case AttributeValue::Type::N:
      out += v.text();
      break;
    case AttributeValue::Type::B:
      appendJsonString(out, base64Encode(v.text()));
      break;
    case AttributeValue::Type::BOOL:
      out += v.asBool() ? "true" : "false";
      break;
    case AttributeValue::Type::NUL:
      out += "null";
      break;
    case AttributeValue::Type::L: {
      out.push_back('[');
      bool first = true;
      for (const auto& x : v.asList()) {
        if (!first) out.push_back(',');
        first = false;
        appendPlain(out, x);
      }
      out.push_back(']');
      break;
    }
    case AttributeValue::Type::M:
      appendPlainJson(out, v.asMap());
      break;
    case AttributeValue::Type::SS:
    case AttributeValue::Type::NS: {
      out.push_back('[');
      bool first = true;
      for (const auto& m : v.members()) {
        if (!first) out.push_back(',');
        first = false;
        if (v.type() == AttributeValue::Type::SS) {
          appendJsonString(out, m);
        } else {
          out += m;
        }
      }
      out.push_back(']');
      break;
    }
  }
}

void appendKeyAttribute(JsonWriter& w, const KeyAttribute& k) {
  w.beginObject().field("name", k.name).field("type", toString(k.type)).endObject();
}

std::optional<KeyAttribute> keyAttributeFrom(element e) {
  std::string_view name, type;
  if (e["name"].get_string().get(name) || e["type"].get_string().get(type)) return std::nullopt;
  KeyAttribute k;
  k.name = std::string(name);
  k.type = type == "N" ? AttributeValue::Type::N : type == "B" ? AttributeValue::Type::B : AttributeValue::Type::S;
  return k;
}

}  // namespace

void appendDynamoJson(std::string& out, const AttributeValue& v) {
  out += "{\"";
  out += toString(v.type());
  out += "\":";
  switch (v.type()) {
    case AttributeValue::Type::S:
      appendJsonString(out, v.text());
      break;
    case AttributeValue::Type::N:
      if (std::all_of(v.text().begin(), v.text().end(), [](char c) { return (c >= '0' && c <= '9') || c == '-' || c == '.'; })) {
        out.push_back('"');  // a canonical number: nothing to escape
        out += v.text();
        out.push_back('"');
      } else {
        appendJsonString(out, v.text());
      }
      break;
    case AttributeValue::Type::B:
      appendJsonString(out, base64Encode(v.text()));
      break;
    case AttributeValue::Type::BOOL:
      out += v.asBool() ? "true" : "false";
      break;
    case AttributeValue::Type::NUL:
      out += "true";
      break;
    case AttributeValue::Type::L: {
      out.push_back('[');
      bool first = true;
      for (const auto& x : v.asList()) {
        if (!first) out.push_back(',');
        first = false;
        appendDynamoJson(out, x);
      }
      out.push_back(']');
      break;
    }
    case AttributeValue::Type::M:
      appendDynamoJson(out, v.asMap());
      break;
    case AttributeValue::Type::SS:
    case AttributeValue::Type::NS: {
      out.push_back('[');
      bool first = true;
      for (const auto& m : v.members()) {
        if (!first) out.push_back(',');
        first = false;
        appendJsonString(out, m);
      }
      out.push_back(']');
      break;
    }
  }
  out.push_back('}');
}

void appendDynamoJson(std::string& out, const Item& item) {
  out.push_back('{');
  bool first = true;
  for (const auto& [k, v] : item) {
    if (!first) out.push_back(',');
    first = false;
    appendJsonString(out, k);
    out.push_back(':');
    appendDynamoJson(out, v);
  }
  out.push_back('}');
}

std::string toDynamoJson(const Item& item) {
  std::string out;
  out.reserve(512);
  appendDynamoJson(out, item);
  return out;
}

Result<Item> parseDynamoItem(std::string_view json) {
  thread_local simdjson::dom::parser parser;
  element root;
  if (auto e = parser.parse(json.data(), json.size()).get(root)) {
    return fail(Error::fatal(std::string("item JSON: ") + simdjson::error_message(e)));
  }
  return mapFromElement(root);
}

Result<AttributeValue> parseDynamoValue(std::string_view json) {
  thread_local simdjson::dom::parser parser;
  element root;
  if (auto e = parser.parse(json.data(), json.size()).get(root)) {
    return fail(Error::fatal(std::string("attribute JSON: ") + simdjson::error_message(e)));
  }
  return fromElement(root);
}

namespace {

enum RowTag : uint8_t { kS = 1, kN, kB, kFalse, kTrue, kNull, kL, kM, kSS, kNS };
constexpr char kRowFormat = '\x01';

// At most the bytes a value takes in a row (a varint takes at most 10 bytes).
size_t rowBound(const AttributeValue& v) {
  using T = AttributeValue::Type;
  switch (v.type()) {
    case T::S:
    case T::N:
    case T::B:
      return 11 + v.text().size();
    case T::BOOL:
    case T::NUL:
      return 1;
    case T::L: {
      size_t n = 11;
      for (const auto& e : v.asList()) n += rowBound(e);
      return n;
    }
    case T::M: {
      size_t n = 11;
      for (const auto& [name, e] : v.asMap()) n += 10 + name.size() + rowBound(e);
      return n;
    }
    case T::SS:
    case T::NS: {
      size_t n = 11;
      for (const auto& m : v.members()) n += 10 + m.size();
      return n;
    }
  }
  return 1;
}

// Writes into room made beforehand (rowBound), so that no byte is checked against a capacity.
class RowWriter {
 public:
  explicit RowWriter(char* at) : at_(at) {}
  char* at() const { return at_; }

  void varint(uint64_t v) {
    while (v >= 0x80) {
      *at_++ = static_cast<char>(v | 0x80);
      v >>= 7;
    }
    *at_++ = static_cast<char>(v);
  }
  void bytes(std::string_view b) {
    varint(b.size());
    std::memcpy(at_, b.data(), b.size());
    at_ += b.size();
  }
  void tag(RowTag t) { *at_++ = static_cast<char>(t); }

  void value(const AttributeValue& v) {
    using T = AttributeValue::Type;
    switch (v.type()) {
      case T::S:
        tag(kS);
        bytes(v.text());
        return;
      case T::N:
        tag(kN);
        bytes(v.text());
        return;
      case T::B:
        tag(kB);
        bytes(v.text());
        return;
      case T::BOOL:
        tag(v.asBool() ? kTrue : kFalse);
        return;
      case T::NUL:
        tag(kNull);
        return;
      case T::L:
        tag(kL);
        varint(v.asList().size());
        for (const auto& e : v.asList()) value(e);
        return;
      case T::M:
        tag(kM);
        varint(v.asMap().size());
        for (const auto& [name, e] : v.asMap()) {
          bytes(name);
          value(e);
        }
        return;
      case T::SS:
      case T::NS:
        tag(v.type() == T::SS ? kSS : kNS);
        varint(v.members().size());
        for (const auto& m : v.members()) bytes(m);
        return;
    }
  }

 private:
  char* at_;
};

// Reads format 1 from `at`, never past `end`; nullopt when the bytes end early or hold an
// unknown tag.
class RowReader {
 public:
  RowReader(const char* at, const char* end) : at_(at), end_(end) {}
  bool done() const { return at_ == end_; }

  std::optional<uint64_t> varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64 && at_ != end_; shift += 7) {
      auto byte = static_cast<uint8_t>(*at_++);
      v |= static_cast<uint64_t>(byte & 0x7F) << shift;
      if (!(byte & 0x80)) return v;
    }
    return std::nullopt;
  }

  std::optional<std::string> bytes() {
    auto n = varint();
    if (!n || *n > static_cast<uint64_t>(end_ - at_)) return std::nullopt;
    std::string s(at_, *n);
    at_ += *n;
    return s;
  }

  std::optional<AttributeValue> value(int depth = 0) {
    using T = AttributeValue::Type;
    if (at_ == end_ || depth > 64) return std::nullopt;
    switch (static_cast<uint8_t>(*at_++)) {
      case kS:
        if (auto s = bytes()) return AttributeValue::s(std::move(*s));
        return std::nullopt;
      case kN:
        if (auto s = bytes()) return AttributeValue::storedNumber(std::move(*s));
        return std::nullopt;
      case kB:
        if (auto s = bytes()) return AttributeValue::b(std::move(*s));
        return std::nullopt;
      case kFalse:
        return AttributeValue::boolean(false);
      case kTrue:
        return AttributeValue::boolean(true);
      case kNull:
        return AttributeValue::null();
      case kL:
        return list(depth);
      case kM:
        return map(depth);
      case kSS:
        return set(T::SS);
      case kNS:
        return set(T::NS);
      default:
        return std::nullopt;
    }
  }

 private:
  std::optional<AttributeValue> list(int depth) {
    auto n = count();
    if (!n) return std::nullopt;
    std::vector<AttributeValue> list;
    list.reserve(*n);
    for (uint64_t i = 0; i < *n; ++i) {
      auto e = value(depth + 1);
      if (!e) return std::nullopt;
      list.push_back(std::move(*e));
    }
    return AttributeValue::list(std::move(list));
  }

  std::optional<AttributeValue> map(int depth) {
    auto n = count();
    if (!n) return std::nullopt;
    AttributeMap map;
    for (uint64_t i = 0; i < *n; ++i) {
      auto name = bytes();
      auto e = name ? value(depth + 1) : std::nullopt;
      if (!e) return std::nullopt;
      map.emplace_hint(map.end(), std::move(*name), std::move(*e));
    }
    return AttributeValue::map(std::move(map));
  }

  std::optional<AttributeValue> set(AttributeValue::Type type) {
    auto n = count();
    if (!n) return std::nullopt;
    std::vector<std::string> members;
    members.reserve(*n);
    for (uint64_t i = 0; i < *n; ++i) {
      auto m = bytes();
      if (!m) return std::nullopt;
      members.push_back(std::move(*m));
    }
    return AttributeValue::storedSet(type, std::move(members));
  }

  // An element count, at most one per remaining byte (each element takes at least one).
  std::optional<uint64_t> count() {
    auto n = varint();
    if (!n || *n > static_cast<uint64_t>(end_ - at_)) return std::nullopt;
    return n;
  }

  const char* at_;
  const char* end_;
};

}  // namespace

void appendItemRow(std::string& out, const Item& item) {
  size_t bound = 1;
  for (const auto& [name, v] : item) bound += 10 + name.size() + rowBound(v);
  size_t start = out.size();
  out.resize(start + bound);
  out[start] = kRowFormat;
  RowWriter w(out.data() + start + 1);
  for (const auto& [name, v] : item) {
    w.bytes(name);
    w.value(v);
  }
  out.resize(static_cast<size_t>(w.at() - out.data()));
}

Result<Item> parseItemRow(std::string_view row) {
  if (!row.empty() && row.front() == '{') return parseDynamoItem(row);
  if (row.empty() || row.front() != kRowFormat) {
    return fail(Error::fatal("stored item of unknown format (first byte " +
                             std::to_string(row.empty() ? -1 : static_cast<uint8_t>(row.front())) + ")"));
  }
  RowReader reader(row.data() + 1, row.data() + row.size());
  Item item;
  while (!reader.done()) {
    auto name = reader.bytes();
    auto v = name ? reader.value() : std::nullopt;
    if (!v) return fail(Error::fatal("stored item is damaged (" + std::to_string(row.size()) + " bytes)"));
    item.emplace_hint(item.end(), std::move(*name), std::move(*v));
  }
  return item;
}

void appendPlainJson(std::string& out, const Item& item) {
  out.push_back('{');
  bool first = true;
  for (const auto& [k, v] : item) {
    if (!first) out.push_back(',');
    first = false;
    appendJsonString(out, k);
    out.push_back(':');
    appendPlain(out, v);
  }
  out.push_back('}');
}

std::string tableSpecToJson(const TableSpec& spec) {
  std::string out;
  JsonWriter w(out);
  w.beginObject().field("name", spec.name).key("hash");
  appendKeyAttribute(w, spec.hash);
  if (spec.range) {
    w.key("range");
    appendKeyAttribute(w, *spec.range);
  }
  if (spec.ttlAttribute) w.field("ttl", *spec.ttlAttribute);
  w.key("indexes").beginArray();
  for (const auto& idx : spec.indexes) {
    w.beginObject().field("name", idx.name).key("hash");
    appendKeyAttribute(w, idx.hash);
    if (idx.range) {
      w.key("range");
      appendKeyAttribute(w, *idx.range);
    }
    w.endObject();
  }
  w.endArray().endObject();
  return out;
}

Result<TableSpec> tableSpecFromJson(std::string_view json) {
  simdjson::dom::parser parser;
  element root;
  if (parser.parse(json.data(), json.size()).get(root)) return fail(Error::fatal("table spec is not JSON"));
  TableSpec spec;
  std::string_view name;
  if (root["name"].get_string().get(name)) return fail(Error::fatal("table spec without name"));
  spec.name = std::string(name);
  element hashElement;
  if (root["hash"].get(hashElement)) return fail(Error::fatal("table spec without hash key"));
  auto hash = keyAttributeFrom(hashElement);
  if (!hash) return fail(Error::fatal("table spec without hash key"));
  spec.hash = *hash;
  element range;
  if (!root["range"].get(range)) spec.range = keyAttributeFrom(range);
  std::string_view ttl;
  if (!root["ttl"].get_string().get(ttl)) spec.ttlAttribute = std::string(ttl);
  simdjson::dom::array indexes;
  if (!root["indexes"].get_array().get(indexes)) {
    for (element idx : indexes) {
      IndexSpec is;
      if (idx["name"].get_string().get(name)) return fail(Error::fatal("index without name"));
      is.name = std::string(name);
      element h;
      if (idx["hash"].get(h)) return fail(Error::fatal("index without hash key"));
      auto ih = keyAttributeFrom(h);
      if (!ih) return fail(Error::fatal("index without hash key"));
      is.hash = *ih;
      element r;
      if (!idx["range"].get(r)) is.range = keyAttributeFrom(r);
      spec.indexes.push_back(std::move(is));
    }
  }
  return spec;
}

}  // namespace cdc::store
