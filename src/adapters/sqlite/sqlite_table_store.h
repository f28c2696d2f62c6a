#pragma once

#include <map>
#include <memory>
#include <string>

#include "adapters/sqlite/sqlite_db.h"
#include "store/table_store.h"

namespace cdc::sqlite {

// The embedded table store: DynamoDB tables mapped onto SQLite. Each table is an SQLite table
// keyed by (hash, range) holding the item in DynamoDB JSON; each GSI is a pair of columns with
// an SQLite index, sparse like DynamoDB's (items without the index key are not in it).
// Conditions and updates are evaluated inside one SQLite transaction per request, so every
// request is atomic, as in DynamoDB. Not thread-safe: one store per thread.
class SqliteTableStore final : public store::TableStore {
 public:
  static Result<std::unique_ptr<SqliteTableStore>> open(const std::string& path);

  Status ensureTable(const store::TableSpec& spec) override;
  Result<store::TableSpec> describeTable(std::string_view table) override;
  Result<std::optional<store::Item>> get(std::string_view table, const store::Item& key) override;
  Result<std::vector<store::Item>> batchGet(std::string_view table, std::span<const store::Item> keys) override;
  Result<store::WriteOutcome> put(const store::PutRequest& request) override;
  Result<store::WriteOutcome> update(const store::UpdateRequest& request) override;
  Result<store::WriteOutcome> remove(const store::DeleteRequest& request) override;
  Result<store::TransactOutcome> transact(std::span<const store::TransactItem> items) override;
  // In one SQLite transaction (one commit for all); an error rolls all of them back.
  std::vector<Result<store::TransactOutcome>> transactAll(std::span<const std::vector<store::TransactItem>> transactions) override;
  Result<std::vector<store::WriteRequest>> batchWrite(std::string_view table,
                                                      std::span<const store::WriteRequest> requests) override;
  Result<store::Page> query(const store::QueryRequest& request) override;
  Result<store::Page> scan(const store::ScanRequest& request) override;

  // Every table this database holds.
  Result<std::vector<std::string>> listTables();
  Db& db() { return *db_; }

 private:
  struct TableInfo {
    TableInfo(store::TableSpec s, std::string name);
    store::TableSpec spec;
    std::string sqlName;
    // Statements of every request, built once (and prepared once by the Db's cache).
    std::string selectSql, writeSql, deleteSql;
  };

  explicit SqliteTableStore(std::unique_ptr<Db> db) : db_(std::move(db)) {}
  Result<const TableInfo*> table(std::string_view name);
  Status checkKey(const TableInfo& t, const store::Item& key) const;
  Result<std::optional<store::Item>> read(const TableInfo& t, const store::Item& key);
  Status write(const TableInfo& t, const store::Item& item);
  Status erase(const TableInfo& t, const store::Item& key);
  // The write of one transact/batch entry, inside an open transaction.
  Result<store::WriteOutcome> putLocked(const TableInfo& t, const store::PutRequest& r);
  Result<store::WriteOutcome> updateLocked(const TableInfo& t, const store::UpdateRequest& r);
  Result<store::WriteOutcome> removeLocked(const TableInfo& t, const store::DeleteRequest& r);
  // A transaction inside an open SQLite transaction: its conditions, then (all holding) its writes.
  Result<store::TransactOutcome> transactLocked(std::span<const store::TransactItem> items);
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
};

}  // namespace cdc::sqlite
