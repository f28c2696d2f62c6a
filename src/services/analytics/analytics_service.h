#pragma once

#include <map>
#include <memory>
#include <string>

#include "runtime/handler.h"
#include "services/analytics/checkpoint.h"
#include "services/analytics/partition_state.h"
#include "store/object_store.h"

namespace cdc::analytics {

struct AnalyticsOptions {
  int topN = 100;                     // TOP_N
  int64_t flushIntervalSeconds = 300;  // FLUSH_INTERVAL
  debezium::DecoderOptions decoding;  // schemaless reading rules (columns are ours)
};

struct AnalyticsStats {
  uint64_t changes = 0;
  uint64_t alreadyApplied = 0;  // below a partition's checkpointed offset (replay after restart)
  uint64_t checkpoints = 0;
  uint64_t flushes = 0;
};

// analytics-service (SPEC §3): orders and order_items into the data-lake reports.
//
// State belongs to partitions, not to the process: each (topic, partition) has its keyed rows
// and aggregates, loaded from its checkpoint when the partition is first seen and checkpointed
// after every batch, before the batch's positions are committed. A restart after a kill -9
// resumes every partition from its checkpoint and skips what it already holds. A flush merges
// the aggregates of every partition that has a checkpoint (this process's from memory, the
// others' from the object store), so every replica writes the same reports.
// Runs on the runner's thread; not thread-safe.
class AnalyticsHandler final : public runtime::Handler {
 public:
  AnalyticsHandler(store::ObjectStore& objects, AnalyticsOptions options);

  std::string_view serviceName() const override { return "analytics-service"; }
  debezium::DecoderOptions decoderOptions() const override;
  Status apply(std::span<const runtime::InputEvent> events, std::vector<runtime::Rejection>& rejected) override;
  Status onRevoked(std::span<const TopicPartition> partitions) override;
  Status tick(Timestamp now) override;
  Status finish() override;

  // Merges every partition's aggregates and writes the reports (timestamped, then latest.json).
  Status flush(Timestamp now);
  const AnalyticsStats& stats() const { return stats_; }
  size_t rowsInMemory() const;

 private:
  struct Owned {
    PartitionState state;
    std::unique_ptr<PartitionCheckpoint> checkpoint;
  };
  Result<Owned*> partition(std::string_view topic, int32_t partition);

  store::ObjectStore& objects_;
  AnalyticsOptions options_;
  AnalyticsStats stats_;
  std::map<std::pair<std::string, int32_t>, Owned> owned_;
  std::optional<Timestamp> lastFlush_;
};

}  // namespace cdc::analytics
