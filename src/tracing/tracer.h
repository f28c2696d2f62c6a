#pragma once

#include <atomic>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "core/time.h"
#include "tracing/sampler.h"
#include "tracing/span.h"

namespace cdc::tracing {

// Where ended spans go (the batch processor). Called from any thread; must not block.
class SpanSink {
 public:
  virtual ~SpanSink() = default;
  virtual void onEnd(SpanData&& span) = 0;
};

struct TracerOptions {
  Sampler sampler;
  size_t maxLinks = 128;                   // OTEL_SPAN_LINK_COUNT_LIMIT's default: past it links are counted, not kept
  const TimeSource* time = &systemTime();  // the spans' times (a test: a ManualTime)
};

class Span;

// Starts spans: new ids, the sampler's decision, and ends them into the sink. Thread-safe (ids
// come from a per-thread generator). Lives as long as every span it started.
class Tracer {
 public:
  Tracer(TracerOptions options, SpanSink& sink) : options_(options), sink_(sink) {}

  // A span under `parent` when it is valid (then in its trace), else the root of a new trace,
  // with links to `links` (a batch's many parents). Not recording when the sampler says no:
  // then it costs nothing but its ids.
  Span start(std::string name, SpanKind kind, const SpanContext* parent = nullptr, std::span<const SpanContext> links = {},
             int64_t startNs = 0);
  const TracerOptions& options() const { return options_; }
  // Unix time now in nanoseconds (the spans' clock).
  int64_t nowNs() const { return options_.time->wall().micros * 1000; }
  void end(SpanData&& data) { sink_.onEnd(std::move(data)); }

  // A traceparent header that is not valid W3C Trace Context (its record starts a new trace):
  // counted, and logged at most once a minute with the number seen since.
  void invalidParent(std::string_view header, std::string_view where);
  uint64_t invalidParents() const { return invalidParents_.load(std::memory_order_relaxed); }

 private:
  TracerOptions options_;
  SpanSink& sink_;
  std::atomic<uint64_t> invalidParents_{0};
  std::atomic<uint64_t> invalidLogged_{0};               // invalidParents_ at the last log line
  std::atomic<int64_t> invalidLoggedMs_{INT64_MIN / 2};  // steady clock
};

// One operation, ended (and handed to the exporter) by end() or its destructor. Attributes,
// links and status are kept only while it records. Move-only; one thread at a time.
class Span {
 public:
  Span() = default;
  Span(Span&& other) noexcept;
  Span& operator=(Span&& other) noexcept;
  Span(const Span&) = delete;
  Span& operator=(const Span&) = delete;
  ~Span() { end(); }

  bool recording() const { return data_ != nullptr; }
  // Invalid for a span that was never started.
  const SpanContext& context() const { return context_; }
  Tracer* tracer() const { return tracer_; }

  Span& set(std::string_view key, Value value);
  Span& set(std::string_view key, const char* value) { return set(key, Value(std::string(value))); }
  Span& set(std::string_view key, std::string_view value) { return set(key, Value(std::string(value))); }
  Span& set(std::string_view key, std::string value) { return set(key, Value(std::move(value))); }
  Span& set(std::string_view key, int64_t value) { return set(key, Value(value)); }
  Span& set(std::string_view key, int32_t value) { return set(key, Value(static_cast<int64_t>(value))); }
  Span& set(std::string_view key, uint64_t value) { return set(key, Value(static_cast<int64_t>(value))); }
  Span& set(std::string_view key, bool value) { return set(key, Value(value)); }
  void addLink(const SpanContext& link);
  // Links left out beyond those added (past a limit counted by the caller).
  void countDroppedLinks(uint32_t n) {
    if (data_) data_->droppedLinks += n;
  }
  // An error: status Error with `message`, and the conventions' error.type.
  void fail(std::string_view type, std::string_view message);
  // A span that is only worth its children (a periodic tick that may do nothing): dropped at
  // its end unless a child was started under it.
  void keepOnlyWithChildren() { onlyWithChildren_ = true; }
  // A child of this span (not recording when this one is not).
  Span child(std::string name, SpanKind kind);
  void end(int64_t endNs = 0);

 private:
  friend class Tracer;
  Tracer* tracer_ = nullptr;
  std::unique_ptr<SpanData> data_;
  SpanContext context_;
  bool onlyWithChildren_ = false;
  bool hadChildren_ = false;
};

// Makes `span` the thread's current span until it goes (the store calls under a batch become
// its children). Nests.
class Scope {
 public:
  explicit Scope(Span& span);
  ~Scope();
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  Span* previous_;
};

// The thread's current span, or null.
Span* current();

}  // namespace cdc::tracing
