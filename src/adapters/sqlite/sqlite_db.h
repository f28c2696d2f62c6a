#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include <sqlite3.h>

#include "core/result.h"

namespace cdc::sqlite {

// An owned SQLite connection with a cache of prepared statements.
// One connection per thread: SQLite objects are not shared between threads here.
class Db {
 public:
  // Opens (creating) `path` in WAL mode with synchronous=NORMAL: a committed transaction
  // survives a process crash (kill -9); `:memory:` opens a private in-memory database.
  static Result<std::unique_ptr<Db>> open(const std::string& path);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  sqlite3* handle() const { return db_; }
  Status exec(std::string_view sql);
  // A cached prepared statement, reset and with bindings cleared; owned by the Db.
  Result<sqlite3_stmt*> prepare(const std::string& sql);
  // Maps an SQLite result code to an error: busy/locked/full/ioerr are Retry, the rest Fatal.
  Error error(int rc, std::string_view what) const;

 private:
  explicit Db(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::map<std::string, sqlite3_stmt*, std::less<>> statements_;
};

// Quotes an identifier for SQL ("my-table" -> "\"my-table\"").
std::string quoteIdentifier(std::string_view name);

// RAII transaction: rolls back unless committed.
class Transaction {
 public:
  explicit Transaction(Db& db) : db_(db) {}
  ~Transaction();
  Status begin();  // BEGIN IMMEDIATE: takes the write lock up front
  Status commit();

 private:
  Db& db_;
  bool open_ = false;
};

}  // namespace cdc::sqlite
