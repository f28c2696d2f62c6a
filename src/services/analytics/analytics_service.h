#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "core/stats.h"
#include "core/time.h"
#include "runtime/handler.h"
#include "services/analytics/checkpoint.h"
#include "services/analytics/partition_state.h"
#include "store/object_store.h"

namespace prometheus {
class Counter;
class Gauge;
class Histogram;
}  // namespace prometheus

namespace cdc::analytics {

struct AnalyticsOptions {
  int topN = 100;                      // TOP_N
  int64_t flushIntervalSeconds = 300;  // FLUSH_INTERVAL
  // Checkpoints are saved at most this often (CHECKPOINT_INTERVAL_MS); positions are committed
  // with them. 0: after every batch.
  int64_t checkpointIntervalMs = 1000;
  const TimeSource* time = &systemTime();  // the checkpoints' interval, the flushes' times (a test: a ManualTime)
  // The name this member writes into the manifests of the partitions it claims (default: host
  // name and process id).
  std::string member;
  debezium::DecoderOptions decoding;  // schemaless reading rules (columns are ours)
};

struct AnalyticsStats {
  Count changes;
  Count alreadyApplied;  // below a partition's checkpointed offset (replay after restart)
  Count checkpoints;
  Count flushes;
  Count fenced;  // partitions found claimed by another member (their state dropped)
};

// analytics-service (SPEC §3): orders and order_items into the data-lake reports.
//
// State belongs to partitions, not to the process: each (topic, partition) has its keyed rows
// and aggregates, loaded from its checkpoint when the partition is first seen. The partitions a
// batch changed are checkpointed at most once per `checkpointIntervalMs` (and whenever
// partitions leave or the run ends), and the runner commits positions only once persisted()
// says the changes before them are checkpointed: the committed offsets never pass the
// checkpoints. A restart after a kill -9 resumes every partition from its checkpoint, skips what
// it already holds and applies the rest again from the committed offset. A flush merges
// the aggregates of every partition that has a checkpoint (this process's from memory, the
// others' from the object store), so every replica writes the same reports.
// Runs on the runner's thread; not thread-safe.
class AnalyticsHandler final : public runtime::Handler {
 public:
  AnalyticsHandler(store::ObjectStore& objects, AnalyticsOptions options);

  std::string_view serviceName() const override { return "analytics-service"; }
  debezium::DecoderOptions decoderOptions() const override { return decoding(options_.decoding); }
  // The columns this service reads, on top of the schemaless rules in `base`.
  static debezium::DecoderOptions decoding(debezium::DecoderOptions base);
  Status apply(std::span<const runtime::InputEvent> events, std::vector<runtime::Rejection>& rejected) override;
  Status onUndecodable(const runtime::Record& record) override;
  Result<bool> persisted(bool force) override;
  Status onRevoked(std::span<const TopicPartition> partitions) override;
  void onLost(std::span<const TopicPartition> partitions) override;
  void onAssigned(std::span<const TopicPartition> partitions) override;
  std::vector<TopicPartition> fenced() const override;
  Status tick(Timestamp now) override;
  Status finish() override;

  // Merges every partition's aggregates and writes the reports (timestamped, then latest.json).
  Status flush(Timestamp now);
  // One try of flush(): false when another replica claimed the positions or wrote a
  // latest.json since this one read them (nothing of ours is latest then).
  Result<bool> flushOnce(Timestamp now);
  Status mergeAll(Aggregates& merged, std::map<std::string, int64_t>& positions);
  const AnalyticsStats& stats() const { return stats_; }
  // cdc_analytics_flush_duration_seconds, cdc_analytics_last_flush_timestamp_seconds (the time
  // of the last good flush) and cdc_analytics_flush_interval_seconds, each {service}.
  void instrument(metrics::Registry& registry, const std::string& service) override;
  std::string summary() const override;
  Stats counts() const override;
  size_t rowsInMemory() const;

 private:
  struct Owned {
    std::pair<std::string, int32_t> key;  // (topic, partition)
    PartitionState state;
    std::unique_ptr<PartitionCheckpoint> checkpoint;
  };
  // The partition's state, claimed and loaded when first seen; nullptr when another member
  // took it over from this one (fenced).
  Result<Owned*> partition(std::string_view topic, int32_t partition);
  // Saves a partition's checkpoint; a refused save (another member claimed it) drops it.
  Status save(Owned& owned);
  // Drops a partition another member claimed: its records are skipped until it is assigned here again.
  void dropFenced(std::pair<std::string, int32_t> key, std::string_view found);

  store::ObjectStore& objects_;
  AnalyticsOptions options_;
  AnalyticsStats stats_;
  prometheus::Histogram* flushSeconds_ = nullptr;  // owned by the registry
  prometheus::Gauge* lastFlushTime_ = nullptr;
  std::shared_ptr<void> fencedSeries_;  // cdc_analytics_partitions_fenced_total, read from stats_.fenced
  std::map<std::pair<std::string, int32_t>, Owned> owned_;
  std::optional<Timestamp> lastFlush_;
  std::set<std::pair<std::string, int32_t>> unsaved_;  // partitions changed since their checkpoint
  std::set<std::pair<std::string, int32_t>> fenced_;   // claimed by another member from this one
  std::chrono::steady_clock::time_point lastSave_{};
  debezium::Decoder keys_;  // the row ids of records that did not decode
};

// What an operator sees of the analytics state (`cdc dump --checkpoints`): each partition's
// checkpoint (its position and rows) and the position the latest reports were flushed at.
struct CheckpointView {
  std::string topic;
  int32_t partition = 0;
  int64_t nextOffset = 0;  // checkpointed: the service resumes here
  size_t orders = 0;       // rows of keyed state
  size_t items = 0;
  size_t deadLetteredRows = 0;                // rows whose latest change is a dead letter
  std::optional<int64_t> reportedNextOffset;  // what analytics/*/latest.json covers
};
Result<std::vector<CheckpointView>> describeCheckpoints(store::ObjectStore& objects);

}  // namespace cdc::analytics
