#include "runtime/batch_trace.h"

#include <optional>
#include <unordered_set>

namespace cdc::runtime {
namespace {

// One destination name for the batch's span when its records share a topic.
std::string_view commonTopic(std::span<const Record> records) {
  std::string_view topic = records.empty() ? std::string_view() : records.front().topic;
  for (const Record& r : records) {
    if (r.topic.data() != topic.data() && r.topic != topic) return {};
  }
  return topic;
}

struct ContextHash {
  size_t operator()(const tracing::SpanContext& c) const { return c.traceId.hi ^ (c.traceId.lo * 31) ^ (c.spanId * 131); }
};

}  // namespace

void BatchTrace::setMessaging(tracing::Span& span) const {
  span.set("messaging.system", "kafka").set("messaging.operation.type", "process").set("messaging.operation.name", "process");
  if (!consumerGroup_.empty()) span.set("messaging.consumer.group.name", std::string_view(consumerGroup_));
}

BatchTrace::Parents BatchTrace::gatherParents(tracing::Tracer& tracer, std::span<const Record> records) {
  // The records' parents: a record with a valid traceparent has one; one with a malformed
  // header gets a new trace of its own (its span is a root). The batch needs only the first
  // maxLinks + 1 distinct ones (links past the limit are counted, not kept). Contexts are made
  // only for these and for the records that get a span (a record of a stream sampled at 1%
  // costs a parse and nothing more).
  const size_t maxLinks = tracer.options().maxLinks;
  const tracing::Sampler& sampler = tracer.options().sampler;
  Parents out;
  std::unordered_set<tracing::SpanContext, ContextHash> distinct;
  for (size_t i = 0; i < records.size(); ++i) {
    const std::string* header = records[i].header("traceparent");
    if (!header) continue;
    if (out.spanKind.empty()) out.spanKind.resize(records.size(), kNoSpan);
    auto parsed = parseTraceParent(*header);
    if (!parsed) {
      tracer.invalidParent(*header, records[i].topic);
      out.spanKind[i] = kFreshSpan;
      continue;
    }
    const char last = parsed->value[54];  // the flags' low hex digit: its low bit is "sampled"
    const bool flagged = ((last <= '9' ? last - '0' : last - 'a' + 10) & 1) != 0;
    const bool tracked = out.contexts.size() <= maxLinks;
    if (!tracked && sampler.parentBased()) {
      ++out.untracked;
      if (flagged) out.spanKind[i] = kChildSpan;
      continue;
    }
    auto context = tracing::SpanContext::from(*parsed);
    if (sampler.sample(&context, context.traceId)) out.spanKind[i] = kChildSpan;
    if (!tracked) {
      ++out.untracked;
    } else if ((out.contexts.empty() || !(out.contexts.back() == context)) && distinct.insert(context).second) {
      out.contexts.push_back(context);
    }
  }
  return out;
}

BatchTrace::BatchTrace(tracing::Tracer& tracer, const std::string& consumerGroup, std::span<const Record> records,
                       int64_t startNs)
    : tracer_(tracer), consumerGroup_(consumerGroup), first_(records.empty() ? nullptr : records.data()) {
  Parents parents = gatherParents(tracer, records);
  // The batch's span: the child of its records' one parent, else a root linking each parent.
  std::string_view topic = commonTopic(records);
  std::string name = topic.empty() ? std::string("process") : "process " + std::string(topic);
  if (parents.contexts.size() == 1) {
    batch_ = tracer.start(name, tracing::SpanKind::Consumer, &parents.contexts.front(), {}, startNs);
  } else {
    batch_ = tracer.start(name, tracing::SpanKind::Consumer, nullptr, parents.contexts, startNs);
    batch_.countDroppedLinks(parents.untracked);
  }
  if (batch_.recording()) {
    setMessaging(batch_);
    batch_.set("messaging.batch.message_count", static_cast<int64_t>(records.size()));
    if (!topic.empty()) batch_.set("messaging.destination.name", topic);
  }
  for (size_t i = 0; i < parents.spanKind.size(); ++i) {
    if (parents.spanKind[i] != kNoSpan) startRecordSpan(tracer, records, i, parents.spanKind[i] == kChildSpan, startNs);
  }
}

void BatchTrace::startRecordSpan(tracing::Tracer& tracer, std::span<const Record> records, size_t i, bool child,
                                 int64_t startNs) {
  std::optional<tracing::SpanContext> parentContext;
  if (child) parentContext = tracing::SpanContext::from(*parseTraceParent(*records[i].header("traceparent")));
  const tracing::SpanContext* parent = parentContext ? &*parentContext : nullptr;
  const Record& r = records[i];
  tracing::Span span = tracer.start("process " + std::string(r.topic), tracing::SpanKind::Consumer, parent, {}, startNs);
  if (!span.recording()) return;
  setMessaging(span);
  span.set("messaging.destination.name", r.topic)
      .set("messaging.destination.partition.id", std::to_string(r.partition))
      .set("messaging.kafka.offset", r.offset);
  if (r.value) {
    span.set("messaging.message.body.size", static_cast<int64_t>(r.value->size()));
  } else {
    span.set("messaging.kafka.message.tombstone", true);
  }
  span.addLink(batch_.context());
  if (spanOf_.empty()) spanOf_.assign(records.size(), -1);
  spanOf_[i] = static_cast<int32_t>(records_.size());
  records_.push_back(std::move(span));
}

BatchTrace::~BatchTrace() {
  if (batch_.recording()) batch_.set("cdc.dead_letters", deadLetters_);
  const int64_t end = tracer_.nowNs();
  for (auto& span : records_) span.end(end);
  batch_.end(end);
}

int32_t BatchTrace::spanIndex(const Record& r) const {
  if (spanOf_.empty() || first_ == nullptr) return -1;
  auto i = &r - first_;
  return i < 0 || static_cast<size_t>(i) >= spanOf_.size() ? -1 : spanOf_[static_cast<size_t>(i)];
}

const tracing::SpanContext* BatchTrace::recordSpan(const Record& r) const {
  int32_t at = spanIndex(r);
  return at < 0 ? nullptr : &records_[static_cast<size_t>(at)].context();
}

void BatchTrace::deadLettered(const Record& r, std::string_view kind, std::string_view reason) {
  ++deadLetters_;
  if (int32_t at = spanIndex(r); at >= 0) records_[static_cast<size_t>(at)].fail(kind, reason);
}

}  // namespace cdc::runtime
