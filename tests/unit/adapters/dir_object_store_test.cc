#include "adapters/localfs/dir_object_store.h"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "support/object_store_contract.h"

namespace cdc::localfs {
namespace {

namespace fs = std::filesystem;

class DirObjectStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("cdc-objects-" + std::to_string(::getpid()) + "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
  }
  void TearDown() override { fs::remove_all(root_); }
  fs::path root_;
};

TEST_F(DirObjectStoreTest, KeyLiesAtRootSlashKey) {
  DirObjectStore s(root_);
  ASSERT_TRUE(s.put("analytics/summary/latest.json", "{\"a\":1}", "application/json").has_value());
  EXPECT_TRUE(fs::exists(root_ / "analytics/summary/latest.json"));
}

TEST_F(DirObjectStoreTest, RejectsKeysThatEscapeTheRoot) {
  DirObjectStore s(root_);
  EXPECT_EQ(s.put("../evil", "x", "").error().kind, ErrorKind::Poison);
  EXPECT_EQ(s.put("/abs", "x", "").error().kind, ErrorKind::Poison);
  EXPECT_EQ(s.put("a//b", "x", "").error().kind, ErrorKind::Poison);
}

// Another process deleting objects while we list (a replica compacting a checkpoint while a
// flush lists the checkpoints) leaves the listing whole: the vanished objects are not in it.
TEST_F(DirObjectStoreTest, ListingWhileAnotherWriterDeletesNeverFails) {
  DirObjectStore reader(root_);
  DirObjectStore writer(root_);
  ASSERT_TRUE(writer.put("state/t/0/manifest.json", "{}", "").has_value());
  std::atomic<bool> done{false};
  std::thread churn([&] {
    for (int i = 1; i <= 3000; ++i) {
      std::string body(100, 'x');
      if (!writer.put("state/t/0/delta-" + std::to_string(i), body, "").has_value()) break;
      if (!writer.remove("state/t/0/delta-" + std::to_string(i - 1)).has_value()) break;
    }
    done = true;
  });
  int listings = 0;
  while (!done) {
    auto all = reader.listAll("state/");
    ASSERT_TRUE(all.has_value()) << all.error().message;
    ++listings;
    bool manifest = false;
    for (const auto& o : *all) manifest |= o.key == "state/t/0/manifest.json";
    EXPECT_TRUE(manifest);
    EXPECT_LE(all->size(), 3u);
  }
  churn.join();
  EXPECT_GT(listings, 0);
  auto all = reader.listAll("state/");
  ASSERT_TRUE(all.has_value());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[1].key, "state/t/0/manifest.json");
}

// The contract of every object store, on a fresh directory.
struct FreshDirectory {
  static std::unique_ptr<store::ObjectStore> make() {
    // Removed when the test program ends.
    static struct Roots {
      std::vector<fs::path> paths;
      ~Roots() {
        for (const auto& p : paths) fs::remove_all(p);
      }
    } roots;
    auto root = fs::temp_directory_path() /
                ("cdc-objects-contract-" + std::to_string(::getpid()) + "-" + std::to_string(roots.paths.size()));
    fs::remove_all(root);
    roots.paths.push_back(root);
    return std::make_unique<DirObjectStore>(root);
  }
};

// Conditional writes are atomic across processes: processes that each add 1 to a counter by
// read, increment, write-if-unchanged (retrying when refused) lose no increment.
TEST_F(DirObjectStoreTest, ConditionalWritesOfSeveralProcessesLoseNothing) {
  constexpr int kProcesses = 4, kIncrements = 150;
  {
    DirObjectStore s(root_);
    ASSERT_TRUE(s.put("state/counter", "0", "").has_value());
  }
  std::vector<pid_t> children;
  for (int p = 0; p < kProcesses; ++p) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      DirObjectStore s(root_);
      for (int i = 0; i < kIncrements;) {
        auto read = s.getTagged("state/counter");
        if (!read || !*read) ::_exit(2);
        auto written = s.putIf("state/counter", std::to_string(std::stoi((*read)->body) + 1), (*read)->etag, "");
        if (!written) ::_exit(3);
        if (*written) ++i;
      }
      ::_exit(0);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  }
  DirObjectStore s(root_);
  EXPECT_EQ(**s.get("state/counter"), std::to_string(kProcesses * kIncrements));
}

}  // namespace
}  // namespace cdc::localfs

namespace cdc::test {
INSTANTIATE_TYPED_TEST_SUITE_P(Directory, ObjectStoreContract, cdc::localfs::FreshDirectory);
}  // namespace cdc::test
