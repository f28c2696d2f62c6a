// A zombie member of the analytics service: it held a partition, stalled past its session
// timeout (paused, a long GC, a stopped VM), and the group gave the partition to another member,
// which claimed its checkpoint and went on from the committed offset. The zombie's late
// checkpoint write is held by the store until the new owner has committed, then let through:
// the store must refuse it (the manifest's conditional write), and the reports and checkpoints
// must equal those of one member that read every record once. Without the condition (a store
// that ignores it), the same interleaving sets the checkpoint back and loses the new owner's
// records: the test shows both.

#include <gtest/gtest.h>

#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "adapters/localfs/dir_object_store.h"
#include "debezium/decoder.h"
#include "services/analytics/analytics_service.h"
#include "services/analytics/checkpoint.h"
#include "workload/generator.h"

namespace cdc::analytics {
namespace {

namespace fs = std::filesystem;

// The order and order-item records of a generated workload, decoded.
class Stream {
 public:
  explicit Stream(uint64_t seed) {
    workload::WorkloadOptions o;
    o.products = 40;
    o.customers = 60;
    o.orders = 500;
    o.seed = seed;
    workload::WorkloadGenerator g(o);
    workload::GeneratedRecord r;
    while (g.next(r)) {
      if (r.table == debezium::Table::Products) continue;
      runtime::Record rec;
      rec.topic = topics_.intern(r.topic);
      rec.partition = r.partition;
      rec.offset = r.offset;
      rec.key = r.key;
      rec.value = r.value;
      records_.push_back(std::move(rec));
    }
    debezium::Decoder d(AnalyticsHandler::decoding({}));
    for (const auto& rec : records_) {
      runtime::InputEvent e{&rec, {}};
      std::optional<std::string_view> value;
      if (rec.value) value = *rec.value;
      auto s = d.decode(rec.topic, std::string_view(*rec.key), value, e.change);
      EXPECT_TRUE(s.has_value());
      events_.push_back(std::move(e));
    }
  }

  // The events of one partition at offsets [from, to).
  std::vector<runtime::InputEvent> of(const TopicPartition& tp, int64_t from, int64_t to) const {
    std::vector<runtime::InputEvent> out;
    for (const auto& e : events_) {
      if (e.record->topic == tp.topic && e.record->partition == tp.partition && e.record->offset >= from &&
          e.record->offset < to) {
        out.push_back(e);
      }
    }
    return out;
  }
  // The events of every partition but `tp`.
  std::vector<runtime::InputEvent> allBut(const TopicPartition& tp) const {
    std::vector<runtime::InputEvent> out;
    for (const auto& e : events_) {
      if (!(e.record->topic == tp.topic && e.record->partition == tp.partition)) out.push_back(e);
    }
    return out;
  }
  const std::vector<runtime::InputEvent>& all() const { return events_; }
  // The partition with the most records, and its end offset.
  std::pair<TopicPartition, int64_t> busiest() const {
    std::map<TopicPartition, std::pair<size_t, int64_t>> count;
    for (const auto& r : records_) {
      auto& c = count[{std::string(r.topic), r.partition}];
      ++c.first;
      c.second = std::max(c.second, r.offset + 1);
    }
    auto best = count.begin();
    for (auto it = count.begin(); it != count.end(); ++it) {
      if (it->second.first > best->second.first) best = it;
    }
    return {best->first, best->second.second};
  }

 private:
  runtime::TopicInterner topics_;
  std::deque<runtime::Record> records_;
  std::vector<runtime::InputEvent> events_;
};

// An object store that hands every call to `inner`: the stores below change one call of it.
class ForwardingStore : public store::ObjectStore {
 public:
  explicit ForwardingStore(store::ObjectStore& inner) : inner_(inner) {}
  Status put(std::string_view key, std::string_view body, std::string_view type) override { return inner_.put(key, body, type); }
  Result<std::optional<std::string>> get(std::string_view key) override { return inner_.get(key); }
  Result<store::ObjectPage> list(std::string_view prefix, const std::optional<std::string>& token, int maxKeys) override {
    return inner_.list(prefix, token, maxKeys);
  }
  Status remove(std::string_view key) override { return inner_.remove(key); }
  Result<std::optional<store::TaggedObject>> getTagged(std::string_view key) override { return inner_.getTagged(key); }
  Result<std::optional<std::string>> putIf(std::string_view key, std::string_view body, const std::optional<std::string>& ifMatch,
                                           std::string_view type) override {
    return inner_.putIf(key, body, ifMatch, type);
  }

 protected:
  store::ObjectStore& inner_;
};

// The object store as the zombie sees it: its conditional write of `heldKey` waits until the
// test lets it through (after the new owner has committed). With `ignoreConditions`, the
// store behaves as one without conditional writes: every put is made.
class HoldingStore final : public ForwardingStore {
 public:
  HoldingStore(store::ObjectStore& inner, std::string heldKey, bool ignoreConditions)
      : ForwardingStore(inner), heldKey_(std::move(heldKey)), ignoreConditions_(ignoreConditions) {}

  Result<std::optional<std::string>> putIf(std::string_view key, std::string_view body, const std::optional<std::string>& ifMatch,
                                           std::string_view type) override {
    if (key == heldKey_ && holding_) {
      std::unique_lock lock(mutex_);
      waiting_ = true;
      changed_.notify_all();
      changed_.wait(lock, [&] { return !holding_; });
    }
    if (ignoreConditions_) {
      if (auto s = inner_.put(key, body, type); !s) return fail(s.error());
      auto now = inner_.getTagged(key);
      if (!now) return fail(now.error());
      return std::optional<std::string>((*now)->etag);
    }
    return inner_.putIf(key, body, ifMatch, type);
  }

  void hold() { holding_ = true; }
  // Waits until the zombie's write is held.
  void waitUntilHeld() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return waiting_; });
  }
  void letThrough() {
    std::lock_guard lock(mutex_);
    holding_ = false;
    changed_.notify_all();
  }

 private:
  std::string heldKey_;
  bool ignoreConditions_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::atomic<bool> holding_{false};
  bool waiting_ = false;
};

const Timestamp kFlushTime{1767225600000000};

// A member of the analytics service named `member` in the manifests it claims.
std::unique_ptr<AnalyticsHandler> memberOn(store::ObjectStore& objects, const char* member) {
  AnalyticsOptions o;
  o.member = member;
  return std::make_unique<AnalyticsHandler>(objects, o);
}

Status applyAll(AnalyticsHandler& h, std::vector<runtime::InputEvent> events) {
  std::vector<runtime::Rejection> rejected;
  auto s = h.apply(events, rejected);
  EXPECT_TRUE(rejected.empty());
  return s;
}

// The reports of one member that read every record of `stream`, written under `dir`.
std::map<std::string, std::string> singleMemberReports(const fs::path& dir, const std::vector<runtime::InputEvent>& events);

// Every latest.json of the reports, by key.
std::map<std::string, std::string> latestReports(store::ObjectStore& objects) {
  std::map<std::string, std::string> out;
  auto listed = objects.listAll("analytics/");
  EXPECT_TRUE(listed.has_value());
  for (const auto& o : *listed) {
    if (!o.key.ends_with("/latest.json")) continue;
    out[o.key] = **objects.get(o.key);
  }
  return out;
}

std::map<std::string, std::string> singleMemberReports(const fs::path& dir, const std::vector<runtime::InputEvent>& events) {
  localfs::DirObjectStore single(dir);
  AnalyticsHandler h(single, AnalyticsOptions{});
  EXPECT_TRUE(applyAll(h, events).has_value());
  EXPECT_TRUE(h.persisted(true).has_value());
  EXPECT_TRUE(h.flush(kFlushTime).has_value());
  return latestReports(single);
}

class FencingTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() / ("cdc-fencing-" + std::to_string(::getpid()));
    fs::remove_all(base_);
  }
  void TearDown() override { fs::remove_all(base_); }

  // One member reads every record once: the reports and the partition's checkpoint to match.
  void singleRun(const Stream& stream, const TopicPartition& tp) {
    localfs::DirObjectStore objects(base_ / "single");
    AnalyticsHandler h(objects, AnalyticsOptions{});
    ASSERT_TRUE(applyAll(h, stream.all()).has_value());
    ASSERT_TRUE(h.persisted(true).has_value());
    ASSERT_TRUE(h.flush(kFlushTime).has_value());
    singleReports_ = latestReports(objects);
    PartitionCheckpoint reader(objects, tp.topic, tp.partition);
    ASSERT_TRUE(reader.load(singleState_).has_value());
  }

  fs::path base_;
  std::map<std::string, std::string> singleReports_;
  PartitionState singleState_;
};

TEST_P(FencingTest, AZombiesCheckpointHeldUntilTheNewOwnerCommittedIsRefused) {
  const bool conditional = GetParam();
  Stream stream(23);
  auto [tp, end] = stream.busiest();
  ASSERT_GT(end, 60);
  singleRun(stream, tp);
  const int64_t a = end / 3, b = 2 * end / 3;

  localfs::DirObjectStore objects(base_ / "fleet");
  const std::string manifest = "analytics/_state/" + tp.topic + "/" + std::to_string(tp.partition) + "/manifest.json";
  HoldingStore zombieView(objects, manifest, /*ignoreConditions=*/!conditional);
  auto zombiePtr = memberOn(zombieView, "zombie");
  auto ownerPtr = memberOn(objects, "owner");
  AnalyticsHandler& zombie = *zombiePtr;
  AnalyticsHandler& owner = *ownerPtr;

  // The zombie owns the partition: it applies and checkpoints [0, a) (the group's committed
  // offset is a), then applies [a, b) and stalls before its next checkpoint reaches the store.
  ASSERT_TRUE(applyAll(zombie, stream.of(tp, 0, a)).has_value());
  ASSERT_TRUE(zombie.persisted(true).has_value());
  ASSERT_TRUE(applyAll(zombie, stream.of(tp, a, b)).has_value());
  zombieView.hold();
  auto late = std::async(std::launch::async, [&] { return zombie.persisted(true); });
  zombieView.waitUntilHeld();

  // The group gave the partition to the owner, which reads it from the committed offset a to
  // the end (and every other partition), and commits.
  ASSERT_TRUE(applyAll(owner, stream.of(tp, a, end)).has_value());
  ASSERT_TRUE(applyAll(owner, stream.allBut(tp)).has_value());
  ASSERT_TRUE(owner.persisted(true).has_value());

  // Now the zombie's write arrives.
  zombieView.letThrough();
  auto zombieSaved = late.get();
  ASSERT_TRUE(zombieSaved.has_value()) << zombieSaved.error().message;

  PartitionCheckpoint reader(objects, tp.topic, tp.partition);
  PartitionState stored;
  auto loaded = reader.load(stored);
  if (!conditional) {
    // Without the condition the zombie's manifest replaced the owner's, which had committed
    // past b: the checkpoint is set back to b, and names the zombie's delta, which the owner's
    // claim had deleted as the leftover of a refused save. The owner's records are lost and
    // the state is unreadable.
    auto raw = objects.get(manifest);
    ASSERT_TRUE(raw.has_value() && raw->has_value());
    EXPECT_NE((*raw)->find("\"next_offset\":" + std::to_string(b) + ","), std::string::npos) << **raw;
    EXPECT_NE((*raw)->find("\"owner\":\"zombie\""), std::string::npos) << **raw;
    EXPECT_FALSE(loaded.has_value());
    return;
  }
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  EXPECT_EQ(zombie.stats().fenced, 1u);
  EXPECT_EQ(reader.owner(), "owner");
  EXPECT_EQ(stored.nextOffset(), singleState_.nextOffset());
  EXPECT_EQ(stored.orders(), singleState_.orders());
  EXPECT_EQ(stored.items(), singleState_.items());
  EXPECT_EQ(stored.aggregates().orderCount(), singleState_.aggregates().orderCount());
  EXPECT_EQ(stored.aggregates().revenue().toString(), singleState_.aggregates().revenue().toString());
  // The zombie skips the partition's records from now on and commits none of its positions.
  auto fenced = zombie.fenced();
  ASSERT_EQ(fenced.size(), 1u);
  EXPECT_EQ(fenced[0], tp);
  ASSERT_TRUE(applyAll(zombie, stream.of(tp, b, end)).has_value());
  EXPECT_EQ(zombie.persisted(true).value(), true);
  ASSERT_TRUE(reader.load(stored).has_value());
  EXPECT_EQ(reader.owner(), "owner");
  EXPECT_EQ(stored.nextOffset(), singleState_.nextOffset());

  // Both flush, the zombie last: the reports are those of the single member.
  ASSERT_TRUE(owner.flush(kFlushTime).has_value());
  ASSERT_TRUE(zombie.flush(kFlushTime).has_value());
  EXPECT_EQ(latestReports(objects), singleReports_);
}

INSTANTIATE_TEST_SUITE_P(Stores, FencingTest, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "Conditional" : "ConditionsIgnored"; });

// A member that stalled without knowing it lost its partition flushes: the partition it still
// holds in memory (older than the new owner's checkpoint) counts from the checkpoint instead.
TEST(FencingFlushTest, AZombiesFlushCountsAClaimedPartitionFromItsCheckpoint) {
  auto dir = fs::temp_directory_path() / ("cdc-fencing-flush-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  Stream stream(29);
  auto [tp, end] = stream.busiest();
  const auto single = singleMemberReports(dir / "single", stream.all());
  localfs::DirObjectStore objects(dir / "fleet");
  auto zombiePtr = memberOn(objects, "zombie");
  auto ownerPtr = memberOn(objects, "owner");
  AnalyticsHandler& zombie = *zombiePtr;
  AnalyticsHandler& owner = *ownerPtr;
  ASSERT_TRUE(applyAll(zombie, stream.of(tp, 0, end / 2)).has_value());
  ASSERT_TRUE(zombie.persisted(true).has_value());
  ASSERT_TRUE(applyAll(owner, stream.all()).has_value());
  ASSERT_TRUE(owner.persisted(true).has_value());
  ASSERT_TRUE(owner.flush(kFlushTime).has_value());
  // The zombie's flush comes last: without the ownership check it would merge its half of the
  // partition over the owner's reports.
  ASSERT_TRUE(zombie.flush(kFlushTime).has_value());
  EXPECT_EQ(zombie.stats().fenced, 1u);
  EXPECT_EQ(latestReports(objects), single);
  fs::remove_all(dir);
}

// A member whose partitions were lost (its session expired) drops them without writing: its
// unsaved changes never reach the store.
TEST(FencingFlushTest, LostPartitionsAreDroppedUnwritten) {
  auto dir = fs::temp_directory_path() / ("cdc-fencing-lost-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  Stream stream(31);
  auto [tp, end] = stream.busiest();
  localfs::DirObjectStore objects(dir);
  AnalyticsHandler h(objects, AnalyticsOptions{});
  ASSERT_TRUE(applyAll(h, stream.of(tp, 0, end / 2)).has_value());
  ASSERT_TRUE(h.persisted(true).has_value());
  auto manifest = objects.get("analytics/_state/" + tp.topic + "/" + std::to_string(tp.partition) + "/manifest.json");
  ASSERT_TRUE(manifest.has_value() && manifest->has_value());
  ASSERT_TRUE(applyAll(h, stream.of(tp, end / 2, end)).has_value());
  std::vector<TopicPartition> lost{tp};
  h.onLost(lost);
  ASSERT_TRUE(h.persisted(true).has_value());
  auto after = objects.get("analytics/_state/" + tp.topic + "/" + std::to_string(tp.partition) + "/manifest.json");
  EXPECT_EQ(**after, **manifest);
  EXPECT_EQ(h.stats().checkpoints, 1u);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace cdc::analytics

namespace cdc::analytics {
namespace {

// The object store as one replica sees it: just before its first write of a key ending in
// `suffix`, `between` runs (another replica's whole flush, say).
class InterleavingStore final : public ForwardingStore {
 public:
  InterleavingStore(store::ObjectStore& inner, std::string suffix, std::function<void()> between)
      : ForwardingStore(inner), suffix_(std::move(suffix)), between_(std::move(between)) {}

  Status put(std::string_view key, std::string_view body, std::string_view type) override {
    if (key.ends_with(suffix_) && between_) std::exchange(between_, nullptr)();
    return inner_.put(key, body, type);
  }
  Result<std::optional<std::string>> putIf(std::string_view key, std::string_view body, const std::optional<std::string>& ifMatch,
                                           std::string_view type) override {
    if (key.ends_with(suffix_) && between_) std::exchange(between_, nullptr)();
    return inner_.putIf(key, body, ifMatch, type);
  }

 private:
  std::string suffix_;
  std::function<void()> between_;
};

// Two replicas flush together: the second has merged the first's half-way checkpoint of the
// partition the first owns and is about to write latest.json when the first applies the rest
// of it (and saves it when `firstSaves`) and flushes. Returns latest.json as it ends, and as one
// member that read every record writes it.
struct FlushRace {
  std::map<std::string, std::string> latest;
  std::map<std::string, std::string> single;
};
FlushRace raceFlushes(const std::string& name, uint64_t seed, bool firstSaves) {
  auto dir = fs::temp_directory_path() / ("cdc-flush-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  Stream stream(seed);
  auto [tp, end] = stream.busiest();
  FlushRace race{.single = singleMemberReports(dir / "single", stream.all())};
  localfs::DirObjectStore objects(dir / "fleet");
  auto first = memberOn(objects, "first");
  EXPECT_TRUE(applyAll(*first, stream.of(tp, 0, end / 2)).has_value());
  EXPECT_TRUE(first->persisted(true).has_value());
  InterleavingStore secondView(objects, "/latest.json", [&] {
    EXPECT_TRUE(applyAll(*first, stream.of(tp, end / 2, end)).has_value());
    if (firstSaves) {
      EXPECT_TRUE(first->persisted(true).has_value());
    }
    EXPECT_TRUE(first->flush(kFlushTime).has_value());
  });
  auto second = memberOn(secondView, "second");
  EXPECT_TRUE(applyAll(*second, stream.allBut(tp)).has_value());
  EXPECT_TRUE(second->persisted(true).has_value());
  EXPECT_TRUE(second->flush(kFlushTime).has_value());
  race.latest = latestReports(objects);
  fs::remove_all(dir);
  return race;
}

// Two replicas leaving at once (the end of a catch-up run): the first saves its last records
// before its flush. The second's write then finds latest.json changed, it merges again with the
// first's last checkpoint, and latest.json ends with every record.
TEST(FencingFlushTest, TwoReplicasFlushingAtOnceLeaveTheNewestMergeAsLatest) {
  auto race = raceFlushes("race", 37, true);
  EXPECT_EQ(race.latest, race.single);
}

// The first flushes its newer state from memory, unsaved (a periodic flush between two
// checkpoints): the second's merge, even merged again, is older. It must not end as
// latest.json (written after the first's, it did before): covered by the first's positions, it
// leaves latest.json to the first.
TEST(FencingFlushTest, AnOlderMergeNeverReplacesTheNewerOneWhateverTheOrderOfTheWrites) {
  auto race = raceFlushes("older", 41, false);
  EXPECT_EQ(race.latest, race.single);
}

}  // namespace
}  // namespace cdc::analytics
