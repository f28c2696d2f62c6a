#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "metrics/registry.h"

namespace cdc::runtime {

// The runner's series, declared in one block: what a service consumes, applies and
// dead-letters, how its batches go, how long an appended record takes to be durable, and the
// two series the Python services' alert rules read (consumer_errors_total{service}, with
// consumer_lag{service} from the Kafka source's probe). Labels are bounded: topics are the
// service's own, ops five, reasons four. Used from the runner's thread; scraped from any.
class RunnerProbe {
 public:
  RunnerProbe(metrics::Registry& registry, std::string service);

  // The topics the service consumes: their record and dead-letter counters start at 0, so that
  // the first dead letter is an increase an alert sees (a series that appears at 1 is none).
  void expectTopics(const std::vector<std::string>& topics);
  // Records of a batch, by topic.
  void consumed(std::string_view topic, uint64_t records);
  // Events handed to the handler, by topic and op ('c', 'u', 'd', 'r', 't'; tombstones apart).
  void applied(std::string_view topic, std::string_view op, uint64_t events);
  // Records dead-lettered: reason "source" (unreadable as delivered), "decode" (not a change
  // event), "rejected" (the service refused it), "store" (the store refused its effect).
  void deadLettered(std::string_view topic, std::string_view reason, uint64_t records);
  // A batch applied and committed.
  void batch(size_t records, double seconds);
  // Append-to-durable latencies of the records a commit made durable, in milliseconds.
  void durable(const std::vector<int64_t>& millis);
  // A transient failure retried ("apply", "commit", "poll" …).
  void retried(std::string_view what);
  // A batch committed in parts to serve the source within its interval.
  void cut();
  void rebalance(std::string_view kind, size_t partitions);  // "assigned", "revoked", "lost"

 private:
  metrics::Counter& cached(metrics::Family<metrics::Counter>& family,
                           std::initializer_list<std::pair<const char*, std::string_view>> labels);

  std::string service_;
  metrics::Family<metrics::Counter>& consumed_;
  metrics::Family<metrics::Counter>& applied_;
  metrics::Family<metrics::Counter>& deadLetters_;
  metrics::Family<metrics::Histogram>& batchRecords_;
  metrics::Family<metrics::Histogram>& batchSeconds_;
  metrics::Family<metrics::Histogram>& durableSeconds_;
  metrics::Family<metrics::Counter>& retries_;
  metrics::Family<metrics::Counter>& cuts_;
  metrics::Family<metrics::Counter>& rebalances_;
  metrics::Family<metrics::Counter>& partitionsMoved_;
  metrics::Family<metrics::Counter>& consumerErrors_;  // the Python services' name
  metrics::Histogram& batchRecordsOne_;
  metrics::Histogram& batchSecondsOne_;
  metrics::Histogram& durableOne_;
  metrics::Counter& errorsOne_;
  // Counters by their labels, so that a batch looks each up once (Family::Add hashes a map).
  std::unordered_map<std::string, metrics::Counter*> byLabels_;  // by family and label values
  std::string key_;                                              // scratch for the look-up
};

}  // namespace cdc::runtime
