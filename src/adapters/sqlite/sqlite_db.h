#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>

#include <sqlite3.h>

#include "core/result.h"
#include "core/time.h"

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

// Copies the write-ahead log of a database back into its file from a thread and connection of
// its own, so that a commit does not wait for a checkpoint's writes and fsyncs. The writing
// connection's WAL hook wakes it each time the log has grown by `pages` pages (SQLite's own
// automatic checkpoint, which runs inside the COMMIT that crosses its threshold, is off).
// Its checkpoints are PASSIVE: they never block the writer.
// The log starts again from its beginning only when a write transaction starts with all of it
// copied back, and commits arriving during every checkpoint would keep that from happening. So
// once the log reaches 16x `pages`, each commit asks for a copy at once, and the writer's next
// transaction gives that copy a short while (`kCopyWait`) to finish before it begins: then it
// starts the log anew. The wait is bounded: when this disk's fsyncs are slow, the writer goes on
// and tries again `kCopyRetry` later. Only a log of 32x `pages` (fsyncs slow for seconds on end)
// makes the writer copy back the rest itself, on its own thread, so that the log stays bounded.
// (A RESTART checkpoint from the thread instead would hold the writer's lock while it waits for
// the writer's read lock: measured, over a second.)
class Checkpointer {
 public:
  static constexpr std::chrono::milliseconds kCopyWait{25};
  static constexpr std::chrono::milliseconds kCopyRetry{250};

  Checkpointer(std::string path, int pages, const TimeSource& time = systemTime())
      : path_(std::move(path)), pages_(pages), time_(time), nextWake_(pages) {}
  ~Checkpointer();
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // Installs the hook on the writing connection.
  void attach(sqlite3* writer);
  // On the writer's thread, before BEGIN: once the log is long, waits at most kCopyWait for
  // the copy of everything committed so far.
  void beforeBegin();
  // Checkpoints done so far by the thread, the times the log started again from its
  // beginning, and the copies the writer made itself (for tests).
  uint64_t checkpoints() const;
  uint64_t restarts() const;
  uint64_t writerCopies() const;

 private:
  static int onCommit(void* self, sqlite3* db, const char* name, int pages);
  void loop();

  std::string path_;
  int pages_;
  const TimeSource& time_;  // when the writer may wait for a copy again
  mutable std::mutex mutex_;
  std::condition_variable wake_;    // to the thread: a copy is due
  std::condition_variable copied_;  // to the writer: a copy ended
  bool due_ = false;                // a checkpoint is wanted
  uint64_t commits_ = 0;            // the writer's commits
  uint64_t covered_ = 0;            // commits wholly copied back by a finished checkpoint
  bool stop_ = false;
  uint64_t checkpoints_ = 0;
  uint64_t restarts_ = 0;
  uint64_t writerCopies_ = 0;
  // The writer's thread only:
  int lastPages_ = 0;  // the log's size at its last commit
  int nextWake_ = 0;
  bool long_ = false;  // the log reached 16x pages_ since it last started again
  TimeSource::Steady nextTry_{};
  std::thread thread_;  // started by the first commit that crosses the threshold
};

// An owned SQLite connection with a cache of prepared statements.
// One connection per thread: SQLite objects are not shared between threads here.
class Db {
 public:
  // Opens (creating) `path` in WAL mode with synchronous=NORMAL: a committed transaction
  // survives a process crash (kill -9); `:memory:` opens a private in-memory database. The WAL
  // is checkpointed in the background once it holds `checkpointPages` pages (SQLite's default
  // threshold, 1000 pages of 4 KiB); 0 leaves SQLite's automatic checkpoint in the commit.
  static Result<std::unique_ptr<Db>> open(const std::string& path, int checkpointPages = 1000);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  sqlite3* handle() const { return db_; }
  const Checkpointer* checkpointer() const { return checkpointer_.get(); }
  Checkpointer* checkpointer() { return checkpointer_.get(); }
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
  std::unordered_map<std::string, sqlite3_stmt*> statements_;  // by SQL text
  std::unique_ptr<Checkpointer> checkpointer_;                 // stopped before the connection closes
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
