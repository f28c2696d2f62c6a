#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "adapters/kafka/kafka_config.h"
#include "adapters/kafka/kafka_statistics.h"
#include "adapters/kafka/transactional_publisher.h"
#include "core/time.h"
#include "runtime/source.h"

namespace cdc::kafka {

struct KafkaSourceOptions {
  // bootstrap.servers, group.id and anything else for librdkafka. Consumer defaults
  // (cooperative-sticky, earliest, statistics every 15 s, a bounded prefetch queue) are added
  // where absent; enable.auto.commit is always false.
  Properties properties;
  std::vector<std::string> topics;
  // Stop (poll answers End) once every assigned partition has reached the end offset it had
  // when it was assigned, its positions are committed, and the group's committed offsets of
  // every partition of the topics have reached the ends those partitions had when this member
  // first looked. Members of a group stop together: a partition whose owner left it
  // uncommitted (lost in a rebalance) is read again by one of those still there.
  bool untilCaughtUp = false;
  // With untilCaughtUp: how long the member may wait for its first assignment (the brokers not
  // answering, the group not forming) before poll() fails naming the last connection error.
  // Zero waits for ever (a service that runs until stopped keeps retrying, not ready meanwhile).
  std::chrono::milliseconds joinTimeout{0};
  // A partition assigned with no committed offset for the group starts at the first record
  // whose timestamp is at or after this (epoch milliseconds; the end when there is none), not
  // at auto.offset.reset. Committed offsets always win.
  std::optional<int64_t> startAtMs;
  // How long idle() may wait with the partitions still fetching before it pauses them. A
  // pause drops what librdkafka has prefetched and the resume fetches it again (a fetch round
  // trip and the fetcher's back-off, most of a second here): the short waits between the
  // batches of a rate cap must not pay that every time. Meanwhile the group is served by the
  // next poll(), at most this much later.
  std::chrono::milliseconds idleFetchingFor{1000};
  const TimeSource* time = &systemTime();  // deadlines, and when an idle member's group has settled
};

// The runtime's Source on a Kafka consumer group (librdkafka's high-level consumer).
//
// Offsets are committed only when the runner says their effects are durable: asynchronously at
// most every auto.commit.interval.ms (1 s here by default; enable.auto.commit itself stays off),
// synchronously before partitions are revoked and when the consumer closes.
// Rebalances (cooperative or eager, whichever the group runs) are served inside poll()/idle():
// the listener persists and commits the work of revoked partitions before they go, and records
// of a revoked partition still waiting here are dropped (the next owner reads them again from
// the committed offset). A wait in idle() that lasts past idleFetchingFor since the last poll()
// pauses every assigned partition (librdkafka then drops what it had prefetched and stops
// fetching) and keeps serving the group, so a slow or failing store neither grows memory nor
// makes the consumer miss max.poll.interval.ms; the next poll() resumes them. Shorter waits
// (a rate cap's) leave the fetch alone.
//
// Single polling thread: every method but probe() must be called from it. librdkafka
// callbacks (rebalance, commit, statistics) run on that thread, inside poll()/idle()/close().
class KafkaSource final : public runtime::Source {
 public:
  // A property librdkafka refuses is a Fatal error naming where it came from.
  static Result<std::unique_ptr<KafkaSource>> open(KafkaSourceOptions options);
  // Closes the consumer (leaving the group) if close() was not called.
  ~KafkaSource() override;

  Result<runtime::PollStatus> poll(std::vector<runtime::Record>& out, size_t max, std::chrono::milliseconds timeout) override;
  Status commit(std::span<const runtime::Position> positions) override;
  void setRebalanceListener(runtime::RebalanceListener* listener) override { listener_ = listener; }
  void pause(std::span<const TopicPartition> partitions) override;
  void resume(std::span<const TopicPartition> partitions) override;
  void idle(std::chrono::milliseconds duration) override;
  // max.poll.interval.ms (librdkafka's default: 300000).
  std::optional<std::chrono::milliseconds> servingInterval() const override { return maxPollInterval_; }
  // One poll of the consumer with every partition paused (quietly: no pause is logged).
  void keepAlive() override;
  Status close() override;
  std::string describe() const override;
  // Kafka's timestamps: the producer's (CreateTime) or the broker's (LogAppendTime).
  bool liveTimestamps() const override { return true; }
  bool awaitsDurable() const override { return awaitsDurable_; }
  std::optional<std::string> notReady() const override;
  std::optional<int64_t> lag() const override { return probe_.ownedLag(); }
  std::shared_ptr<void> instrument(metrics::Registry& registry, const std::string& service) override;

  // Counters and librdkafka's latest statistics (consumer lag per partition); any thread.
  const ConsumerProbe& probe() const { return probe_; }
  // The partitions assigned now.
  std::vector<TopicPartition> assignment() const { return {assigned_.begin(), assigned_.end()}; }
  // Positions are committed through `committer`'s transactions from now on (low-stock alerts
  // exactly once), with this consumer's group metadata; an aborted one rewinds the partitions
  // to the group's committed offsets. It must outlive the source.
  void useTransactions(TransactionalCommitter* committer) { transactions_ = committer; }

 private:
  KafkaSource(KafkaSourceOptions options, rd_kafka_t* rk);
  // Creates the consumer from `conf` (with this source's callbacks) and subscribes.
  Status start(ConfPtr conf);

  static void onRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* partitions, void* opaque);
  static void onCommit(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* offsets, void* opaque);
  static int onStatistics(rd_kafka_t* rk, char* json, size_t len, void* opaque);
  static void onError(rd_kafka_t* rk, int err, const char* reason, void* opaque);

  void assign(rd_kafka_topic_partition_list_t* partitions);
  // With startAtMs: sets the start offset of each partition of `partitions` that the group has
  // not committed; false (fatal_ set) when the broker cannot say.
  bool startAtTime(rd_kafka_topic_partition_list_t* partitions);
  void revoke(rd_kafka_topic_partition_list_t* partitions);
  // After each rebalance callback: the probe's assignment, and since when the member has been in
  // its group without partitions.
  void noteAssignment();
  // From poll(): once the member has been without partitions for a settled while, reports it.
  void checkIdle();
  // Logs member_idle with the partitions its topics have (a standby, not an error) and sets the
  // probe's count.
  void reportIdle();
  // A group-level error from the consumer queue (the coordinator refused the member): counted
  // by name and logged with what the member speaks.
  void groupError(rd_kafka_resp_err_t err, const char* message);
  // The partition ids of a topic by the brokers' metadata (empty when they cannot say).
  std::vector<int32_t> partitionsOf(const std::string& topic, int timeoutMs);
  // A message or an event from the consumer queue: records go to `out`.
  void handle(rd_kafka_message_t* message, std::vector<runtime::Record>& out);
  Status commitSync(const std::set<TopicPartition>& partitions);
  // Commits `list` in a transaction of transactions_; after an abort, seeks its partitions back
  // to the group's committed offsets.
  Status commitInTransaction(rd_kafka_topic_partition_list_t* list);
  // After an aborted transaction: the partitions of `list` still assigned are read again from
  // the group's committed offsets.
  Status rewind(const rd_kafka_topic_partition_list_t* list);
  // Drops the records of `partitions` fetched so far and not yet handed out: the buffered ones
  // and those the poll in progress gathered before a revocation or a rewind (the ones after it
  // come from the new assignment or position).
  void dropPolled(const std::set<TopicPartition>& partitions);
  // The group's committed offsets of `list`, asked again while the coordinator is away.
  rd_kafka_resp_err_t committedOffsets(rd_kafka_topic_partition_list_t* list);
  // Sends the positions reported durable since the last asynchronous commit, when
  // commitInterval_ has passed since it.
  void sendCommits();
  void pauseForIdle(const std::set<TopicPartition>& partitions);
  void resumeAfterIdle();
  // --until-caught-up: this member's partitions are read to their end and committed, and so
  // is every partition of the group (see KafkaSourceOptions::untilCaughtUp).
  bool finished();
  // Commits the positions of the assigned partitions not yet known to be committed; false when
  // the group refuses (a rebalance under way). Tries at most every 200 ms.
  bool ownPositionsCommitted();
  // Fills groupEnds_: the end offset of every partition of the subscribed topics.
  void loadGroupEnds();
  // Whether the group has committed every partition of the subscribed topics up to its end.
  // Asks the brokers at most once a second.
  bool groupCaughtUp();

  KafkaSourceOptions options_;
  rd_kafka_t* rk_;  // owned: rd_kafka_consumer_close() then rd_kafka_destroy() in the destructor
  runtime::RebalanceListener* listener_ = nullptr;
  runtime::TopicInterner topics_;
  std::set<TopicPartition> assigned_;
  std::set<TopicPartition> pausedByCaller_;
  bool idlePaused_ = false;
  bool quietPause_ = false;                     // paused by keepAlive(), not by idle()
  std::optional<TimeSource::Steady> idleFrom_;  // the first idle() since the last poll()
  std::chrono::milliseconds maxPollInterval_{300'000};
  std::chrono::milliseconds commitInterval_{1000};
  std::set<TopicPartition> unsent_;  // durable_ moved on since the last commit sent
  std::chrono::steady_clock::time_point lastAsyncCommit_;
  std::map<TopicPartition, int64_t> durable_;     // next offsets the runner reported durable
  std::map<TopicPartition, int64_t> endOffsets_;  // --until-caught-up: the end at assignment
  std::set<TopicPartition> reachedEnd_;
  std::map<TopicPartition, int64_t> eofOffsets_;  // where end-of-partition was last reported
  // --until-caught-up: the position after the last record of each partition handed out; the
  // end is committed only once the records before it are durable.
  std::map<TopicPartition, int64_t> delivered_;
  bool awaitsDurable_ = false;                // finished() but for positions of delivered_ not yet durable
  std::map<TopicPartition, int64_t> synced_;  // positions a synchronous commit has stored
  std::chrono::steady_clock::time_point lastOwnCommit_;
  std::map<TopicPartition, int64_t> groupEnds_;  // every partition of the topics, for groupCaughtUp()
  std::chrono::steady_clock::time_point lastGroupCheck_;
  std::deque<runtime::Record> buffered_;  // delivered while idle (before the pause took)
  // The records the poll in progress has gathered (from pollStart_ on), null outside a poll: a
  // revocation or rewind during the poll drops what came before it.
  std::vector<runtime::Record>* polling_ = nullptr;
  size_t pollStart_ = 0;
  bool joined_ = false;
  // The member holds an assignment from its group, possibly empty; false before it joined and
  // after the group took its partitions as lost.
  bool inGroup_ = false;
  std::optional<std::chrono::steady_clock::time_point> idleSince_;  // in the group without partitions since
  std::optional<std::chrono::steady_clock::time_point> lastGroupErrorLog_;
  TimeSource::Steady lastIdleCheck_ = options_.time->steady();
  TimeSource::Steady openedAt_ = options_.time->steady();
  std::string lastError_;     // the latest error librdkafka reported (a broker not answering …)
  bool cooperative_ = false;  // the group's rebalance protocol, from partition.assignment.strategy
  bool inCallback_ = false;
  bool closed_ = false;
  std::optional<Error> fatal_;
  TransactionalCommitter* transactions_ = nullptr;
  ConsumerProbe probe_;
};

}  // namespace cdc::kafka
