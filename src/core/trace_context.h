#pragma once

#include <optional>
#include <string_view>

namespace cdc {

// A W3C Trace Context `traceparent` value (https://www.w3.org/TR/trace-context/):
// "00-<trace-id: 32 hex>-<parent-id: 16 hex>-<flags: 2 hex>", lowercase, ids not all zero,
// version not "ff" (a later version may add fields after a '-', which are ignored). Views into
// the value it was read from.
struct TraceParent {
  std::string_view value;     // the header's value as it came (the version-00 part of it)
  std::string_view traceId;   // 32 hex digits
  std::string_view parentId;  // 16 hex digits: the producer's span
};

// The trace context in a header value, or nullopt when it is not a valid traceparent (the
// header is then ignored, as the specification asks).
std::optional<TraceParent> parseTraceParent(std::string_view header);

}  // namespace cdc
