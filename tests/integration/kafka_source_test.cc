// The Kafka source and the alert publisher against the real broker that `scripts/stack up
// kafka` starts: delivery order, commits after durable effects, --until-caught-up, pausing
// while the store fails, consumer lag from librdkafka's statistics, delivery reports.

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "adapters/kafka/kafka_source.h"
#include "adapters/kafka/message_publisher.h"
#include "adapters/localfs/dir_object_store.h"
#include "adapters/replay/replay_source.h"
#include "app/kafka_alerts.h"
#include "runtime/runner.h"
#include "support/run.h"
#include "support/stack.h"

namespace cdc::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct Seen {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  friend bool operator==(const Seen&, const Seen&) = default;
};

// Records what it applies; fails with Retry (a store that does not answer) for the first
// `stallFor` after its first call.
class RecordingHandler final : public runtime::Handler {
 public:
  std::string_view serviceName() const override { return "recording-service"; }
  Status apply(std::span<const runtime::InputEvent> events, std::vector<runtime::Rejection>&) override {
    auto now = std::chrono::steady_clock::now();
    if (!firstCall_) firstCall_ = now;
    if (now - *firstCall_ < stallFor) {
      ++failures;
      if (onStall) onStall(now - *firstCall_);
      return fail(Error::retry("store unavailable"));
    }
    for (const auto& e : events) seen.push_back({std::string(e.record->topic), e.record->partition, e.record->offset});
    if (onApplied) onApplied(seen.size());
    return {};
  }
  Status onRevoked(std::span<const TopicPartition> partitions) override {
    if (!finished) revokedBeforeFinish += partitions.size();
    return {};
  }
  Status finish() override {
    finished = true;
    return {};
  }

  std::chrono::milliseconds stallFor{0};
  std::function<void(std::chrono::steady_clock::duration)> onStall;
  std::function<void(size_t)> onApplied;  // after each batch, with the records applied so far
  std::vector<Seen> seen;
  uint64_t failures = 0;
  size_t revokedBeforeFinish = 0;
  bool finished = false;

 private:
  std::optional<std::chrono::steady_clock::time_point> firstCall_;
};

class KafkaSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bootstrap_ = kafkaBootstrap();
    ASSERT_FALSE(bootstrap_.empty()) << "no Kafka broker: run scripts/stack up kafka";
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    static int run = 0;  // --gtest_repeat: fresh topics and groups each time
    prefix_ = "src" + std::to_string(::getpid()) + "-" + std::to_string(++run) + "-" + name;
    dir_ = fs::temp_directory_path() / ("cdc-kafka-" + prefix_);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Generates a workload under this test's topic prefix and produces it to the broker.
  void produceWorkload(const std::string& flags) {
    workload_ = (dir_ / "events.jsonl").string();
    auto g = run(cdcBinary() + " generate " + flags + " --topic-prefix " + prefix_ + " > " + workload_, false);
    ASSERT_EQ(g.exitCode, 0);
    auto p = run(cdcBinary() + " produce --bootstrap-servers " + bootstrap_ + " --input " + workload_);
    ASSERT_EQ(p.exitCode, 0) << p.out;
  }

  // The records of `topics` in the workload file, in file order (a tombstone is a delete of its
  // key, handed to the service like any change).
  std::vector<Seen> expected(const std::vector<std::string>& topics) {
    auto src = replay::ReplaySource::open(workload_, topics);
    EXPECT_TRUE(src.has_value());
    std::vector<Seen> out;
    std::vector<runtime::Record> batch;
    while (true) {
      batch.clear();
      auto st = (*src)->poll(batch, 4096, 0ms);
      for (const auto& r : batch) {
        out.push_back({std::string(r.topic), r.partition, r.offset});
      }
      if (!st || *st == runtime::PollStatus::End) break;
    }
    return out;
  }

  kafka::KafkaSourceOptions options(const std::string& group, std::vector<std::string> topics) {
    kafka::KafkaSourceOptions o;
    o.properties = {{"bootstrap.servers", bootstrap_, "test"}, {"group.id", prefix_ + "-" + group, "test"}};
    o.topics = std::move(topics);
    return o;
  }

  std::string topic(const std::string& table) const { return prefix_ + ".public." + table; }

  std::string bootstrap_;
  std::string prefix_;
  fs::path dir_;
  std::string workload_;
};

// Records of each partition in the order of the partition.
std::map<std::pair<std::string, int32_t>, std::vector<int64_t>> byPartition(const std::vector<Seen>& seen) {
  std::map<std::pair<std::string, int32_t>, std::vector<int64_t>> out;
  for (const auto& s : seen) out[{s.topic, s.partition}].push_back(s.offset);
  return out;
}

TEST_F(KafkaSourceTest, DeliversEveryRecordOnceInPartitionOrderCommitsAndStopsWhenCaughtUp) {
  produceWorkload("--products 150 --orders 1500");
  std::vector<std::string> topics{topic("products"), topic("order_items")};
  localfs::DirObjectStore dlq((dir_ / "lake").string());
  std::atomic<bool> stop{false};

  auto source = kafka::KafkaSource::open([&] {
    auto o = options("g", topics);
    o.untilCaughtUp = true;
    return o;
  }());
  ASSERT_TRUE(source.has_value()) << source.error().message;
  RecordingHandler handler;
  {
    runtime::Runner runner(**source, handler, dlq, {}, stop);
    auto stats = runner.run();
    ASSERT_TRUE(stats.has_value()) << stats.error().message;
    EXPECT_EQ(stats->deadLetters, 0u);
  }
  auto want = expected(topics);
  ASSERT_GT(want.size(), 1000u);
  EXPECT_EQ(byPartition(handler.seen), byPartition(want));
  EXPECT_EQ(handler.seen.size(), want.size()) << "every record once";
  EXPECT_EQ(handler.revokedBeforeFinish, 0u);
  EXPECT_GE((*source)->probe().commits.load(), 1u);
  EXPECT_EQ((*source)->probe().commitFailures.load(), 0u);
  source->reset();

  // The group's committed offsets are at the end: a new member finds nothing left to do.
  auto again = kafka::KafkaSource::open([&] {
    auto o = options("g", topics);
    o.untilCaughtUp = true;
    return o;
  }());
  ASSERT_TRUE(again.has_value());
  RecordingHandler second;
  runtime::Runner runner(**again, second, dlq, {}, stop);
  auto stats = runner.run();
  ASSERT_TRUE(stats.has_value()) << stats.error().message;
  EXPECT_EQ(stats->records, 0u);
  EXPECT_TRUE(second.seen.empty());
}

TEST_F(KafkaSourceTest, SmallBatchesAreCommittedAtMostOncePerIntervalAndCompletelyAtTheEnd) {
  // A commit per batch would queue at the group coordinator (thousands a second under a steady
  // trickle) and the closing synchronous commit would wait behind them all.
  produceWorkload("--products 100 --orders 1000");
  std::vector<std::string> topics{topic("products"), topic("order_items")};
  localfs::DirObjectStore dlq((dir_ / "lake").string());
  std::atomic<bool> stop{false};
  auto member = [&] {
    auto o = options("g", topics);
    o.properties.push_back({"auto.commit.interval.ms", "500", "test"});
    o.untilCaughtUp = true;
    return kafka::KafkaSource::open(std::move(o));
  };
  auto source = member();
  ASSERT_TRUE(source.has_value()) << source.error().message;
  RecordingHandler handler;
  runtime::RunnerOptions ro;
  ro.batchSize = 5;
  uint64_t batches = 0;
  {
    runtime::Runner runner(**source, handler, dlq, ro, stop);
    auto stats = runner.run();
    ASSERT_TRUE(stats.has_value()) << stats.error().message;
    batches = stats->batches;
  }
  auto want = expected(topics);
  EXPECT_EQ(handler.seen.size(), want.size());
  ASSERT_GT(batches, 100u);
  uint64_t commits = (*source)->probe().commits.load();
  EXPECT_GE(commits, 1u);
  EXPECT_LT(commits, batches / 10) << batches << " batches";
  EXPECT_EQ((*source)->probe().commitFailures.load(), 0u);
  source->reset();

  auto again = member();
  ASSERT_TRUE(again.has_value());
  RecordingHandler second;
  runtime::Runner runner(**again, second, dlq, ro, stop);
  auto stats = runner.run();
  ASSERT_TRUE(stats.has_value()) << stats.error().message;
  EXPECT_EQ(stats->records, 0u) << "the last positions were committed";
}

// The group's committed offsets of `topic`'s partitions, asked through a handle of the group
// that does not join it (-1001: none committed).
std::map<int32_t, int64_t> groupCommitted(const std::string& bootstrap, const std::string& group, const std::string& topic,
                                          int partitions) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[256];
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "group.id", group.c_str(), err, sizeof err);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  std::map<int32_t, int64_t> out;
  if (!rk) return out;
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p) rd_kafka_topic_partition_list_add(list, topic.c_str(), p);
  if (rd_kafka_committed(rk, list, 10'000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    for (int i = 0; i < list->cnt; ++i) out[list->elems[i].partition] = list->elems[i].offset;
  }
  rd_kafka_topic_partition_list_destroy(list);
  rd_kafka_destroy(rk);
  return out;
}

TEST_F(KafkaSourceTest, AnUntilCaughtUpRunCommitsTheEndOnlyOnceTheLastRecordsAreDurable) {
  // A handler that saves on a timer (the analytics checkpoints) reports the last records'
  // positions later than it was given them. Committing the end before then would let the
  // group's other members leave with merges of older checkpoints, and a crash lose the records.
  produceWorkload("--products 300 --orders 10");
  std::vector<std::string> topics{topic("products")};
  auto want = byPartition(expected(topics));
  ASSERT_EQ(want.size(), 3u);
  size_t total = 0;
  std::map<int32_t, int64_t> ends;
  for (const auto& [tp, offsets] : want) {
    total += offsets.size();
    ends[tp.second] = offsets.back() + 1;
  }
  auto o = options("g", topics);
  o.untilCaughtUp = true;
  auto source = kafka::KafkaSource::open(std::move(o));
  ASSERT_TRUE(source.has_value()) << source.error().message;
  std::vector<runtime::Record> records;
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (records.size() < total && std::chrono::steady_clock::now() < deadline) {
    auto st = (*source)->poll(records, 1000, 200ms);
    ASSERT_TRUE(st.has_value()) << st.error().message;
    ASSERT_EQ(*st, runtime::PollStatus::Ok) << "ended before its records were durable";
  }
  ASSERT_EQ(records.size(), total);
  // Every record is processed; all but the last of partition 0 are durable.
  std::map<int32_t, int64_t> next;
  for (const auto& r : records) next[r.partition] = std::max(next[r.partition], r.offset + 1);
  std::vector<runtime::Position> positions;
  for (const auto& [p, n] : next) positions.push_back({topic("products"), p, p == 0 ? n - 1 : n});
  ASSERT_TRUE((*source)->commit(positions).has_value());
  // Served for longer than the group's caught-up check (once a second): no end while the last
  // record is not durable, and the group's offset of its partition stays before it.
  std::vector<runtime::Record> more;
  for (auto until = std::chrono::steady_clock::now() + 3s; std::chrono::steady_clock::now() < until;) {
    auto st = (*source)->poll(more, 1000, 200ms);
    ASSERT_TRUE(st.has_value()) << st.error().message;
    ASSERT_EQ(*st, runtime::PollStatus::Ok) << "the run ended with partition 0's last record not durable";
  }
  EXPECT_TRUE(more.empty());
  auto committed = groupCommitted(bootstrap_, prefix_ + "-g", topic("products"), 3);
  EXPECT_EQ(committed[0], ends[0] - 1);
  // Once it is durable, the end is committed and the run ends.
  ASSERT_TRUE((*source)->commit(std::vector<runtime::Position>{{topic("products"), 0, next[0]}}).has_value());
  bool end = false;
  for (deadline = std::chrono::steady_clock::now() + 30s; !end && std::chrono::steady_clock::now() < deadline;) {
    auto st = (*source)->poll(more, 1000, 200ms);
    ASSERT_TRUE(st.has_value()) << st.error().message;
    end = *st == runtime::PollStatus::End;
  }
  ASSERT_TRUE(end);
  EXPECT_EQ(groupCommitted(bootstrap_, prefix_ + "-g", topic("products"), 3), ends);
}

// A handler that saves only when made to (a checkpoint interval longer than the run).
class SavesWhenForced final : public runtime::Handler {
 public:
  std::string_view serviceName() const override { return "forced-saves"; }
  Status apply(std::span<const runtime::InputEvent> events, std::vector<runtime::Rejection>&) override {
    applied += events.size();
    return {};
  }
  Result<bool> persisted(bool force) override {
    if (force) ++forcedSaves;
    return force;
  }
  size_t applied = 0;
  size_t forcedSaves = 0;
};

TEST_F(KafkaSourceTest, AtTheEndTheHandlerIsMadeToSaveRatherThanWaitedFor) {
  // The end is committed only once the last records are durable: a handler that would save
  // them much later (a long CHECKPOINT_INTERVAL_MS) is made to save at once.
  produceWorkload("--products 300 --orders 10");
  std::vector<std::string> topics{topic("products")};
  auto want = expected(topics);
  localfs::DirObjectStore dlq((dir_ / "lake").string());
  std::atomic<bool> stop{false};
  auto o = options("g", topics);
  o.untilCaughtUp = true;
  auto source = kafka::KafkaSource::open(std::move(o));
  ASSERT_TRUE(source.has_value()) << source.error().message;
  SavesWhenForced handler;
  std::atomic<bool> guardFired{false};
  std::jthread guard([&](std::stop_token token) {
    for (int i = 0; i < 600 && !token.stop_requested(); ++i) std::this_thread::sleep_for(100ms);
    if (!token.stop_requested()) {
      guardFired = true;
      stop = true;
    }
  });
  runtime::Runner runner(**source, handler, dlq, {}, stop);
  auto stats = runner.run();
  guard.request_stop();
  ASSERT_TRUE(stats.has_value()) << stats.error().message;
  EXPECT_FALSE(guardFired) << "the run waited for a save that only the end of the run makes";
  EXPECT_EQ(handler.applied, want.size());
  EXPECT_GE(handler.forcedSaves, 1u);
  std::map<int32_t, int64_t> ends;
  for (const auto& [tp, offsets] : byPartition(want)) ends[tp.second] = offsets.back() + 1;
  EXPECT_EQ(groupCommitted(bootstrap_, prefix_ + "-g", topic("products"), 3), ends);
}

// A rate cap waits a little between batches: the partitions go on fetching through waits
// shorter than idleFetchingFor (a pause would drop the prefetched records and fetch them again
// after every batch, far below the cap); a wait longer than that pauses them.
TEST_F(KafkaSourceTest, ARateCapsShortWaitsKeepFetchingAndItsLongWaitsPause) {
  produceWorkload("--products 200 --orders 800");
  std::vector<std::string> topics{topic("products"), topic("order_items")};
  auto want = expected(topics);
  localfs::DirObjectStore dlq((dir_ / "lake").string());
  struct Run {
    uint64_t pauses = 0;
    std::vector<Seen> seen;
  };
  // A member of its own group reading 50-record batches under the cap, stopped once it has
  // applied `stopAfter` records (0: at the end).
  auto capped = [&](const std::string& group, size_t perSecond, std::chrono::milliseconds idleFetchingFor, size_t stopAfter) {
    auto o = options(group, topics);
    o.untilCaughtUp = true;
    o.idleFetchingFor = idleFetchingFor;
    auto source = kafka::KafkaSource::open(std::move(o));
    EXPECT_TRUE(source.has_value()) << source.error().message;
    if (!source) return Run{};
    RecordingHandler handler;
    std::atomic<bool> stop{false};
    if (stopAfter > 0) handler.onApplied = [&](size_t applied) { stop = stop || applied >= stopAfter; };
    runtime::RunnerOptions ro;
    ro.batchSize = 50;
    ro.maxRecordsPerSecond = perSecond;
    runtime::Runner runner(**source, handler, dlq, ro, stop);
    auto stats = runner.run();
    EXPECT_TRUE(stats.has_value()) << stats.error().message;
    return Run{(*source)->probe().pauses.load(), std::move(handler.seen)};
  };

  // 12.5 ms apart at 4,000/s: under the second it fetches through.
  Run fast = capped("fast", 4000, 1000ms, 0);
  EXPECT_EQ(fast.pauses, 0u) << "a wait of 12.5 ms paused the partitions";
  EXPECT_EQ(byPartition(fast.seen), byPartition(want));
  EXPECT_EQ(fast.seen.size(), want.size());

  // 500 ms apart at 100/s: over the 200 ms it fetches through; a few waits are enough.
  Run slow = capped("slow", 100, 200ms, 200);
  EXPECT_GE(slow.pauses, 1u) << "waits of 500 ms went on fetching";
  EXPECT_GE(slow.seen.size(), 200u);
  // What it read of each partition, it read in order from the start.
  auto all = byPartition(want);
  for (const auto& [tp, offsets] : byPartition(slow.seen)) {
    const auto& whole = all[tp];
    ASSERT_LE(offsets.size(), whole.size());
    EXPECT_TRUE(std::equal(offsets.begin(), offsets.end(), whole.begin())) << tp.first << "/" << tp.second;
  }
}

TEST_F(KafkaSourceTest, AFailingStorePausesThePartitionsAndKeepsTheGroupSession) {
  produceWorkload("--products 200 --orders 3000");
  std::vector<std::string> topics{topic("products"), topic("order_items")};
  localfs::DirObjectStore dlq((dir_ / "lake").string());
  std::atomic<bool> stop{false};

  auto o = options("g", topics);
  o.untilCaughtUp = true;
  // A member that does not poll for 7 s is expelled from the group: the store stalls for 12 s.
  o.properties.push_back({"session.timeout.ms", "6000", "test"});
  o.properties.push_back({"heartbeat.interval.ms", "1000", "test"});
  o.properties.push_back({"max.poll.interval.ms", "7000", "test"});
  o.properties.push_back({"statistics.interval.ms", "500", "test"});
  auto source = kafka::KafkaSource::open(std::move(o));
  ASSERT_TRUE(source.has_value()) << source.error().message;

  RecordingHandler handler;
  handler.stallFor = 12s;
  bool pausedDuringStall = false;
  int64_t prefetchedLate = -1;  // pre-fetched messages librdkafka holds, late in the stall
  size_t partitionsLate = 0;
  handler.onStall = [&](std::chrono::steady_clock::duration stalled) {
    if (stalled > 2s) pausedDuringStall = (*source)->probe().paused.load();
    if (stalled > 9s) {
      auto s = (*source)->probe().statistics();
      prefetchedLate = 0;
      for (const auto& p : s.partitions) prefetchedLate += p.fetchQueueMessages;
      partitionsLate = s.partitions.size();
    }
  };
  runtime::RunnerOptions ro;
  ro.retryInitial = 100ms;
  ro.retryMax = 1s;
  {
    runtime::Runner runner(**source, handler, dlq, ro, stop);
    auto stats = runner.run();
    ASSERT_TRUE(stats.has_value()) << stats.error().message;
  }
  EXPECT_GT(handler.failures, 5u);
  EXPECT_TRUE(pausedDuringStall);
  EXPECT_GE((*source)->probe().pauses.load(), 1u);
  EXPECT_EQ(handler.revokedBeforeFinish, 0u) << "the member kept its partitions through the stall";
  EXPECT_EQ(partitionsLate, 6u);
  EXPECT_EQ(prefetchedLate, 0) << "paused partitions hold no pre-fetched messages";
  auto want = expected(topics);
  EXPECT_EQ(byPartition(handler.seen), byPartition(want));
  EXPECT_EQ(handler.seen.size(), want.size());
}

// A partition paused by the backpressure (idle) and taken away by a rebalance comes back
// fetching when the group gives it back: librdkafka keeps the pause flag of a partition it no
// longer assigns, so a source that did not resume it would never read it again.
TEST_F(KafkaSourceTest, APartitionPausedWhenTakenAwayIsReadWhenGivenBack) {
  produceWorkload("--products 300 --orders 10");
  std::vector<std::string> topics{topic("products")};
  auto want = byPartition(expected(topics));
  ASSERT_EQ(want.size(), 3u);

  // B leaves in the middle of a rebalance: the group then waits for a session timeout, 6 s
  // (the broker's minimum) rather than librdkafka's 45 s.
  auto member = [&](bool untilCaughtUp) {
    auto o = options("g", topics);
    o.properties.push_back({"session.timeout.ms", "6000", "test"});
    o.properties.push_back({"heartbeat.interval.ms", "1000", "test"});
    o.untilCaughtUp = untilCaughtUp;
    return o;
  };
  auto a = kafka::KafkaSource::open(member(true));
  ASSERT_TRUE(a.has_value()) << a.error().message;
  std::map<std::pair<std::string, int32_t>, std::vector<int64_t>> seen;
  auto take = [&](std::vector<runtime::Record>& records) {
    std::map<std::pair<std::string, int32_t>, int64_t> next;
    for (const auto& r : records) {
      seen[{std::string(r.topic), r.partition}].push_back(r.offset);
      next[{std::string(r.topic), r.partition}] = r.offset + 1;
    }
    std::vector<runtime::Position> positions;
    for (const auto& [tp, n] : next) positions.push_back({tp.first, tp.second, n});
    if (!positions.empty()) {
      EXPECT_TRUE((*a)->commit(positions).has_value());
    }
    records.clear();
  };
  // A owns the three partitions and has read a little of them.
  std::vector<runtime::Record> records;
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (((*a)->assignment().size() < 3 || records.size() < 30) && std::chrono::steady_clock::now() < deadline) {
    ASSERT_TRUE((*a)->poll(records, 30, 200ms).has_value());
  }
  ASSERT_EQ((*a)->assignment().size(), 3u);
  take(records);

  // While A is paused (a batch it cannot complete), B joins and takes partitions from it.
  auto b = kafka::KafkaSource::open(member(false));
  ASSERT_TRUE(b.has_value()) << b.error().message;
  std::vector<runtime::Record> ignored;
  deadline = std::chrono::steady_clock::now() + 60s;
  while ((*a)->assignment().size() == 3 && std::chrono::steady_clock::now() < deadline) {
    (*a)->idle(100ms);
    ASSERT_TRUE((*b)->poll(ignored, 1, 100ms).has_value());  // B commits nothing
    ignored.clear();
  }
  ASSERT_LT((*a)->assignment().size(), 3u) << "B never took a partition from A";

  // B leaves; its partitions come back to A, which is fetching again.
  ASSERT_TRUE((*b)->close().has_value());
  b->reset();
  deadline = std::chrono::steady_clock::now() + 60s;
  bool end = false;
  while (!end && std::chrono::steady_clock::now() < deadline) {
    auto st = (*a)->poll(records, 500, 200ms);
    ASSERT_TRUE(st.has_value()) << st.error().message;
    take(records);
    end = *st == runtime::PollStatus::End;
  }
  ASSERT_TRUE(end) << "A did not read its partitions to the end after getting them back";
  for (const auto& [tp, offsets] : want) {
    SCOPED_TRACE(tp.second);
    ASSERT_FALSE(seen[tp].empty());
    EXPECT_EQ(seen[tp].back(), offsets.back()) << "partition read to its end";
  }
}

TEST_F(KafkaSourceTest, ConsumerLagPerPartitionComesFromTheStatistics) {
  produceWorkload("--products 300 --orders 10");
  std::vector<std::string> topics{topic("products")};
  auto want = byPartition(expected(topics));
  std::map<int32_t, int64_t> ends;  // the generator's offsets are the topic's: it was empty
  for (const auto& [tp, offsets] : want) ends[tp.second] = offsets.back() + 1;

  auto o = options("g", topics);
  o.properties.push_back({"statistics.interval.ms", "500", "test"});
  auto source = kafka::KafkaSource::open(std::move(o));
  ASSERT_TRUE(source.has_value()) << source.error().message;
  std::vector<runtime::Record> records;
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (records.size() < 120 && std::chrono::steady_clock::now() < deadline) {
    ASSERT_TRUE((*source)->poll(records, 120 - records.size(), 200ms).has_value());
  }
  ASSERT_EQ(records.size(), 120u);
  std::map<int32_t, int64_t> next;
  for (const auto& r : records) next[r.partition] = std::max(next[r.partition], r.offset + 1);
  std::vector<runtime::Position> positions;
  for (const auto& [p, n] : next) positions.push_back({topic("products"), p, n});
  ASSERT_TRUE((*source)->commit(positions).has_value());

  // Statistics arrive while the consumer is served; wait for one that has seen the commit and
  // a fetch answer of every partition (a partition not fetched yet has no high watermark: the
  // first 120 records may all come from the other two). Polling on fetches the rest; only what
  // was committed counts for the lag.
  kafka::ConsumerStatistics s;
  deadline = std::chrono::steady_clock::now() + 20s;
  auto settled = [&] {
    if (s.partitions.size() != 3) return false;
    for (const auto& p : s.partitions) {
      if (p.committedOffset != (next.contains(p.partition) ? next[p.partition] : -1001)) return false;
      if (p.highWatermark < 0) return false;
    }
    return true;
  };
  std::vector<runtime::Record> rest;
  while (std::chrono::steady_clock::now() < deadline) {
    ASSERT_TRUE((*source)->poll(rest, 1000, 250ms).has_value());
    s = (*source)->probe().statistics();
    if (settled()) break;
  }
  ASSERT_EQ(s.partitions.size(), 3u) << (*source)->probe().rawStatistics().substr(0, 2000);
  int64_t totalLag = 0;
  for (const auto& p : s.partitions) {
    SCOPED_TRACE(p.partition);
    EXPECT_EQ(p.topic, topic("products"));
    EXPECT_EQ(p.highWatermark, ends[p.partition]);
    if (next.contains(p.partition)) {
      EXPECT_EQ(p.committedOffset, next[p.partition]);
      EXPECT_EQ(p.consumerLag, ends[p.partition] - next[p.partition]);
    }
    totalLag += p.consumerLag;
  }
  int64_t total = 0;
  for (const auto& [p, e] : ends) total += e;
  if (next.size() == 3) {
    EXPECT_EQ(totalLag, total - 120);
  }
  EXPECT_GT(s.receivedMessages, 0);
  EXPECT_EQ(s.groupState, "up");
}

TEST_F(KafkaSourceTest, AlertsArePublishedWithCheckedDeliveryReports) {
  std::string alertsTopic = prefix_ + ".alerts";
  auto producer = kafka::KafkaProducer::open({{"bootstrap.servers", bootstrap_, "test"}});
  ASSERT_TRUE(producer.has_value()) << producer.error().message;
  auto publisher = std::make_shared<kafka::KafkaPublisher>(std::move(*producer), alertsTopic, "alert");
  app::KafkaAlertSink sink(publisher);
  std::vector<inventory::LowStockAlert> alerts = {
      {.productId = 7, .name = "Kaffeemühle 7", .stock = 9, .threshold = 10, .sourceTsMs = 1767225600123},
      {.productId = 8, .name = "Desk Lamp", .stock = 0, .threshold = 10, .sourceTsMs = 1767225600124},
      {.productId = 7, .name = "Kaffeemühle 7", .stock = 3, .threshold = 10, .sourceTsMs = 1767225600125},
  };
  ASSERT_TRUE(sink.publish(alerts).has_value());  // handed over, not waited for
  EXPECT_TRUE(sink.settled(true));                // waits for the delivery reports
  EXPECT_EQ(publisher->published(), 3u);
  EXPECT_EQ(publisher->failed(), 0u);
  EXPECT_TRUE(sink.settled(false));  // nothing left on its way
  // Acknowledged by product and crossing: their outbox entries may go.
  auto acknowledged = sink.takeAcknowledged();
  EXPECT_EQ(acknowledged.size(), 3u);

  auto o = options("reader", {alertsTopic});
  o.untilCaughtUp = true;
  auto reader = kafka::KafkaSource::open(std::move(o));
  ASSERT_TRUE(reader.has_value());
  std::vector<runtime::Record> got;
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    auto st = (*reader)->poll(got, 100, 200ms);
    ASSERT_TRUE(st.has_value());
    if (*st == runtime::PollStatus::End) break;
  }
  ASSERT_EQ(got.size(), 3u);
  std::multiset<std::string> values, want;
  for (const auto& r : got) {
    ASSERT_TRUE(r.key && r.value);
    EXPECT_NE(r.value->find("\"product_id\":" + *r.key), std::string::npos) << *r.value;
    values.insert(*r.value);
  }
  for (const auto& a : alerts) want.insert(a.toJson());
  EXPECT_EQ(values, want);

  // Nobody listens on port 1: the deliveries fail, are reported and counted, and publishing
  // does not stop the inventory.
  auto unreachable =
      kafka::KafkaProducer::open({{"bootstrap.servers", "127.0.0.1:1", "test"}, {"message.timeout.ms", "1500", "test"}});
  ASSERT_TRUE(unreachable.has_value());
  auto downPublisher = std::make_shared<kafka::KafkaPublisher>(std::move(*unreachable), alertsTopic, "alert", 10s);
  app::KafkaAlertSink down(downPublisher);
  EXPECT_TRUE(down.publish(std::span(alerts).first(2)).has_value());
  EXPECT_FALSE(down.settled(false));  // still trying: the positions would wait
  EXPECT_TRUE(down.settled(true));    // given up on after message.timeout.ms, and logged
  EXPECT_EQ(downPublisher->published(), 0u);
  EXPECT_EQ(downPublisher->failed(), 2u);
  EXPECT_TRUE(down.takeAcknowledged().empty());  // their outbox entries stay
}

// The partitions of `topic` the brokers report (0: no such topic), through a producer of its own.
int partitionsOf(const std::string& bootstrap, const std::string& topic) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[256];
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "allow.auto.create.topics", "false", err, sizeof err);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) return 0;
  int partitions = 0;
  const rd_kafka_metadata_t* md = nullptr;
  if (rd_kafka_metadata(rk, 1, nullptr, &md, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    for (int i = 0; i < md->topic_cnt; ++i) {
      if (topic == md->topics[i].topic && md->topics[i].err == RD_KAFKA_RESP_ERR_NO_ERROR)
        partitions = md->topics[i].partition_cnt;
    }
    rd_kafka_metadata_destroy(md);
  }
  rd_kafka_destroy(rk);
  return partitions;
}

TEST_F(KafkaSourceTest, TheAlertTopicIsLookedUpBeforeTheFirstAlert) {
  // The inventory's positions wait for its alerts' delivery: the first alert of a run must not
  // also wait for the topic's look-up (here, its creation by the broker's auto-create).
  std::string alertsTopic = prefix_ + ".early-alerts";
  ASSERT_EQ(partitionsOf(bootstrap_, alertsTopic), 0);
  auto producer = kafka::KafkaProducer::open({{"bootstrap.servers", bootstrap_, "test"}});
  ASSERT_TRUE(producer.has_value()) << producer.error().message;
  kafka::KafkaPublisher sink(std::move(*producer), alertsTopic, "alert");
  int partitions = 0;
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while ((partitions = partitionsOf(bootstrap_, alertsTopic)) == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_EQ(partitions, 3);          // the stack's num.partitions
  EXPECT_TRUE(sink.settled(false));  // nothing was published
  EXPECT_EQ(sink.published(), 0u);
}

}  // namespace
}  // namespace cdc::test
