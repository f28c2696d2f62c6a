#include "tracing/otlp_encoding.h"

#include <cstring>

#include <fmt/format.h>

#include "core/json_writer.h"

namespace cdc::tracing {
namespace {

// --- protobuf: the wire format by hand (varints, fixed64/32, length-delimited fields). ---

enum WireType : uint8_t { kVarint = 0, kFixed64 = 1, kLength = 2, kFixed32 = 5 };

void varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void tag(std::string& out, uint32_t field, WireType type) { varint(out, (static_cast<uint64_t>(field) << 3) | type); }

void bytesField(std::string& out, uint32_t field, std::string_view bytes) {
  tag(out, field, kLength);
  varint(out, bytes.size());
  out.append(bytes);
}

void fixed64Field(std::string& out, uint32_t field, uint64_t v) {
  tag(out, field, kFixed64);
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void fixed32Field(std::string& out, uint32_t field, uint32_t v) {
  tag(out, field, kFixed32);
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void varintField(std::string& out, uint32_t field, uint64_t v) {
  tag(out, field, kVarint);
  varint(out, v);
}

// A nested message: written into a buffer of its own, then framed into `out` (its length first).
template <typename Body>
void message(std::string& out, uint32_t field, Body&& body) {
  std::string inner;
  body(inner);
  bytesField(out, field, inner);
}

std::string bigEndian(uint64_t v) {
  std::string b(8, '\0');
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>((v >> (8 * (7 - i))) & 0xff);
  return b;
}

std::string traceIdBytes(const TraceId& id) { return bigEndian(id.hi) + bigEndian(id.lo); }

// AnyValue (common.proto): string 1, bool 2, int 3, double 4, array 5.
void anyValue(std::string& out, const Value& v) {
  if (const auto* s = std::get_if<std::string>(&v)) {
    bytesField(out, 1, *s);
  } else if (const auto* b = std::get_if<bool>(&v)) {
    varintField(out, 2, *b ? 1 : 0);
  } else if (const auto* i = std::get_if<int64_t>(&v)) {
    varintField(out, 3, static_cast<uint64_t>(*i));
  } else if (const auto* d = std::get_if<double>(&v)) {
    uint64_t bits;
    std::memcpy(&bits, d, sizeof bits);
    fixed64Field(out, 4, bits);
  } else if (const auto* list = std::get_if<std::vector<std::string>>(&v)) {
    message(out, 5, [&](std::string& array) {
      for (const auto& item : *list) message(array, 1, [&](std::string& value) { bytesField(value, 1, item); });
    });
  }
}

// KeyValue: key 1, value 2.
void keyValue(std::string& out, uint32_t field, std::string_view key, const Value& value) {
  message(out, field, [&](std::string& kv) {
    bytesField(kv, 1, key);
    message(kv, 2, [&](std::string& any) { anyValue(any, value); });
  });
}

// W3C flags in the low byte, and whether the parent (or link) is remote (bits 8 and 9).
uint32_t spanFlags(bool sampled, bool remote) { return (sampled ? 0x01u : 0u) | 0x100u | (remote ? 0x200u : 0u); }

void spanMessage(std::string& out, const SpanData& s) {
  bytesField(out, 1, traceIdBytes(s.context.traceId));
  bytesField(out, 2, bigEndian(s.context.spanId));
  if (s.parentSpanId != 0) bytesField(out, 4, bigEndian(s.parentSpanId));
  bytesField(out, 5, s.name);
  varintField(out, 6, static_cast<uint64_t>(s.kind));
  fixed64Field(out, 7, static_cast<uint64_t>(s.startNs));
  fixed64Field(out, 8, static_cast<uint64_t>(s.endNs));
  for (const auto& a : s.attributes) keyValue(out, 9, a.key, a.value);
  for (const auto& link : s.links) {
    message(out, 13, [&](std::string& l) {
      bytesField(l, 1, traceIdBytes(link.traceId));
      bytesField(l, 2, bigEndian(link.spanId));
      fixed32Field(l, 6, spanFlags(link.sampled, link.remote));
    });
  }
  if (s.droppedLinks) varintField(out, 14, s.droppedLinks);
  if (s.status != StatusCode::Unset) {
    message(out, 15, [&](std::string& st) {
      if (!s.statusMessage.empty()) bytesField(st, 2, s.statusMessage);
      varintField(st, 3, static_cast<uint64_t>(s.status));
    });
  }
  fixed32Field(out, 16, spanFlags(s.context.sampled, s.parentRemote));
}

// --- JSON ---

void jsonValue(JsonWriter& w, const Value& v) {
  w.beginObject();
  if (const auto* s = std::get_if<std::string>(&v)) {
    w.field("stringValue", *s);
  } else if (const auto* b = std::get_if<bool>(&v)) {
    w.field("boolValue", *b);
  } else if (const auto* i = std::get_if<int64_t>(&v)) {
    w.field("intValue", std::to_string(*i));  // int64 as a string, as the JSON mapping asks
  } else if (const auto* d = std::get_if<double>(&v)) {
    w.key("doubleValue").raw(fmt::format("{}", *d));
  } else if (const auto* list = std::get_if<std::vector<std::string>>(&v)) {
    w.key("arrayValue").beginObject().key("values").beginArray();
    for (const auto& item : *list) w.beginObject().field("stringValue", item).endObject();
    w.endArray().endObject();
  }
  w.endObject();
}

void jsonAttributes(JsonWriter& w, std::span<const Attribute> attributes) {
  w.key("attributes").beginArray();
  for (const auto& a : attributes) {
    w.beginObject().field("key", a.key).key("value");
    jsonValue(w, a.value);
    w.endObject();
  }
  w.endArray();
}

}  // namespace

std::string encodeProtobuf(const Resource& resource, std::string_view scopeName, std::string_view scopeVersion,
                           std::span<const SpanData> spans) {
  std::string out;
  // ExportTraceServiceRequest.resource_spans (1) → ResourceSpans {resource 1, scope_spans 2}.
  message(out, 1, [&](std::string& rs) {
    message(rs, 1, [&](std::string& r) {
      for (const auto& [k, v] : resource) keyValue(r, 1, k, Value(v));
    });
    message(rs, 2, [&](std::string& ss) {
      message(ss, 1, [&](std::string& scope) {
        bytesField(scope, 1, scopeName);
        bytesField(scope, 2, scopeVersion);
      });
      for (const auto& s : spans) message(ss, 2, [&](std::string& span) { spanMessage(span, s); });
    });
  });
  return out;
}

std::string encodeJson(const Resource& resource, std::string_view scopeName, std::string_view scopeVersion,
                       std::span<const SpanData> spans) {
  std::string out;
  JsonWriter w(out);
  w.beginObject().key("resourceSpans").beginArray().beginObject();
  w.key("resource").beginObject().key("attributes").beginArray();
  for (const auto& [k, v] : resource) {
    w.beginObject().field("key", k).key("value").beginObject().field("stringValue", v).endObject().endObject();
  }
  w.endArray().endObject();
  w.key("scopeSpans").beginArray().beginObject();
  w.key("scope").beginObject().field("name", scopeName).field("version", scopeVersion).endObject();
  w.key("spans").beginArray();
  for (const auto& s : spans) {
    w.beginObject();
    w.field("traceId", hex(s.context.traceId)).field("spanId", hex(s.context.spanId));
    if (s.parentSpanId != 0) w.field("parentSpanId", hex(s.parentSpanId));
    w.field("flags", static_cast<int64_t>(spanFlags(s.context.sampled, s.parentRemote)));
    w.field("name", s.name).field("kind", static_cast<int64_t>(s.kind));
    w.field("startTimeUnixNano", std::to_string(s.startNs)).field("endTimeUnixNano", std::to_string(s.endNs));
    jsonAttributes(w, s.attributes);
    w.key("links").beginArray();
    for (const auto& link : s.links) {
      w.beginObject()
          .field("traceId", hex(link.traceId))
          .field("spanId", hex(link.spanId))
          .field("flags", static_cast<int64_t>(spanFlags(link.sampled, link.remote)))
          .endObject();
    }
    w.endArray();
    if (s.droppedLinks) w.field("droppedLinksCount", static_cast<int64_t>(s.droppedLinks));
    w.key("status").beginObject();
    if (s.status != StatusCode::Unset) {
      w.field("code", static_cast<int64_t>(s.status));
      if (!s.statusMessage.empty()) w.field("message", s.statusMessage);
    }
    w.endObject();
    w.endObject();
  }
  w.endArray().endObject().endArray();
  w.endObject().endArray().endObject();
  return out;
}

}  // namespace cdc::tracing
