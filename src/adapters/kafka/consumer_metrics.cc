#include "adapters/kafka/consumer_metrics.h"

#include <map>
#include <utility>

namespace cdc::kafka {

std::shared_ptr<void> addConsumerCollector(metrics::Registry& registry, const ConsumerProbe& probe, std::string service) {
  return registry.addCollector([&probe, service](std::vector<prometheus::MetricFamily>& out) {
    auto owned = probe.assignment();
    std::map<std::pair<std::string, int32_t>, const PartitionStatistics*> known;
    ConsumerStatistics stats = probe.statistics();
    for (const auto& p : stats.partitions) known[{p.topic, p.partition}] = &p;

    auto lag = metrics::gaugeFamily("cdc_consumer_lag",
                                    "Records behind the end of each partition the member owns now (librdkafka's consumer_lag).");
    auto committed =
        metrics::gaugeFamily("cdc_consumer_committed_offset", "The committed offset of each partition the member owns now.");
    double total = 0;
    bool anyLag = false;
    for (const auto& tp : owned) {
      auto it = known.find({tp.topic, tp.partition});
      if (it == known.end()) continue;
      metrics::Labels labels{{"service", service}, {"topic", tp.topic}, {"partition", std::to_string(tp.partition)}};
      if (it->second->consumerLag >= 0) {
        metrics::addGauge(lag, labels, static_cast<double>(it->second->consumerLag));
        total += static_cast<double>(it->second->consumerLag);
        anyLag = true;
      }
      if (it->second->committedOffset >= 0)
        metrics::addGauge(committed, labels, static_cast<double>(it->second->committedOffset));
    }
    out.push_back(std::move(lag));
    out.push_back(std::move(committed));
    if (anyLag || owned.empty()) {
      auto sum = metrics::gaugeFamily("consumer_lag",
                                      "Records behind over the partitions the member owns (the Python services' series).");
      metrics::addGauge(sum, {{"service", service}}, total);
      out.push_back(std::move(sum));
    }
    auto assigned = metrics::gaugeFamily("cdc_consumer_assigned_partitions", "Partitions the member owns now.");
    metrics::addGauge(assigned, {{"service", service}}, static_cast<double>(owned.size()));
    out.push_back(std::move(assigned));
    auto paused = metrics::gaugeFamily("cdc_consumer_paused", "1 while the member has paused its partitions (a slow sink).");
    metrics::addGauge(paused, {{"service", service}}, probe.paused.load() ? 1 : 0);
    out.push_back(std::move(paused));
    auto commits = metrics::counterFamily("cdc_consumer_commits_total", "Offset commits acknowledged by the group coordinator.");
    metrics::addCounter(commits, {{"service", service}}, static_cast<double>(probe.commits.load()));
    out.push_back(std::move(commits));
    auto failures = metrics::counterFamily("cdc_consumer_commit_failures_total", "Offset commits that failed.");
    metrics::addCounter(failures, {{"service", service}}, static_cast<double>(probe.commitFailures.load()));
    out.push_back(std::move(failures));
    auto errors = metrics::counterFamily("cdc_consumer_client_errors_total",
                                         "Errors librdkafka reported (brokers down, authentication …).");
    metrics::addCounter(errors, {{"service", service}}, static_cast<double>(probe.errors.load()));
    out.push_back(std::move(errors));
  });
}

}  // namespace cdc::kafka
