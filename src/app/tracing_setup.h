#pragma once

#include <memory>
#include <string>

#include "config/components.h"
#include "tracing/batch_processor.h"
#include "tracing/tracer.h"

namespace cdc::metrics {
class Registry;
}  // namespace cdc::metrics

namespace cdc::app {

// A service's tracing, as the standard OTEL_* variables configure it: spans exported over
// OTLP/HTTP in the background (tracing::BatchSpanProcessor), a sampler, the resource. Owns the
// export thread; whatever records spans (the runner, the stores) must be done before it goes,
// and its destructor exports what is queued (at most OTEL_BSP_EXPORT_TIMEOUT).
class Tracing {
 public:
  // None when no endpoint is set, OTEL_TRACES_EXPORTER=none or OTEL_SDK_DISABLED=true. A bad
  // value throws ConfigError naming its variable.
  static std::unique_ptr<Tracing> open(const config::Config& c, const std::string& service);
  ~Tracing();

  tracing::Tracer& tracer() { return *tracer_; }
  // cdc_trace_spans_exported_total, cdc_trace_spans_dropped_total{reason},
  // cdc_trace_export_failures_total, cdc_trace_queue_spans and
  // cdc_trace_invalid_traceparent_total, read from the processor at each scrape.
  void instrument(metrics::Registry& registry, const std::string& service);

 private:
  Tracing() = default;
  std::unique_ptr<tracing::BatchSpanProcessor> processor_;
  std::unique_ptr<tracing::Tracer> tracer_;
  std::shared_ptr<void> collector_;  // goes first: it reads the two above
};

}  // namespace cdc::app
