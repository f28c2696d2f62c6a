#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "core/result.h"
#include "core/types.h"
#include "runtime/record.h"

namespace cdc::metrics {
class Registry;
}  // namespace cdc::metrics

namespace cdc::runtime {

// Told when partitions move to or from this process (Kafka consumer-group rebalances).
// Called on the polling thread, from inside Source::poll.
class RebalanceListener {
 public:
  virtual ~RebalanceListener() = default;
  virtual void onAssigned(std::span<const TopicPartition> partitions) = 0;
  // Before the partitions go: finish and commit their work now.
  virtual void onRevoked(std::span<const TopicPartition> partitions) = 0;
  // The partitions are gone already: the group gave them to another member while this one did
  // not answer (its session expired: paused, stalled). Their work in hand belongs to the new
  // owner: nothing of it may be written or committed.
  virtual void onLost(std::span<const TopicPartition> partitions) = 0;
  // The partitions are read again from their committed offsets (the Kafka transaction that was
  // to commit their positions aborted): their records still in hand come again after the ones
  // before them, and must not be applied or committed now.
  virtual void onRewound(std::span<const TopicPartition> partitions) = 0;
};

enum class PollStatus {
  Ok,   // zero or more records were delivered
  End,  // a bounded source is exhausted (end of a replay file, caught up)
};

// Where records come from: a replay file, Kafka, the dead-letter queue. Records of one
// partition are delivered in offset order. Not thread-safe: one polling thread.
class Source {
 public:
  virtual ~Source() = default;
  // Appends up to `max` records to `out`, waiting at most `timeout` for the first. A partition
  // revoked, lost or rewound during the poll (the listener is told) has none of the records
  // polled before that in `out`: the ones after it come from its new assignment or position.
  virtual Result<PollStatus> poll(std::vector<Record>& out, size_t max, std::chrono::milliseconds timeout) = 0;
  // Records that every record before each position has durable effects.
  virtual Status commit(std::span<const Position> positions) = 0;
  virtual void setRebalanceListener(RebalanceListener* listener) { (void)listener; }
  // Pause or resume delivery from partitions (backpressure).
  virtual void pause(std::span<const TopicPartition> partitions) { (void)partitions; }
  virtual void resume(std::span<const TopicPartition> partitions) { (void)partitions; }
  // Waits while the records already polled cannot be processed yet (a store is failing or
  // slow): a source with a session to keep (Kafka) stops fetching and keeps serving it; the
  // next poll() resumes delivery. Rebalances may be served in here.
  virtual void idle(std::chrono::milliseconds duration) { std::this_thread::sleep_for(duration); }
  // How long the records of one poll may stay in hand before the source must be served again
  // (Kafka: max.poll.interval.ms, past which the member is thrown out of its group and its
  // partitions go to another); nullopt: as long as it takes.
  virtual std::optional<std::chrono::milliseconds> servingInterval() const { return std::nullopt; }
  // Serves the source's session now (a group member's poll) without delivering records: a
  // batch that takes long calls it between its parts. Records fetched meanwhile come with the
  // next poll(), in order.
  virtual void keepAlive() {}
  // Whether records carry the time they were appended (Kafka's timestamps), so that the time
  // from append to durable effect means something; a replay file's timestamps are history.
  virtual bool liveTimestamps() const { return false; }
  // True when the source would end (--until-caught-up) but for positions not yet reported
  // durable: the runner then has the handler persist now instead of at its next save.
  virtual bool awaitsDurable() const { return false; }
  // Why the source cannot deliver yet (a consumer not in its group or without partitions), or
  // nullopt when it can. Any thread (asked by the readiness probe).
  virtual std::optional<std::string> notReady() const { return std::nullopt; }
  // Records behind the end of the partitions it owns, when the source knows (Kafka, from its
  // statistics); for the periodic stats line.
  virtual std::optional<int64_t> lag() const { return std::nullopt; }
  // How far a bounded source has come (a file: bytes; dead letters: records), for the progress
  // line on a terminal; none when the end is not known (Kafka, a pipe).
  struct Progress {
    uint64_t done = 0;
    uint64_t total = 0;
    bool bytes = false;
  };
  virtual std::optional<Progress> progress() const { return std::nullopt; }
  // Adds the source's series (a consumer's lag per partition, commits …) to a service's
  // metrics until the returned handle goes. None by default.
  virtual std::shared_ptr<void> instrument(metrics::Registry& registry, const std::string& service) {
    (void)registry, (void)service;
    return nullptr;
  }
  // Ends consumption after the last commit (a consumer leaves its group). Called once.
  virtual Status close() { return {}; }
  // For logs: "file:events.jsonl", "kafka:localhost:9092".
  virtual std::string describe() const = 0;
};

}  // namespace cdc::runtime
