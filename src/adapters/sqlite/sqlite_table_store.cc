#include "adapters/sqlite/sqlite_table_store.h"

#include <algorithm>
#include <array>
#include <ctime>
#include <set>
#include <span>

#include <fmt/format.h>

#include "adapters/sqlite/sqlite_store_parts.h"
#include "store/item_codec.h"

namespace cdc::sqlite {
namespace {

// The store is made of the row helpers (sqlite_store_parts.h).
using namespace detail;

// An index's key columns of an item: null when the item is not in the index (sparse).
using IndexKeys = std::pair<const AttributeValue*, const AttributeValue*>;
IndexKeys indexColumns(const store::IndexSpec& idx, const Item& of) {
  const AttributeValue* h = indexKey(of, idx.hash);
  const AttributeValue* r = idx.range ? indexKey(of, *idx.range) : nullptr;
  if (!h || (idx.range && !r)) return {nullptr, nullptr};
  return {h, r};
}

// The indexes (a bit each) whose key columns differ between `before` and the new ones.
uint32_t changedIndexes(const store::TableSpec& spec, const Item& before, std::span<const IndexKeys> after) {
  auto same = [](const AttributeValue* x, const AttributeValue* y) { return x == y || (x && y && *x == *y); };
  uint32_t changed = 0;
  for (size_t i = 0; i < spec.indexes.size(); ++i) {
    auto was = indexColumns(spec.indexes[i], before);
    if (!same(was.first, after[i].first) || !same(was.second, after[i].second)) changed |= 1u << i;
  }
  return changed;
}

// A write's key columns (?1, ?2) and expiry (?4).
void bindKeyAndTtl(sqlite3_stmt* stmt, const store::TableSpec& spec, const Item& item) {
  bindKey(stmt, 1, store::find(item, spec.hash.name));
  if (spec.range) {
    bindKey(stmt, 2, store::find(item, spec.range->name));
  } else {
    sqlite3_bind_text(stmt, 2, "", 0, SQLITE_STATIC);
  }
  const AttributeValue* ttl = spec.ttlAttribute ? store::find(item, *spec.ttlAttribute) : nullptr;
  if (ttl && ttl->asInt()) {
    sqlite3_bind_int64(stmt, 4, *ttl->asInt());
  } else {
    sqlite3_bind_null(stmt, 4);
  }
}

}  // namespace

SqliteTableStore::TableInfo::TableInfo(store::TableSpec s, std::string name, uint16_t n)
    : spec(std::move(s)), sqlName(std::move(name)), id(n) {
  selectSql = "SELECT item FROM " + sqlName + " WHERE pk = ? AND sk = ?";
  deleteSql = "DELETE FROM " + sqlName + " WHERE pk = ? AND sk = ?";
  writeSql = "INSERT OR REPLACE INTO " + sqlName + " (pk, sk, item, ttl";
  std::string values = "?, ?, ?, ?";
  for (size_t i = 0; i < spec.indexes.size(); ++i) {
    writeSql += ", g" + std::to_string(i) + "pk, g" + std::to_string(i) + "sk";
    values += ", ?, ?";
  }
  writeSql += ") VALUES (" + values + ")";
}

Result<std::unique_ptr<SqliteTableStore>> SqliteTableStore::open(const std::string& path, size_t cacheBytes) {
  auto db = Db::open(path);
  if (!db) return fail(db.error());
  std::unique_ptr<SqliteTableStore> s(new SqliteTableStore(std::move(*db), cacheBytes));
  if (auto st = s->db_->exec("CREATE TABLE IF NOT EXISTS cdc_tables (name TEXT PRIMARY KEY, spec TEXT NOT NULL)"); !st) {
    return fail(st.error());
  }
  return s;
}

Result<std::vector<std::string>> SqliteTableStore::listTables() {
  auto stmt = db_->prepare("SELECT name FROM cdc_tables ORDER BY name");
  if (!stmt) return fail(stmt.error());
  std::vector<std::string> names;
  while (sqlite3_step(*stmt) == SQLITE_ROW) {
    names.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(*stmt, 0)));
  }
  return names;
}

Status SqliteTableStore::ensureTable(const store::TableSpec& spec) {
  if (auto existing = describeTable(spec.name)) {
    if (existing->hash.name != spec.hash.name || existing->range.has_value() != spec.range.has_value()) {
      return fail(Error::fatal("table " + spec.name + " exists with another key schema"));
    }
    return {};
  } else if (existing.error().kind != ErrorKind::NotFound) {
    return fail(existing.error());
  }
  if (!isScalarKeyType(spec.hash.type)) return fail(Error::fatal("hash key must be S, N or B"));
  std::string sqlName = quoteIdentifier("t:" + spec.name);
  std::string ddl = "CREATE TABLE IF NOT EXISTS " + sqlName + " (pk NOT NULL, sk NOT NULL DEFAULT '', item BLOB NOT NULL, ttl";
  for (size_t i = 0; i < spec.indexes.size(); ++i) ddl += ", g" + std::to_string(i) + "pk, g" + std::to_string(i) + "sk";
  ddl += ", PRIMARY KEY (pk, sk)) WITHOUT ROWID";
  Tx tx(*this);
  if (auto s = tx.begin(); !s) return s;
  if (auto s = db_->exec(ddl); !s) return s;
  for (size_t i = 0; i < spec.indexes.size(); ++i) {
    std::string n = std::to_string(i);
    if (auto s = db_->exec(fmt::format("CREATE INDEX IF NOT EXISTS {} ON {} (g{}pk, g{}sk, pk, sk) WHERE g{}pk IS NOT NULL",
                                       quoteIdentifier("i:" + spec.name + ":" + spec.indexes[i].name), sqlName, n, n, n));
        !s) {
      return s;
    }
  }
  auto stmt = db_->prepare("INSERT INTO cdc_tables (name, spec) VALUES (?, ?)");
  if (!stmt) return fail(stmt.error());
  std::string json = store::tableSpecToJson(spec);
  sqlite3_bind_text(*stmt, 1, spec.name.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(*stmt, 2, json.c_str(), -1, SQLITE_TRANSIENT);
  if (int rc = sqlite3_step(*stmt); rc != SQLITE_DONE) return fail(db_->error(rc, "create table"));
  if (auto s = tx.commit(); !s) return s;
  tables_.emplace(spec.name, TableInfo(spec, sqlName, nextTableId()));
  return {};
}

Result<store::TableSpec> SqliteTableStore::describeTable(std::string_view name) {
  auto t = table(name);
  if (!t) return fail(t.error());
  return (*t)->spec;
}

Result<const SqliteTableStore::TableInfo*> SqliteTableStore::table(std::string_view name) {
  if (auto it = tables_.find(name); it != tables_.end()) return &it->second;
  auto stmt = db_->prepare("SELECT spec FROM cdc_tables WHERE name = ?");
  if (!stmt) return fail(stmt.error());
  sqlite3_bind_text(*stmt, 1, name.data(), static_cast<int>(name.size()), SQLITE_TRANSIENT);
  int rc = sqlite3_step(*stmt);
  if (rc == SQLITE_DONE) return fail(Error::notFound("table " + std::string(name) + " does not exist"));
  if (rc != SQLITE_ROW) return fail(db_->error(rc, "describe table"));
  auto spec = store::tableSpecFromJson(reinterpret_cast<const char*>(sqlite3_column_text(*stmt, 0)));
  if (!spec) return fail(spec.error());
  std::string sqlName = quoteIdentifier("t:" + spec->name);
  auto [it, _] = tables_.emplace(std::string(name), TableInfo(std::move(*spec), std::move(sqlName), nextTableId()));
  return &it->second;
}

Status SqliteTableStore::checkKey(const TableInfo& t, const Item& key) const {
  const AttributeValue* h = store::find(key, t.spec.hash.name);
  if (!h || h->type() != t.spec.hash.type) {
    return fail(Error::poison("key of " + t.spec.name + " lacks " + t.spec.hash.name + " of type " + toString(t.spec.hash.type)));
  }
  if (t.spec.range) {
    const AttributeValue* r = store::find(key, t.spec.range->name);
    if (!r || r->type() != t.spec.range->type) {
      return fail(Error::poison("key of " + t.spec.name + " lacks " + t.spec.range->name));
    }
  }
  return {};
}

Status SqliteTableStore::readItems(sqlite3_stmt* stmt, const char* what, std::vector<Item>& out) {
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    auto item = store::parseItemRow(rowOf(stmt));
    if (!item) return fail(item.error());
    out.push_back(std::move(*item));
  }
  if (rc != SQLITE_DONE) return fail(db_->error(rc, what));
  return {};
}

uint16_t SqliteTableStore::nextTableId() const {
  // Tables are only ever added: their number is a fresh id (65,536 tables are far beyond use).
  return static_cast<uint16_t>(tables_.size());
}

std::string SqliteTableStore::cacheKey(const TableInfo& t, const Item& key) const {
  // Two bytes of table id, then the key's text: short keys stay within the string's own buffer.
  std::string k(2, '\0');
  k[0] = static_cast<char>(t.id & 0xFF);
  k[1] = static_cast<char>(t.id >> 8);
  k += store::find(key, t.spec.hash.name)->text();
  if (t.spec.range) {
    k.push_back('\x1f');
    k += store::find(key, t.spec.range->name)->text();
  }
  return k;
}

const std::optional<Item>& SqliteTableStore::remember(std::string key, std::optional<Item> item) {
  size_t bytes = 2 * key.size() + 160 + (item ? memoryOf(*item) : 0);
  auto [it, inserted] = cache_.try_emplace(std::move(key));
  Cached& c = it->second;
  if (inserted) {
    recent_.push_front(it->first);
    c.recent = recent_.begin();
  } else {
    cacheBytes_ -= c.bytes;
    recent_.splice(recent_.begin(), recent_, c.recent);
  }
  c.item = std::move(item);
  c.bytes = bytes;
  cacheBytes_ += bytes;
  return c.item;
}

void SqliteTableStore::forgetAll() {
  cache_.clear();
  recent_.clear();
  cacheBytes_ = 0;
}

Status SqliteTableStore::syncCache() {
  auto stmt = db_->prepare("PRAGMA data_version");
  if (!stmt) return fail(stmt.error());
  if (int rc = sqlite3_step(*stmt); rc != SQLITE_ROW) return fail(db_->error(rc, "data_version"));
  int64_t version = sqlite3_column_int64(*stmt, 0);
  if (version != dataVersion_) {
    forgetAll();
    dataVersion_ = version;
  }
  while (cacheBytes_ > cacheBudget_ && !recent_.empty()) {
    auto it = cache_.find(recent_.back());
    cacheBytes_ -= it->second.bytes;
    cache_.erase(it);
    recent_.pop_back();
  }
  return {};
}

Result<const std::optional<Item>*> SqliteTableStore::lookup(const TableInfo& t, const Item& key) {
  std::string k = cacheKey(t, key);
  if (auto it = cache_.find(k); it != cache_.end()) {
    recent_.splice(recent_.begin(), recent_, it->second.recent);
    return &it->second.item;
  }
  auto stmt = db_->prepare(t.selectSql);
  if (!stmt) return fail(stmt.error());
  bindKey(*stmt, 1, store::find(key, t.spec.hash.name));
  if (t.spec.range) {
    bindKey(*stmt, 2, store::find(key, t.spec.range->name));
  } else {
    sqlite3_bind_text(*stmt, 2, "", 0, SQLITE_STATIC);
  }
  int rc = sqlite3_step(*stmt);
  if (rc == SQLITE_DONE) return &remember(std::move(k), std::nullopt);
  if (rc != SQLITE_ROW) return fail(db_->error(rc, "get"));
  auto item = store::parseItemRow(rowOf(*stmt));
  if (!item) return fail(item.error());
  return &remember(std::move(k), std::move(*item));
}

Result<std::optional<Item>> SqliteTableStore::read(const TableInfo& t, const Item& key) {
  auto found = lookup(t, key);
  if (!found) return fail(found.error());
  return **found;
}

const std::string& SqliteTableStore::updateSql(const TableInfo& t, uint32_t changed) {
  std::string& text = updateSql_[{&t, changed}];
  if (text.empty()) {
    text = "UPDATE " + t.sqlName + " SET item = ?3, ttl = ?4";
    for (size_t i = 0; i < t.spec.indexes.size(); ++i) {
      if (!(changed & (1u << i))) continue;
      text += fmt::format(", g{0}pk = ?{1}, g{0}sk = ?{2}", i, 5 + 2 * i, 6 + 2 * i);
    }
    text += " WHERE pk = ?1 AND sk = ?2";
  }
  return text;
}

Status SqliteTableStore::write(const TableInfo& t, Item item) {
  row_.clear();
  store::appendItemRow(row_, item);
  // The row holds the names and values and a few bytes more: exact only when near the limit.
  if (row_.size() > store::kMaxItemBytes) {
    if (size_t bytes = store::itemSize(item); bytes > store::kMaxItemBytes) {
      return fail(Error::poison("item of " + std::to_string(bytes) + " bytes exceeds DynamoDB's 400 KB"));
    }
  }
  // The item's key columns of each index, found once.
  std::array<IndexKeys, 16> columns{};
  const size_t indexes = std::min<size_t>(t.spec.indexes.size(), columns.size());
  for (size_t i = 0; i < indexes; ++i) columns[i] = indexColumns(t.spec.indexes[i], item);
  std::string key = cacheKey(t, item);
  // A row this connection knows to exist is updated in place, with only the indexes whose key
  // changed: a change of price or stock leaves the name's index alone.
  auto known = cache_.find(key);
  const bool update = known != cache_.end() && known->second.item && t.spec.indexes.size() <= 16;
  const uint32_t changed = update ? changedIndexes(t.spec, *known->second.item, columns) : 0;
  auto stmt = db_->prepare(update ? updateSql(t, changed) : t.writeSql);
  if (!stmt) return fail(stmt.error());
  bindKeyAndTtl(*stmt, t.spec, item);
  sqlite3_bind_blob(*stmt, 3, row_.data(), static_cast<int>(row_.size()), SQLITE_STATIC);  // stepped below
  for (size_t i = 0; i < t.spec.indexes.size(); ++i) {
    if (update && !(changed & (1u << i))) continue;
    auto [h, r] = i < indexes ? columns[i] : indexColumns(t.spec.indexes[i], item);
    const int col = static_cast<int>(5 + 2 * i);
    bindKey(*stmt, col, h);
    if (h && !t.spec.indexes[i].range) {
      sqlite3_bind_text(*stmt, col + 1, "", 0, SQLITE_STATIC);
    } else {
      bindKey(*stmt, col + 1, r);
    }
  }
  if (int rc = sqlite3_step(*stmt); rc != SQLITE_DONE) return fail(db_->error(rc, "put"));
  if (update && sqlite3_changes(db_->handle()) != 1) {
    // Not there after all: written whole instead (cannot happen while the memory is in step).
    remember(std::move(key), std::nullopt);
    return write(t, std::move(item));
  }
  remember(std::move(key), std::move(item));
  // Time to Live housekeeping, as DynamoDB does it in the background: now and then.
  if (t.spec.ttlAttribute && ++writesSincePurge_ >= kPurgeEvery) {
    writesSincePurge_ = 0;
    return purgeExpired(t);
  }
  return {};
}

Status SqliteTableStore::purgeExpired(const TableInfo& t) {
  auto stmt = db_->prepare("DELETE FROM " + t.sqlName + " WHERE ttl IS NOT NULL AND ttl < ?");
  if (!stmt) return fail(stmt.error());
  sqlite3_bind_int64(*stmt, 1, static_cast<int64_t>(std::time(nullptr)));
  if (int rc = sqlite3_step(*stmt); rc != SQLITE_DONE) return fail(db_->error(rc, "ttl purge"));
  if (sqlite3_changes(db_->handle()) > 0) forgetAll();
  return {};
}

Status SqliteTableStore::erase(const TableInfo& t, const Item& key) {
  auto stmt = db_->prepare(t.deleteSql);
  if (!stmt) return fail(stmt.error());
  bindKey(*stmt, 1, store::find(key, t.spec.hash.name));
  if (t.spec.range) {
    bindKey(*stmt, 2, store::find(key, t.spec.range->name));
  } else {
    sqlite3_bind_text(*stmt, 2, "", 0, SQLITE_STATIC);
  }
  if (int rc = sqlite3_step(*stmt); rc != SQLITE_DONE) return fail(db_->error(rc, "delete"));
  remember(cacheKey(t, key), std::nullopt);
  return {};
}

Result<std::optional<Item>> SqliteTableStore::get(std::string_view table, const Item& key) {
  auto t = this->table(table);
  if (!t) return fail(t.error());
  if (auto s = checkKey(**t, key); !s) return fail(s.error());
  if (auto s = syncCache(); !s) return fail(s.error());
  return read(**t, key);
}

Result<std::vector<Item>> SqliteTableStore::batchGet(std::string_view table, std::span<const Item> keys) {
  std::vector<Item> items;
  items.reserve(keys.size());
  auto visited = batchGetEach(table, keys, [&](const Item& item) -> Status {
    items.push_back(item);
    return {};
  });
  if (!visited) return fail(visited.error());
  return items;
}

Status SqliteTableStore::batchGetEach(std::string_view table, std::span<const Item> keys,
                                      const std::function<Status(const Item&)>& visit) {
  auto t = this->table(table);
  if (!t) return fail(t.error());
  if (auto s = syncCache(); !s) return fail(s.error());
  for (const auto& key : keys) {
    if (auto s = checkKey(**t, key); !s) return fail(s.error());
    auto item = lookup(**t, key);
    if (!item) return fail(item.error());
    if (!**item) continue;
    if (auto s = visit(***item); !s) return s;
  }
  return {};
}

}  // namespace cdc::sqlite
