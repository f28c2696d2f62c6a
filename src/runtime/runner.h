#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "core/time.h"
#include "debezium/schema_cache.h"
#include "metrics/health.h"
#include "runtime/batch_trace.h"
#include "runtime/dead_letter.h"
#include "runtime/handler.h"
#include "runtime/latency.h"
#include "runtime/run_counts.h"
#include "runtime/source.h"

namespace cdc::runtime {

class RunnerProbe;

struct RunnerOptions {
  size_t batchSize = 2000;  // records per batch (BATCH_SIZE)
  std::chrono::milliseconds pollTimeout{200};
  std::chrono::milliseconds tickInterval{1000};
  std::chrono::milliseconds retryInitial{100};  // backoff after a Retry error, doubled each time
  std::chrono::milliseconds retryMax{30'000};
  // At most this many records applied per second (0: no cap), each batch at most one second's
  // worth; the source is served (Kafka: paused) while the runner waits (MAX_RECORDS_PER_SECOND).
  uint64_t maxRecordsPerSecond = 0;
  bool progress = false;                   // a progress line on stderr (when it is a terminal)
  std::chrono::seconds statsInterval{0};   // a "stats" log event this often (0: none)
  const TimeSource* time = &systemTime();  // the wall and steady clocks (a test: a ManualTime)
  RunnerProbe* probe = nullptr;            // the service's series; none when metrics are off
  metrics::Health* health = nullptr;       // told at every turn of the loop (liveness)
  // The writer schemas of records in Avro (Confluent's wire format): each batch's schema ids
  // that are not cached are fetched before it is decoded, retried while the registry does not
  // answer (the records wait; they are not dead letters). None: Avro records are dead letters.
  debezium::SchemaCache* schemas = nullptr;
  // Spans of each batch, its records and its store calls (BatchTrace); none: no tracing.
  tracing::Tracer* tracer = nullptr;
  std::string consumerGroup;  // the spans' messaging.consumer.group.name (Kafka sources)
};

// What a run did. records, dead letters, retries and cuts are the totals of the runner's
// RunCounts (the counts /metrics serves by label), taken when the stats are read.
struct RunStats {
  uint64_t records = 0;
  uint64_t events = 0;
  uint64_t tombstones = 0;
  uint64_t deadLetters = 0;
  uint64_t batches = 0;
  uint64_t retries = 0;
  uint64_t cuts = 0;  // batches committed in parts to serve the source within its interval
  double seconds = 0;
  // The counts above by name (run_summary's "stats"."runner"), with the latencies' p50, p99
  // and max in milliseconds when there are any.
  Stats counts() const;
  std::string lastPosition;  // "topic[partition]@offset" of the last record processed
  // From each record's Kafka timestamp to the moment its effect was durable (its position
  // committable), with a source of live timestamps only.
  LatencyHistogram appendToDurable;
  // Its share in the service: from the moment the record's batch was polled to the same moment
  // (what is left of appendToDurable is the broker's and the fetch's).
  LatencyHistogram pollToDurable;
};

// The progress line a run shows on a terminal: how far a bounded source has come and when it
// should end, then records, rate, dead letters, lag and position.
std::string progressLine(const RunStats& stats, double rate, double seconds, std::optional<Source::Progress> progress,
                         std::optional<int64_t> lag);

// The processing loop every service runs on: poll a batch, decode it, let the handler apply
// it (durably), dead-letter what cannot be processed, then commit the positions. A position
// is committed only after the effects of every record before it are durable, so a crash at
// any point replays at most the uncommitted batch, which the handlers apply idempotently.
// Transient failures are retried with exponential backoff (without committing) for as long as
// it takes or until a stop is requested. Single-threaded.
class Runner : private RebalanceListener {
 public:
  // A record that goes to the dead-letter queue, why, and the class of why (for the metrics:
  // "source", "decode", "rejected", "store").
  struct Poison {
    const Record* record;
    std::string reason;
    const char* kind;
  };

  // Dead letters to `deadLetterStore` (objects or a Kafka topic).
  Runner(Source& source, Handler& handler, DeadLetterStore& deadLetterStore, RunnerOptions options,
         const std::atomic<bool>& stop);
  // Dead letters as objects under dlq/ of `deadLetterObjects`.
  Runner(Source& source, Handler& handler, store::ObjectStore& deadLetterObjects, RunnerOptions options,
         const std::atomic<bool>& stop);

  ~Runner() override;

  // Runs until the source ends or a stop is requested, then closes the source; a Fatal error
  // ends it early.
  Result<RunStats> run();
  // The run's counts so far.
  RunStats stats() const;

 private:
  Runner(Source& source, Handler& handler, DeadLetterQueue deadLetters, RunnerOptions options, const std::atomic<bool>& stop);
  // The loop's steps: one turn (a poll, paced; its batch; the tick when due), then the end of
  // the run (the handler's finish, the last commit, the source closed). Done: the source ended,
  // or a stop came while a store was retried (what is uncommitted is delivered again).
  enum class Turn : uint8_t { Go, Done };
  Result<Turn> turn(std::vector<Record>& records, std::chrono::steady_clock::time_point& lastTick);
  Status tickIfDue(std::chrono::steady_clock::time_point& lastTick);
  Result<RunStats> finishRun();
  bool stoppedWhileRetrying(const Status& s) const;
  Result<RunStats> stoppedUncommitted(const Status& s);
  Status processBatch(std::vector<Record>& records);
  // Decodes, applies and dead-letters a run of records; notes their positions (uncommitted).
  Status processPart(std::span<Record> records);
  // processPart's steps: records to events (the undecodable ones to `poison`), the events
  // applied (what the store or the handler refuses to `poison`), `poison` to the dead-letter
  // queue, the positions noted.
  Status decodePart(std::span<const Record> records, std::vector<Poison>& poison);
  Status applyEvents(std::vector<Poison>& poison);
  Status deadLetter(const std::vector<Poison>& poison);
  void notePositions(std::span<const Record> records);
  // Fetches the schemas of the part's Avro records that are not cached (retried while the
  // registry does not answer).
  Status loadSchemas(std::span<const Record> records);
  // Records of the next part of a batch: about a third of `interval` at the measured pace.
  size_t partSize(std::chrono::milliseconds interval) const;
  // Retries `op` while it fails with Retry and no stop is requested.
  Status withRetry(const char* what, const std::function<Status()>& op);
  // With a cap on records per second: serves the source until the next batch may start.
  void waitForPace();
  // Applies `events`, halving the batch while the store refuses it as Poison until the events
  // that cause it are found: those go to `poison`, the others are applied.
  Status applyIsolating(std::span<const InputEvent> events, std::vector<Poison>& poison);
  // Commits the positions processed so far once the handler says their effects are durable
  // (`force`: it must make them so now).
  Status commitPositions(bool force = false);
  bool revoked(const Record& r) const;
  void onAssigned(std::span<const TopicPartition> partitions) override;
  void onRevoked(std::span<const TopicPartition> partitions) override;
  void onLost(std::span<const TopicPartition> partitions) override;
  void onRewound(std::span<const TopicPartition> partitions) override;
  // Drops the uncommitted positions of these partitions.
  void forgetPositions(std::span<const TopicPartition> partitions);
  void reportProgress(bool final);
  void logStats(std::chrono::steady_clock::time_point now);
  void served(std::chrono::steady_clock::time_point now);
  // The counts of a batch's records and of a part's applied events.
  void countConsumed(const std::vector<Record>& records);
  // counts_'s entry of a record's topic, found by the interned name's address.
  RunCounts::Topic& topicCounts(std::string_view topic);
  void countApplied(const std::vector<Poison>& poison);
  // A rebalance event of `kind` (RunCounts::kMoves) moving `partitions`.
  void noteRebalance(std::string_view kind, size_t partitions);
  Timestamp now() const;
  // A span for work outside a batch (a tick, a revocation, the end), kept only when it did
  // something in a store; not recording without a tracer.
  tracing::Span sideSpan(const char* name);

  Source& source_;
  Handler& handler_;
  DeadLetterQueue deadLetters_;
  RunnerOptions options_;
  const std::atomic<bool>& stop_;
  debezium::Decoder decoder_;
  RunCounts counts_;  // by topic, op, reason …: /metrics reads them, stats() their totals
  std::vector<std::pair<std::string_view, RunCounts::Topic*>> topicCounts_;  // topicCounts()' look-ups
  std::shared_ptr<void> series_;            // counts_ served by the probe, while the runner lives
  RunStats stats_;                          // the other counts and latencies (its records … filled from counts_)
  std::vector<Position> pending_;           // positions processed but not yet committed
  std::vector<int64_t> pendingTimestamps_;  // their records' timestamps (live sources only)
  // When their batches were polled: {poll time in ms, how many of pendingTimestamps_}.
  std::vector<std::pair<int64_t, size_t>> pendingPolls_;
  int64_t polledMs_ = 0;  // the batch in hand
  std::vector<InputEvent> events_;
  std::vector<Rejection> rejected_;
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point lastProgress_;
  std::chrono::steady_clock::time_point lastStats_;
  uint64_t statsRecords_ = 0;  // records at the last stats event
  Status revokeStatus_;
  std::vector<TopicPartition> revokedDuringBatch_;    // revoked (or rewound) while the batch was in hand
  std::chrono::steady_clock::time_point lastServed_;  // the source's last poll, idle or keepAlive
  // When the next batch may start (the cap); none before the first batch.
  std::optional<std::chrono::steady_clock::time_point> paceNext_;
  BatchTrace* batchTrace_ = nullptr;  // the spans of the batch in hand, when traced
  size_t partRecords_ = 0;            // the last part applied: its records
  double partSeconds_ = 0;            // and how long it took
};

}  // namespace cdc::runtime
