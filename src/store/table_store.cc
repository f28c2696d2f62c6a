#include "store/table_store.h"

namespace cdc::store {

std::vector<Result<TransactOutcome>> TableStore::transactAll(std::span<const std::vector<TransactItem>> transactions) {
  std::vector<Result<TransactOutcome>> out;
  out.reserve(transactions.size());
  for (const auto& t : transactions) out.push_back(transact(t));
  return out;
}

Status TableStore::batchGetEach(std::string_view table, std::span<const Item> keys,
                                const std::function<Status(const Item&)>& visit) {
  auto items = batchGet(table, keys);
  if (!items) return fail(items.error());
  for (const auto& item : *items) {
    if (auto s = visit(item); !s) return s;
  }
  return {};
}

TransactAllOutcome transactEach(TableStore& store, std::span<std::vector<TransactItem>> transactions,
                                const std::function<Status(size_t)>& committed) {
  TransactAllOutcome out;
  if (transactions.empty()) return out;
  auto outcomes = store.transactAllTaking(transactions);
  for (size_t i = 0; i < outcomes.size(); ++i) {
    if (!outcomes[i]) {
      if (out.error) out.error = fail(outcomes[i].error());
    } else if (!outcomes[i]->committed) {
      out.conflict = true;
      if (out.uncertainBefore.empty()) out.uncertainBefore = outcomes[i]->uncertainBefore;
    } else {
      out.items += transactions[i].size();
      if (auto s = committed(i); !s && out.error) out.error = s;
    }
  }
  return out;
}

std::string describeConflict(const TransactAllOutcome& outcome, std::string_view what) {
  std::string why = outcome.uncertainBefore.empty()
                        ? "the items changed since they were read: another writer on the same table (a replica that held "
                          "these partitions before a rebalance, another deployment)"
                        : "its conditions failed when it was sent again after its first attempt got " + outcome.uncertainBefore +
                              ": that attempt may have been applied (DynamoDB's ClientRequestToken answers such a retry with "
                              "success; this endpoint did not), or another writer changed the items";
  return "a transaction of " + std::string(what) + " was refused: " + why +
         "; the batch is read again and applied, what was written being recognised as applied";
}

Item keyOf(const TableSpec& spec, const Item& item) {
  Item key;
  if (const auto* h = find(item, spec.hash.name)) key.emplace(spec.hash.name, *h);
  if (spec.range) {
    if (const auto* r = find(item, spec.range->name)) key.emplace(spec.range->name, *r);
  }
  return key;
}

namespace {

std::string describeKey(const KeyAttribute& k) { return k.name + " (" + toString(k.type) + ")"; }

std::string describeKeys(const TableSpec& t) {
  return "hash key " + describeKey(t.hash) + (t.range ? ", range key " + describeKey(*t.range) : std::string());
}

bool sameKeys(const TableSpec& a, const TableSpec& b) {
  auto same = [](const KeyAttribute& x, const KeyAttribute& y) { return x.name == y.name && x.type == y.type; };
  if (!same(a.hash, b.hash) || a.range.has_value() != b.range.has_value()) return false;
  return !a.range || same(*a.range, *b.range);
}

}  // namespace

Status ensureTables(TableStore& store, std::span<const TableSpec> specs, bool create) {
  for (const auto& spec : specs) {
    auto d = store.describeTable(spec.name);
    if (d) {
      // A table of the same name made for something else (or by an older layout) is not written to.
      if (!sameKeys(*d, spec)) {
        return fail(Error::fatal("table " + spec.name + " has " + describeKeys(*d) + ", but this service keeps " +
                                 describeKeys(spec) + " there: a table of another layout; give the service another table"));
      }
      continue;
    }
    if (d.error().kind != ErrorKind::NotFound) return fail(d.error());
    if (!create) return fail(Error::fatal("table " + spec.name + " does not exist and CREATE_TABLES is false"));
    if (auto s = store.ensureTable(spec); !s) return s;
  }
  return {};
}

}  // namespace cdc::store
