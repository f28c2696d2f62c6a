#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "tracing/span.h"

namespace cdc::tracing {

// Whether a new span is recorded and exported, as OTEL_TRACES_SAMPLER and
// OTEL_TRACES_SAMPLER_ARG say: always_on, always_off, traceidratio (a share of trace ids,
// decided on the id alone so every process of a trace agrees), and parentbased_* (a span
// with a parent follows the parent's sampled flag; a root span is decided by the named one).
// The default, as the OpenTelemetry SDKs': parentbased_always_on.
class Sampler {
 public:
  enum class Root : uint8_t { AlwaysOn, AlwaysOff, Ratio };

  Sampler() = default;
  Sampler(Root root, bool parentBased, double ratio = 1.0);
  // From the variables' values; nullopt for an unknown name or a ratio outside [0, 1] (`why`
  // says which).
  static std::optional<Sampler> parse(std::string_view name, std::string_view arg, std::string& why);

  // Whether a span of trace `id` with `parent` (none: a root) is sampled.
  bool sample(const SpanContext* parent, const TraceId& id) const;
  // Whether a span with a parent follows the parent's sampled flag alone.
  bool parentBased() const { return parentBased_; }
  // "parentbased_traceidratio{0.01}".
  std::string describe() const;

 private:
  bool rootDecision(const TraceId& id) const;

  Root root_ = Root::AlwaysOn;
  bool parentBased_ = true;
  double ratio_ = 1.0;
  uint64_t bound_ = UINT64_MAX;  // the lower 64 bits of a sampled trace id are below it
};

}  // namespace cdc::tracing
