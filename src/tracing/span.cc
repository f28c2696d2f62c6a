#include "tracing/span.h"

namespace cdc::tracing {
namespace {

void appendHex(std::string& out, uint64_t v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (int shift = 60; shift >= 0; shift -= 4) out.push_back(kDigits[(v >> shift) & 0xf]);
}

// Lower-case hex digits (a valid traceparent's) to their value, 16 at most.
uint64_t parseHex(std::string_view s) {
  uint64_t v = 0;
  for (char c : s) v = (v << 4) | static_cast<uint64_t>(c <= '9' ? c - '0' : c - 'a' + 10);
  return v;
}

}  // namespace

std::string hex(const TraceId& id) {
  std::string out;
  out.reserve(32);
  appendHex(out, id.hi);
  appendHex(out, id.lo);
  return out;
}

std::string hex(uint64_t spanId) {
  std::string out;
  out.reserve(16);
  appendHex(out, spanId);
  return out;
}

std::string SpanContext::traceparent() const {
  std::string out = "00-";
  out.reserve(55);
  appendHex(out, traceId.hi);
  appendHex(out, traceId.lo);
  out.push_back('-');
  appendHex(out, spanId);
  out += sampled ? "-01" : "-00";
  return out;
}

SpanContext SpanContext::from(const TraceParent& parent) {
  SpanContext c;
  c.traceId = {parseHex(parent.traceId.substr(0, 16)), parseHex(parent.traceId.substr(16, 16))};
  c.spanId = parseHex(parent.parentId);
  c.sampled = (parseHex(parent.value.substr(53, 2)) & 1) != 0;
  c.remote = true;
  return c;
}

}  // namespace cdc::tracing
