// Reading a partition's checkpoint while its owner writes it: a flush merges the state of
// partitions other replicas own, and a partition's former owner may still be compacting.

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <functional>

#include "adapters/localfs/dir_object_store.h"
#include "services/analytics/checkpoint.h"

namespace cdc::analytics {
namespace {

// An object store that runs `beforeGet` once, the first time a key containing `trigger` is read.
class InterleavingStore final : public store::ObjectStore {
 public:
  InterleavingStore(store::ObjectStore& inner, std::string trigger) : inner_(inner), trigger_(std::move(trigger)) {}
  Status put(std::string_view key, std::string_view body, std::string_view type) override { return inner_.put(key, body, type); }
  Result<std::optional<std::string>> get(std::string_view key) override {
    if (beforeGet && key.find(trigger_) != std::string_view::npos) std::exchange(beforeGet, nullptr)();
    return inner_.get(key);
  }
  Result<store::ObjectPage> list(std::string_view prefix, const std::optional<std::string>& token, int maxKeys) override {
    return inner_.list(prefix, token, maxKeys);
  }
  Status remove(std::string_view key) override { return inner_.remove(key); }
  Result<std::optional<store::TaggedObject>> getTagged(std::string_view key) override {
    if (beforeGet && key.find(trigger_) != std::string_view::npos) std::exchange(beforeGet, nullptr)();
    return inner_.getTagged(key);
  }
  Result<std::optional<std::string>> putIf(std::string_view key, std::string_view body, const std::optional<std::string>& ifMatch,
                                           std::string_view type) override {
    return inner_.putIf(key, body, ifMatch, type);
  }
  std::function<void()> beforeGet;

 private:
  store::ObjectStore& inner_;
  std::string trigger_;
};

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("cdc-checkpoint-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Adds orders [from, to) to the owner's state and checkpoints it.
  void addOrders(int64_t from, int64_t to) {
    for (int64_t k = from; k < to; ++k) {
      owned_.restoreOrder(
          k, OrderFacts{.total = Money::fromCents(100 * k), .customerId = 7, .day = 20454, .status = statusId("paid")});
      writer_.markDirty(k);
    }
    owned_.restoreOffset(to);
    auto saved = writer_.save(owned_);
    ASSERT_TRUE(saved.has_value()) << saved.error().message;
    ASSERT_TRUE(*saved);
  }

  std::filesystem::path dir_;
  localfs::DirObjectStore objects_{
      (std::filesystem::temp_directory_path() / ("cdc-checkpoint-" + std::to_string(::getpid()))).string()};
  PartitionState owned_;
  PartitionCheckpoint writer_{objects_, "dbserver1.public.orders", 2};
};

TEST_F(CheckpointTest, AReaderRacingACompactionReadsTheNewerCheckpoint) {
  ASSERT_TRUE(writer_.claim(owned_, "writer").has_value());
  addOrders(0, 10);
  addOrders(10, 20);  // two deltas
  InterleavingStore racing(objects_, "/delta-");
  // Between the reader's manifest and its first delta, the owner compacts: the deltas go.
  racing.beforeGet = [&] { addOrders(20, 2100); };
  PartitionCheckpoint reader(racing, "dbserver1.public.orders", 2);
  PartitionState state;
  auto loaded = reader.load(state);
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  EXPECT_EQ(state.nextOffset(), 2100);
  EXPECT_EQ(state.orders(), 2100u);
  EXPECT_EQ(state.aggregates().orderCount(), owned_.aggregates().orderCount());
}

TEST_F(CheckpointTest, AnObjectMissingUnderAnUnchangedManifestIsCorruption) {
  ASSERT_TRUE(writer_.claim(owned_, "writer").has_value());
  addOrders(0, 10);
  addOrders(10, 20);
  auto listed = objects_.listAll("analytics/_state/");
  ASSERT_TRUE(listed.has_value());
  for (const auto& o : *listed) {
    if (o.key.find("/delta-0-") != std::string::npos) {
      ASSERT_TRUE(objects_.remove(o.key).has_value());
    }
  }
  PartitionCheckpoint reader(objects_, "dbserver1.public.orders", 2);
  PartitionState state;
  auto loaded = reader.load(state);
  ASSERT_FALSE(loaded.has_value());
  EXPECT_EQ(loaded.error().kind, ErrorKind::Fatal);
  EXPECT_NE(loaded.error().message.find("delta-0-10"), std::string::npos) << loaded.error().message;
}

}  // namespace
}  // namespace cdc::analytics
