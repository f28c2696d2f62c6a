#include "adapters/localfs/dir_object_store.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include "support/object_store_contract.h"

namespace cdc::localfs {
namespace {

namespace fs = std::filesystem;

class DirObjectStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("cdc-objects-" + std::to_string(::getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
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
    auto root = fs::temp_directory_path() / ("cdc-objects-contract-" + std::to_string(::getpid()) + "-" +
                                             std::to_string(roots.paths.size()));
    fs::remove_all(root);
    roots.paths.push_back(root);
    return std::make_unique<DirObjectStore>(root);
  }
};

}  // namespace
}  // namespace cdc::localfs

namespace cdc::test {
INSTANTIATE_TYPED_TEST_SUITE_P(Directory, ObjectStoreContract, cdc::localfs::FreshDirectory);
}  // namespace cdc::test
