#pragma once

#include <span>
#include <string>
#include <string_view>

#include "tracing/span.h"

namespace cdc::tracing {

// An OTLP ExportTraceServiceRequest (opentelemetry/proto/collector/trace/v1) of `spans` under
// one resource and scope, in the two encodings OTLP/HTTP takes: binary protobuf
// (application/x-protobuf) and the OTLP JSON mapping (application/json: ids in hex, 64-bit
// integers as strings, enums as numbers).
std::string encodeProtobuf(const Resource& resource, std::string_view scopeName, std::string_view scopeVersion,
                           std::span<const SpanData> spans);
std::string encodeJson(const Resource& resource, std::string_view scopeName, std::string_view scopeVersion,
                       std::span<const SpanData> spans);

}  // namespace cdc::tracing
