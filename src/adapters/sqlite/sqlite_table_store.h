#pragma once

#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "adapters/sqlite/sqlite_db.h"
#include "store/table_store.h"

namespace cdc::sqlite {

// The embedded table store: DynamoDB tables mapped onto SQLite. Each table is an SQLite table
// keyed by (hash, range) holding the item in its row form (store::appendItemRow: compact binary;
// rows of older files in DynamoDB JSON read as well); each GSI is a pair of columns with
// an SQLite index, sparse like DynamoDB's (items without the index key are not in it).
// Conditions and updates are evaluated inside one SQLite transaction per request, so every
// request is atomic, as in DynamoDB. Not thread-safe: one store per thread.
//
// Items read or written are kept in memory (up to a budget, least recently used first out), so
// that reading an item again, a condition on it or an update of it costs neither SQL nor a JSON
// parse. SQLite stays the truth: every write goes through to it in the same transaction. The
// copy in memory is dropped when another connection (another process) has committed to the
// database since (PRAGMA data_version, checked at the start of every request, inside the write
// lock for writes), and when a transaction rolls back.
class SqliteTableStore final : public store::TableStore {
 public:
  // About what the items kept in memory may take by default. With SQLite's own page cache at
  // 4 MiB (a page read again costs a pread; an item read again a JSON parse) both services stay
  // under 64 MiB at 1M records (bench/RESULTS.md).
  static constexpr size_t kDefaultCacheBytes = 24 << 20;

  static Result<std::unique_ptr<SqliteTableStore>> open(const std::string& path, size_t cacheBytes = kDefaultCacheBytes);

  Status ensureTable(const store::TableSpec& spec) override;
  Result<store::TableSpec> describeTable(std::string_view table) override;
  Result<std::optional<store::Item>> get(std::string_view table, const store::Item& key) override;
  Result<std::vector<store::Item>> batchGet(std::string_view table, std::span<const store::Item> keys) override;
  // Visits the items in memory without copying them.
  Status batchGetEach(std::string_view table, std::span<const store::Item> keys,
                      const std::function<Status(const store::Item&)>& visit) override;
  Result<store::WriteOutcome> put(const store::PutRequest& request) override;
  Result<store::WriteOutcome> update(const store::UpdateRequest& request) override;
  Result<store::WriteOutcome> remove(const store::DeleteRequest& request) override;
  Result<store::TransactOutcome> transact(std::span<const store::TransactItem> items) override;
  // In one SQLite transaction (one commit for all); an error rolls all of them back.
  std::vector<Result<store::TransactOutcome>> transactAll(
      std::span<const std::vector<store::TransactItem>> transactions) override;
  // The same, moving the items it writes into memory instead of copying them.
  std::vector<Result<store::TransactOutcome>> transactAllTaking(
      std::span<std::vector<store::TransactItem>> transactions) override;
  Result<std::vector<store::WriteRequest>> batchWrite(std::string_view table,
                                                      std::span<const store::WriteRequest> requests) override;
  Result<store::Page> query(const store::QueryRequest& request) override;
  Result<store::Page> scan(const store::ScanRequest& request) override;

  // Every table this database holds.
  Result<std::vector<std::string>> listTables();
  Db& db() { return *db_; }

 private:
  struct TableInfo {
    TableInfo(store::TableSpec s, std::string name, uint16_t id);
    store::TableSpec spec;
    std::string sqlName;
    uint16_t id;  // the table's part of its items' keys in memory (cacheKey)
    // Statements of every request, built once (and prepared once by the Db's cache).
    std::string selectSql, writeSql, deleteSql;
  };

  struct Cached {
    std::optional<store::Item> item;  // nullopt: the table has no item of this key
    size_t bytes = 0;                 // about what it takes in memory
    std::list<std::string>::iterator recent;
  };

  SqliteTableStore(std::unique_ptr<Db> db, size_t cacheBytes) : db_(std::move(db)), cacheBudget_(cacheBytes) {}
  Result<const TableInfo*> table(std::string_view name);
  Status checkKey(const TableInfo& t, const store::Item& key) const;
  // The item of `key` as this connection knows it, read from SQLite when not in memory. The
  // pointer is valid until the next request starts.
  Result<const std::optional<store::Item>*> lookup(const TableInfo& t, const store::Item& key);
  Result<std::optional<store::Item>> read(const TableInfo& t, const store::Item& key);
  // Keeps `item` (or its absence) as the current state of its key.
  const std::optional<store::Item>& remember(std::string key, std::optional<store::Item> item);
  std::string cacheKey(const TableInfo& t, const store::Item& key) const;
  uint16_t nextTableId() const;
  // At the start of a request (inside the write lock for a write): forgets what another
  // connection may have changed, and the least recently used items beyond the budget.
  Status syncCache();
  void forgetAll();
  // A transaction that forgets the items in memory when it rolls back.
  class Tx;
  Status write(const TableInfo& t, store::Item item);
  // The UPDATE of a known row that sets the key columns of the `changed` indexes (a bit each).
  const std::string& updateSql(const TableInfo& t, uint32_t changed);
  Status erase(const TableInfo& t, const store::Item& key);
  // The write of one request or transaction entry, inside an open transaction; `checked`: its
  // condition was found to hold already.
  Result<store::WriteOutcome> putLocked(const TableInfo& t, const store::PutRequest& r, bool checked);
  Result<store::WriteOutcome> updateLocked(const TableInfo& t, const store::UpdateRequest& r, bool checked);
  Result<store::WriteOutcome> removeLocked(const TableInfo& t, const store::DeleteRequest& r, bool checked);
  // A transaction inside an open SQLite transaction: its conditions, then (all holding) its writes.
  // `owned`: the same items, which it may move from (or null).
  Result<store::TransactOutcome> transactLocked(std::span<const store::TransactItem> items, store::TransactItem* owned = nullptr);
  // One entry of a transaction whose conditions held (`owned`: the same entry, movable, or null).
  Result<store::WriteOutcome> applyChecked(const TableInfo& t, const store::TransactItem& item, store::TransactItem* owned);
  template <class Transactions>
  std::vector<Result<store::TransactOutcome>> transactAllLocked(Transactions transactions, bool take);
  Status purgeExpired(const TableInfo& t);
  // Steps a SELECT item … statement to the end, appending the items.
  Status readItems(sqlite3_stmt* stmt, const char* what, std::vector<store::Item>& out);
  // One conditional write in its own SQLite transaction.
  template <class Request, class Locked>
  Result<store::WriteOutcome> single(const Request& request, Locked locked);

  static constexpr int kPurgeEvery = 4096;
  int writesSincePurge_ = 0;

  std::unique_ptr<Db> db_;
  std::map<std::string, TableInfo, std::less<>> tables_;
  std::unordered_map<std::string, Cached> cache_;  // by table and key (cacheKey)
  // UPDATE statements of a table by the indexes whose keys they change (a bit per index).
  std::map<std::pair<const TableInfo*, uint32_t>, std::string> updateSql_;
  std::string row_;                // the row being written (store::appendItemRow), its buffer kept
  std::list<std::string> recent_;  // keys of cache_, most recently used first
  size_t cacheBytes_ = 0;
  size_t cacheBudget_;
  int64_t dataVersion_ = -1;  // PRAGMA data_version when the cache was last known valid
};

}  // namespace cdc::sqlite
