#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include <sqlite3.h>

#include "core/result.h"

namespace cdc::sqlite {

// A cached prepared statement in use: reset when it goes out of scope, so that a SELECT that
// was not stepped to its end does not hold its read transaction open. (An open read
// transaction keeps an old WAL snapshot: another process's commit then makes every later
// BEGIN IMMEDIATE of this connection fail with SQLITE_BUSY, however often it is retried.)
class Statement {
 public:
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  Statement(Statement&& other) noexcept : stmt_(std::exchange(other.stmt_, nullptr)) {}
  Statement& operator=(Statement&&) = delete;
  ~Statement() {
    if (stmt_) sqlite3_reset(stmt_);
  }
  operator sqlite3_stmt*() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_;
};

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
  // A cached prepared statement with bindings cleared, owned by the Db; reset again when the
  // returned Statement goes.
  Result<Statement> prepare(const std::string& sql);
  // Runs one statement without results through the cache (BEGIN, COMMIT: parsed once).
  Status run(const std::string& sql);
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
