#pragma once

#include <array>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/stats.h"

namespace cdc::runtime {

// The runner's counts, kept once, by the labels its series carry: the run summary and the
// progress line read their totals (RunStats), /metrics every series (RunnerProbe::observe).
// Counted on the runner's thread; read from any (a scrape): a topic or a retried operation
// seen for the first time is added under a lock the readers take too.
class RunCounts {
 public:
  static constexpr std::array<std::string_view, 6> kOps{"c", "u", "d", "r", "t", "tombstone"};
  static constexpr size_t kTombstone = 5;
  // Why a record became a dead letter: unreadable as delivered, not a change event, refused by
  // the service, refused by the store.
  static constexpr std::array<std::string_view, 4> kReasons{"source", "decode", "rejected", "store"};
  static constexpr std::array<std::string_view, 3> kMoves{"assigned", "revoked", "lost"};

  struct Topic {
    std::string name;
    bool expected = false;  // one of the service's topics: its series exist from the start, at 0
    Count consumed;         // records of the batches processed
    std::array<Count, kOps.size()> applied;
    std::array<Count, kReasons.size()> deadLetters;
  };
  struct Retried {
    std::string what;  // "apply", "commit", "poll" …
    Count times;
  };

  RunCounts() = default;
  RunCounts(const RunCounts&) = delete;
  RunCounts& operator=(const RunCounts&) = delete;

  // The service's own topics, counted from 0.
  void expect(const std::vector<std::string>& topics);
  Topic& topic(std::string_view name);
  Count& retried(std::string_view what);
  // The index of an op, a reason or a move in its table above (the last entry when unknown).
  static size_t op(std::string_view name);
  // The index of Debezium's op code ('c', 'u', 'd', 'r', 't').
  static size_t opIndex(char code);
  static size_t reason(std::string_view name);
  static size_t move(std::string_view name);

  Count cuts;                                   // batches committed in parts so that the source is served within its interval
  std::array<Count, kMoves.size()> rebalances;  // rebalance events, by kind
  std::array<Count, kMoves.size()> partitionsMoved;  // partitions they assigned, revoked, lost

  uint64_t records() const;
  uint64_t deadLetters() const;
  uint64_t retries() const;
  void forEachTopic(const std::function<void(const Topic&)>& f) const;
  void forEachRetried(const std::function<void(const Retried&)>& f) const;

 private:
  mutable std::mutex mutex_;  // additions to the lists below, against readers of other threads
  std::deque<Topic> topics_;
  std::deque<Retried> retried_;
};

}  // namespace cdc::runtime
