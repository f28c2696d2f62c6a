#include "adapters/localfs/dir_object_store.h"

#include <gtest/gtest.h>

#include <unistd.h>

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

TEST_F(DirObjectStoreTest, PutGetOverwriteDelete) {
  DirObjectStore s(root_);
  ASSERT_TRUE(s.put("analytics/summary/latest.json", "{\"a\":1}", "application/json").has_value());
  EXPECT_TRUE(fs::exists(root_ / "analytics/summary/latest.json"));  // key K lies at ROOT/K
  EXPECT_EQ(**s.get("analytics/summary/latest.json"), "{\"a\":1}");
  ASSERT_TRUE(s.put("analytics/summary/latest.json", "{\"a\":2}", "application/json").has_value());
  EXPECT_EQ(**s.get("analytics/summary/latest.json"), "{\"a\":2}");
  ASSERT_TRUE(s.remove("analytics/summary/latest.json").has_value());
  EXPECT_FALSE(s.get("analytics/summary/latest.json")->has_value());
  EXPECT_TRUE(s.remove("analytics/summary/latest.json").has_value());  // like S3
}

TEST_F(DirObjectStoreTest, ListsInByteOrderWithPagination) {
  DirObjectStore s(root_);
  for (const char* k : {"dlq/a/t/date=2026-01-02/0-5.json", "dlq/a/t/date=2026-01-01/1-9.json", "dlq/b/x.json",
                        "other/z.json", "dlq/a/t/date=2026-01-01/0-10.json"}) {
    ASSERT_TRUE(s.put(k, "x", "application/json").has_value());
  }
  auto page = s.list("dlq/a/", std::nullopt, 2);
  ASSERT_TRUE(page.has_value());
  ASSERT_EQ(page->objects.size(), 2u);
  EXPECT_EQ(page->objects[0].key, "dlq/a/t/date=2026-01-01/0-10.json");
  EXPECT_EQ(page->objects[1].key, "dlq/a/t/date=2026-01-01/1-9.json");
  ASSERT_TRUE(page->continuationToken.has_value());
  auto next = s.list("dlq/a/", page->continuationToken, 2);
  ASSERT_EQ(next->objects.size(), 1u);
  EXPECT_EQ(next->objects[0].key, "dlq/a/t/date=2026-01-02/0-5.json");
  EXPECT_FALSE(next->continuationToken.has_value());
  EXPECT_EQ(s.listAll("dlq/")->size(), 4u);
  EXPECT_EQ(s.listAll("dlq/b")->size(), 1u);  // a prefix need not end at a '/'
  EXPECT_TRUE(s.listAll("nothing/")->empty());
}

TEST_F(DirObjectStoreTest, RejectsKeysThatEscapeTheRoot) {
  DirObjectStore s(root_);
  EXPECT_EQ(s.put("../evil", "x", "").error().kind, ErrorKind::Poison);
  EXPECT_EQ(s.put("/abs", "x", "").error().kind, ErrorKind::Poison);
  EXPECT_EQ(s.put("a//b", "x", "").error().kind, ErrorKind::Poison);
}

}  // namespace
}  // namespace cdc::localfs
