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

// The columns and key attributes a Query reads: the table's key, or an index's (g<i>pk, g<i>sk).
struct QueryKey {
  std::string pk = "pk", sk = "sk";
  const store::KeyAttribute* hash = nullptr;
  const store::KeyAttribute* range = nullptr;
  bool onIndex = false;
};

Result<QueryKey> queryKey(const store::TableSpec& spec, const std::optional<std::string>& index) {
  QueryKey k{.hash = &spec.hash, .range = spec.range ? &*spec.range : nullptr};
  if (!index) return k;
  size_t i = 0;
  while (i < spec.indexes.size() && spec.indexes[i].name != *index) ++i;
  if (i == spec.indexes.size()) return fail(Error::poison("table " + spec.name + " has no index " + *index));
  k.pk = "g" + std::to_string(i) + "pk";
  k.sk = "g" + std::to_string(i) + "sk";
  k.hash = &spec.indexes[i].hash;
  k.range = spec.indexes[i].range ? &*spec.indexes[i].range : nullptr;
  k.onIndex = true;
  return k;
}

std::string querySql(const std::string& table, const QueryKey& k, const store::QueryRequest& request) {
  std::string order = request.forward ? " ASC" : " DESC";
  std::string cmp = request.forward ? " > " : " < ";
  std::string sql = "SELECT item FROM " + table + " WHERE " + k.pk + " = ?";
  if (request.range) sql += rangeSql(k.sk, request.range->op);
  if (request.exclusiveStartKey) {
    sql += k.onIndex ? " AND (" + k.sk + ", pk, sk)" + cmp + "(?, ?, ?)" : " AND sk" + cmp + "?";
  }
  sql += " ORDER BY " + k.sk + order;
  if (k.onIndex) sql += ", pk" + order + ", sk" + order;
  sql += " LIMIT ?";
  return sql;
}

// Binds querySql's parameters in their order: the hash value, the range condition's values,
// the start key's columns, the limit.
void bindQuery(sqlite3_stmt* stmt, const store::TableSpec& spec, const QueryKey& k, const store::QueryRequest& request,
               int limit) {
  int col = 1;
  bindKey(stmt, col++, &request.hashValue);
  if (request.range) {
    bindKey(stmt, col++, &request.range->value);
    if (request.range->op == store::KeyOp::Between || request.range->op == store::KeyOp::BeginsWith) {
      bindKey(stmt, col++, request.range->op == store::KeyOp::Between ? &request.range->upper : &request.range->value);
    }
  }
  auto bindRange = [&](const store::KeyAttribute* attr, const Item& key) {
    if (attr) {
      bindKey(stmt, col++, store::find(key, attr->name));
    } else {
      sqlite3_bind_text(stmt, col++, "", 0, SQLITE_STATIC);
    }
  };
  if (request.exclusiveStartKey) {
    const Item& start = *request.exclusiveStartKey;
    bindRange(k.range, start);
    if (k.onIndex) {
      bindKey(stmt, col++, store::find(start, spec.hash.name));
      bindRange(spec.range ? &*spec.range : nullptr, start);
    }
  }
  sqlite3_bind_int(stmt, col++, limit);
}

}  // namespace

Result<store::Page> SqliteTableStore::query(const store::QueryRequest& request) {
  auto t = table(request.table);
  if (!t) return fail(t.error());
  const store::TableSpec& spec = (*t)->spec;
  auto k = queryKey(spec, request.index);
  if (!k) return fail(k.error());
  if (request.hashValue.type() != k->hash->type) return fail(Error::poison("query hash value has the wrong type"));
  if (request.range && !k->range) return fail(Error::poison("range condition on a hash-only key"));
  auto stmt = db_->prepare(querySql((*t)->sqlName, *k, request));
  if (!stmt) return fail(stmt.error());
  int limit = request.limit > 0 ? request.limit : kDefaultPageSize;
  bindQuery(*stmt, spec, *k, request, limit);
  store::Page page;
  if (auto st = readItems(*stmt, "query", page.items); !st) return fail(st.error());
  if (static_cast<int>(page.items.size()) == limit) {
    // The last item's key (and on an index, its index key): where the next page starts.
    Item last = store::keyOf(spec, page.items.back());
    if (k->onIndex) {
      if (const auto* h = store::find(page.items.back(), k->hash->name)) last.insert_or_assign(k->hash->name, *h);
      if (k->range) {
        if (const auto* r = store::find(page.items.back(), k->range->name)) last.insert_or_assign(k->range->name, *r);
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
