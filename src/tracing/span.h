#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/trace_context.h"

namespace cdc::tracing {

// A 16-byte trace id as two big-endian halves (`hi` first on the wire).
struct TraceId {
  uint64_t hi = 0;
  uint64_t lo = 0;
  bool valid() const { return hi != 0 || lo != 0; }
  friend bool operator==(const TraceId&, const TraceId&) = default;
};

// Where a span sits: its trace, its own id and whether the trace is sampled (W3C flag 01).
// `remote`: it came from another process (a record's traceparent).
struct SpanContext {
  TraceId traceId;
  uint64_t spanId = 0;
  bool sampled = false;
  bool remote = false;

  bool valid() const { return traceId.valid() && spanId != 0; }
  // "00-<trace id>-<span id>-<flags>", to hand the context on (an alert's header).
  std::string traceparent() const;
  // The context a valid traceparent names (remote).
  static SpanContext from(const TraceParent& parent);
  friend bool operator==(const SpanContext& a, const SpanContext& b) { return a.traceId == b.traceId && a.spanId == b.spanId; }
};

std::string hex(const TraceId& id);  // 32 lower-case hex digits
std::string hex(uint64_t spanId);    // 16

// OTLP's span kinds and status codes (their numbers on the wire).
enum class SpanKind : uint8_t { Internal = 1, Server = 2, Client = 3, Producer = 4, Consumer = 5 };
enum class StatusCode : uint8_t { Unset = 0, Ok = 1, Error = 2 };

// An attribute's value: the OTLP types a span of ours uses.
using Value = std::variant<std::string, int64_t, double, bool, std::vector<std::string>>;

// Keys are the semantic conventions' names, string literals (static storage): no copy per span.
struct Attribute {
  std::string_view key;
  Value value;
};

// A finished span as the exporter sends it.
struct SpanData {
  SpanContext context;
  uint64_t parentSpanId = 0;  // 0: a root span
  bool parentRemote = false;
  std::string name;
  SpanKind kind = SpanKind::Internal;
  int64_t startNs = 0;  // Unix time in nanoseconds
  int64_t endNs = 0;
  std::vector<Attribute> attributes;
  std::vector<SpanContext> links;
  uint32_t droppedLinks = 0;  // past the limit on links
  StatusCode status = StatusCode::Unset;
  std::string statusMessage;
};

// The resource every span of a process belongs to (service.name, service.version, …).
using Resource = std::vector<std::pair<std::string, std::string>>;

}  // namespace cdc::tracing
