#include "adapters/sqlite/sqlite_table_store.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "support/table_store_contract.h"

namespace cdc::sqlite {
namespace {

using test::inventorySpec;
using test::key;

// The contract of every table store, on an in-memory SQLite database.
struct InMemorySqlite {
  static std::unique_ptr<store::TableStore> make() {
    auto s = SqliteTableStore::open(":memory:");
    return s ? std::unique_ptr<store::TableStore>(std::move(*s)) : nullptr;
  }
  static std::string prefix() { return ""; }
};
}  // namespace
}  // namespace cdc::sqlite

namespace cdc::test {
INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, TableStoreContract, cdc::sqlite::InMemorySqlite);
}  // namespace cdc::test

namespace cdc::sqlite {
namespace {

TEST(SqliteTableStoreFileTest, SurvivesReopen) {
  auto path = std::filesystem::temp_directory_path() / ("cdc-store-test-" + std::to_string(::getpid()) + ".db");
  std::filesystem::remove(path);
  {
    auto s = SqliteTableStore::open(path.string());
    ASSERT_TRUE(s.has_value());
    ASSERT_TRUE((*s)->ensureTable(inventorySpec()).has_value());
    ASSERT_TRUE((*s)->put({"inventory-realtime", key(5), std::nullopt}).has_value());
  }
  auto s = SqliteTableStore::open(path.string());
  ASSERT_TRUE(s.has_value());
  auto spec = (*s)->describeTable("inventory-realtime");
  ASSERT_TRUE(spec.has_value());
  EXPECT_EQ(spec->hash.name, "product_id");
  EXPECT_TRUE((*s)->get("inventory-realtime", key(5))->has_value());
  EXPECT_EQ((*s)->describeTable("missing").error().kind, ErrorKind::NotFound);
  std::filesystem::remove(path);
}

TEST(SqliteTableStoreFileTest, ConnectionsOfSeveralProcessesTakeTurnsWriting) {
  // Replicas of a service share one file: each write must get the lock once the other's
  // transaction is over, whatever each connection read before.
  auto path = std::filesystem::temp_directory_path() / ("cdc-store-shared-" + std::to_string(::getpid()) + ".db");
  std::filesystem::remove(path);
  auto a = SqliteTableStore::open(path.string());
  auto b = SqliteTableStore::open(path.string());
  ASSERT_TRUE(a.has_value() && b.has_value());
  ASSERT_TRUE((*a)->ensureTable(inventorySpec()).has_value());
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE((*b)->put({"inventory-realtime", key(100 + round), std::nullopt}).has_value()) << round;
    ASSERT_TRUE((*b)->get("inventory-realtime", key(100 + round)).has_value());
    ASSERT_TRUE((*a)->put({"inventory-realtime", key(200 + round), std::nullopt}).has_value()) << round;
    ASSERT_TRUE((*a)->get("inventory-realtime", key(200 + round)).has_value());
  }
  EXPECT_TRUE((*a)->get("inventory-realtime", key(102))->has_value());
  EXPECT_TRUE((*b)->get("inventory-realtime", key(202))->has_value());
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace cdc::sqlite
