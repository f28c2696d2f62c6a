#pragma once

// The object store's contract, as S3 defines it: the same tests run against every backend
// (the local directory in the unit tests, S3 on moto in the integration tests). A backend's
// test file instantiates ObjectStoreContract with a factory type:
//   struct Factory { static std::unique_ptr<store::ObjectStore> make(); };
// Each make() gives an empty store (a fresh directory, a fresh bucket).

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "store/object_store.h"

namespace cdc::test {

template <class Factory>
class ObjectStoreContract : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = Factory::make();
    ASSERT_NE(store_, nullptr);
  }
  std::unique_ptr<store::ObjectStore> store_;
};

TYPED_TEST_SUITE_P(ObjectStoreContract);

TYPED_TEST_P(ObjectStoreContract, PutGetOverwriteDelete) {
  auto& s = *this->store_;
  ASSERT_TRUE(s.put("analytics/summary/latest.json", "{\"a\":1}", "application/json").has_value());
  EXPECT_EQ(**s.get("analytics/summary/latest.json"), "{\"a\":1}");
  ASSERT_TRUE(s.put("analytics/summary/latest.json", "{\"a\":2}", "application/json").has_value());
  EXPECT_EQ(**s.get("analytics/summary/latest.json"), "{\"a\":2}");
  ASSERT_TRUE(s.remove("analytics/summary/latest.json").has_value());
  EXPECT_FALSE(s.get("analytics/summary/latest.json")->has_value());
  EXPECT_TRUE(s.remove("analytics/summary/latest.json").has_value());  // deleting a missing key succeeds
  EXPECT_FALSE(s.get("never/written.json")->has_value());
  // Keys with spaces, '=' and non-ASCII letters, bodies with any bytes.
  std::string key = "dlq/inventory-service/dbserver1.public.products/date=2026-01-01/1-42 café.json";
  std::string body("{\"message\":\"\xff\x00\x01\"}", 18);
  ASSERT_TRUE(s.put(key, body, "application/json").has_value());
  EXPECT_EQ(**s.get(key), body);
}

TYPED_TEST_P(ObjectStoreContract, ListsInByteOrderWithPagination) {
  auto& s = *this->store_;
  for (const char* k : {"dlq/a/t/date=2026-01-02/0-5.json", "dlq/a/t/date=2026-01-01/1-9.json", "dlq/b/x.json", "other/z.json",
                        "dlq/a/t/date=2026-01-01/0-10.json"}) {
    ASSERT_TRUE(s.put(k, "x", "application/json").has_value());
  }
  auto page = s.list("dlq/a/", std::nullopt, 2);
  ASSERT_TRUE(page.has_value()) << page.error().message;
  ASSERT_EQ(page->objects.size(), 2u);
  EXPECT_EQ(page->objects[0].key, "dlq/a/t/date=2026-01-01/0-10.json");
  EXPECT_EQ(page->objects[0].size, 1u);
  EXPECT_EQ(page->objects[1].key, "dlq/a/t/date=2026-01-01/1-9.json");
  ASSERT_TRUE(page->continuationToken.has_value());
  auto next = s.list("dlq/a/", page->continuationToken, 2);
  ASSERT_TRUE(next.has_value());
  ASSERT_EQ(next->objects.size(), 1u);
  EXPECT_EQ(next->objects[0].key, "dlq/a/t/date=2026-01-02/0-5.json");
  EXPECT_FALSE(next->continuationToken.has_value());
  EXPECT_EQ(s.listAll("dlq/")->size(), 4u);
  EXPECT_EQ(s.listAll("dlq/b")->size(), 1u);  // a prefix need not end at a '/'
  EXPECT_TRUE(s.listAll("nothing/")->empty());
}

TYPED_TEST_P(ObjectStoreContract, LargeObjectsRoundTrip) {
  auto& s = *this->store_;
  std::string big(12u << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 2654435761u) >> 13);
  ASSERT_TRUE(s.put("analytics/_state/t/0/snapshot-1.jsonl", big, "application/x-ndjson").has_value());
  auto got = s.get("analytics/_state/t/0/snapshot-1.jsonl");
  ASSERT_TRUE(got.has_value() && got->has_value());
  EXPECT_EQ(got->value().size(), big.size());
  EXPECT_TRUE(**got == big);
}

// S3's conditional writes: If-None-Match: * creates only, If-Match replaces only the object
// whose tag it names; a refused write changes nothing.
TYPED_TEST_P(ObjectStoreContract, ConditionalWritesReplaceOnlyWhatWasRead) {
  auto& s = *this->store_;
  const std::string key = "analytics/_state/t/0/manifest.json";
  EXPECT_FALSE(s.getTagged(key)->has_value());
  auto created = s.putIf(key, "{\"g\":1}", std::nullopt);
  ASSERT_TRUE(created.has_value()) << created.error().message;
  ASSERT_TRUE(created->has_value());
  auto read = s.getTagged(key);
  ASSERT_TRUE(read.has_value() && read->has_value());
  EXPECT_EQ((*read)->body, "{\"g\":1}");
  EXPECT_EQ((*read)->etag, **created);
  // Creating again is refused: the key exists.
  auto again = s.putIf(key, "{\"g\":9}", std::nullopt);
  ASSERT_TRUE(again.has_value()) << again.error().message;
  EXPECT_FALSE(again->has_value());
  // Replacing what was read succeeds once; the second writer that read the same is refused.
  auto first = s.putIf(key, "{\"g\":2}", (*read)->etag);
  ASSERT_TRUE(first.has_value() && first->has_value());
  EXPECT_NE(**first, (*read)->etag);
  auto second = s.putIf(key, "{\"g\":3}", (*read)->etag);
  ASSERT_TRUE(second.has_value()) << second.error().message;
  EXPECT_FALSE(second->has_value());
  EXPECT_EQ(**s.get(key), "{\"g\":2}");
  // A plain put changes the tag too: a writer that read before it is refused.
  ASSERT_TRUE(s.put(key, "{\"g\":4}", "application/json").has_value());
  auto stale = s.putIf(key, "{\"g\":5}", **first);
  ASSERT_TRUE(stale.has_value());
  EXPECT_FALSE(stale->has_value());
  // If-Match on a key that does not exist is refused.
  auto missing = s.putIf("analytics/_state/t/1/manifest.json", "{}", **first);
  ASSERT_TRUE(missing.has_value()) << missing.error().message;
  EXPECT_FALSE(missing->has_value());
  EXPECT_FALSE(s.get("analytics/_state/t/1/manifest.json")->has_value());
}

REGISTER_TYPED_TEST_SUITE_P(ObjectStoreContract, PutGetOverwriteDelete, ListsInByteOrderWithPagination, LargeObjectsRoundTrip,
                            ConditionalWritesReplaceOnlyWhatWasRead);

}  // namespace cdc::test
