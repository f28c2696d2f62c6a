#include "services/inventory/inventory_service.h"

#include <chrono>
#include <set>

namespace cdc::inventory {
namespace {

using debezium::Op;
using debezium::OrderItemColumn;
using debezium::OrderItemRow;
using debezium::ProductColumn;
using debezium::ProductRow;
using store::AttributeValue;
using store::Condition;

// A TransactWriteItems holds at most 100 items. A product counts for two (a product that is
// deleted or re-created moves between tables: a delete and a put); an order-item change adds
// at most two products and one ledger entry to a group, so a group is written before a change
// would take it past the limit.
constexpr int kMaxTransactItems = 100;
constexpr int kProductSlots = 2;
constexpr int kMaxChangeSlots = 2 * kProductSlots + 1;

SourcePos positionOf(const runtime::InputEvent& e) {
  return SourcePos{e.record->partition, e.record->offset, e.change.source.tsMs};
}

// The bytes of a product item besides its name and description, at the largest values of
// its numbers and position.
size_t productItemOverhead() {
  static const size_t bytes = [] {
    ProductState p{.productId = INT64_MIN + 1, .stored = true, .version = INT64_MIN, .known = true, .deleted = true,
                   .name = "", .description = "", .price = Money::fromCents(INT64_MIN), .dbStock = INT64_MIN,
                   .ordered = INT64_MIN, .lowStock = true, .pos = SourcePos{INT32_MAX, INT64_MAX, INT64_MIN},
                   .cdcTimestampMs = 253402300799999, .expiresAt = INT64_MIN};  // 9999-12-31
    return std::max(store::itemSize(p.toItem()), store::itemSize(p.toDeletedRecord()));
  }();
  return bytes;
}

Condition versionCondition(bool stored, int64_t version, const char* keyName) {
  return stored ? Condition::eq("version", AttributeValue::n(version)) : Condition::notExists(keyName);
}

}  // namespace

InventoryHandler::InventoryHandler(store::TableStore& tables, AlertSink& alerts, InventoryOptions options)
    : tables_(tables), alerts_(alerts), options_(std::move(options)) {
  if (!options_.nowSeconds) {
    options_.nowSeconds = [] {
      return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    };
  }
}

debezium::DecoderOptions InventoryHandler::decoderOptions() const {
  using debezium::bit;
  debezium::DecoderOptions o = options_.decoding;
  o.wanted[static_cast<int>(debezium::Table::Products)] = bit(ProductColumn::Name) | bit(ProductColumn::Description) |
                                                          bit(ProductColumn::Price) | bit(ProductColumn::StockQuantity);
  o.wanted[static_cast<int>(debezium::Table::OrderItems)] = bit(OrderItemColumn::ProductId) | bit(OrderItemColumn::Quantity);
  o.wanted[static_cast<int>(debezium::Table::Orders)] = 0;
  return o;
}

Status InventoryHandler::start() {
  const store::TableSpec specs[] = {inventoryTableSpec(options_.table), ledgerTableSpec(options_.ledgerTable)};
  return store::ensureTables(tables_, specs, options_.createTables);
}

std::string InventoryHandler::validate(const debezium::ChangeEvent& c) const {
  if (c.op == Op::Truncate) return "truncate of " + std::string(debezium::tableName(c.table)) + " is not applied: rebuild the table from a snapshot";
  if (c.table == debezium::Table::Products) {
    if (c.op == Op::Delete) return {};
    const auto* p = c.afterAs<ProductRow>();
    if (!p->has(ProductColumn::StockQuantity)) return "product " + std::to_string(p->id.value) + " without stock_quantity";
    if (p->stockQuantity < 0) return "negative stock_quantity " + std::to_string(p->stockQuantity) + " for product " + std::to_string(p->id.value);
    if (p->has(ProductColumn::Price) && p->price < Money{}) return "negative price for product " + std::to_string(p->id.value);
    // Checked here, not left to the store: an item DynamoDB refuses would make the runner look
    // for it by halving the batch, writing the good changes of the batch several times.
    if (size_t bytes = p->name.size() + p->description.size() + productItemOverhead(); bytes > store::kMaxItemBytes) {
      return "product " + std::to_string(p->id.value) + ": an item of " + std::to_string(bytes) +
             " bytes exceeds DynamoDB's 400 KB item size (name and description too long)";
    }
    return {};
  }
  if (c.table == debezium::Table::OrderItems) {
    if (c.op == Op::Delete) return {};
    const auto* i = c.afterAs<OrderItemRow>();
    if (!i->has(OrderItemColumn::ProductId)) return "order item " + std::to_string(i->id.value) + " without product_id";
    if (!i->has(OrderItemColumn::Quantity)) return "order item " + std::to_string(i->id.value) + " without quantity";
    if (i->quantity < 0) return "negative quantity " + std::to_string(i->quantity) + " in order item " + std::to_string(i->id.value);
    return {};
  }
  return std::string("inventory-service does not consume ") + debezium::tableName(c.table);
}

Status InventoryHandler::load(std::span<const runtime::InputEvent> events, const std::vector<bool>& valid) {
  std::set<int64_t> itemIds;
  std::set<int64_t> productIds;
  for (size_t i = 0; i < events.size(); ++i) {
    if (!valid[i]) continue;
    const auto& c = events[i].change;
    if (c.table == debezium::Table::Products) {
      productIds.insert(c.rowId());
    } else {
      itemIds.insert(c.rowId());
      if (const auto* row = c.afterAs<OrderItemRow>()) productIds.insert(row->productId.value);
    }
  }
  auto batchGet = [&](const std::string& table, const std::set<int64_t>& ids, auto&& key, auto&& sink) -> Status {
    // One call: the store splits the keys into BatchGetItems of 100 sent concurrently.
    std::vector<store::Item> keys;
    for (int64_t id : ids) keys.push_back(key(id));
    if (keys.empty()) return {};
    auto got = tables_.batchGet(table, keys);
    if (!got) return fail(got.error());
    for (const auto& item : *got) sink(item);
    return {};
  };
  std::vector<int64_t> missingItems;
  if (auto s = batchGet(options_.ledgerTable, itemIds, ledgerKey, [&](const store::Item& item) {
        LedgerEntry e = LedgerEntry::fromItem(item);
        productIds.insert(e.productId);
        ledger_[e.orderItemId] = {e, false};
      });
      !s) {
    return s;
  }
  for (int64_t id : itemIds) {
    if (!ledger_.contains(id)) ledger_[id] = {LedgerEntry{.orderItemId = id}, false};
  }
  if (auto s = batchGet(options_.table, productIds, productKey, [&](const store::Item& item) {
        ProductState p = ProductState::fromItem(item);
        products_[p.productId] = {p, false};
      });
      !s) {
    return s;
  }
  // A product without an item may have been deleted: its record recognises late changes.
  std::set<int64_t> absent;
  for (int64_t id : productIds) {
    if (!products_.contains(id)) absent.insert(id);
  }
  if (auto s = batchGet(options_.ledgerTable, absent, deletedProductKey, [&](const store::Item& item) {
        ProductState p = ProductState::fromItem(item);
        products_[p.productId] = {p, false};
      });
      !s) {
    return s;
  }
  for (int64_t id : productIds) {
    if (!products_.contains(id)) products_[id] = {ProductState{.productId = id}, false};
  }
  return {};
}

ProductState& InventoryHandler::product(int64_t id) {
  auto [it, inserted] = products_.try_emplace(id);
  if (inserted) it->second.state.productId = id;
  return it->second.state;
}

int64_t InventoryHandler::root(int64_t productId) {
  auto it = parent_.find(productId);
  if (it == parent_.end()) {
    parent_[productId] = productId;
    return productId;
  }
  while (it->second != productId) {
    productId = it->second;
    it = parent_.find(productId);
  }
  return productId;
}

int64_t InventoryHandler::unite(int64_t a, int64_t b) {
  int64_t ra = root(a), rb = root(b);
  if (ra == rb) return ra;
  parent_[rb] = ra;
  groupSize_[ra] += groupSize_[rb];
  groupSize_.erase(rb);
  return ra;
}

void InventoryHandler::touch(int64_t productId, int64_t sourceTsMs) {
  Tracked& t = products_[productId];
  t.state.productId = productId;
  if (!t.dirty) {
    t.dirty = true;
    groupSize_[root(productId)] += kProductSlots;
  }
  t.state.cdcTimestampMs = std::max(t.state.cdcTimestampMs, sourceTsMs);
}

void InventoryHandler::checkThreshold(ProductState& p, int64_t sourceTsMs) {
  if (!p.known || p.deleted) return;
  if (p.stock() < options_.lowStockThreshold) {
    if (!p.lowStock) {
      p.lowStock = true;
      pendingAlerts_[p.productId].push_back(
          {p.productId, p.name.value_or(""), p.stock(), options_.lowStockThreshold, sourceTsMs});
    }
  } else if (p.lowStock) {
    p.lowStock = false;  // recovered: the next crossing raises a new alert
  }
}

int64_t InventoryHandler::applyProduct(const runtime::InputEvent& e) {
  const auto& c = e.change;
  int64_t id = c.rowId();
  Tracked& t = products_[id];
  ProductState& p = t.state;
  p.productId = id;
  SourcePos pos = positionOf(e);
  // A delete of a product already deleted (the tombstone after a rewritten delete) or never
  // seen (neither stored nor changed in this batch) changes nothing.
  bool nothingToDelete = p.deleted || (!p.stored && !t.dirty);
  if (!p.pos.before(pos) || (c.op == Op::Delete && nothingToDelete)) {
    ++stats_.duplicates;
    return 0;
  }
  ++stats_.productChanges;
  p.pos = pos;
  if (c.op == Op::Delete) {
    p.deleted = true;
    p.expiresAt = options_.nowSeconds() + options_.tombstoneRetentionSeconds;
  } else {
    using debezium::bit;
    const auto& row = *c.afterAs<ProductRow>();
    p.known = true;
    p.deleted = false;
    p.expiresAt = 0;
    // A column in the message replaces the stored value; a NULL clears it.
    auto column = [&](ProductColumn col) { return (row.seen & bit(col)) != 0; };
    if (column(ProductColumn::Name)) p.name = row.has(ProductColumn::Name) ? std::optional(row.name) : std::nullopt;
    if (column(ProductColumn::Description)) {
      p.description = row.has(ProductColumn::Description) ? std::optional(row.description) : std::nullopt;
    }
    if (column(ProductColumn::Price)) p.price = row.has(ProductColumn::Price) ? std::optional(row.price) : std::nullopt;
    p.dbStock = row.stockQuantity;
  }
  touch(id, pos.tsMs);
  checkThreshold(p, pos.tsMs);
  return id;
}

int64_t InventoryHandler::applyItem(const runtime::InputEvent& e) {
  const auto& c = e.change;
  int64_t itemId = c.rowId();
  TrackedLedger& t = ledger_[itemId];
  LedgerEntry& l = t.entry;
  l.orderItemId = itemId;
  SourcePos pos = positionOf(e);
  // A delete of an item already deleted (the tombstone after a rewritten delete) or never seen
  // changes nothing.
  bool nothingToDelete = l.deleted || (!l.stored && l.productId == 0);
  if (!l.pos.before(pos) || (c.op == Op::Delete && nothingToDelete)) {
    ++stats_.duplicates;
    return 0;
  }
  ++stats_.itemChanges;
  // Take back what the item held so far, then hold what it holds now. (A first sight of an
  // item holds nothing: product 0, quantity 0.)
  int64_t oldProduct = l.deleted ? 0 : l.productId;
  if (oldProduct != 0 && l.quantity != 0) {
    ProductState& p = product(oldProduct);
    p.ordered -= l.quantity;
    touch(oldProduct, pos.tsMs);
    checkThreshold(p, pos.tsMs);
  }
  l.pos = pos;
  if (c.op == Op::Delete) {
    l.deleted = true;
    l.quantity = 0;
    l.expiresAt = options_.nowSeconds() + options_.tombstoneRetentionSeconds;
  } else {
    const auto& row = *c.afterAs<OrderItemRow>();
    l.deleted = false;
    l.expiresAt = 0;
    l.productId = row.productId.value;
    l.quantity = row.quantity;
    ProductState& p = product(l.productId);
    p.ordered += l.quantity;
    touch(l.productId, pos.tsMs);
    checkThreshold(p, pos.tsMs);
  }
  // The ledger entry is written with its product; an item moved to another product ties the
  // two products into one transaction.
  int64_t group = root(l.productId);
  if (oldProduct != 0 && oldProduct != l.productId) group = unite(oldProduct, l.productId);
  if (!t.dirty) {
    t.dirty = true;
    ++groupSize_[group];
  }
  return group;
}

Status InventoryHandler::flush() {
  // Group the dirty items by union-find root: a ledger entry goes with its product(s).
  std::map<int64_t, std::vector<store::TransactItem>> groups;
  std::map<int64_t, std::vector<int64_t>> groupProducts;
  std::map<int64_t, std::vector<int64_t>> groupItems;
  for (auto& [id, t] : products_) {
    if (!t.dirty) continue;
    int64_t r = root(id);
    ProductState next = t.state;
    next.version = t.state.version + 1;
    const ProductState& was = t.state;
    auto& group = groups[r];
    // A live product is an item of the table; a deleted one a record of the ledger table.
    auto tableOf = [&](bool deleted) -> const std::string& { return deleted ? options_.ledgerTable : options_.table; };
    auto keyNameOf = [](bool deleted) { return deleted ? "order_item_id" : "product_id"; };
    store::Item item = next.deleted ? next.toDeletedRecord() : next.toItem();
    if (!was.stored) {
      group.emplace_back(store::PutRequest{tableOf(next.deleted), std::move(item), Condition::notExists(keyNameOf(next.deleted))});
    } else if (was.tombstoned == next.deleted) {
      group.emplace_back(store::PutRequest{tableOf(next.deleted), std::move(item),
                                           versionCondition(true, was.version, keyNameOf(next.deleted))});
    } else {
      // Deleted (or re-created): the item moves to the other table. The conditional delete of
      // where it was makes the move safe against a concurrent writer.
      group.emplace_back(store::DeleteRequest{tableOf(was.tombstoned), was.tombstoned ? deletedProductKey(id) : productKey(id),
                                              versionCondition(true, was.version, keyNameOf(was.tombstoned))});
      group.emplace_back(store::PutRequest{tableOf(next.deleted), std::move(item), std::nullopt});
    }
    groupProducts[r].push_back(id);
  }
  for (auto& [id, t] : ledger_) {
    if (!t.dirty) continue;
    int64_t r = root(t.entry.productId);
    LedgerEntry next = t.entry;
    next.version = t.entry.version + 1;
    groups[r].emplace_back(store::PutRequest{options_.ledgerTable, next.toItem(),
                                             versionCondition(t.entry.stored, t.entry.version, "order_item_id")});
    groupItems[r].push_back(id);
  }
  for (auto& [r, items] : groups) {
    auto outcome = tables_.transact(items);
    if (!outcome) return fail(outcome.error());
    ++stats_.transactions;
    stats_.itemsWritten += items.size();
    if (!outcome->committed) {
      // Someone else wrote these items since we read them: start the batch again. What was
      // already written is recognised as applied and skipped.
      ++stats_.conflicts;
      return fail(Error::retry("concurrent update of the inventory (optimistic lock); retrying the batch"));
    }
    std::vector<LowStockAlert> alerts;
    for (int64_t id : groupProducts[r]) {
      Tracked& t = products_[id];
      t.state.version += 1;
      t.state.stored = true;
      t.state.tombstoned = t.state.deleted;
      t.dirty = false;
      if (auto it = pendingAlerts_.find(id); it != pendingAlerts_.end()) {
        alerts.insert(alerts.end(), it->second.begin(), it->second.end());
        pendingAlerts_.erase(it);
      }
    }
    for (int64_t id : groupItems[r]) {
      TrackedLedger& t = ledger_[id];
      t.entry.version += 1;
      t.entry.stored = true;
      t.dirty = false;
    }
    if (!alerts.empty()) {
      stats_.alerts += alerts.size();
      if (auto s = alerts_.publish(alerts); !s) return s;
    }
  }
  parent_.clear();
  groupSize_.clear();
  return {};
}

Status InventoryHandler::apply(std::span<const runtime::InputEvent> events, std::vector<runtime::Rejection>& rejected) {
  products_.clear();
  ledger_.clear();
  parent_.clear();
  groupSize_.clear();
  pendingAlerts_.clear();
  std::vector<bool> valid(events.size(), true);
  for (size_t i = 0; i < events.size(); ++i) {
    std::string why = validate(events[i].change);
    if (!why.empty()) {
      valid[i] = false;
      rejected.push_back({i, std::move(why)});
    }
  }
  if (auto s = load(events, valid); !s) return s;
  for (size_t i = 0; i < events.size(); ++i) {
    if (!valid[i]) continue;
    // Write what is pending before a change could take its group past one transaction.
    if (slotsAfter(events[i].change) > kMaxTransactItems) {
      if (auto s = flush(); !s) return s;
    }
    if (events[i].change.table == debezium::Table::Products) {
      applyProduct(events[i]);
    } else {
      applyItem(events[i]);
    }
  }
  return flush();
}

int InventoryHandler::slotsAfter(const debezium::ChangeEvent& c) {
  std::set<int64_t> roots;
  if (c.table == debezium::Table::Products) {
    roots.insert(root(c.rowId()));
  } else {
    if (auto it = ledger_.find(c.rowId()); it != ledger_.end() && it->second.entry.productId != 0) {
      roots.insert(root(it->second.entry.productId));
    }
    if (const auto* row = c.afterAs<OrderItemRow>()) roots.insert(root(row->productId.value));
  }
  int slots = kMaxChangeSlots;
  for (int64_t r : roots) {
    if (auto it = groupSize_.find(r); it != groupSize_.end()) slots += it->second;
  }
  return slots;
}

}  // namespace cdc::inventory
