#include "runtime/runner_probe.h"

#include <algorithm>

namespace cdc::runtime {
namespace {

// The counter families of a runner's counts, in the order /metrics lists them.
void collect(const RunCounts& counts, const std::string& service, std::vector<prometheus::MetricFamily>& out) {
  auto consumed = metrics::counterFamily("cdc_records_consumed_total",
                                         "Records consumed from the source, by topic (counted once their batch is processed).");
  auto applied = metrics::counterFamily("cdc_events_applied_total",
                                        "Change events applied by the service, by topic and op (c, u, d, r, t, tombstone).");
  auto deadLetters =
      metrics::counterFamily("cdc_dead_letters_total",
                             "Records written to the dead-letter queue, by topic and reason (source, decode, rejected, store).");
  counts.forEachTopic([&](const RunCounts::Topic& t) {
    metrics::addCounter(consumed, {{"service", service}, {"topic", t.name}}, static_cast<double>(t.consumed.get()));
    for (size_t i = 0; i < RunCounts::kOps.size(); ++i) {
      if (t.applied[i] == 0) continue;
      metrics::addCounter(applied, {{"service", service}, {"topic", t.name}, {"op", std::string(RunCounts::kOps[i])}},
                          static_cast<double>(t.applied[i].get()));
    }
    for (size_t i = 0; i < RunCounts::kReasons.size(); ++i) {
      if (!t.expected && t.deadLetters[i] == 0) continue;
      metrics::addCounter(deadLetters, {{"service", service}, {"topic", t.name}, {"reason", std::string(RunCounts::kReasons[i])}},
                          static_cast<double>(t.deadLetters[i].get()));
    }
  });
  auto retries = metrics::counterFamily("cdc_retries_total", "Transient failures retried, by what was retried.");
  counts.forEachRetried([&](const RunCounts::Retried& r) {
    metrics::addCounter(retries, {{"service", service}, {"what", r.what}}, static_cast<double>(r.times.get()));
  });
  auto cuts = metrics::counterFamily("cdc_batches_cut_total",
                                     "Batches committed in parts so that the source is served within its interval.");
  if (counts.cuts > 0) metrics::addCounter(cuts, {{"service", service}}, static_cast<double>(counts.cuts.get()));
  auto rebalances =
      metrics::counterFamily("cdc_rebalances_total", "Consumer-group rebalance events, by kind (assigned, revoked).");
  auto moved = metrics::counterFamily("cdc_rebalance_partitions_total", "Partitions assigned or revoked, by kind.");
  for (size_t i = 0; i < RunCounts::kMoves.size(); ++i) {
    if (counts.rebalances[i] == 0) continue;
    metrics::Labels labels{{"service", service}, {"kind", std::string(RunCounts::kMoves[i])}};
    metrics::addCounter(rebalances, labels, static_cast<double>(counts.rebalances[i].get()));
    metrics::addCounter(moved, labels, static_cast<double>(counts.partitionsMoved[i].get()));
  }
  auto errors = metrics::counterFamily("consumer_errors_total",
                                       "Processing errors (dead letters and retried failures); the Python services' series.");
  metrics::addCounter(errors, {{"service", service}}, static_cast<double>(counts.deadLetters() + counts.retries()));
  for (auto* f : {&consumed, &applied, &deadLetters, &retries, &cuts, &rebalances, &moved, &errors}) out.push_back(std::move(*f));
}

}  // namespace

RunnerProbe::RunnerProbe(metrics::Registry& r, std::string service)
    : registry_(r),
      service_(std::move(service)),
      batchRecords_(r.histogram("cdc_batch_records", "Records per batch.").Add({{"service", service_}}, metrics::sizeBuckets())),
      batchSeconds_(r.histogram("cdc_batch_duration_seconds", "Time to apply and commit a batch.")
                        .Add({{"service", service_}}, metrics::latencyBuckets())),
      durable_(r.histogram("cdc_append_to_durable_seconds",
                           "From a record's Kafka timestamp to the moment its effect is durable and committable.")
                   .Add({{"service", service_}}, metrics::latencyBuckets())) {}

void RunnerProbe::expectTopics(const std::vector<std::string>& topics) {
  expected_.insert(expected_.end(), topics.begin(), topics.end());
}

std::shared_ptr<void> RunnerProbe::observe(RunCounts& counts) {
  counts.expect(expected_);
  return registry_.addCollector(
      [&counts, service = service_](std::vector<prometheus::MetricFamily>& out) { collect(counts, service, out); });
}

void RunnerProbe::batch(size_t records, double seconds) {
  batchRecords_.Observe(static_cast<double>(records));
  batchSeconds_.Observe(seconds);
}

void RunnerProbe::durable(const std::vector<int64_t>& millis) {
  if (millis.empty()) return;
  // One observation of the whole commit: bucket counts tallied here, one lock in the histogram.
  const auto& bounds = metrics::latencyBuckets();
  std::vector<double> counts(bounds.size() + 1, 0);
  double sum = 0;
  for (int64_t ms : millis) {
    double s = static_cast<double>(std::max<int64_t>(ms, 0)) / 1000;
    sum += s;
    auto at = std::lower_bound(bounds.begin(), bounds.end(), s);
    counts[static_cast<size_t>(at - bounds.begin())] += 1;
  }
  durable_.ObserveMultiple(counts, sum);
}

}  // namespace cdc::runtime
