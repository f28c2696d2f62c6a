#include "store/item_codec.h"

#include <algorithm>

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
    case AttributeValue::Type::S: appendJsonString(out, v.text()); break;
    case AttributeValue::Type::N: out += v.text(); break;
    case AttributeValue::Type::B: appendJsonString(out, base64Encode(v.text())); break;
    case AttributeValue::Type::BOOL: out += v.asBool() ? "true" : "false"; break;
    case AttributeValue::Type::NUL: out += "null"; break;
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
    case AttributeValue::Type::M: appendPlainJson(out, v.asMap()); break;
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
    case AttributeValue::Type::S: appendJsonString(out, v.text()); break;
    case AttributeValue::Type::N:
      if (std::all_of(v.text().begin(), v.text().end(), [](char c) { return (c >= '0' && c <= '9') || c == '-' || c == '.'; })) {
        out.push_back('"');  // a canonical number: nothing to escape
        out += v.text();
        out.push_back('"');
      } else {
        appendJsonString(out, v.text());
      }
      break;
    case AttributeValue::Type::B: appendJsonString(out, base64Encode(v.text())); break;
    case AttributeValue::Type::BOOL: out += v.asBool() ? "true" : "false"; break;
    case AttributeValue::Type::NUL: out += "true"; break;
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
    case AttributeValue::Type::M: appendDynamoJson(out, v.asMap()); break;
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
