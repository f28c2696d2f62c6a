// Query and Scan of the SQLite table store.

#include "adapters/sqlite/sqlite_table_store.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "adapters/sqlite/sqlite_store_parts.h"
#include "store/item_codec.h"

namespace cdc::sqlite {
namespace {

using namespace detail;

}  // namespace

Result<store::Page> SqliteTableStore::query(const store::QueryRequest& request) {
  auto t = table(request.table);
  if (!t) return fail(t.error());
  const store::TableSpec& spec = (*t)->spec;
  std::string pkCol = "pk", skCol = "sk";
  const store::KeyAttribute* hashAttr = &spec.hash;
  const store::KeyAttribute* rangeAttr = spec.range ? &*spec.range : nullptr;
  bool onIndex = false;
  if (request.index) {
    size_t i = 0;
    for (; i < spec.indexes.size() && spec.indexes[i].name != *request.index; ++i) {
    }
    if (i == spec.indexes.size()) return fail(Error::poison("table " + spec.name + " has no index " + *request.index));
    pkCol = "g" + std::to_string(i) + "pk";
    skCol = "g" + std::to_string(i) + "sk";
    hashAttr = &spec.indexes[i].hash;
    rangeAttr = spec.indexes[i].range ? &*spec.indexes[i].range : nullptr;
    onIndex = true;
  }
  if (request.hashValue.type() != hashAttr->type) return fail(Error::poison("query hash value has the wrong type"));
  if (request.range && !rangeAttr) return fail(Error::poison("range condition on a hash-only key"));
  std::string order = request.forward ? " ASC" : " DESC";
  std::string cmp = request.forward ? " > " : " < ";
  std::string sql = "SELECT item FROM " + (*t)->sqlName + " WHERE " + pkCol + " = ?";
  if (request.range) sql += rangeSql(skCol, request.range->op);
  if (request.exclusiveStartKey) {
    sql += onIndex ? " AND (" + skCol + ", pk, sk)" + cmp + "(?, ?, ?)" : " AND sk" + cmp + "?";
  }
  sql += " ORDER BY " + skCol + order;
  if (onIndex) sql += ", pk" + order + ", sk" + order;
  sql += " LIMIT ?";
  auto stmt = db_->prepare(sql);
  if (!stmt) return fail(stmt.error());
  int col = 1;
  bindKey(*stmt, col++, &request.hashValue);
  if (request.range) {
    bindKey(*stmt, col++, &request.range->value);
    if (request.range->op == store::KeyOp::Between || request.range->op == store::KeyOp::BeginsWith) {
      bindKey(*stmt, col++, request.range->op == store::KeyOp::Between ? &request.range->upper : &request.range->value);
    }
  }
  auto bindRange = [&](const store::KeyAttribute* attr, const Item& key) {
    if (attr) {
      bindKey(*stmt, col++, store::find(key, attr->name));
    } else {
      sqlite3_bind_text(*stmt, col++, "", 0, SQLITE_STATIC);
    }
  };
  if (request.exclusiveStartKey) {
    const Item& start = *request.exclusiveStartKey;
    if (onIndex) {
      bindRange(rangeAttr, start);
      bindKey(*stmt, col++, store::find(start, spec.hash.name));
      bindRange(spec.range ? &*spec.range : nullptr, start);
    } else {
      bindRange(rangeAttr, start);
    }
  }
  int limit = request.limit > 0 ? request.limit : kDefaultPageSize;
  sqlite3_bind_int(*stmt, col++, limit);
  store::Page page;
  if (auto st = readItems(*stmt, "query", page.items); !st) return fail(st.error());
  if (static_cast<int>(page.items.size()) == limit) {
    Item last = store::keyOf(spec, page.items.back());
    if (onIndex) {
      if (const auto* h = store::find(page.items.back(), hashAttr->name)) last.insert_or_assign(hashAttr->name, *h);
      if (rangeAttr) {
        if (const auto* r = store::find(page.items.back(), rangeAttr->name)) last.insert_or_assign(rangeAttr->name, *r);
      }
    }
    page.lastEvaluatedKey = std::move(last);
  }
  return page;
}

Result<store::Page> SqliteTableStore::scan(const store::ScanRequest& request) {
  auto t = table(request.table);
  if (!t) return fail(t.error());
  const store::TableSpec& spec = (*t)->spec;
  std::string sql = "SELECT item FROM " + (*t)->sqlName;
  if (request.exclusiveStartKey) sql += " WHERE (pk, sk) > (?, ?)";
  sql += " ORDER BY pk, sk LIMIT ?";
  auto stmt = db_->prepare(sql);
  if (!stmt) return fail(stmt.error());
  int col = 1;
  if (request.exclusiveStartKey) {
    bindKey(*stmt, col++, store::find(*request.exclusiveStartKey, spec.hash.name));
    if (spec.range) {
      bindKey(*stmt, col++, store::find(*request.exclusiveStartKey, spec.range->name));
    } else {
      sqlite3_bind_text(*stmt, col++, "", 0, SQLITE_STATIC);
    }
  }
  int limit = request.limit > 0 ? request.limit : kDefaultPageSize;
  sqlite3_bind_int(*stmt, col++, limit);
  store::Page page;
  if (auto st = readItems(*stmt, "scan", page.items); !st) return fail(st.error());
  if (static_cast<int>(page.items.size()) == limit) page.lastEvaluatedKey = store::keyOf(spec, page.items.back());
  return page;
}

}  // namespace cdc::sqlite
