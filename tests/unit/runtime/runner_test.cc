#include "runtime/runner.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <functional>
#include <thread>

#include "adapters/localfs/dir_object_store.h"
#include "core/log.h"
#include "metrics/health.h"
#include "metrics/registry.h"
#include "runtime/runner_probe.h"
#include "support/item_records.h"
#include "support/vector_source.h"

namespace cdc::runtime {
namespace {

namespace fs = std::filesystem;

using test::item;
using test::itemColumns;
using test::kItems;
using test::VectorSource;

// Records what it applied; fails with Retry a set number of times; rejects negative quantities.
class RecordingHandler final : public Handler {
 public:
  std::string_view serviceName() const override { return "test-service"; }
  debezium::DecoderOptions decoderOptions() const override { return itemColumns(); }
  Status apply(std::span<const InputEvent> events, std::vector<Rejection>& rejected) override {
    ++calls;
    if (onApply) onApply();
    if (time) time->advance(perEvent * events.size());  // a slow store, on the runner's clock
    if (retriesLeft > 0) {
      --retriesLeft;
      return fail(Error::retry("store throttled"));
    }
    if (fatal) return fail(Error::fatal("broken"));
    for (size_t i = 0; i < events.size(); ++i) {
      const auto* item = events[i].change.afterAs<debezium::OrderItemRow>();
      if (item && item->quantity < 0) {
        rejected.push_back({i, "negative quantity"});
        continue;
      }
      applied.push_back(events[i].change.rowId());
    }
    return {};
  }
  Status finish() override {
    finished = true;
    return {};
  }
  int calls = 0;
  int retriesLeft = 0;
  bool fatal = false;
  bool finished = false;
  std::chrono::microseconds perEvent{0};  // a slow store (with `time`)
  ManualTime* time = nullptr;
  std::function<void()> onApply;
  std::vector<int64_t> applied;
  // Rebalance calls, and the partitions the handler reports taken over by another member.
  Status onRevoked(std::span<const TopicPartition> partitions) override {
    revoked.insert(revoked.end(), partitions.begin(), partitions.end());
    return {};
  }
  void onLost(std::span<const TopicPartition> partitions) override {
    lost.insert(lost.end(), partitions.begin(), partitions.end());
  }
  std::vector<TopicPartition> fenced() const override { return fencedPartitions; }
  std::vector<TopicPartition> revoked, lost, fencedPartitions;
};

// Two good changes, a message that is not JSON, one the service refuses (a negative
// quantity) and a tombstone.
std::vector<Record> poisonAmongChanges() {
  Record garbage = item(0, 1, 0, 0);
  garbage.value = "{\"id\":";
  Record tombstone = item(0, 3, 9, 0);
  tombstone.value.reset();
  return {item(0, 0, 1, 1), garbage, item(0, 2, 3, -4), tombstone, item(0, 4, 5, 1)};
}

class RunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("cdc-runner-" + std::to_string(::getpid()) + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    objects_ = std::make_unique<localfs::DirObjectStore>(root_);
    options_.batchSize = 2;
    options_.retryInitial = std::chrono::milliseconds(1);
  }
  void TearDown() override { fs::remove_all(root_); }
  fs::path root_;
  std::unique_ptr<localfs::DirObjectStore> objects_;
  RunnerOptions options_;
  std::atomic<bool> stop_{false};
};

TEST_F(RunnerTest, ACapOnRecordsPerSecondTakesOneSecondsRecordsAtATime) {
  std::vector<Record> records;
  for (int i = 0; i < 300; ++i) records.push_back(item(0, i, i + 1, 1));
  ManualTime time;
  time.advance(std::chrono::hours(1));  // a steady clock far from its zero, as a machine's is
  options_.time = &time;
  VectorSource src(records);
  src.time = &time;
  RecordingHandler h;
  options_.batchSize = 2000;
  options_.maxRecordsPerSecond = 100;
  Runner runner(src, h, *objects_, options_, stop_);
  auto started = time.steady();
  auto stats = runner.run();
  auto took = time.steady() - started;
  ASSERT_TRUE(stats.has_value()) << stats.error().message;
  EXPECT_EQ(h.applied.size(), 300u);
  EXPECT_EQ(h.calls, 3);  // batches of 100, not one of 300
  EXPECT_EQ(src.commits.size(), 3u);
  // Between them the runner waited (serving the source) until a second had passed since the
  // batch before: at least 2 s for 300 records at 100/s.
  EXPECT_GE(took, std::chrono::milliseconds(1990));
  EXPECT_GE(src.idled, std::chrono::milliseconds(1500));
  // A stop while waiting ends the run at once, what was applied committed.
  std::vector<Record> more;
  for (int i = 0; i < 50; ++i) more.push_back(item(1, i, i + 1, 1));
  VectorSource slow(more);
  slow.time = &time;
  const auto stopAt = time.steady() + std::chrono::milliseconds(300);
  slow.onIdle = [&] { stop_ = stop_ || time.steady() >= stopAt; };  // SIGTERM 300 ms in
  RecordingHandler h2;
  options_.maxRecordsPerSecond = 10;
  Runner stopping(slow, h2, *objects_, options_, stop_);
  auto stopped = stopping.run();
  ASSERT_TRUE(stopped.has_value()) << stopped.error().message;
  EXPECT_EQ(h2.applied.size(), 10u);
  ASSERT_EQ(slow.commits.size(), 1u);
  EXPECT_EQ(slow.commits[0], (std::vector<Position>{{std::string(kItems), 1, 10}}));
}

// Each wait of the cap overruns (a sleep ends late) and each batch takes a millisecond: the
// batches keep to the cap's schedule all the same, the overruns made up by the next waits.
TEST_F(RunnerTest, ACapsWaitsThatOverrunAreMadeUpAndTheCapHolds) {
  std::vector<Record> records;
  for (int i = 0; i < 1000; ++i) records.push_back(item(0, i, i + 1, 1));
  ManualTime time;
  options_.time = &time;
  VectorSource src(records);
  src.time = &time;
  src.onIdle = [&] { time.advance(std::chrono::milliseconds(1)); };
  RecordingHandler h;
  h.onApply = [&] { time.advance(std::chrono::milliseconds(1)); };
  options_.batchSize = 50;
  options_.maxRecordsPerSecond = 10'000;  // 5 ms a batch
  Runner runner(src, h, *objects_, options_, stop_);
  auto started = time.steady();
  auto stats = runner.run();
  auto took = time.steady() - started;
  ASSERT_TRUE(stats.has_value()) << stats.error().message;
  EXPECT_EQ(h.applied.size(), 1000u);
  EXPECT_EQ(h.calls, 20);
  // 20 batches of 5 ms: the last starts at 95 ms. A runner that lost each overrun took 115 ms.
  EXPECT_GE(took, std::chrono::milliseconds(95));
  EXPECT_LE(took, std::chrono::milliseconds(102));
}

TEST_F(RunnerTest, AppliesInOrderAndCommitsAfterEachBatch) {
  VectorSource src({item(0, 0, 1, 1), item(1, 0, 2, 1), item(0, 1, 3, 1), item(0, 2, 4, 1), item(1, 1, 5, 1)});
  RecordingHandler h;
  Runner runner(src, h, *objects_, options_, stop_);
  auto stats = runner.run();
  ASSERT_TRUE(stats.has_value()) << stats.error().message;
  EXPECT_EQ(h.applied, (std::vector<int64_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(stats->records, 5u);
  EXPECT_EQ(stats->events, 5u);
  EXPECT_TRUE(h.finished);
  ASSERT_EQ(src.commits.size(), 3u);
  EXPECT_EQ(src.commits[0], (std::vector<Position>{{std::string(kItems), 0, 1}, {std::string(kItems), 1, 1}}));
  EXPECT_EQ(src.commits[1], (std::vector<Position>{{std::string(kItems), 0, 3}}));
  EXPECT_EQ(src.commits[2], (std::vector<Position>{{std::string(kItems), 1, 2}}));
}

TEST_F(RunnerTest, TheTimeFromAppendToDurableIsMeasuredForLiveTimestampsOnly) {
  const int64_t nowMs = 1767225700000;
  ManualTime time(Timestamp::fromMillis(nowMs));
  options_.time = &time;
  std::vector<Record> records;
  for (int i = 0; i < 5; ++i) {
    records.push_back(item(0, i, i + 1, 1));
    records.back().timestampMs = nowMs - 10 * (i + 1);  // appended 10 … 50 ms before their batch is durable
  }
  VectorSource live(records);
  live.live = true;
  RecordingHandler h;
  auto stats = Runner(live, h, *objects_, options_, stop_).run();
  ASSERT_TRUE(stats.has_value()) << stats.error().message;
  EXPECT_EQ(stats->appendToDurable.count(), 5u);
  EXPECT_EQ(stats->appendToDurable.quantile(0.5), 30);
  EXPECT_EQ(stats->appendToDurable.max(), 50);
  // The clock stands still: polled and durable at the same moment, the whole 10 … 50 ms was
  // before the poll.
  EXPECT_EQ(stats->pollToDurable.count(), 5u);
  EXPECT_EQ(stats->pollToDurable.max(), 0);

  VectorSource replay(records);  // a file's timestamps are history: nothing measured
  RecordingHandler h2;
  auto replayed = Runner(replay, h2, *objects_, options_, stop_).run();
  ASSERT_TRUE(replayed.has_value());
  EXPECT_EQ(replayed->appendToDurable.count(), 0u);
  EXPECT_EQ(replayed->pollToDurable.count(), 0u);
}

TEST_F(RunnerTest, TheServiceShareOfTheLatencyCountsFromThePoll) {
  const int64_t nowMs = 1767225700000;
  ManualTime time(Timestamp::fromMillis(nowMs));
  options_.time = &time;
  std::vector<Record> records;
  for (int i = 0; i < 4; ++i) {
    records.push_back(item(0, i, i + 1, 1));
    records.back().timestampMs = nowMs - 20;  // fetched 20 ms after the broker appended them
  }
  VectorSource live(records);
  live.live = true;
  RecordingHandler h;
  h.onApply = [&] { time.advance(std::chrono::milliseconds(7)); };  // the store takes 7 ms
  options_.batchSize = 2;
  auto stats = Runner(live, h, *objects_, options_, stop_).run();
  ASSERT_TRUE(stats.has_value()) << stats.error().message;
  EXPECT_EQ(stats->appendToDurable.count(), 4u);
  // The second batch is polled when the first is durable: its records waited 7 ms more.
  EXPECT_EQ(stats->appendToDurable.quantile(0.5), 27);
  EXPECT_EQ(stats->appendToDurable.max(), 34);
  EXPECT_EQ(stats->pollToDurable.count(), 4u);
  EXPECT_EQ(stats->pollToDurable.quantile(0.5), 7);
  EXPECT_EQ(stats->pollToDurable.max(), 7);
}

// A store slow enough that one batch would outlast the source's serving interval (Kafka's
// max.poll.interval.ms, past which the member loses its partitions): the batch is applied in
// parts; between them what is durable is committed and the source served. Every record is
// applied once, in order, and the commits only move forward. Without a serving interval (a
// file, stdin) the same batch is applied whole.
TEST_F(RunnerTest, ABatchTheStoreMakesSlowIsCommittedInPartsWhenTheSourceCannotWait) {
  std::vector<Record> records;
  std::vector<int64_t> all;
  for (int i = 0; i < 600; ++i) {
    records.push_back(item(i % 2, i / 2, i + 1, 1));
    all.push_back(i + 1);
  }
  options_.batchSize = 600;
  for (bool canWait : {true, false}) {
    SCOPED_TRACE(canWait ? "no serving interval" : "a 100 ms serving interval");
    ManualTime time;
    options_.time = &time;
    VectorSource src(records);
    src.time = &time;
    if (!canWait) src.interval = std::chrono::milliseconds(100);
    RecordingHandler h;
    h.time = &time;
    h.perEvent = std::chrono::microseconds(1000);
    auto stats = Runner(src, h, *objects_, options_, stop_).run();
    ASSERT_TRUE(stats.has_value()) << stats.error().message;
    EXPECT_EQ(h.applied, all);
    EXPECT_EQ(stats->batches, 1u);
    if (canWait) {
      EXPECT_EQ(h.calls, 1);
      EXPECT_EQ(stats->cuts, 0u);
      EXPECT_EQ(src.commits.size(), 1u);
      continue;
    }
    EXPECT_GT(h.calls, 2);  // parts
    EXPECT_GE(stats->cuts, 1u);
    EXPECT_EQ(src.keepAlives, static_cast<int>(stats->cuts));
    ASSERT_EQ(src.commits.size(), stats->cuts + 1);
    int64_t previous = 0;
    for (const auto& commit : src.commits) {
      int64_t next = 0;
      for (const auto& p : commit) next += p.nextOffset;
      EXPECT_GT(next, previous);
      previous = next;
    }
    EXPECT_EQ(previous, 600);  // 300 in each partition
  }
}

TEST_F(RunnerTest, TransientFailuresAreRetriedNeverDeadLettered) {
  VectorSource src({item(0, 0, 1, 1), item(0, 1, 2, 1)});
  RecordingHandler h;
  h.retriesLeft = 3;
  Runner runner(src, h, *objects_, options_, stop_);
  auto stats = runner.run();
  ASSERT_TRUE(stats.has_value());
  EXPECT_EQ(h.calls, 4);
  EXPECT_EQ(stats->retries, 3u);
  EXPECT_EQ(stats->deadLetters, 0u);
  EXPECT_EQ(h.applied.size(), 2u);
}

TEST_F(RunnerTest, TheStatsLineKeepsItsIntervalWhileTheStoreIsRetried) {
  // An outage holds the loop in the retry back-off: the JSON stats line still comes every
  // interval (the operator watching the logs sees the run stand, with its lag), not only
  // after the store answers again.
  VectorSource src({item(0, 0, 1, 1), item(0, 1, 2, 1)});
  RecordingHandler h;
  h.retriesLeft = 25;
  options_.retryInitial = std::chrono::milliseconds(100);
  options_.retryMax = std::chrono::milliseconds(100);
  options_.statsInterval = std::chrono::seconds(1);
  ManualTime time;
  options_.time = &time;
  src.time = &time;
  auto previous = spdlog::default_logger();
  log::configure(spdlog::level::info, log::Format::Json);
  ::testing::internal::CaptureStderr();
  Runner runner(src, h, *objects_, options_, stop_);
  auto stats = runner.run();
  spdlog::default_logger()->flush();
  std::string err = ::testing::internal::GetCapturedStderr();
  spdlog::set_default_logger(previous);
  ASSERT_TRUE(stats.has_value());
  EXPECT_EQ(h.applied.size(), 2u);
  size_t lines = 0;
  for (auto at = err.find(R"("msg":"stats","records":0,)"); at != std::string::npos;
       at = err.find(R"("msg":"stats","records":0,)", at + 1)) {
    ++lines;
  }
  EXPECT_GE(lines, 2u) << err;  // the 2.5 s of retries saw at least two intervals end
}

TEST_F(RunnerTest, PoisonGoesToTheDeadLetterQueueAndTheRunGoesOn) {
  VectorSource src(poisonAmongChanges());
  RecordingHandler h;
  Runner runner(src, h, *objects_, options_, stop_);
  auto stats = runner.run();
  ASSERT_TRUE(stats.has_value());
  // The tombstone is a delete of its key (9), handed to the service like any change.
  EXPECT_EQ(h.applied, (std::vector<int64_t>{1, 9, 5}));
  EXPECT_EQ(stats->deadLetters, 2u);
  EXPECT_EQ(stats->tombstones, 1u);
  EXPECT_EQ(src.commits.back().back().nextOffset, 5);  // everything is accounted for

  auto letters = listDeadLetters(*objects_, "test-service");
  ASSERT_TRUE(letters.has_value());
  ASSERT_EQ(letters->size(), 2u);
  const DeadLetter& d = (*letters)[0];
  EXPECT_EQ(d.location, "dlq/test-service/dbserver1.public.order_items/date=2026-01-01/0-1.json");
  EXPECT_EQ(d.topic, kItems);
  EXPECT_EQ(d.offset, 1);
  EXPECT_EQ(*d.value, "{\"id\":");
  EXPECT_EQ(*d.key, "{\"id\":0}");
  EXPECT_NE(d.error.find("truncated_json"), std::string::npos);
  EXPECT_EQ(d.attempts, 1);
  EXPECT_EQ((*letters)[1].error, "negative quantity");
}

TEST_F(RunnerTest, TheProbeCountsWhatWasAppliedAndWhatWentToTheDeadLetterQueue) {
  VectorSource src(poisonAmongChanges());
  RecordingHandler h;
  metrics::Registry registry;
  RunnerProbe probe(registry, "test-service");
  metrics::Health health(std::chrono::seconds(60));
  probe.expectTopics({"dbserver1.public.products", "dbserver1.public.order_items"});
  options_.probe = &probe;
  options_.health = &health;
  Runner runner(src, h, *objects_, options_, stop_);
  auto stats = runner.run();
  ASSERT_TRUE(stats.has_value());
  std::string text = registry.text();
  auto has = [&](const std::string& line) { return text.find("\n" + line + "\n") != std::string::npos; };
  const std::string topic = "topic=\"dbserver1.public.order_items\"";
  // The series and the run's summary are the same counts.
  EXPECT_EQ(stats->records, 5u);
  EXPECT_EQ(stats->deadLetters, 2u);
  EXPECT_TRUE(has("cdc_records_consumed_total{service=\"test-service\"," + topic + "} 5")) << text;
  // A topic of the service that had no record yet is there, at 0, reasons and all.
  EXPECT_TRUE(has("cdc_records_consumed_total{service=\"test-service\",topic=\"dbserver1.public.products\"} 0")) << text;
  EXPECT_TRUE(has("cdc_dead_letters_total{reason=\"store\",service=\"test-service\",topic=\"dbserver1.public.products\"} 0"))
      << text;
  // Two creates applied (the negative quantity was refused), one tombstone, none of the garbage.
  EXPECT_TRUE(has("cdc_events_applied_total{op=\"c\",service=\"test-service\"," + topic + "} 2")) << text;
  EXPECT_TRUE(has("cdc_events_applied_total{op=\"tombstone\",service=\"test-service\"," + topic + "} 1")) << text;
  EXPECT_TRUE(has("cdc_dead_letters_total{reason=\"decode\",service=\"test-service\"," + topic + "} 1")) << text;
  EXPECT_TRUE(has("cdc_dead_letters_total{reason=\"rejected\",service=\"test-service\"," + topic + "} 1")) << text;
  EXPECT_TRUE(has("consumer_errors_total{service=\"test-service\"} 2")) << text;
  EXPECT_TRUE(has("cdc_batch_records_count{service=\"test-service\"} 3")) << text;  // batches of 2, 2, 1
  EXPECT_EQ(health.liveness().first, 200);
}

TEST_F(RunnerTest, NonUtf8PoisonIsKeptByteForByte) {
  Record r = item(0, 0, 1, 1);
  r.value = std::string("{\"id\":1,\"name\":\"\xff\xfe\"}");
  VectorSource src({r});
  RecordingHandler h;
  Runner runner(src, h, *objects_, options_, stop_);
  ASSERT_TRUE(runner.run().has_value());
  auto letters = listDeadLetters(*objects_);
  ASSERT_EQ(letters->size(), 1u);
  EXPECT_EQ(*(*letters)[0].value, *r.value);
  EXPECT_NE((*letters)[0].error.find("invalid_utf8"), std::string::npos);
}

TEST_F(RunnerTest, FatalErrorStopsWithoutCommitting) {
  VectorSource src({item(0, 0, 1, 1)});
  RecordingHandler h;
  h.fatal = true;
  Runner runner(src, h, *objects_, options_, stop_);
  auto stats = runner.run();
  ASSERT_FALSE(stats.has_value());
  EXPECT_EQ(stats.error().kind, ErrorKind::Fatal);
  EXPECT_TRUE(src.commits.empty());
}

TEST_F(RunnerTest, StopRequestedWhileRetryingLeavesTheBatchUncommitted) {
  VectorSource src({item(0, 0, 1, 1)});
  RecordingHandler h;
  h.retriesLeft = 1'000'000;
  options_.retryInitial = std::chrono::milliseconds(5);
  ManualTime time;
  options_.time = &time;
  src.time = &time;
  // A SIGTERM arrives while the store is down, 50 ms in.
  const auto stopAt = time.steady() + std::chrono::milliseconds(50);
  src.onIdle = [&] { stop_ = stop_ || time.steady() >= stopAt; };
  Runner runner(src, h, *objects_, options_, stop_);
  auto stats = runner.run();
  ASSERT_TRUE(stats.has_value()) << stats.error().message;
  EXPECT_TRUE(h.applied.empty());
  EXPECT_TRUE(src.commits.empty());
}

TEST_F(RunnerTest, DeadLettersReplayOnceTheCauseIsFixed) {
  VectorSource src({item(0, 0, 1, -1), item(0, 1, 2, -2)});
  RecordingHandler rejecting;
  ASSERT_TRUE(Runner(src, rejecting, *objects_, options_, stop_).run().has_value());
  auto letters = listDeadLetters(*objects_, "test-service");
  ASSERT_EQ(letters->size(), 2u);

  // Replayed while still broken: the letters stay, with attempts counted up.
  {
    DeadLetterSource dlq(*objects_, *letters);
    RecordingHandler stillRejecting;
    ASSERT_TRUE(Runner(dlq, stillRejecting, *objects_, options_, stop_).run().has_value());
    auto again = listDeadLetters(*objects_, "test-service");
    ASSERT_EQ(again->size(), 2u);
    EXPECT_EQ((*again)[0].attempts, 2);
    letters = std::move(again);
  }

  // A handler that accepts them: the letters are applied and removed.
  class Accepting final : public Handler {
   public:
    std::string_view serviceName() const override { return "test-service"; }
    debezium::DecoderOptions decoderOptions() const override { return itemColumns(); }
    Status apply(std::span<const InputEvent> events, std::vector<Rejection>&) override {
      for (const auto& e : events) ids.push_back(e.change.rowId());
      return {};
    }
    std::vector<int64_t> ids;
  } accepting;
  DeadLetterSource dlq(*objects_, *letters);
  ASSERT_TRUE(Runner(dlq, accepting, *objects_, options_, stop_).run().has_value());
  EXPECT_EQ(accepting.ids, (std::vector<int64_t>{1, 2}));
  EXPECT_TRUE(listDeadLetters(*objects_, "test-service")->empty());
}

// A source whose group takes partition 1 away while the runner waits to retry a batch, and
// that counts the waits and whether it was closed.
class RevokingSource final : public Source {
 public:
  explicit RevokingSource(std::vector<Record> records) : inner_(std::move(records)) {}
  Result<PollStatus> poll(std::vector<Record>& out, size_t max, std::chrono::milliseconds t) override {
    return inner_.poll(out, max, t);
  }
  Status commit(std::span<const Position> positions) override { return inner_.commit(positions); }
  void setRebalanceListener(RebalanceListener* l) override { listener_ = l; }
  void idle(std::chrono::milliseconds) override {
    ++idles;
    if (listener_ && idles == 1) {
      TopicPartition gone{std::string(kItems), 1};
      if (lose) {
        listener_->onLost(std::span(&gone, 1));
      } else {
        listener_->onRevoked(std::span(&gone, 1));
      }
    }
  }
  Status close() override {
    closed = true;
    return {};
  }
  std::string describe() const override { return "revoking"; }
  void pause(std::span<const TopicPartition> partitions) override {
    paused.insert(paused.end(), partitions.begin(), partitions.end());
  }
  const std::vector<std::vector<Position>>& commits() const { return inner_.commits; }
  int idles = 0;
  bool closed = false;
  bool lose = false;  // the group takes the partition away without notice (the session expired)
  std::vector<TopicPartition> paused;

 private:
  VectorSource inner_;
  RebalanceListener* listener_ = nullptr;
};

TEST_F(RunnerTest, APartitionRevokedWhileItsBatchWaitsIsLeftToItsNewOwner) {
  RevokingSource src({item(0, 0, 1, 1), item(1, 0, 2, 1), item(0, 1, 3, 1), item(1, 1, 4, 1)});
  RecordingHandler h;
  h.retriesLeft = 1;  // the store fails once: the runner waits in the source, which loses partition 1
  options_.batchSize = 4;
  Runner runner(src, h, *objects_, options_, stop_);
  auto stats = runner.run();
  ASSERT_TRUE(stats.has_value()) << stats.error().message;
  EXPECT_GE(src.idles, 1);
  EXPECT_EQ(h.applied, (std::vector<int64_t>{1, 3})) << "partition 1's records are not applied here";
  ASSERT_EQ(src.commits().size(), 1u);
  EXPECT_EQ(src.commits()[0], (std::vector<Position>{{std::string(kItems), 0, 2}})) << "nor committed";
  EXPECT_TRUE(src.closed);
}

// The same partition lost instead (rd_kafka_assignment_lost): the handler is told to drop it
// without writing (onLost, not onRevoked), and nothing of it is applied or committed.
TEST_F(RunnerTest, APartitionLostWhileItsBatchWaitsIsDroppedUnwritten) {
  RevokingSource src({item(0, 0, 1, 1), item(1, 0, 2, 1), item(0, 1, 3, 1), item(1, 1, 4, 1)});
  src.lose = true;
  RecordingHandler h;
  h.retriesLeft = 1;
  options_.batchSize = 4;
  Runner runner(src, h, *objects_, options_, stop_);
  auto stats = runner.run();
  ASSERT_TRUE(stats.has_value()) << stats.error().message;
  EXPECT_EQ(h.lost, (std::vector<TopicPartition>{{std::string(kItems), 1}}));
  EXPECT_TRUE(h.revoked.empty());
  EXPECT_EQ(h.applied, (std::vector<int64_t>{1, 3}));
  ASSERT_EQ(src.commits().size(), 1u);
  EXPECT_EQ(src.commits()[0], (std::vector<Position>{{std::string(kItems), 0, 2}}));
}

// A partition the handler found taken over by another member (its write refused by the store):
// its positions are not committed, and the source stops fetching it.
TEST_F(RunnerTest, AFencedPartitionsPositionsAreNotCommitted) {
  RevokingSource src({item(0, 0, 1, 1), item(1, 0, 2, 1), item(0, 1, 3, 1), item(1, 1, 4, 1)});
  RecordingHandler h;
  h.fencedPartitions = {{std::string(kItems), 1}};
  options_.batchSize = 4;
  Runner runner(src, h, *objects_, options_, stop_);
  auto stats = runner.run();
  ASSERT_TRUE(stats.has_value()) << stats.error().message;
  ASSERT_FALSE(src.commits().empty());
  for (const auto& commit : src.commits()) {
    for (const auto& p : commit) EXPECT_NE(p.partition, 1) << "a fenced partition's position was committed";
  }
  EXPECT_EQ(src.commits().back(), (std::vector<Position>{{std::string(kItems), 0, 2}}));
  ASSERT_FALSE(src.paused.empty());
  EXPECT_EQ(src.paused.front(), (TopicPartition{std::string(kItems), 1}));
}

// A store that refuses a whole write when any event of it carries quantity 13 (as DynamoDB
// refuses a transaction holding one item over 400 KB).
class RefusingHandler final : public Handler {
 public:
  std::string_view serviceName() const override { return "test-service"; }
  debezium::DecoderOptions decoderOptions() const override { return itemColumns(); }
  Status apply(std::span<const InputEvent> events, std::vector<Rejection>&) override {
    ++calls;
    for (const auto& e : events) {
      const auto* item = e.change.afterAs<debezium::OrderItemRow>();
      if (item && item->quantity == 13)
        return fail(Error::poison("ValidationException: Item size has exceeded the maximum allowed size"));
    }
    for (const auto& e : events) applied.push_back(e.change.rowId());
    return {};
  }
  int calls = 0;
  std::vector<int64_t> applied;
};

TEST_F(RunnerTest, AnEventTheStoreRefusesIsFoundInItsBatchAndDeadLettered) {
  std::vector<Record> records;
  for (int i = 1; i <= 8; ++i) records.push_back(item(i % 2, i / 2, i, i == 5 ? 13 : 1));
  VectorSource src(records);
  RefusingHandler h;
  options_.batchSize = 8;
  Runner runner(src, h, *objects_, options_, stop_);
  auto stats = runner.run();
  ASSERT_TRUE(stats.has_value()) << stats.error().message;
  EXPECT_EQ(h.applied, (std::vector<int64_t>{1, 2, 3, 4, 6, 7, 8}));
  EXPECT_EQ(stats->deadLetters, 1u);
  auto letters = listDeadLetters(*objects_, "test-service");
  ASSERT_TRUE(letters.has_value());
  ASSERT_EQ(letters->size(), 1u);
  EXPECT_EQ((*letters)[0].offset, 2);
  EXPECT_NE((*letters)[0].error.find("ValidationException"), std::string::npos) << (*letters)[0].error;
  EXPECT_LE(h.calls, 8) << "halving, not one call per event";
  ASSERT_EQ(src.commits.size(), 1u);
}

TEST(DeadLetterQueueTest, EncodesTheSeedFieldsAndRoundTrips) {
  DeadLetter d;
  d.service = "inventory-service";
  d.topic = "dbserver1.public.products";
  d.partition = 2;
  d.offset = 99;
  d.timestampMs = 1767225600000;
  d.key = "{\"id\":1}";
  d.value = "{bad";
  d.error = "invalid_json";
  d.attempts = 3;
  d.deadLetteredAt = "2026-01-01T00:00:01Z";
  std::string json = DeadLetterQueue::encode(d);
  for (const char* field : {"\"topic\"", "\"message\"", "\"error\"", "\"timestamp\"", "\"service\"", "\"partition\"",
                            "\"offset\"", "\"key\"", "\"attempts\""}) {
    EXPECT_NE(json.find(field), std::string::npos) << field;
  }
  auto back = DeadLetterQueue::decode(json);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->value, d.value);
  EXPECT_EQ(back->attempts, 3);
  EXPECT_EQ(back->partition, 2);
  EXPECT_EQ(DeadLetterQueue::objectKey("inventory-service", d.topic, 2, 99, d.timestampMs, Timestamp{}),
            "dlq/inventory-service/dbserver1.public.products/date=2026-01-01/2-99.json");
}

}  // namespace
}  // namespace cdc::runtime
