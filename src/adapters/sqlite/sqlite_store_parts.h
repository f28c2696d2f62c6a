#pragma once

// What the SQLite table store's files share (sqlite_table_store.cc: tables, rows and the item
// cache; sqlite_writes.cc: conditional writes and transactions; sqlite_queries.cc: Query and
// Scan): how keys are bound and compared, index keys, the item column, memory accounting, and
// the transaction that keeps the cache honest. Not an API.

#include <sqlite3.h>

#include <string>
#include <string_view>

#include "adapters/sqlite/sqlite_table_store.h"

namespace cdc::sqlite {
namespace detail {

using store::AttributeValue;
using store::Item;

inline constexpr int kDefaultPageSize = 1000;

// Binds a key attribute so that SQLite orders it as DynamoDB does: numbers numerically,
// strings and binaries bytewise.
inline void bindKey(sqlite3_stmt* stmt, int idx, const AttributeValue* v) {
  if (v == nullptr) {
    sqlite3_bind_null(stmt, idx);
    return;
  }
  switch (v->type()) {
    case AttributeValue::Type::N:
      if (auto i = v->asInt()) {
        sqlite3_bind_int64(stmt, idx, *i);
      } else {
        sqlite3_bind_double(stmt, idx, std::stod(v->text()));
      }
      break;
    case AttributeValue::Type::S:
      sqlite3_bind_text(stmt, idx, v->text().data(), static_cast<int>(v->text().size()), SQLITE_TRANSIENT);
      break;
    case AttributeValue::Type::B:
      sqlite3_bind_blob(stmt, idx, v->text().data(), static_cast<int>(v->text().size()), SQLITE_TRANSIENT);
      break;
    default:
      sqlite3_bind_null(stmt, idx);
  }
}

// An index key value of `item`, or null when the item is not in the index.
inline const AttributeValue* indexKey(const Item& item, const store::KeyAttribute& k) {
  const AttributeValue* v = store::find(item, k.name);
  return v && v->type() == k.type ? v : nullptr;
}

inline std::string rangeSql(const std::string& column, store::KeyOp op) {
  switch (op) {
    case store::KeyOp::Eq:
      return " AND " + column + " = ?";
    case store::KeyOp::Lt:
      return " AND " + column + " < ?";
    case store::KeyOp::Le:
      return " AND " + column + " <= ?";
    case store::KeyOp::Gt:
      return " AND " + column + " > ?";
    case store::KeyOp::Ge:
      return " AND " + column + " >= ?";
    case store::KeyOp::Between:
      return " AND " + column + " BETWEEN ? AND ?";
    case store::KeyOp::BeginsWith:
      return " AND substr(" + column + ", 1, length(?)) = ?";
  }
  return {};
}

inline bool isScalarKeyType(AttributeValue::Type t) {
  return t == AttributeValue::Type::S || t == AttributeValue::Type::N || t == AttributeValue::Type::B;
}

// The item column of the current row: format 1 (a blob) or DynamoDB JSON (text, older rows).
inline std::string_view rowOf(sqlite3_stmt* stmt) {
  const void* bytes = sqlite3_column_blob(stmt, 0);
  return {static_cast<const char*>(bytes), static_cast<size_t>(sqlite3_column_bytes(stmt, 0))};
}

// About what a value holds in memory beyond its own object: a long text, and the elements of
// a list, map or set with their allocation (counted in every item that shares them).
inline size_t heapOf(const std::string& text) { return text.size() > 15 ? text.size() + 1 : 0; }

inline size_t memoryOf(const AttributeValue& v) {
  using T = AttributeValue::Type;
  size_t bytes = heapOf(v.text());
  if (v.type() != T::L && v.type() != T::M && v.type() != T::SS && v.type() != T::NS) return bytes;
  if (v.asList().empty() && v.asMap().empty() && v.members().empty()) return bytes;
  bytes += 128;  // the shared elements' block
  for (const auto& e : v.asList()) bytes += sizeof(AttributeValue) + memoryOf(e);
  for (const auto& [name, e] : v.asMap()) bytes += 120 + heapOf(name) + memoryOf(e);
  for (const auto& m : v.members()) bytes += sizeof(std::string) + heapOf(m);
  return bytes;
}

// An item: a map node (about 120 bytes) per attribute and what the values hold.
inline size_t memoryOf(const Item& item) {
  size_t bytes = 48;
  for (const auto& [name, v] : item) bytes += 120 + heapOf(name) + memoryOf(v);
  return bytes;
}

}  // namespace detail

class SqliteTableStore::Tx {
 public:
  explicit Tx(SqliteTableStore& store) : store_(store), tx_(*store.db_) {}
  ~Tx() {
    if (open_) store_.forgetAll();  // rolled back: what was remembered inside may not hold
  }
  Status begin() {
    if (auto s = tx_.begin(); !s) return s;
    open_ = true;
    return store_.syncCache();
  }
  Status commit() {
    if (auto s = tx_.commit(); !s) return s;
    open_ = false;
    return {};
  }

 private:
  SqliteTableStore& store_;
  Transaction tx_;
  bool open_ = false;
};

}  // namespace cdc::sqlite
