#include "adapters/kafka/consumer_metrics.h"

#include <map>
#include <utility>

namespace cdc::kafka {

namespace {

using Families = std::vector<prometheus::MetricFamily>;

// Lag and committed offset of each partition the member owns (librdkafka's statistics), and
// the lag over them all.
void addPartitionSeries(Families& out, const ConsumerProbe& probe, const std::string& service,
                        const std::vector<TopicPartition>& owned) {
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
    if (it->second->committedOffset >= 0) metrics::addGauge(committed, labels, static_cast<double>(it->second->committedOffset));
  }
  out.push_back(std::move(lag));
  out.push_back(std::move(committed));
  if (anyLag || owned.empty()) {
    auto sum =
        metrics::gaugeFamily("consumer_lag", "Records behind over the partitions the member owns (the Python services' series).");
    metrics::addGauge(sum, {{"service", service}}, total);
    out.push_back(std::move(sum));
  }
}

// The member in its group: partitions owned, idle, the topics' partitions, protocol, refusals.
void addGroupSeries(Families& out, const ConsumerProbe& probe, const std::string& service, size_t owned) {
  auto assigned = metrics::gaugeFamily("cdc_consumer_assigned_partitions", "Partitions the member owns now.");
  metrics::addGauge(assigned, {{"service", service}}, static_cast<double>(owned));
  out.push_back(std::move(assigned));
  auto idle = metrics::gaugeFamily("cdc_consumer_idle",
                                   "1 while the member is in its group without partitions: a standby, when the group has "
                                   "more members than the topics have partitions (not an error).");
  metrics::addGauge(idle, {{"service", service}}, probe.idle.load() ? 1 : 0);
  out.push_back(std::move(idle));
  if (uint64_t n = probe.subscribedPartitions.load()) {
    auto partitions = metrics::gaugeFamily(
        "cdc_consumer_topic_partitions",
        "Partitions of the subscribed topics in all, as of the rebalance that left the member idle: the most members "
        "the group can keep busy.");
    metrics::addGauge(partitions, {{"service", service}}, static_cast<double>(n));
    out.push_back(std::move(partitions));
  }
  auto protocol = metrics::gaugeFamily(
      "cdc_consumer_group_protocol", "1, labelled with the group protocol the member speaks (GROUP_PROTOCOL) and its assignor.");
  metrics::addGauge(protocol, {{"service", service}, {"protocol", probe.protocol}, {"assignor", probe.assignor}}, 1);
  out.push_back(std::move(protocol));
  auto refusals = metrics::counterFamily(
      "cdc_consumer_group_errors_total",
      "The group coordinator's refusals by error (INCONSISTENT_GROUP_PROTOCOL: the group's members speak another "
      "protocol or assignor).");
  for (const auto& [error, n] : probe.groupErrors()) {
    metrics::addCounter(refusals, {{"service", service}, {"error", error}}, static_cast<double>(n));
  }
  out.push_back(std::move(refusals));
}

// Pausing, commits and the client's errors.
void addClientSeries(Families& out, const ConsumerProbe& probe, const std::string& service) {
  auto paused = metrics::gaugeFamily("cdc_consumer_paused", "1 while the member has paused its partitions (a slow sink).");
  metrics::addGauge(paused, {{"service", service}}, probe.paused.load() ? 1 : 0);
  out.push_back(std::move(paused));
  auto commits = metrics::counterFamily("cdc_consumer_commits_total", "Offset commits acknowledged by the group coordinator.");
  metrics::addCounter(commits, {{"service", service}}, static_cast<double>(probe.commits.load()));
  out.push_back(std::move(commits));
  auto failures = metrics::counterFamily("cdc_consumer_commit_failures_total", "Offset commits that failed.");
  metrics::addCounter(failures, {{"service", service}}, static_cast<double>(probe.commitFailures.load()));
  out.push_back(std::move(failures));
  auto errors =
      metrics::counterFamily("cdc_consumer_client_errors_total", "Errors librdkafka reported (brokers down, authentication …).");
  metrics::addCounter(errors, {{"service", service}}, static_cast<double>(probe.errors.load()));
  out.push_back(std::move(errors));
}

}  // namespace

std::shared_ptr<void> addConsumerCollector(metrics::Registry& registry, const ConsumerProbe& probe, std::string service) {
  return registry.addCollector([&probe, service = std::move(service)](Families& out) {
    auto owned = probe.assignment();
    addPartitionSeries(out, probe, service, owned);
    addGroupSeries(out, probe, service, owned.size());
    addClientSeries(out, probe, service);
  });
}

}  // namespace cdc::kafka
