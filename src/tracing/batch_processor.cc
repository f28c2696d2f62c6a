#include "tracing/batch_processor.h"

#include <algorithm>

#include "core/log.h"

namespace cdc::tracing {
namespace {

constexpr auto kLogInterval = std::chrono::minutes(1);
constexpr auto kLongestWait = std::chrono::milliseconds(100);

}  // namespace

BatchSpanProcessor::BatchSpanProcessor(std::unique_ptr<SpanExporter> exporter, BatchOptions options)
    : exporter_(std::move(exporter)), options_(options) {
  options_.maxExportBatchSize = std::max<size_t>(1, std::min(options_.maxExportBatchSize, options_.maxQueueSize));
  queue_.reserve(options_.maxQueueSize);
  thread_ = std::jthread([this](const std::stop_token& stop) { loop(stop); });
}

BatchSpanProcessor::~BatchSpanProcessor() { stop(); }

void BatchSpanProcessor::onEnd(SpanData&& span) {
  bool full = false, wake = false;
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || queue_.size() >= options_.maxQueueSize) {
      full = true;
    } else {
      queue_.push_back(std::move(span));
      counts_.queued.store(queue_.size(), std::memory_order_relaxed);
      wake = queue_.size() == options_.maxExportBatchSize;
    }
  }
  if (wake) wake_.notify_one();
  if (!full) return;
  uint64_t dropped = counts_.droppedQueueFull.fetch_add(1, std::memory_order_relaxed) + 1;
  const int64_t nowMs = std::chrono::duration_cast<std::chrono::milliseconds>(options_.time->steady().time_since_epoch()).count();
  int64_t last = lastDropLogMs_.load(std::memory_order_relaxed);
  if (nowMs - last < std::chrono::milliseconds(kLogInterval).count() ||
      !lastDropLogMs_.compare_exchange_strong(last, nowMs, std::memory_order_relaxed)) {
    return;
  }
  log::event(spdlog::level::warn, "trace_spans_dropped",
             {{"reason", "queue_full"},
              {"dropped_total", std::to_string(dropped), true},
              {"queue_size", std::to_string(options_.maxQueueSize), true},
              {"detail", "the span queue is full (" + exporter_->describe() +
                             " is down or slower than the spans come); the pipeline goes on, spans are dropped and counted "
                             "(logged at most once a minute)"}});
}

void BatchSpanProcessor::exportBatch(std::vector<SpanData>& batch) {
  if (batch.empty()) return;
  ++counts_.exports;
  Status s = exporter_->exportSpans(batch);
  if (s) {
    counts_.exported += batch.size();
  } else {
    ++counts_.failedExports;
    counts_.droppedExportFailed += batch.size();
    auto now = options_.time->steady();
    if (now - lastFailureLog_ >= kLogInterval) {
      lastFailureLog_ = now;
      log::event(spdlog::level::warn, "trace_export_failed",
                 {{"exporter", exporter_->describe()},
                  {"spans", std::to_string(batch.size()), true},
                  {"dropped_total", std::to_string(counts_.droppedExportFailed.load()), true},
                  {"error", s.error().message},
                  {"detail", "these spans are dropped and counted; the pipeline goes on (logged at most once a minute)"}});
    }
  }
  batch.clear();
}

void BatchSpanProcessor::loop(const std::stop_token& stop) {
  std::vector<SpanData> batch;
  batch.reserve(options_.maxExportBatchSize);
  const TimeSource& time = *options_.time;
  auto nextExport = time.steady() + options_.scheduleDelay;
  std::unique_lock lock(mutex_);
  while (true) {
    // In steps of at most 100 ms on the real clock, so that a clock a test moves is seen.
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(nextExport - time.steady());
    wake_.wait_for(lock, std::clamp(left, std::chrono::milliseconds(0), kLongestWait), [&] {
      return stopping_ || stop.stop_requested() || queue_.size() >= options_.maxExportBatchSize || flushRequested_ > flushDone_;
    });
    const bool draining = stopping_ || stop.stop_requested();
    const uint64_t flushing = flushRequested_;
    const bool due = time.steady() >= nextExport || flushing > flushDone_ || draining;
    // The last exports at a stop take at most exportTimeout; what is left then is dropped.
    const auto drainDeadline = time.steady() + options_.exportTimeout;
    // Everything queued goes out when due; else (a full batch came early) whole batches only.
    while (!queue_.empty() && (due || queue_.size() >= options_.maxExportBatchSize)) {
      if (draining && time.steady() >= drainDeadline) {
        counts_.droppedExportFailed += queue_.size();
        queue_.clear();
        counts_.queued.store(0, std::memory_order_relaxed);
        break;
      }
      size_t n = std::min(queue_.size(), options_.maxExportBatchSize);
      std::move(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(n), std::back_inserter(batch));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(n));
      counts_.queued.store(queue_.size(), std::memory_order_relaxed);
      lock.unlock();
      exportBatch(batch);
      lock.lock();
    }
    if (due) nextExport = time.steady() + options_.scheduleDelay;
    flushDone_ = std::max(flushDone_, flushing);
    exported_.notify_all();
    if (draining) return;
  }
}

bool BatchSpanProcessor::flush(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  if (stopping_) return queue_.empty();
  uint64_t ticket = ++flushRequested_;
  wake_.notify_one();
  return exported_.wait_for(lock, timeout, [&] { return flushDone_ >= ticket; }) && queue_.empty();
}

void BatchSpanProcessor::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_one();
  // The last exports are bounded by the exporter's own timeout; the thread is joined after.
  if (thread_.joinable()) thread_.join();
}

}  // namespace cdc::tracing
