#include "adapters/sqlite/sqlite_table_store.h"

#include "adapters/sqlite/sqlite_db.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <thread>

#include "store/item_codec.h"
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
// The same with no room for items in memory: every read goes to SQLite.
struct InMemorySqliteWithoutCache {
  static std::unique_ptr<store::TableStore> make() {
    auto s = SqliteTableStore::open(":memory:", 0);
    return s ? std::unique_ptr<store::TableStore>(std::move(*s)) : nullptr;
  }
  static std::string prefix() { return ""; }
};
}  // namespace
}  // namespace cdc::sqlite

namespace cdc::test {
INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, TableStoreContract, cdc::sqlite::InMemorySqlite);
INSTANTIATE_TYPED_TEST_SUITE_P(SqliteWithoutCache, TableStoreContract, cdc::sqlite::InMemorySqliteWithoutCache);
}  // namespace cdc::test

namespace cdc::sqlite {
namespace {

using store::AttributeValue;
using store::Condition;
using store::Item;

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

Item product(int64_t id, int64_t version) {
  Item item = key(id);
  item["version"] = AttributeValue::n(version);
  return item;
}

int64_t versionOf(store::TableStore& s, int64_t id) {
  auto got = s.get("inventory-realtime", key(id));
  if (!got || !*got) return -1;
  return store::find(**got, "version")->asIntOr(-2);
}

std::filesystem::path freshPath(const std::string& name) {
  auto path = std::filesystem::temp_directory_path() / ("cdc-store-" + name + "-" + std::to_string(::getpid()) + ".db");
  std::filesystem::remove(path);
  return path;
}

TEST(SqliteTableStoreMemoryTest, AnotherConnectionsCommitReplacesWhatThisOneKeptInMemory) {
  // Two processes on one file: what one has in memory must not hide the other's writes from
  // its reads, its conditions or its updates.
  auto path = freshPath("memory");
  auto a = SqliteTableStore::open(path.string());
  auto b = SqliteTableStore::open(path.string());
  ASSERT_TRUE(a.has_value() && b.has_value());
  ASSERT_TRUE((*a)->ensureTable(inventorySpec()).has_value());
  ASSERT_TRUE((*a)->put({"inventory-realtime", product(5, 1), std::nullopt}).has_value());
  ASSERT_EQ(versionOf(**a, 5), 1);  // now in a's memory
  ASSERT_EQ(versionOf(**b, 5), 1);
  ASSERT_TRUE((*b)->put({"inventory-realtime", product(5, 2), std::nullopt}).has_value());

  EXPECT_EQ(versionOf(**a, 5), 2);
  store::TransactItem stale =
      store::PutRequest{"inventory-realtime", product(5, 3), Condition::eq("version", AttributeValue::n(1))};
  auto out = (*a)->transact(std::span(&stale, 1));
  ASSERT_TRUE(out.has_value());
  EXPECT_FALSE(out->committed);
  EXPECT_EQ(out->failedConditions, std::vector<size_t>{0});

  // Another write by b, then an update by a: it applies to b's item, not to a's memory.
  ASSERT_TRUE((*b)->put({"inventory-realtime", product(5, 7), std::nullopt}).has_value());
  store::UpdateRequest add{"inventory-realtime", key(5), {}, Condition::eq("version", AttributeValue::n(7))};
  add.update.add("version", AttributeValue::n(1));
  auto updated = (*a)->update(add);
  ASSERT_TRUE(updated.has_value());
  EXPECT_FALSE(updated->conditionFailed);
  EXPECT_EQ(versionOf(**b, 5), 8);
  EXPECT_EQ(versionOf(**a, 5), 8);

  // A delete by b is seen by a's batch read.
  ASSERT_TRUE((*b)->remove({"inventory-realtime", key(5), std::nullopt}).has_value());
  Item keys[] = {key(5)};
  auto batch = (*a)->batchGet("inventory-realtime", keys);
  ASSERT_TRUE(batch.has_value());
  EXPECT_TRUE(batch->empty());
  std::filesystem::remove(path);
}

TEST(SqliteTableStoreMemoryTest, WritesOfARolledBackTransactionAreForgotten) {
  auto s = SqliteTableStore::open(":memory:");
  ASSERT_TRUE(s.has_value());
  ASSERT_TRUE((*s)->ensureTable(inventorySpec()).has_value());
  ASSERT_TRUE((*s)->put({"inventory-realtime", product(1, 1), std::nullopt}).has_value());
  ASSERT_EQ(versionOf(**s, 1), 1);
  // The first transaction writes (into SQLite's open transaction and into memory); the second
  // is refused, so both roll back.
  std::vector<std::vector<store::TransactItem>> transactions(2);
  transactions[0].push_back(store::PutRequest{"inventory-realtime", product(1, 2), std::nullopt});
  transactions[0].push_back(store::PutRequest{"inventory-realtime", product(2, 1), std::nullopt});
  transactions[1].push_back(store::PutRequest{"inventory-realtime", product(3, 1), std::nullopt});
  transactions[1].push_back(store::PutRequest{"inventory-realtime", product(3, 2), std::nullopt});  // one item twice
  auto outcomes = (*s)->transactAll(transactions);
  ASSERT_EQ(outcomes.size(), 2u);
  EXPECT_FALSE(outcomes[0].has_value());
  EXPECT_FALSE(outcomes[1].has_value());
  EXPECT_EQ(versionOf(**s, 1), 1);
  EXPECT_EQ(versionOf(**s, 2), -1);
  EXPECT_EQ(versionOf(**s, 3), -1);
}

TEST(SqliteTableStoreMemoryTest, AnUpdateInPlaceMovesTheItemInTheIndexesWhoseKeysChangedOnly) {
  auto s = SqliteTableStore::open(":memory:");
  ASSERT_TRUE(s.has_value());
  ASSERT_TRUE((*s)->ensureTable(test::searchSpec()).has_value());
  auto put = [&](const std::string& name, int64_t price, std::optional<std::string> bucket) {
    Item item = key(1);
    item["name_lower"] = AttributeValue::s(name);
    item["price"] = AttributeValue::n(price);
    if (bucket) item["bucket"] = AttributeValue::s(*bucket);
    ASSERT_TRUE((*s)->put({"product-search-index", item, std::nullopt}).has_value());
  };
  auto found = [&](const std::string& index, AttributeValue value) {
    store::QueryRequest q{"product-search-index", index, std::move(value), std::nullopt};
    auto page = (*s)->query(q);
    return page.has_value() ? page->items.size() : size_t{99};
  };
  put("mouse", 100, "b1");
  put("mouse", 200, "b1");  // the price changes: the name's index keeps its entry
  EXPECT_EQ(found("name-index", AttributeValue::s("mouse")), 1u);
  EXPECT_EQ(found("price-index", AttributeValue::n(100)), 0u);
  EXPECT_EQ(found("price-index", AttributeValue::n(200)), 1u);
  EXPECT_EQ(found("bucket-price", AttributeValue::s("b1")), 1u);
  put("keyboard", 200, std::nullopt);  // the name changes, the bucket goes (sparse)
  EXPECT_EQ(found("name-index", AttributeValue::s("mouse")), 0u);
  EXPECT_EQ(found("name-index", AttributeValue::s("keyboard")), 1u);
  EXPECT_EQ(found("price-index", AttributeValue::n(200)), 1u);
  EXPECT_EQ(found("bucket-price", AttributeValue::s("b1")), 0u);
  auto item = (*s)->get("product-search-index", key(1));
  ASSERT_TRUE(item.has_value() && item->has_value());
  EXPECT_EQ(store::find(**item, "name_lower")->text(), "keyboard");
  EXPECT_EQ(store::find(**item, "bucket"), nullptr);
}

// The first byte of each stored row of the inventory table, read through a connection of its own.
std::string rowFormats(const std::filesystem::path& path) {
  auto db = Db::open(path.string(), 0);
  if (!db) return "?";
  auto stmt = (*db)->prepare("SELECT substr(item, 1, 1) FROM \"t:inventory-realtime\" ORDER BY pk");
  std::string out;
  while (stmt && sqlite3_step(*stmt) == SQLITE_ROW) out.push_back(*static_cast<const char*>(sqlite3_column_blob(*stmt, 0)));
  return out;
}

TEST(SqliteTableStoreFileTest, RowsOfAnOlderFileInDynamoJsonAreReadAndWrittenBackCompact) {
  auto path = freshPath("json-rows");
  {
    auto s = SqliteTableStore::open(path.string());
    ASSERT_TRUE(s.has_value());
    ASSERT_TRUE((*s)->ensureTable(inventorySpec()).has_value());
    ASSERT_TRUE((*s)->put({"inventory-realtime", product(1, 10), std::nullopt}).has_value());
    ASSERT_TRUE((*s)->put({"inventory-realtime", product(2, 20), std::nullopt}).has_value());
  }
  EXPECT_EQ(rowFormats(path), "\x01\x01");
  {  // as a file written before the compact rows holds them
    auto db = Db::open(path.string(), 0);
    ASSERT_TRUE(db.has_value());
    auto stmt = (*db)->prepare("UPDATE \"t:inventory-realtime\" SET item = ? WHERE pk = ?");
    ASSERT_TRUE(stmt.has_value());
    std::string json = store::toDynamoJson(product(1, 11));
    sqlite3_bind_text(*stmt, 1, json.data(), static_cast<int>(json.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(*stmt, 2, 1);
    ASSERT_EQ(sqlite3_step(*stmt), SQLITE_DONE);
  }
  EXPECT_EQ(rowFormats(path), "{\x01");
  auto s = SqliteTableStore::open(path.string());
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(versionOf(**s, 1), 11);
  EXPECT_EQ(versionOf(**s, 2), 20);
  store::UpdateRequest bump{"inventory-realtime", key(1), {}, Condition::eq("version", AttributeValue::n(11))};
  bump.update.add("version", AttributeValue::n(1));
  auto out = (*s)->update(bump);
  ASSERT_TRUE(out.has_value());
  EXPECT_FALSE(out->conditionFailed);
  EXPECT_EQ(rowFormats(path), "\x01\x01");
  auto again = SqliteTableStore::open(path.string());
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(versionOf(**again, 1), 12);
  std::filesystem::remove(path);
}

TEST(SqliteTableStoreMemoryTest, ItemsBeyondTheBudgetAreReadBackFromTheFile) {
  auto path = freshPath("budget");
  auto s = SqliteTableStore::open(path.string(), 4096);  // a few items at most
  ASSERT_TRUE(s.has_value());
  ASSERT_TRUE((*s)->ensureTable(inventorySpec()).has_value());
  for (int64_t id = 1; id <= 200; ++id) {
    ASSERT_TRUE((*s)->put({"inventory-realtime", product(id, id * 10), std::nullopt}).has_value());
  }
  for (int64_t id = 1; id <= 200; ++id) {
    store::UpdateRequest bump{"inventory-realtime", key(id), {}, Condition::eq("version", AttributeValue::n(id * 10))};
    bump.update.add("version", AttributeValue::n(1));
    auto out = (*s)->update(bump);
    ASSERT_TRUE(out.has_value());
    ASSERT_FALSE(out->conditionFailed) << id;
  }
  for (int64_t id = 1; id <= 200; ++id) EXPECT_EQ(versionOf(**s, id), id * 10 + 1) << id;
  auto again = SqliteTableStore::open(path.string());
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(versionOf(**again, 200), 2001);
  std::filesystem::remove(path);
}

// The rows of table t and their bytes, read through a connection of its own.
std::pair<int64_t, int64_t> rowsAndBytes(const std::filesystem::path& path) {
  auto db = Db::open(path.string(), 0);
  if (!db) return {-1, -1};
  auto stmt = (*db)->prepare("SELECT count(*), sum(length(v)) FROM t");
  if (!stmt || sqlite3_step(*stmt) != SQLITE_ROW) return {-1, -1};
  return {sqlite3_column_int64(*stmt, 0), sqlite3_column_int64(*stmt, 1)};
}

// Writes transactions of a 4 KiB row each (three pages of log: the row's two and its leaf), the
// checkpointer waking every 8 pages, pausing 20 ms after every `burst` commits (0: never), until
// `done` says so (at most 60 s); then everything reads back from another connection and after
// the writer is gone.
void writeRows(const std::filesystem::path& path, int burst, const std::function<bool(const Checkpointer&, int)>& done) {
  int rows = 0;
  {
    auto db = Db::open(path.string(), 8);
    ASSERT_TRUE(db.has_value()) << db.error().message;
    const Checkpointer* checkpointer = (*db)->checkpointer();
    ASSERT_NE(checkpointer, nullptr);
    ASSERT_TRUE((*db)->exec("CREATE TABLE t(k INTEGER PRIMARY KEY, v BLOB)").has_value());
    std::string page(4096, 'x');
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!done(*checkpointer, rows) && std::chrono::steady_clock::now() < deadline) {
      Transaction tx(**db);
      ASSERT_TRUE(tx.begin().has_value());
      auto stmt = (*db)->prepare("INSERT INTO t(k, v) VALUES (?, ?)");
      ASSERT_TRUE(stmt.has_value());
      sqlite3_bind_int(*stmt, 1, rows);
      sqlite3_bind_blob(*stmt, 2, page.data(), static_cast<int>(page.size()), SQLITE_STATIC);
      ASSERT_EQ(sqlite3_step(*stmt), SQLITE_DONE);
      ASSERT_TRUE(tx.commit().has_value());
      ++rows;
      if (burst > 0 && rows % burst == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_TRUE(done(*checkpointer, rows)) << rows << " rows in 60 s";

    EXPECT_EQ(rowsAndBytes(path), std::make_pair(int64_t{rows}, int64_t{rows} * 4096));  // another connection
  }
  EXPECT_EQ(rowsAndBytes(path), std::make_pair(int64_t{rows}, int64_t{rows} * 4096));  // the writer gone
}

TEST(SqliteDbTest, TheLogIsCopiedBackInTheBackgroundAndStartsAgainInThePauses) {
  // The checkpointer's copies, and the pauses between bursts of commits, let the log start
  // again from its beginning: it does not grow with what is written.
  auto path = freshPath("checkpoint");
  writeRows(path, 20, [](const Checkpointer& c, int rows) { return rows >= 300 && c.checkpoints() > 0 && c.restarts() >= 2; });
  std::filesystem::remove(path);
}

TEST(SqliteDbTest, CommitsWithoutAPauseStillStartTheLogAgain) {
  // With commits arriving during every checkpoint, once the log is 16x the threshold (128
  // pages) the writer's next transaction waits a moment for the checkpointer's copy of
  // everything committed, and starts the log again: over 3,000 rows (9,000 pages of log) it
  // never holds more than 2,000 pages, and it is the checkpointer that copies (the writer's own
  // copy, at 32x, is for disks whose fsyncs stall for seconds). On tmpfs when there is one:
  // fsyncs take no time there.
  std::filesystem::path dir = std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path();
  auto path = dir / ("cdc-store-checkpoint-busy-" + std::to_string(::getpid()) + ".db");
  std::filesystem::remove(path);
  uintmax_t largest = 0;
  uint64_t restarts = 0;
  uint64_t writerCopies = 0;
  writeRows(path, 0, [&](const Checkpointer& c, int rows) {
    std::error_code ec;
    largest = std::max(largest, std::filesystem::file_size(path.string() + "-wal", ec));
    restarts = c.restarts();
    writerCopies = c.writerCopies();
    return rows >= 3000;
  });
  EXPECT_LT(largest, 2000u * (4096 + 24)) << "the log grew with the commits";
  EXPECT_GE(restarts, 10u);
  // Without the wait the writer makes about a third of the copies or more (32 of 82, 35 of 35).
  EXPECT_LE(5 * writerCopies, restarts) << writerCopies << " copies by the writer itself";
  std::filesystem::remove(path);
}

TEST(SqliteDbTest, AnInMemoryDatabaseHasNoCheckpointer) {
  auto db = Db::open(":memory:", 8);
  ASSERT_TRUE(db.has_value());
  EXPECT_EQ((*db)->checkpointer(), nullptr);
}

}  // namespace
}  // namespace cdc::sqlite
