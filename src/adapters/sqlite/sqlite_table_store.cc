#include "adapters/sqlite/sqlite_table_store.h"

#include <algorithm>
#include <array>
#include <ctime>
#include <set>

#include "store/item_codec.h"

namespace cdc::sqlite {
namespace {

using store::AttributeValue;
using store::Item;

constexpr int kDefaultPageSize = 1000;

// Binds a key attribute so that SQLite orders it as DynamoDB does: numbers numerically,
// strings and binaries bytewise.
void bindKey(sqlite3_stmt* stmt, int idx, const AttributeValue* v) {
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
const AttributeValue* indexKey(const Item& item, const store::KeyAttribute& k) {
  const AttributeValue* v = store::find(item, k.name);
  return v && v->type() == k.type ? v : nullptr;
}

std::string rangeSql(const std::string& column, store::KeyOp op) {
  switch (op) {
    case store::KeyOp::Eq: return " AND " + column + " = ?";
    case store::KeyOp::Lt: return " AND " + column + " < ?";
    case store::KeyOp::Le: return " AND " + column + " <= ?";
    case store::KeyOp::Gt: return " AND " + column + " > ?";
    case store::KeyOp::Ge: return " AND " + column + " >= ?";
    case store::KeyOp::Between: return " AND " + column + " BETWEEN ? AND ?";
    case store::KeyOp::BeginsWith: return " AND substr(" + column + ", 1, length(?)) = ?";
  }
  return {};
}

bool isScalarKeyType(AttributeValue::Type t) {
  return t == AttributeValue::Type::S || t == AttributeValue::Type::N || t == AttributeValue::Type::B;
}

// The item column of the current row: format 1 (a blob) or DynamoDB JSON (text, older rows).
std::string_view rowOf(sqlite3_stmt* stmt) {
  const void* bytes = sqlite3_column_blob(stmt, 0);
  return {static_cast<const char*>(bytes), static_cast<size_t>(sqlite3_column_bytes(stmt, 0))};
}

// About what a value holds in memory beyond its own object: a long text, and the elements of
// a list, map or set with their allocation (counted in every item that shares them).
size_t heapOf(const std::string& text) { return text.size() > 15 ? text.size() + 1 : 0; }

size_t memoryOf(const AttributeValue& v) {
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
size_t memoryOf(const Item& item) {
  size_t bytes = 48;
  for (const auto& [name, v] : item) bytes += 120 + heapOf(name) + memoryOf(v);
  return bytes;
}

}  // namespace

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
    if (auto s = db_->exec("CREATE INDEX IF NOT EXISTS " + quoteIdentifier("i:" + spec.name + ":" + spec.indexes[i].name) +
                           " ON " + sqlName + " (g" + n + "pk, g" + n + "sk, pk, sk) WHERE g" + n + "pk IS NOT NULL");
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

Status SqliteTableStore::write(const TableInfo& t, Item item) {
  row_.clear();
  store::appendItemRow(row_, item);
  // The row holds the names and values and a few bytes more: exact only when near the limit.
  if (row_.size() > store::kMaxItemBytes) {
    if (size_t bytes = store::itemSize(item); bytes > store::kMaxItemBytes) {
      return fail(Error::poison("item of " + std::to_string(bytes) + " bytes exceeds DynamoDB's 400 KB"));
    }
  }
  // An index's key columns for `of`: null when the item is not in the index (sparse).
  auto indexColumns = [](const store::IndexSpec& idx, const Item& of) -> std::pair<const AttributeValue*, const AttributeValue*> {
    const AttributeValue* h = indexKey(of, idx.hash);
    const AttributeValue* r = idx.range ? indexKey(of, *idx.range) : nullptr;
    if (!h || (idx.range && !r)) return {nullptr, nullptr};
    return {h, r};
  };
  // The item's key columns of each index, found once.
  std::array<std::pair<const AttributeValue*, const AttributeValue*>, 16> columns{};
  const size_t indexes = std::min<size_t>(t.spec.indexes.size(), columns.size());
  for (size_t i = 0; i < indexes; ++i) columns[i] = indexColumns(t.spec.indexes[i], item);
  auto bindIndex = [&](sqlite3_stmt* stmt, int col, size_t i) {
    auto [h, r] = i < indexes ? columns[i] : indexColumns(t.spec.indexes[i], item);
    bindKey(stmt, col, h);
    if (h && !t.spec.indexes[i].range) {
      sqlite3_bind_text(stmt, col + 1, "", 0, SQLITE_STATIC);
    } else {
      bindKey(stmt, col + 1, r);
    }
  };
  std::string key = cacheKey(t, item);
  // A row this connection knows to exist is updated in place, with only the indexes whose key
  // changed: a change of price or stock leaves the name's index alone.
  auto known = cache_.find(key);
  uint32_t changed = 0;
  bool update = known != cache_.end() && known->second.item && t.spec.indexes.size() <= 16;
  if (update) {
    for (size_t i = 0; i < t.spec.indexes.size(); ++i) {
      auto before = indexColumns(t.spec.indexes[i], *known->second.item);
      auto after = columns[i];
      auto same = [](const AttributeValue* x, const AttributeValue* y) { return x == y || (x && y && *x == *y); };
      if (!same(before.first, after.first) || !same(before.second, after.second)) changed |= 1u << i;
    }
  }
  const std::string* sql = &t.writeSql;
  if (update) {
    std::string& text = updateSql_[{&t, changed}];
    if (text.empty()) {
      text = "UPDATE " + t.sqlName + " SET item = ?3, ttl = ?4";
      for (size_t i = 0; i < t.spec.indexes.size(); ++i) {
        if (!(changed & (1u << i))) continue;
        std::string g = "g" + std::to_string(i), n = std::to_string(5 + 2 * i);
        text += ", " + g + "pk = ?" + n + ", " + g + "sk = ?" + std::to_string(6 + 2 * i);
      }
      text += " WHERE pk = ?1 AND sk = ?2";
    }
    sql = &text;
  }
  auto stmt = db_->prepare(*sql);
  if (!stmt) return fail(stmt.error());
  bindKey(*stmt, 1, store::find(item, t.spec.hash.name));
  if (t.spec.range) {
    bindKey(*stmt, 2, store::find(item, t.spec.range->name));
  } else {
    sqlite3_bind_text(*stmt, 2, "", 0, SQLITE_STATIC);
  }
  sqlite3_bind_blob(*stmt, 3, row_.data(), static_cast<int>(row_.size()), SQLITE_STATIC);  // stepped below
  const AttributeValue* ttl = t.spec.ttlAttribute ? store::find(item, *t.spec.ttlAttribute) : nullptr;
  if (ttl && ttl->asInt()) {
    sqlite3_bind_int64(*stmt, 4, *ttl->asInt());
  } else {
    sqlite3_bind_null(*stmt, 4);
  }
  for (size_t i = 0; i < t.spec.indexes.size(); ++i) {
    if (!update || (changed & (1u << i))) bindIndex(*stmt, static_cast<int>(5 + 2 * i), i);
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

Result<store::WriteOutcome> SqliteTableStore::putLocked(const TableInfo& t, const store::PutRequest& r, bool checked) {
  if (auto s = checkKey(t, r.item); !s) return fail(s.error());
  store::WriteOutcome out;
  const bool condition = r.condition && !checked;
  if (condition || r.returnValues == store::ReturnValues::AllOld) {
    auto cur = lookup(t, r.item);
    if (!cur) return fail(cur.error());
    const std::optional<Item>& old = **cur;
    if (condition && !r.condition->evaluate(old ? &*old : nullptr)) {
      out.conditionFailed = true;
      return out;
    }
    if (r.returnValues == store::ReturnValues::AllOld) out.attributes = old;
  }
  if (auto s = write(t, r.item); !s) return fail(s.error());
  return out;
}

Result<store::WriteOutcome> SqliteTableStore::updateLocked(const TableInfo& t, const store::UpdateRequest& r, bool checked) {
  if (auto s = checkKey(t, r.key); !s) return fail(s.error());
  for (const auto& a : r.update.actions()) {
    if (a.attribute == t.spec.hash.name || (t.spec.range && a.attribute == t.spec.range->name)) {
      return fail(Error::poison("cannot update key attribute " + a.attribute));
    }
  }
  auto cur = lookup(t, r.key);
  if (!cur) return fail(cur.error());
  store::WriteOutcome out;
  const Item* existing = **cur ? &***cur : nullptr;
  if (r.condition && !checked && !r.condition->evaluate(existing)) {
    out.conditionFailed = true;
    return out;
  }
  if (r.returnValues == store::ReturnValues::AllOld && existing) out.attributes = *existing;
  Item next = existing ? *existing : r.key;
  if (auto s = r.update.applyTo(next); !s) return fail(s.error());
  if (r.returnValues == store::ReturnValues::AllNew) out.attributes = next;
  if (auto s = write(t, std::move(next)); !s) return fail(s.error());
  return out;
}

Result<store::WriteOutcome> SqliteTableStore::removeLocked(const TableInfo& t, const store::DeleteRequest& r, bool checked) {
  if (auto s = checkKey(t, r.key); !s) return fail(s.error());
  store::WriteOutcome out;
  const bool condition = r.condition && !checked;
  if (condition || r.returnValues == store::ReturnValues::AllOld) {
    auto cur = lookup(t, r.key);
    if (!cur) return fail(cur.error());
    const std::optional<Item>& old = **cur;
    if (condition && !r.condition->evaluate(old ? &*old : nullptr)) {
      out.conditionFailed = true;
      return out;
    }
    if (r.returnValues == store::ReturnValues::AllOld) out.attributes = old;
  }
  if (auto s = erase(t, r.key); !s) return fail(s.error());
  return out;
}

template <class Request, class Locked>
Result<store::WriteOutcome> SqliteTableStore::single(const Request& request, Locked locked) {
  auto t = table(request.table);
  if (!t) return fail(t.error());
  Tx tx(*this);
  if (auto s = tx.begin(); !s) return fail(s.error());
  auto out = (this->*locked)(**t, request, false);
  if (!out) return out;
  if (auto s = tx.commit(); !s) return fail(s.error());
  return out;
}

Result<store::WriteOutcome> SqliteTableStore::put(const store::PutRequest& request) {
  return single(request, &SqliteTableStore::putLocked);
}

Result<store::WriteOutcome> SqliteTableStore::update(const store::UpdateRequest& request) {
  return single(request, &SqliteTableStore::updateLocked);
}

Result<store::WriteOutcome> SqliteTableStore::remove(const store::DeleteRequest& request) {
  return single(request, &SqliteTableStore::removeLocked);
}

Result<store::TransactOutcome> SqliteTableStore::transactLocked(std::span<const store::TransactItem> items,
                                                               store::TransactItem* owned) {
  if (items.size() > store::kMaxTransactItems) return fail(Error::poison("a transaction holds at most 100 items"));
  // DynamoDB refuses two actions on one item in a transaction; so do we, to stay faithful.
  std::vector<std::string> touched;
  touched.reserve(items.size());
  std::vector<const TableInfo*> infos;
  for (const auto& ti : items) {
    auto [tableName, key] = std::visit(
        [](const auto& r) -> std::pair<const std::string*, const Item*> {
          using R = std::decay_t<decltype(r)>;
          if constexpr (std::is_same_v<R, store::PutRequest>) {
            return {&r.table, &r.item};
          } else {
            return {&r.table, &r.key};
          }
        },
        ti);
    auto t = table(*tableName);
    if (!t) return fail(t.error());
    if (auto s = checkKey(**t, *key); !s) return fail(s.error());
    infos.push_back(*t);
    touched.push_back(cacheKey(**t, *key));
  }
  std::sort(touched.begin(), touched.end());
  if (std::adjacent_find(touched.begin(), touched.end()) != touched.end()) {
    return fail(Error::poison("transaction touches one item twice"));
  }
  store::TransactOutcome out;
  // Conditions are checked against the state before the transaction, then all writes apply.
  for (size_t i = 0; i < items.size(); ++i) {
    const TableInfo& t = *infos[i];
    const store::Condition* cond = nullptr;
    const Item* key = nullptr;  // an item or its key: only the key attributes are read
    std::visit(
        [&](const auto& r) {
          using R = std::decay_t<decltype(r)>;
          if constexpr (std::is_same_v<R, store::PutRequest>) {
            key = &r.item;
            if (r.condition) cond = &*r.condition;
          } else if constexpr (std::is_same_v<R, store::ConditionCheck>) {
            key = &r.key;
            cond = &r.condition;
          } else {
            key = &r.key;
            if (r.condition) cond = &*r.condition;
          }
        },
        items[i]);
    if (!cond) continue;
    auto cur = lookup(t, *key);
    if (!cur) return fail(cur.error());
    if (!cond->evaluate(**cur ? &***cur : nullptr)) out.failedConditions.push_back(i);
  }
  if (!out.failedConditions.empty()) return out;  // nothing written
  for (size_t i = 0; i < items.size(); ++i) {
    const TableInfo& t = *infos[i];
    // The conditions held: the writes apply without checking them again.
    Result<store::WriteOutcome> r = std::visit(
        [&](const auto& req) -> Result<store::WriteOutcome> {
          using R = std::decay_t<decltype(req)>;
          if constexpr (std::is_same_v<R, store::PutRequest>) {
            if (owned) {
              if (auto s = write(t, std::move(std::get<store::PutRequest>(owned[i]).item)); !s) return fail(s.error());
              return store::WriteOutcome{};
            }
            return putLocked(t, req, true);
          } else if constexpr (std::is_same_v<R, store::UpdateRequest>) {
            return updateLocked(t, req, true);
          } else if constexpr (std::is_same_v<R, store::DeleteRequest>) {
            return removeLocked(t, req, true);
          } else {
            return store::WriteOutcome{};
          }
        },
        items[i]);
    if (!r) return fail(r.error());
  }
  out.committed = true;
  return out;
}

Result<store::TransactOutcome> SqliteTableStore::transact(std::span<const store::TransactItem> items) {
  Tx tx(*this);
  if (auto s = tx.begin(); !s) return fail(s.error());
  auto out = transactLocked(items);
  if (!out || !out->committed) return out;  // rolled back by the guard
  if (auto s = tx.commit(); !s) return fail(s.error());
  return out;
}

template <class Transactions>
std::vector<Result<store::TransactOutcome>> SqliteTableStore::transactAllLocked(Transactions transactions, bool take) {
  std::vector<Result<store::TransactOutcome>> out;
  auto allFail = [&](const Error& e) {
    out.assign(transactions.size(), fail(e));
    return out;
  };
  Tx tx(*this);
  if (auto s = tx.begin(); !s) return allFail(s.error());
  for (auto& t : transactions) {
    store::TransactItem* owned = nullptr;
    if constexpr (!std::is_const_v<std::remove_reference_t<decltype(t)>>) {
      if (take) owned = t.data();
    }
    auto one = transactLocked(t, owned);
    if (!one) return allFail(one.error());  // rolled back, all of them
    out.push_back(std::move(one));
  }
  if (auto s = tx.commit(); !s) return allFail(s.error());
  return out;
}

std::vector<Result<store::TransactOutcome>> SqliteTableStore::transactAll(
    std::span<const std::vector<store::TransactItem>> transactions) {
  return transactAllLocked(transactions, false);
}

std::vector<Result<store::TransactOutcome>> SqliteTableStore::transactAllTaking(
    std::span<std::vector<store::TransactItem>> transactions) {
  return transactAllLocked(transactions, true);
}

Result<std::vector<store::WriteRequest>> SqliteTableStore::batchWrite(std::string_view table,
                                                                      std::span<const store::WriteRequest> requests) {
  auto t = this->table(table);
  if (!t) return fail(t.error());
  Tx tx(*this);
  if (auto s = tx.begin(); !s) return fail(s.error());
  for (const auto& r : requests) {
    if (auto s = checkKey(**t, r.item); !s) return fail(s.error());
    auto s = r.kind == store::WriteRequest::Kind::Put ? write(**t, r.item) : erase(**t, store::keyOf((*t)->spec, r.item));
    if (!s) return fail(s.error());
  }
  if (auto s = tx.commit(); !s) return fail(s.error());
  return std::vector<store::WriteRequest>{};
}

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
