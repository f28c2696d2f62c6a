#include "adapters/sqlite/sqlite_db.h"

#include <algorithm>
#include <chrono>
#include <thread>

namespace cdc::sqlite {

Checkpointer::~Checkpointer() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void Checkpointer::attach(sqlite3* writer) { sqlite3_wal_hook(writer, &Checkpointer::onCommit, this); }

uint64_t Checkpointer::checkpoints() const {
  std::lock_guard lock(mutex_);
  return checkpoints_;
}

uint64_t Checkpointer::restarts() const {
  std::lock_guard lock(mutex_);
  return restarts_;
}

uint64_t Checkpointer::writerCopies() const {
  std::lock_guard lock(mutex_);
  return writerCopies_;
}

int Checkpointer::onCommit(void* opaque, sqlite3* db, const char* name, int pages) {
  auto* self = static_cast<Checkpointer*>(opaque);
  // On the writer's thread, after each commit.
  bool restarted = pages < self->lastPages_;  // the log started again from its beginning
  self->lastPages_ = pages;
  if (restarted) {
    self->nextWake_ = self->pages_;
    self->long_ = false;
  }
  if (pages >= 16 * self->pages_) self->long_ = true;
  bool wake = self->long_ || pages >= self->nextWake_;
  if (wake) self->nextWake_ = pages + self->pages_;
  {
    std::lock_guard lock(self->mutex_);
    ++self->commits_;
    if (restarted) ++self->restarts_;
    if (wake) {
      self->due_ = true;
      if (!self->thread_.joinable()) self->thread_ = std::thread([self] { self->loop(); });
    }
  }
  if (wake) self->wake_.notify_one();
  if (pages >= 32 * self->pages_) {
    // The checkpointer has not found a moment for a whole copy for long: the writer copies back
    // the rest itself (busy when the checkpointer is at it: then at a later commit).
    if (sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr) == SQLITE_OK) {
      std::lock_guard lock(self->mutex_);
      ++self->writerCopies_;
    }
  }
  return SQLITE_OK;
}

void Checkpointer::beforeBegin() {
  if (!long_) return;
  auto now = time_.steady();
  if (now < nextTry_) return;
  std::unique_lock lock(mutex_);
  if (!copied_.wait_for(lock, kCopyWait, [&] { return covered_ == commits_ || stop_; })) nextTry_ = now + kCopyRetry;
}

void Checkpointer::loop() {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    std::lock_guard lock(mutex_);
    stop_ = true;  // nobody copies: the writer waits for nothing and copies back itself at 32x
    copied_.notify_all();
    return;
  }
  // A connection learns that the database is in WAL mode when it first reads it: before
  // that, a checkpoint does nothing. Its syncs are the writer's (synchronous=NORMAL).
  sqlite3_exec(db, "PRAGMA synchronous=NORMAL; PRAGMA schema_version", nullptr, nullptr, nullptr);
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [&] { return stop_ || due_; });
    if (stop_) break;
    due_ = false;
    uint64_t upTo = commits_;  // each of these commits is in the log the checkpoint sees
    lock.unlock();
    // A failure (busy: the writer is copying back itself, or an I/O error) is left to the next
    // wake-up and to the writer's own checkpoint when it closes: the log stays valid meanwhile.
    int log = -1;
    int copied = -1;
    int rc = sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
    lock.lock();
    ++checkpoints_;
    if (rc == SQLITE_OK && log == copied) covered_ = std::max(covered_, upTo);
    copied_.notify_all();
  }
  lock.unlock();
  sqlite3_close(db);
}

Result<std::unique_ptr<Db>> Db::open(const std::string& path, int checkpointPages) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
    sqlite3_close(raw);
    return fail(Error::fatal("cannot open SQLite database " + path + ": " + msg));
  }
  std::unique_ptr<Db> db(new Db(raw));
  sqlite3_busy_timeout(raw, 5000);
  for (const char* pragma :
       {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=OFF", "PRAGMA cache_size=-4096"}) {
    // Turning a new file to WAL takes an exclusive lock without waiting on the busy handler:
    // replicas starting together on one file take turns.
    for (int attempt = 0;; ++attempt) {
      auto s = db->exec(pragma);
      if (s) break;
      if ((sqlite3_errcode(raw) & 0xFF) == SQLITE_NOTADB) return fail(Error::fatal(path + " is not a SQLite database"));
      if (s.error().kind != ErrorKind::Retry || attempt == 200) return fail(s.error());
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  if (checkpointPages > 0 && path != ":memory:" && !path.empty()) {
    db->checkpointer_ = std::make_unique<Checkpointer>(path, checkpointPages);
    db->checkpointer_->attach(raw);
  }
  return db;
}

Db::~Db() {
  checkpointer_.reset();
  for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
  sqlite3_close(db_);
}

Status Db::exec(std::string_view sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, std::string(sql).c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    Error e = error(rc, sql);
    // error() names the connection's message: the statement's own is added only when it differs.
    if (!e.message.ends_with(": " + msg)) e.message += ": " + msg;
    return fail(e);
  }
  return {};
}

Result<Statement> Db::prepare(const std::string& sql) {
  auto it = statements_.find(sql);
  if (it != statements_.end()) {
    sqlite3_reset(it->second);
    sqlite3_clear_bindings(it->second);
    return Statement(it->second);
  }
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    Error e = error(rc, "prepare");
    e.message += " (" + sql + ")";
    return fail(e);
  }
  statements_.emplace(sql, stmt);
  return Statement(stmt);
}

Status Db::run(const std::string& sql) {
  auto stmt = prepare(sql);
  if (!stmt) return fail(stmt.error());
  if (int rc = sqlite3_step(*stmt); rc != SQLITE_DONE) return fail(error(rc, sql));
  return {};
}

Error Db::error(int rc, std::string_view what) const {
  int primary = rc & 0xFF;
  std::string msg = "SQLite " + std::string(what) + ": " + sqlite3_errmsg(db_);
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED || primary == SQLITE_FULL || primary == SQLITE_IOERR) {
    return Error::retry(std::move(msg));
  }
  return Error::fatal(std::move(msg));
}

std::string quoteIdentifier(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

Transaction::~Transaction() {
  if (open_ && !db_.run("ROLLBACK")) sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

Status Transaction::begin() {
  if (auto* checkpointer = db_.checkpointer()) checkpointer->beforeBegin();
  if (auto s = db_.run("BEGIN IMMEDIATE"); !s) return s;
  open_ = true;
  return {};
}

Status Transaction::commit() {
  auto s = db_.run("COMMIT");
  if (s) open_ = false;
  return s;
}

}  // namespace cdc::sqlite
