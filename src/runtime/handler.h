#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/stats.h"
#include "core/time.h"
#include "core/types.h"
#include "debezium/decoder.h"
#include "runtime/record.h"
#include "tracing/span.h"

namespace cdc::metrics {
class Registry;
}  // namespace cdc::metrics

namespace cdc::runtime {

// A decoded change and the record it came from.
struct InputEvent {
  const Record* record = nullptr;
  debezium::ChangeEvent change;
  // The record's span when its trace is sampled (what it causes, an alert, carries this context
  // on); null otherwise.
  const tracing::SpanContext* trace = nullptr;
};

// An event the service refuses (an impossible value): it goes to the dead-letter queue.
struct Rejection {
  size_t index = 0;  // into the span given to apply()
  std::string reason;
};

// A service's logic as the runtime sees it. It turns events into store operations and does
// no I/O of its own besides its stores. Called from the runner's thread only.
class Handler {
 public:
  virtual ~Handler() = default;
  // "inventory-service": names dead letters and logs.
  virtual std::string_view serviceName() const = 0;
  // Which columns to decode, how to read schemaless decimals.
  virtual debezium::DecoderOptions decoderOptions() const { return {}; }
  // Before the first batch (create tables, load state).
  virtual Status start() { return {}; }
  // Applies a batch (each partition's events in order). Effects are durable on return, or
  // once persisted() says so.
  // A Retry error means nothing needs to be undone: the same batch will be applied again.
  virtual Status apply(std::span<const InputEvent> events, std::vector<Rejection>& rejected) = 0;
  // A record that did not decode is about to become a dead letter; called in its partition's
  // order before the events after it are applied (the analytics state remembers its row, so
  // that a replay of it can tell whether the row changed since).
  virtual Status onUndecodable(const Record& record) {
    (void)record;
    return {};
  }
  virtual void onAssigned(std::span<const TopicPartition> partitions) { (void)partitions; }
  // Whether the effects of the batches applied so far are durable, so that their positions
  // may be committed. A handler that persists less often than every batch (the analytics
  // checkpoints) answers false until its next save is due; `force` makes it save now (before a
  // commit that must not wait: partitions leaving, the end of the run).
  virtual Result<bool> persisted(bool force) {
    (void)force;
    return true;
  }
  // Partitions leave this process: persist what belongs to them.
  virtual Status onRevoked(std::span<const TopicPartition> partitions) {
    (void)partitions;
    return {};
  }
  // Partitions were taken from this process without notice (another member owns them now):
  // drop what belongs to them without writing anything.
  virtual void onLost(std::span<const TopicPartition> partitions) { (void)partitions; }
  // Partitions whose writes the store refused because another member took them over (fencing:
  // this process was a zombie for them). Their positions are not committed and their records
  // not applied until they are assigned to this process again.
  virtual std::vector<TopicPartition> fenced() const { return {}; }
  // Periodic work (the analytics flush), about once per second.
  virtual Status tick(Timestamp now) {
    (void)now;
    return {};
  }
  // At the end of the input or on shutdown, after the last batch.
  virtual Status finish() { return {}; }
  // Adds the service's own series (low-stock alerts, report flushes …) to its metrics; they
  // are updated from the runner's thread. Before the first batch.
  virtual void instrument(metrics::Registry& registry, const std::string& service) { (void)registry, (void)service; }
  // What the service did, for the end of a run's text line ("812 product changes, … 3 low-stock
  // alerts"), and the same counts by name for its JSON (run_summary's "stats"."handler").
  virtual std::string summary() const { return {}; }
  virtual Stats counts() const { return {}; }
};

}  // namespace cdc::runtime
