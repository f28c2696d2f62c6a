#include "adapters/sqlite/sqlite_db.h"

#include <chrono>
#include <thread>

namespace cdc::sqlite {

Result<std::unique_ptr<Db>> Db::open(const std::string& path) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
    sqlite3_close(raw);
    return fail(Error::fatal("cannot open SQLite database " + path + ": " + msg));
  }
  std::unique_ptr<Db> db(new Db(raw));
  sqlite3_busy_timeout(raw, 5000);
  for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=OFF",
                             "PRAGMA cache_size=-8192"}) {
    // Turning a new file to WAL takes an exclusive lock without waiting on the busy handler:
    // replicas starting together on one file take turns.
    for (int attempt = 0;; ++attempt) {
      auto s = db->exec(pragma);
      if (s) break;
      if (s.error().kind != ErrorKind::Retry || attempt == 200) return fail(s.error());
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  return db;
}

Db::~Db() {
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
    e.message += ": " + msg;
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
