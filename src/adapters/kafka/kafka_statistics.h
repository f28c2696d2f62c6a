#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/types.h"

namespace cdc::kafka {

// One assigned partition as librdkafka's statistics describe it.
struct PartitionStatistics {
  std::string topic;
  int32_t partition = 0;
  int64_t consumerLag = -1;  // high watermark (or last stable offset) minus committed offset; -1 unknown
  int64_t highWatermark = -1;
  int64_t committedOffset = -1;
  int64_t position = -1;           // next offset the application will be given
  int64_t fetchQueueMessages = 0;  // pre-fetched, not yet polled
  int64_t fetchQueueBytes = 0;
  std::string fetchState;  // "active", "stopped" (paused), …
};

// The numbers of one librdkafka statistics event (statistics.interval.ms).
struct ConsumerStatistics {
  int64_t timestampMicros = 0;
  int64_t receivedMessages = 0;                 // rxmsgs: fetched from brokers since start
  int64_t receivedBytes = 0;                    // rxmsg_bytes
  int64_t rebalances = 0;                       // cgrp.rebalance_cnt
  std::string groupState;                       // cgrp.state ("up" once joined)
  std::vector<PartitionStatistics> partitions;  // assigned partitions only, by topic and partition
};

// Parses librdkafka's statistics JSON (STATISTICS.md); keeps only the partitions this consumer
// has been assigned (the ones with a desired/assigned fetch state).
Result<ConsumerStatistics> parseStatistics(std::string_view json);

// What the consumer counts for the metrics layer: written by the polling thread (and by
// librdkafka's statistics callback, which runs on it), read from any thread.
class ConsumerProbe {
 public:
  std::atomic<uint64_t> records{0};
  std::atomic<uint64_t> rebalances{0};
  std::atomic<uint64_t> commits{0};
  std::atomic<uint64_t> commitFailures{0};
  std::atomic<uint64_t> pauses{0};  // times the consumer paused its partitions for backpressure
  std::atomic<bool> paused{false};  // partitions paused right now
  std::atomic<uint64_t> assignedPartitions{0};
  std::atomic<uint64_t> errors{0};  // consumer errors reported by librdkafka
  // In the group without partitions since the group settled (member_idle logged).
  std::atomic<bool> idle{false};
  // Partitions of the subscribed topics in all, as of the latest rebalance that left the member
  // without any (0 until then).
  std::atomic<uint64_t> subscribedPartitions{0};
  // The group protocol the member speaks and its assignor (set before the consumer starts).
  std::string protocol;
  std::string assignor;

  // The group coordinator's refusals by error name (INCONSISTENT_GROUP_PROTOCOL, …).
  void countGroupError(const std::string& name) {
    std::lock_guard lock(mutex_);
    ++groupErrors_[name];
  }
  std::map<std::string, uint64_t> groupErrors() const {
    std::lock_guard lock(mutex_);
    return groupErrors_;
  }

  void setStatistics(ConsumerStatistics s, std::string raw) {
    std::lock_guard lock(mutex_);
    statistics_ = std::move(s);
    raw_ = std::move(raw);
  }
  // The latest statistics (empty until the first statistics.interval.ms has passed).
  ConsumerStatistics statistics() const {
    std::lock_guard lock(mutex_);
    return statistics_;
  }
  // The partitions the member owns now (set by the polling thread at each rebalance; their
  // number also in assignedPartitions, read without the lock).
  void setAssignment(std::vector<TopicPartition> partitions) {
    std::lock_guard lock(mutex_);
    assignedPartitions = partitions.size();
    assignment_ = std::move(partitions);
  }
  std::vector<TopicPartition> assignment() const {
    std::lock_guard lock(mutex_);
    return assignment_;
  }
  // Records behind over the partitions owned now, by the latest statistics: nullopt before the
  // first statistics that know one of them.
  std::optional<int64_t> ownedLag() const {
    std::lock_guard lock(mutex_);
    int64_t total = 0;
    bool any = false;
    for (const auto& p : statistics_.partitions) {
      if (p.consumerLag < 0) continue;
      for (const auto& tp : assignment_) {
        if (tp.partition == p.partition && tp.topic == p.topic) {
          total += p.consumerLag;
          any = true;
          break;
        }
      }
    }
    return any ? std::optional<int64_t>(total) : std::nullopt;
  }
  // librdkafka's whole statistics document, for anything the parsed numbers leave out.
  std::string rawStatistics() const {
    std::lock_guard lock(mutex_);
    return raw_;
  }

 private:
  mutable std::mutex mutex_;
  ConsumerStatistics statistics_;
  std::string raw_;
  std::vector<TopicPartition> assignment_;
  std::map<std::string, uint64_t> groupErrors_;
};

}  // namespace cdc::kafka
