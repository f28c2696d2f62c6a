#include "tracing/tracer.h"

#include <chrono>
#include <random>

#include "core/log.h"

namespace cdc::tracing {
namespace {

thread_local Span* currentSpan = nullptr;

// Ids from a per-thread generator seeded once from the system's entropy.
uint64_t randomId() {
  thread_local std::mt19937_64 rng{[] {
    std::random_device device;
    return (static_cast<uint64_t>(device()) << 32) ^ device();
  }()};
  uint64_t v = 0;
  while (v == 0) v = rng();
  return v;
}

}  // namespace

Span Tracer::start(std::string name, SpanKind kind, const SpanContext* parent, std::span<const SpanContext> links,
                   int64_t startNs) {
  if (parent && !parent->valid()) parent = nullptr;
  Span span;
  span.tracer_ = this;
  span.context_.traceId = parent ? parent->traceId : TraceId{randomId(), randomId()};
  span.context_.spanId = randomId();
  span.context_.sampled = options_.sampler.sample(parent, span.context_.traceId);
  if (!span.context_.sampled) return span;
  auto data = std::make_unique<SpanData>();
  data->context = span.context_;
  if (parent) {
    data->parentSpanId = parent->spanId;
    data->parentRemote = parent->remote;
  }
  data->name = std::move(name);
  data->kind = kind;
  data->startNs = startNs != 0 ? startNs : nowNs();
  span.data_ = std::move(data);
  for (const auto& link : links) span.addLink(link);
  return span;
}

void Tracer::invalidParent(std::string_view header, std::string_view where) {
  uint64_t seen = invalidParents_.fetch_add(1, std::memory_order_relaxed) + 1;
  const int64_t nowMs = std::chrono::duration_cast<std::chrono::milliseconds>(options_.time->steady().time_since_epoch()).count();
  int64_t last = invalidLoggedMs_.load(std::memory_order_relaxed);
  if (nowMs - last < 60'000 || !invalidLoggedMs_.compare_exchange_strong(last, nowMs, std::memory_order_relaxed)) return;
  uint64_t before = invalidLogged_.exchange(seen, std::memory_order_relaxed);
  log::event(spdlog::level::warn, "invalid_traceparent",
             {{"where", where},
              {"traceparent", header.substr(0, 80)},
              {"since_last_log", std::to_string(seen - before), true},
              {"detail",
               "not W3C Trace Context (00-<32 hex>-<16 hex>-<2 hex>): the record starts a new trace "
               "(logged at most once a minute)"}});
}

Span::Span(Span&& other) noexcept { *this = std::move(other); }

Span& Span::operator=(Span&& other) noexcept {
  if (this != &other) {
    end();
    tracer_ = other.tracer_;
    data_ = std::move(other.data_);
    context_ = other.context_;
    onlyWithChildren_ = other.onlyWithChildren_;
    hadChildren_ = other.hadChildren_;
    other.tracer_ = nullptr;
  }
  return *this;
}

Span& Span::set(std::string_view key, Value value) {
  if (data_) data_->attributes.push_back({key, std::move(value)});
  return *this;
}

void Span::addLink(const SpanContext& link) {
  if (!data_ || !link.valid()) return;
  if (data_->links.size() < tracer_->options().maxLinks) {
    data_->links.push_back(link);
  } else {
    ++data_->droppedLinks;
  }
}

void Span::fail(std::string_view type, std::string_view message) {
  if (!data_) return;
  data_->status = StatusCode::Error;
  data_->statusMessage = std::string(message);
  set("error.type", type);
}

Span Span::child(std::string name, SpanKind kind) {
  if (!data_) return {};
  hadChildren_ = true;
  return tracer_->start(std::move(name), kind, &context_);
}

void Span::end(int64_t endNs) {
  if (!data_) return;
  std::unique_ptr<SpanData> data = std::move(data_);
  if (onlyWithChildren_ && !hadChildren_) return;
  data->endNs = endNs != 0 ? endNs : tracer_->nowNs();
  tracer_->end(std::move(*data));
}

Scope::Scope(Span& span) : previous_(currentSpan) { currentSpan = &span; }
Scope::~Scope() { currentSpan = previous_; }

Span* current() { return currentSpan; }

}  // namespace cdc::tracing
