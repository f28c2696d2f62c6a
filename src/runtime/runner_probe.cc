#include "runtime/runner_probe.h"

#include <algorithm>

namespace cdc::runtime {

RunnerProbe::RunnerProbe(metrics::Registry& r, std::string service)
    : service_(std::move(service)),
      consumed_(r.counter("cdc_records_consumed_total", "Records polled from the source, by topic.")),
      applied_(r.counter("cdc_events_applied_total",
                         "Change events applied by the service, by topic and op (c, u, d, r, t, tombstone).")),
      deadLetters_(r.counter("cdc_dead_letters_total",
                             "Records written to the dead-letter queue, by topic and reason (source, decode, rejected, store).")),
      batchRecords_(r.histogram("cdc_batch_records", "Records per batch.")),
      batchSeconds_(r.histogram("cdc_batch_duration_seconds", "Time to apply and commit a batch.")),
      durableSeconds_(r.histogram("cdc_append_to_durable_seconds",
                                  "From a record's Kafka timestamp to the moment its effect is durable and committable.")),
      retries_(r.counter("cdc_retries_total", "Transient failures retried, by what was retried.")),
      cuts_(r.counter("cdc_batches_cut_total", "Batches committed in parts so that the source is served within its interval.")),
      rebalances_(r.counter("cdc_rebalances_total", "Consumer-group rebalance events, by kind (assigned, revoked).")),
      partitionsMoved_(r.counter("cdc_rebalance_partitions_total", "Partitions assigned or revoked, by kind.")),
      consumerErrors_(r.counter("consumer_errors_total",
                                "Processing errors (dead letters and retried failures); the Python services' series.")),
      batchRecordsOne_(batchRecords_.Add({{"service", service_}}, metrics::sizeBuckets())),
      batchSecondsOne_(batchSeconds_.Add({{"service", service_}}, metrics::latencyBuckets())),
      durableOne_(durableSeconds_.Add({{"service", service_}}, metrics::latencyBuckets())),
      errorsOne_(consumerErrors_.Add({{"service", service_}})) {}

metrics::Counter& RunnerProbe::cached(metrics::Family<metrics::Counter>& family,
                                      std::initializer_list<std::pair<const char*, std::string_view>> labels) {
  // Looked up by the label values (no map built): the family's own lookup hashes a map.
  // The family's address first (its bytes, not the family's own).
  const void* address = &family;
  key_.assign(reinterpret_cast<const char*>(&address), sizeof address);
  for (const auto& [name, value] : labels) {
    key_.append(value);
    key_.push_back('\x1f');
  }
  auto it = byLabels_.find(key_);
  if (it != byLabels_.end()) return *it->second;
  metrics::Labels all{{"service", service_}};
  for (const auto& [name, value] : labels) all.emplace(name, std::string(value));
  metrics::Counter* counter = &family.Add(all);
  byLabels_.emplace(key_, counter);
  return *counter;
}

void RunnerProbe::expectTopics(const std::vector<std::string>& topics) {
  for (const auto& topic : topics) {
    cached(consumed_, {{"topic", topic}});
    for (std::string_view reason : {"source", "decode", "rejected", "store"})
      cached(deadLetters_, {{"topic", topic}, {"reason", reason}});
  }
}

void RunnerProbe::consumed(std::string_view topic, uint64_t records) {
  cached(consumed_, {{"topic", topic}}).Increment(static_cast<double>(records));
}

void RunnerProbe::applied(std::string_view topic, std::string_view op, uint64_t events) {
  cached(applied_, {{"topic", topic}, {"op", op}}).Increment(static_cast<double>(events));
}

void RunnerProbe::deadLettered(std::string_view topic, std::string_view reason, uint64_t records) {
  cached(deadLetters_, {{"topic", topic}, {"reason", reason}}).Increment(static_cast<double>(records));
  errorsOne_.Increment(static_cast<double>(records));
}

void RunnerProbe::batch(size_t records, double seconds) {
  batchRecordsOne_.Observe(static_cast<double>(records));
  batchSecondsOne_.Observe(seconds);
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
  durableOne_.ObserveMultiple(counts, sum);
}

void RunnerProbe::retried(std::string_view what) {
  cached(retries_, {{"what", what}}).Increment();
  errorsOne_.Increment();
}

void RunnerProbe::cut() { cached(cuts_, {}).Increment(); }

void RunnerProbe::rebalance(std::string_view kind, size_t partitions) {
  cached(rebalances_, {{"kind", kind}}).Increment();
  cached(partitionsMoved_, {{"kind", kind}}).Increment(static_cast<double>(partitions));
}

}  // namespace cdc::runtime
