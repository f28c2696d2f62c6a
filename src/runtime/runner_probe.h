#pragma once

#include <memory>
#include <string>
#include <vector>

#include "metrics/registry.h"
#include "runtime/run_counts.h"

namespace cdc::runtime {

// The runner's series, declared in one block: what a service consumes, applies and
// dead-letters, how its batches go, how long an appended record takes to be durable, and the
// two series the Python services' alert rules read (consumer_errors_total{service}, with
// consumer_lag{service} from the Kafka source's probe). The counters are the runner's own
// counts (RunCounts, which its run summary reads too), read at each scrape; the histograms are
// observed here. Labels are bounded: topics are the service's own, ops six, reasons four.
class RunnerProbe {
 public:
  RunnerProbe(metrics::Registry& registry, std::string service);

  // The topics the service consumes: their record and dead-letter counters start at 0, so that
  // the first dead letter is an increase an alert sees (a series that appears at 1 is none).
  void expectTopics(const std::vector<std::string>& topics);
  // Serves `counts` (a runner's) until the returned handle goes; `counts` must outlive it.
  [[nodiscard]] std::shared_ptr<void> observe(RunCounts& counts);
  // A batch applied and committed.
  void batch(size_t records, double seconds);
  // Append-to-durable latencies of the records a commit made durable, in milliseconds.
  void durable(const std::vector<int64_t>& millis);

 private:
  metrics::Registry& registry_;
  std::string service_;
  std::vector<std::string> expected_;
  metrics::Histogram& batchRecords_;
  metrics::Histogram& batchSeconds_;
  metrics::Histogram& durable_;
};

}  // namespace cdc::runtime
