#pragma once

#include <memory>
#include <string>

#include "adapters/kafka/kafka_statistics.h"
#include "metrics/registry.h"

namespace cdc::kafka {

// The consumer's series, read from its probe at each scrape: lag and committed offset of each
// partition the member owns now (from librdkafka's latest statistics; a partition revoked
// since is left out, not reported stale), partitions assigned, whether they are paused, commits
// and their failures, librdkafka's errors, and the Python services' consumer_lag{service} (the
// sum over the partitions owned). The probe must outlive the returned handle.
[[nodiscard]] std::shared_ptr<void> addConsumerCollector(metrics::Registry& registry, const ConsumerProbe& probe,
                                                         std::string service);

}  // namespace cdc::kafka
