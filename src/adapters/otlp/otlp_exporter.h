#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "adapters/aws/http_client.h"
#include "core/time.h"
#include "tracing/batch_processor.h"

namespace cdc::otlp {

// OTLP over HTTP, as the OTEL_EXPORTER_OTLP_* variables configure it.
struct OtlpOptions {
  std::string endpoint;  // the traces URL: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, or <OTEL_EXPORTER_OTLP_ENDPOINT>/v1/traces
  bool json = false;     // http/json; else http/protobuf (OTLP's default)
  bool gzip = false;     // Content-Encoding: gzip
  std::vector<std::pair<std::string, std::string>> headers;  // OTEL_EXPORTER_OTLP_HEADERS (an API key …)
  std::chrono::milliseconds timeout{10'000};                 // one export, retries included
  tracing::Resource resource;
  const TimeSource* time = &systemTime();  // the export's deadline
};

// Posts batches of spans to an OTLP/HTTP receiver (the OpenTelemetry Collector, Jaeger, a
// vendor's endpoint). The answers OTLP calls retryable (429, 502, 503, 504, no answer) are
// retried within the timeout, after Retry-After when the receiver gives one; anything else
// fails the export (its spans are dropped and counted by the processor). On the processor's
// thread only.
class OtlpHttpExporter final : public tracing::SpanExporter {
 public:
  // Throws std::invalid_argument for an endpoint that is not an http(s) URL.
  explicit OtlpHttpExporter(OtlpOptions options);
  ~OtlpHttpExporter() override;

  Status exportSpans(std::span<const tracing::SpanData> spans) override;
  std::string describe() const override;

 private:
  OtlpOptions options_;
  aws::HttpRequest base_;
  std::unique_ptr<aws::HttpClient> http_;
};

// The body compressed as gzip (RFC 1952).
std::string gzip(std::string_view body);

}  // namespace cdc::otlp
