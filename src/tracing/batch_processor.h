#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "core/result.h"
#include "core/time.h"
#include "tracing/tracer.h"

namespace cdc::tracing {

// Sends a batch of spans somewhere (OTLP over HTTP). Called from the processor's thread only.
class SpanExporter {
 public:
  virtual ~SpanExporter() = default;
  // Fails when the spans did not arrive (they are then dropped and counted).
  virtual Status exportSpans(std::span<const SpanData> spans) = 0;
  virtual std::string describe() const = 0;
};

// The OTEL_BSP_* settings.
struct BatchOptions {
  size_t maxQueueSize = 2048;                       // spans waiting; past it new ones are dropped
  size_t maxExportBatchSize = 512;                  // spans per export
  std::chrono::milliseconds scheduleDelay{5'000};   // the longest a span waits for its export
  std::chrono::milliseconds exportTimeout{30'000};  // how long shutdown waits for the last exports
  // The schedule's clock (a test: a ManualTime, which the thread looks at every 100 ms at most).
  const TimeSource* time = &systemTime();
};

// Counts for /metrics; any thread reads.
struct ExportCounts {
  std::atomic<uint64_t> exported{0};
  std::atomic<uint64_t> droppedQueueFull{0};     // the queue was full (a collector down or slow)
  std::atomic<uint64_t> droppedExportFailed{0};  // the export failed (refused, unreachable)
  std::atomic<uint64_t> exports{0};              // export calls
  std::atomic<uint64_t> failedExports{0};
  std::atomic<size_t> queued{0};
};

// Ended spans into a bounded queue; a thread of its own exports them in batches (every
// scheduleDelay, or as soon as a batch is full). The pipeline never waits on the collector:
// onEnd() takes a lock only to append, and a full queue drops the span (counted, logged at
// most once a minute). Owns its thread; stop() (or the destructor) exports what is queued, for
// at most exportTimeout.
class BatchSpanProcessor final : public SpanSink {
 public:
  BatchSpanProcessor(std::unique_ptr<SpanExporter> exporter, BatchOptions options);
  ~BatchSpanProcessor() override;
  BatchSpanProcessor(const BatchSpanProcessor&) = delete;
  BatchSpanProcessor& operator=(const BatchSpanProcessor&) = delete;

  void onEnd(SpanData&& span) override;
  // Exports what is queued now and waits for it (at most `timeout`); true when it all went.
  bool flush(std::chrono::milliseconds timeout);
  // Exports what is queued (at most exportTimeout), then ends the thread. Spans ended later are
  // dropped.
  void stop();

  const ExportCounts& counts() const { return counts_; }
  const SpanExporter& exporter() const { return *exporter_; }

 private:
  void loop(const std::stop_token& stop);
  void exportBatch(std::vector<SpanData>& batch);

  std::unique_ptr<SpanExporter> exporter_;
  BatchOptions options_;
  ExportCounts counts_;
  std::mutex mutex_;
  std::condition_variable wake_;      // a full batch, a flush or the stop
  std::condition_variable exported_;  // a round of exports ended
  std::vector<SpanData> queue_;
  uint64_t flushRequested_ = 0;  // flush() calls so far
  uint64_t flushDone_ = 0;       // the flush() calls whose spans were exported
  bool stopping_ = false;
  std::atomic<int64_t> lastDropLogMs_{INT64_MIN / 2};  // steady clock, for the once-a-minute log
  TimeSource::Steady lastFailureLog_{};
  std::jthread thread_;  // last: started once everything it uses is
};

}  // namespace cdc::tracing
