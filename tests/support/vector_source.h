#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <vector>

#include "runtime/runner.h"
#include "runtime/source.h"

namespace cdc::test {

// A scripted in-memory source: serves `records` in batches and records the commits.
class VectorSource final : public runtime::Source {
 public:
  explicit VectorSource(std::vector<runtime::Record> records) : records_(std::move(records)) {}
  Result<runtime::PollStatus> poll(std::vector<runtime::Record>& out, size_t max, std::chrono::milliseconds) override {
    for (size_t n = 0; n < max && next_ < records_.size(); ++n) out.push_back(records_[next_++]);
    return next_ == records_.size() ? runtime::PollStatus::End : runtime::PollStatus::Ok;
  }
  Status commit(std::span<const runtime::Position> positions) override {
    commits.emplace_back(positions.begin(), positions.end());
    return {};
  }
  std::string describe() const override { return "vector"; }
  std::optional<std::chrono::milliseconds> servingInterval() const override { return interval; }
  void keepAlive() override { ++keepAlives; }
  // Served while the runner waits: on a ManualTime the wait is the clock moved on (no sleep).
  void idle(std::chrono::milliseconds duration) override {
    idled += duration;
    if (time) {
      time->advance(duration);
    } else {
      runtime::Source::idle(duration);
    }
    if (onIdle) onIdle();
  }
  bool liveTimestamps() const override { return live; }
  bool live = false;  // the records' timestamps are append times
  std::vector<std::vector<runtime::Position>> commits;
  std::optional<std::chrono::milliseconds> interval;  // none: the runner may take its time
  int keepAlives = 0;
  std::chrono::milliseconds idled{0};  // served while the runner waited
  ManualTime* time = nullptr;          // the runner's clock, when a test moves it
  std::function<void()> onIdle;

 private:
  std::vector<runtime::Record> records_;
  size_t next_ = 0;
};

// Runs `records` through `handler` to their end, as a service run would (retries 1 ms apart),
// dead letters into `deadLetters`.
inline Result<runtime::RunStats> runRecords(runtime::Handler& handler, store::ObjectStore& deadLetters,
                                            std::vector<runtime::Record> records) {
  VectorSource src(std::move(records));
  runtime::RunnerOptions options;
  options.retryInitial = std::chrono::milliseconds(1);
  std::atomic<bool> stop{false};
  return runtime::Runner(src, handler, deadLetters, options, stop).run();
}

}  // namespace cdc::test
