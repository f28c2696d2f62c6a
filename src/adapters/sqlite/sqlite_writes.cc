// Conditional writes and transactions of the SQLite table store.

#include "adapters/sqlite/sqlite_table_store.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "adapters/sqlite/sqlite_store_parts.h"
#include "store/item_codec.h"

namespace cdc::sqlite {
namespace {

using namespace detail;

// A transaction entry's table, the item or key it touches (only the key attributes are read),
// and its condition (null: none).
struct Target {
  const std::string* table;
  const Item* key;
  const store::Condition* condition;
};
Target targetOf(const store::TransactItem& item) {
  return std::visit(
      [](const auto& r) -> Target {
        using R = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<R, store::PutRequest>) {
          return {&r.table, &r.item, r.condition ? &*r.condition : nullptr};
        } else if constexpr (std::is_same_v<R, store::ConditionCheck>) {
          return {&r.table, &r.key, &r.condition};
        } else {
          return {&r.table, &r.key, r.condition ? &*r.condition : nullptr};
        }
      },
      item);
}

}  // namespace

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

Result<store::WriteOutcome> SqliteTableStore::applyChecked(const TableInfo& t, const store::TransactItem& item,
                                                           store::TransactItem* owned) {
  return std::visit(
      [&](const auto& req) -> Result<store::WriteOutcome> {
        using R = std::decay_t<decltype(req)>;
        if constexpr (std::is_same_v<R, store::PutRequest>) {
          if (owned) {
            if (auto s = write(t, std::move(std::get<store::PutRequest>(*owned).item)); !s) return fail(s.error());
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
      item);
}

Result<store::TransactOutcome> SqliteTableStore::transactLocked(std::span<const store::TransactItem> items,
                                                                store::TransactItem* owned) {
  if (items.size() > store::kMaxTransactItems) return fail(Error::poison("a transaction holds at most 100 items"));
  // DynamoDB refuses two actions on one item in a transaction; so do we, to stay faithful.
  std::vector<std::string> touched;
  touched.reserve(items.size());
  std::vector<const TableInfo*> infos;
  for (const auto& ti : items) {
    Target target = targetOf(ti);
    auto t = table(*target.table);
    if (!t) return fail(t.error());
    if (auto s = checkKey(**t, *target.key); !s) return fail(s.error());
    infos.push_back(*t);
    touched.push_back(cacheKey(**t, *target.key));
  }
  std::sort(touched.begin(), touched.end());
  if (std::adjacent_find(touched.begin(), touched.end()) != touched.end()) {
    return fail(Error::poison("transaction touches one item twice"));
  }
  store::TransactOutcome out;
  // Conditions are checked against the state before the transaction, then all writes apply.
  for (size_t i = 0; i < items.size(); ++i) {
    Target target = targetOf(items[i]);
    if (!target.condition) continue;
    auto cur = lookup(*infos[i], *target.key);
    if (!cur) return fail(cur.error());
    if (!target.condition->evaluate(**cur ? &***cur : nullptr)) out.failedConditions.push_back(i);
  }
  if (!out.failedConditions.empty()) return out;  // nothing written
  for (size_t i = 0; i < items.size(); ++i) {
    // The conditions held: the writes apply without checking them again.
    if (auto r = applyChecked(*infos[i], items[i], owned ? &owned[i] : nullptr); !r) return fail(r.error());
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

}  // namespace cdc::sqlite
