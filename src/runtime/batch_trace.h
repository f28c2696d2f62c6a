#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/record.h"
#include "tracing/tracer.h"

namespace cdc::runtime {

// The spans of one batch, as the OpenTelemetry messaging conventions describe a consumer's
// processing: one "process" span for the batch, a child of its records' trace when they all
// have one parent, else a root with a link to each parent; and one span per record whose trace
// is sampled, a child of its traceparent (a malformed traceparent starts a new trace, sampled
// as a root). Everything the batch does in its stores happens under the batch span. On the
// runner's thread; the records must outlive it.
class BatchTrace {
 public:
  BatchTrace(tracing::Tracer& tracer, const std::string& consumerGroup, std::span<const Record> records, int64_t startNs);
  BatchTrace(const BatchTrace&) = delete;
  BatchTrace& operator=(const BatchTrace&) = delete;
  ~BatchTrace();

  tracing::Span& span() { return batch_; }
  // The record's own span, when it has one (its effects, an alert, carry it on).
  const tracing::SpanContext* recordSpan(const Record& r) const;
  // The record became a dead letter: its span (and the batch's count) says why.
  void deadLettered(const Record& r, std::string_view kind, std::string_view reason);

 private:
  // What a record gets: no span of its own, a child of its parent (sampled), or a root of a new
  // trace (its traceparent was malformed).
  enum SpanKind : uint8_t { kNoSpan, kChildSpan, kFreshSpan };
  // The batch's parents (the first maxLinks + 1 distinct ones; how many more were not told
  // apart) and, when any record had a header, what each record gets.
  struct Parents {
    std::vector<tracing::SpanContext> contexts;
    uint32_t untracked = 0;
    std::vector<uint8_t> spanKind;  // SpanKind by record; empty when no record had a header
  };
  static Parents gatherParents(tracing::Tracer& tracer, std::span<const Record> records);
  void startRecordSpan(tracing::Tracer& tracer, std::span<const Record> records, size_t i, bool child, int64_t startNs);
  void setMessaging(tracing::Span& span) const;
  // Into records_: the record's span, or -1.
  int32_t spanIndex(const Record& r) const;

  const tracing::Tracer& tracer_;
  const std::string& consumerGroup_;
  const Record* first_ = nullptr;
  tracing::Span batch_;
  std::vector<tracing::Span> records_;  // the records' spans
  std::vector<int32_t> spanOf_;         // by record index: into records_, or -1 (empty when none)
  int64_t deadLetters_ = 0;
};

}  // namespace cdc::runtime
