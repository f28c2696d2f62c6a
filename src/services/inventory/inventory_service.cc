#include "services/inventory/inventory_service.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <set>
#include <tuple>

#include "metrics/registry.h"

namespace cdc::inventory {
namespace {

using debezium::Op;
using debezium::OrderItemColumn;
using debezium::OrderItemRow;
using debezium::ProductColumn;
using debezium::ProductRow;
using store::AttributeValue;
using store::Condition;

SourcePos positionOf(const runtime::InputEvent& e) {
  return SourcePos{e.record->partition, e.record->offset, e.change.source.tsMs};
}

// The bytes of a product item besides its name and description, at the largest values of
// its numbers and position.
size_t productItemOverhead() {
  static const size_t bytes = [] {
    ProductState p{.productId = INT64_MIN + 1,
                   .stored = true,
                   .version = INT64_MIN,
                   .known = true,
                   .deleted = true,
                   .name = "",
                   .description = "",
                   .price = Money::fromCents(INT64_MIN),
                   .dbStock = INT64_MIN,
                   .ordered = INT64_MIN,
                   .lowStock = true,
                   .pos = SourcePos{INT32_MAX, INT64_MAX, INT64_MIN},
                   .cdcTimestampMs = 253402300799999,
                   .expiresAt = INT64_MIN};  // 9999-12-31
    return std::max(store::itemSize(p.toItem()), store::itemSize(p.toDeletedRecord()));
  }();
  return bytes;
}

// DynamoDB's charge for writing one item in a transaction: 2 units per started KB of the
// larger of the item before and after.
uint64_t transactUnits(size_t before, size_t after) { return 2 * ((std::max(before, after) + 1023) / 1024); }

Condition versionCondition(bool stored, int64_t version, const char* keyName) {
  return stored ? Condition::eq("version", AttributeValue::n(version)) : Condition::notExists(keyName);
}

}  // namespace

void InventoryHandler::instrument(metrics::Registry& registry, const std::string& service) {
  alertsSeries_ = metrics::addCountSeries(registry, "cdc_low_stock_alerts_total",
                                          "Low-stock alerts raised (stock crossing below the threshold).", {{"service", service}},
                                          stats_.alerts);
}

InventoryHandler::InventoryHandler(store::TableStore& tables, AlertSink& alerts, InventoryOptions options)
    : tables_(tables), alerts_(alerts), options_(std::move(options)) {}

debezium::DecoderOptions InventoryHandler::decoding(debezium::DecoderOptions base) {
  using debezium::bit;
  debezium::DecoderOptions o = base;
  o.wanted[static_cast<int>(debezium::Table::Products)] =
      bit(ProductColumn::Name) | bit(ProductColumn::Description) | bit(ProductColumn::Price) | bit(ProductColumn::StockQuantity);
  o.wanted[static_cast<int>(debezium::Table::OrderItems)] = bit(OrderItemColumn::ProductId) | bit(OrderItemColumn::Quantity);
  o.wanted[static_cast<int>(debezium::Table::Orders)] = 0;
  return o;
}

Status InventoryHandler::start() {
  const store::TableSpec specs[] = {inventoryTableSpec(options_.table), ledgerTableSpec(options_.ledgerTable)};
  return store::ensureTables(tables_, specs, options_.createTables);
}

std::string InventoryHandler::validate(const debezium::ChangeEvent& c) const {
  if (c.op == Op::Truncate)
    return "truncate of " + std::string(debezium::tableName(c.table)) + " is not applied: rebuild the table from a snapshot";
  if (c.table == debezium::Table::Products) {
    if (c.op == Op::Delete) return {};
    const auto* p = c.afterAs<ProductRow>();
    if (!p->has(ProductColumn::StockQuantity)) return "product " + std::to_string(p->id.value) + " without stock_quantity";
    if (p->stockQuantity < 0)
      return "negative stock_quantity " + std::to_string(p->stockQuantity) + " for product " + std::to_string(p->id.value);
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
    if (i->quantity < 0)
      return "negative quantity " + std::to_string(i->quantity) + " in order item " + std::to_string(i->id.value);
    return {};
  }
  return std::string("inventory-service does not consume ") + debezium::tableName(c.table);
}

Status InventoryHandler::load(std::span<const runtime::InputEvent> events, const std::vector<bool>& valid) {
  std::set<int64_t> bucketIds;
  std::set<int64_t> productIds;
  std::set<int64_t> itemIds;  // the order items this batch changes
  for (size_t i = 0; i < events.size(); ++i) {
    if (!valid[i]) continue;
    const auto& c = events[i].change;
    if (c.table == debezium::Table::Products) {
      productIds.insert(c.rowId());
    } else {
      itemIds.insert(c.rowId());
      bucketIds.insert(ledgerBucketOf(c.rowId()));
      if (const auto* row = c.afterAs<OrderItemRow>()) productIds.insert(row->productId.value);
    }
  }
  // One call per table: the store splits the keys into BatchGetItems of 100 sent concurrently.
  auto batchGet = [&](const std::string& table, const std::set<int64_t>& ids, auto&& key,
                      const std::function<Status(const store::Item&)>& visit) -> Status {
    if (ids.empty()) return {};
    std::vector<store::Item> keys;
    keys.reserve(ids.size());
    for (int64_t id : ids) keys.push_back(key(id));
    return tables_.batchGetEach(table, keys, visit);
  };
  auto bucketRead = [&](const store::Item& item) -> Status {
    auto first = ledgerBucketFirst(item);
    if (!first) return {};
    Bucket& bucket = buckets_[*first];
    for (const auto& [name, value] : item) {
      int64_t id = 0;
      auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), id);
      if (ec != std::errc() || end != name.data() + name.size() || ledgerBucketOf(id) != *first) continue;
      auto h = value.isString() ? Holding::decode(value.text()) : std::nullopt;
      if (!h) {
        return fail(Error::fatal("ledger table " + options_.ledgerTable + ": unreadable holding of order item " + name +
                                 " in bucket order_items:" + std::to_string(*first)));
      }
      bucket.stored[id] = value.text();
      // A changed item gives back what it held to its product, which is read too; the bucket's
      // other items keep their holdings as stored and need no product.
      if (!h->deleted && itemIds.contains(id)) productIds.insert(h->productId);
      holdings_[id] = *h;
    }
    return {};
  };
  if (auto s = batchGet(options_.ledgerTable, bucketIds, ledgerBucketKey, bucketRead); !s) return s;
  auto productRead = [&](const store::Item& item) -> Status {
    ProductState p = ProductState::fromItem(item);
    int64_t id = p.productId;
    products_[id] = {std::move(p), false, store::itemSize(item)};
    return {};
  };
  if (auto s = batchGet(options_.table, productIds, productKey, productRead); !s) return s;
  // A product without an item may have been deleted: its record recognises late changes.
  std::set<int64_t> absent;
  for (int64_t id : productIds) {
    if (!products_.contains(id)) absent.insert(id);
  }
  return batchGet(options_.ledgerTable, absent, deletedProductKey, productRead);
}

InventoryHandler::Tracked& InventoryHandler::tracked(int64_t id) {
  auto [it, inserted] = products_.try_emplace(id);
  if (inserted) it->second.state.productId = id;
  return it->second;
}

void InventoryHandler::touch(Tracked& t, int64_t sourceTsMs) {
  t.dirty = true;
  t.state.cdcTimestampMs = std::max(t.state.cdcTimestampMs, sourceTsMs);
}

std::string InventoryHandler::traceOfCurrent() const {
  if (current_ && current_->trace) return current_->trace->traceparent();
  auto trace = current_ ? current_->record->trace() : std::nullopt;
  return trace ? std::string(trace->value) : std::string();
}

void InventoryHandler::checkThreshold(ProductState& p, int64_t sourceTsMs) {
  if (!p.known || p.deleted) return;
  if (p.stock() < options_.lowStockThreshold) {
    if (!p.lowStock) {
      p.lowStock = true;
      // The crossing is counted and its alert kept in the product's item (the outbox) by the
      // same write as the change: published after it, removed once acknowledged.
      LowStockAlert a{.productId = p.productId,
                      .crossing = ++p.crossings,
                      .name = p.name.value_or(""),
                      .stock = p.stock(),
                      .threshold = options_.lowStockThreshold,
                      .sourceTsMs = sourceTsMs,
                      .traceparent = traceOfCurrent()};
      if (current_) {
        a.sourceTopic = std::string(current_->record->topic);
        a.sourcePartition = current_->record->partition;
        a.sourceOffset = current_->record->offset;
      }
      p.outbox.push_back(a);
      pendingAlerts_[p.productId].push_back(std::move(a));
    }
  } else if (p.lowStock) {
    p.lowStock = false;  // recovered: the next crossing raises a new alert
  }
}

void InventoryHandler::applyProduct(const runtime::InputEvent& e) {
  const auto& c = e.change;
  int64_t id = c.rowId();
  Tracked& t = tracked(id);
  ProductState& p = t.state;
  SourcePos pos = positionOf(e);
  // A delete of a product already deleted (the tombstone after a rewritten delete) or never
  // seen (neither stored nor changed in this batch) changes nothing.
  bool nothingToDelete = p.deleted || (!p.stored && !t.dirty);
  if (!p.pos.before(pos) || (c.op == Op::Delete && nothingToDelete)) {
    ++stats_.duplicates;
    return;
  }
  ++stats_.productChanges;
  p.pos = pos;
  if (c.op == Op::Delete) {
    p.deleted = true;
    p.expiresAt = options_.time->wall().seconds() + options_.tombstoneRetentionSeconds;
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
  touch(t, pos.tsMs);
  checkThreshold(p, pos.tsMs);
}

void InventoryHandler::hold(int64_t productId, int64_t quantity, int32_t partition, int64_t offset, int64_t sourceTsMs) {
  Tracked& t = tracked(productId);
  if (t.state.itemOffset(partition) >= offset) return;  // the product counts this change already
  t.state.ordered += quantity;
  touch(t, sourceTsMs);
  checkThreshold(t.state, sourceTsMs);
}

void InventoryHandler::applyItem(const runtime::InputEvent& e) {
  const auto& c = e.change;
  int64_t itemId = c.rowId();
  int32_t partition = e.record->partition;
  int64_t offset = e.record->offset;
  int64_t ts = c.source.tsMs;
  std::optional<Holding>& h = holdings_[itemId];
  // Applied already: the holding comes from this change or a later one of its partition. A
  // delete of an item already deleted (the tombstone after a rewritten delete) or never seen
  // changes nothing.
  bool applied = h && h->partition == partition && h->offset >= offset;
  bool nothingToDelete = c.op == Op::Delete && (!h || h->deleted);
  if (applied || nothingToDelete) {
    ++stats_.duplicates;
    return;
  }
  ++stats_.itemChanges;
  // Take back what the item held so far, then hold what it holds now.
  if (h && !h->deleted && h->quantity != 0) hold(h->productId, -h->quantity, partition, offset, ts);
  if (c.op == Op::Delete) {
    h = Holding{.deleted = true,
                .partition = partition,
                .offset = offset,
                .expiresAt = options_.time->wall().seconds() + options_.tombstoneRetentionSeconds};
  } else {
    const auto& row = *c.afterAs<OrderItemRow>();
    h = Holding{.productId = row.productId.value, .quantity = row.quantity, .partition = partition, .offset = offset};
    hold(row.productId.value, row.quantity, partition, offset, ts);
  }
  buckets_[ledgerBucketOf(itemId)].changed.insert(itemId);
}

Status InventoryHandler::send(std::vector<std::vector<store::TransactItem>>& transactions,
                              const std::function<Status(size_t)>& committed) {
  auto sent = store::transactEach(tables_, transactions, [&](size_t i) {
    if (i < units_.size()) stats_.writeUnits += units_[i];
    return committed(i);
  });
  stats_.transactions += transactions.size();
  stats_.itemsWritten += sent.items;
  if (!sent.error) return sent.error;
  if (sent.conflict) {
    // Someone else wrote these items since we read them: start the batch again. What was
    // already written is recognised as applied and skipped.
    ++stats_.conflicts;
    return fail(Error::retry(store::describeConflict(sent, "the inventory")));
  }
  return {};
}

std::vector<store::TransactItem> InventoryHandler::productWrites(int64_t id, const Tracked& t, size_t& size,
                                                                 uint64_t& units) const {
  // A live product is an item of the table; a deleted one a record of the ledger table.
  auto tableOf = [&](bool deleted) -> const std::string& { return deleted ? options_.ledgerTable : options_.table; };
  auto keyNameOf = [](bool deleted) { return deleted ? "ledger_key" : "product_id"; };
  const ProductState& was = t.state;
  ProductState next = was;
  next.version = was.version + 1;
  for (const auto& [partition, offset] : batchItemOffsets_) next.raiseItemOffset(partition, offset);
  store::Item item = next.deleted ? next.toDeletedRecord() : next.toItem();
  size = store::itemSize(item);
  bool moves = was.stored && was.tombstoned != next.deleted;
  units = moves ? transactUnits(t.storedBytes, 0) + transactUnits(0, size) : transactUnits(t.storedBytes, size);
  std::vector<store::TransactItem> writes;
  if (!was.stored) {
    writes.emplace_back(store::PutRequest{tableOf(next.deleted), std::move(item), Condition::notExists(keyNameOf(next.deleted))});
  } else if (!moves) {
    writes.emplace_back(
        store::PutRequest{tableOf(next.deleted), std::move(item), versionCondition(true, was.version, keyNameOf(next.deleted))});
  } else {
    // Deleted (or re-created): the item moves to the other table, in one transaction. The
    // conditional delete of where it was makes the move safe against a concurrent writer.
    writes.emplace_back(store::DeleteRequest{tableOf(was.tombstoned), was.tombstoned ? deletedProductKey(id) : productKey(id),
                                             versionCondition(true, was.version, keyNameOf(was.tombstoned))});
    writes.emplace_back(store::PutRequest{tableOf(next.deleted), std::move(item), std::nullopt});
  }
  return writes;
}

Status InventoryHandler::productsWritten(const std::vector<int64_t>& ids) {
  std::vector<LowStockAlert> alerts;
  for (int64_t id : ids) {
    Tracked& t = products_[id];
    t.state.version += 1;
    t.state.stored = true;
    t.state.tombstoned = t.state.deleted;
    for (const auto& [partition, offset] : batchItemOffsets_) t.state.raiseItemOffset(partition, offset);
    t.dirty = false;
    if (auto it = pendingAlerts_.find(id); it != pendingAlerts_.end()) {
      alerts.insert(alerts.end(), it->second.begin(), it->second.end());
      pendingAlerts_.erase(it);
    }
  }
  if (alerts.empty()) return {};
  stats_.alerts += alerts.size();
  return alerts_.publish(alerts);
}

Status InventoryHandler::writeProducts() {
  std::vector<int64_t> ids;
  for (const auto& [id, t] : products_) {
    if (t.dirty) ids.push_back(id);
  }
  std::sort(ids.begin(), ids.end());
  store::TransactionPacker packer;
  std::vector<std::vector<int64_t>> members;  // the products of each transaction
  units_.clear();
  for (int64_t id : ids) {
    size_t size = 0;
    uint64_t units = 0;
    auto writes = productWrites(id, products_[id], size, units);
    size_t at = packer.add(std::move(writes), size);
    if (at == members.size()) {
      members.emplace_back();
      units_.push_back(0);
    }
    members[at].push_back(id);
    units_[at] += units;
  }
  return send(packer.transactions(), [&](size_t i) { return productsWritten(members[i]); });
}

store::UpdateRequest InventoryHandler::bucketWrite(int64_t first, const Bucket& bucket, int64_t now, size_t& bytesAfter,
                                                   uint64_t& units) {
  store::UpdateRequest u{options_.ledgerTable, ledgerBucketKey(first), {}, std::nullopt};
  const size_t keyBytes = store::itemSize(u.key);
  auto require = [&](Condition c) { u.condition = u.condition ? std::move(*u.condition) && std::move(c) : std::move(c); };
  bool live = false;
  int64_t expiresAt = 0;
  // Sizes as DynamoDB counts them: the key, then each holding's name and value (expires_at
  // is not counted: a few bytes).
  size_t bytesBefore = 0;
  bytesAfter = 0;
  std::vector<std::string> untouched;  // order items of the bucket this write leaves as they are
  for (int64_t id = first; id < first + kLedgerBucket; ++id) {
    std::string name = std::to_string(id);
    auto stored = bucket.stored.find(id);
    std::optional<Holding> after;
    std::string encoded;
    if (bucket.changed.contains(id)) {
      after = holdings_[id];
      encoded = after->encode();
      u.update.set(name, AttributeValue::s(encoded));
      require(stored != bucket.stored.end() ? Condition::eq(name, AttributeValue::s(stored->second))
                                            : Condition::notExists(name));
    } else if (stored != bucket.stored.end()) {
      after = holdings_[id];
      if (after && after->deleted && after->expiresAt <= now) {
        // A deleted item's holding past its retention goes with this write.
        u.update.remove(name);
        require(Condition::eq(name, AttributeValue::s(stored->second)));
        after.reset();
      } else {
        encoded = stored->second;
        untouched.push_back(name);
      }
    } else {
      untouched.push_back(name);
    }
    if (after && !after->deleted) live = true;
    if (after && after->deleted) expiresAt = std::max(expiresAt, after->expiresAt);
    if (stored != bucket.stored.end()) bytesBefore += name.size() + stored->second.size();
    if (after) bytesAfter += name.size() + encoded.size();
  }
  bytesBefore += keyBytes;
  bytesAfter += keyBytes;
  if (live) {
    u.update.remove("expires_at");
  } else {
    // Only deleted items' holdings remain: the bucket expires with the last of them (DynamoDB
    // TTL), unless another writer has given one of its other items a live holding meanwhile.
    u.update.set("expires_at", AttributeValue::n(std::max(expiresAt, now)));
    for (auto& name : untouched) {
      require(Condition::notExists(name) || Condition::beginsWith(name, AttributeValue::s("d:")));
    }
  }
  units = transactUnits(bytesBefore, bytesAfter);
  return u;
}

Status InventoryHandler::writeBuckets() {
  const int64_t now = options_.time->wall().seconds();
  store::TransactionPacker packer;
  units_.clear();
  for (auto& [first, bucket] : buckets_) {
    if (bucket.changed.empty()) continue;
    size_t bytesAfter = 0;
    uint64_t units = 0;
    store::UpdateRequest u = bucketWrite(first, bucket, now, bytesAfter, units);
    size_t at = packer.add(std::move(u), bytesAfter);
    if (at == units_.size()) units_.push_back(0);
    units_[at] += units;
  }
  return send(packer.transactions(), [](size_t) -> Status { return {}; });
}

Status InventoryHandler::flush() {
  if (auto s = writeProducts(); !s) return s;
  return writeBuckets();
}

Status InventoryHandler::apply(std::span<const runtime::InputEvent> events, std::vector<runtime::Rejection>& rejected) {
  products_.clear();
  holdings_.clear();
  buckets_.clear();
  batchItemOffsets_.clear();
  pendingAlerts_.clear();
  std::vector<bool> valid(events.size(), true);
  for (size_t i = 0; i < events.size(); ++i) {
    std::string why = validate(events[i].change);
    if (!why.empty()) {
      valid[i] = false;
      rejected.push_back({i, std::move(why)});
    } else if (events[i].change.table == debezium::Table::OrderItems) {
      const runtime::Record& r = *events[i].record;
      auto it =
          std::find_if(batchItemOffsets_.begin(), batchItemOffsets_.end(), [&](const auto& p) { return p.first == r.partition; });
      if (it == batchItemOffsets_.end()) {
        batchItemOffsets_.emplace_back(r.partition, r.offset);
      } else {
        it->second = std::max(it->second, r.offset);
      }
    }
  }
  if (auto s = clearAcknowledged(); !s) return s;
  if (auto s = load(events, valid); !s) return s;
  if (auto s = republish(events); !s) return s;
  for (size_t i = 0; i < events.size(); ++i) {
    if (!valid[i]) continue;
    current_ = &events[i];
    if (events[i].change.table == debezium::Table::Products) {
      applyProduct(events[i]);
    } else {
      applyItem(events[i]);
    }
  }
  current_ = nullptr;  // the batch's records do not outlive apply()
  return flush();
}

Status InventoryHandler::republish(std::span<const runtime::InputEvent> events) {
  std::vector<LowStockAlert> again;
  std::set<std::tuple<std::string_view, int32_t, int64_t>> positions;  // the batch's, built when needed
  for (const auto& [id, t] : products_) {
    for (const auto& a : t.state.outbox) {
      if (positions.empty()) {
        for (const auto& e : events) positions.emplace(e.record->topic, e.record->partition, e.record->offset);
      }
      // Only the change that raised it says when to publish it: its record's commit carries the
      // alert. Another entry belongs to a change of another partition (its owner publishes it).
      if (positions.contains({a.sourceTopic, a.sourcePartition, a.sourceOffset})) again.push_back(a);
    }
  }
  if (again.empty()) return {};
  return alerts_.publish(again);
}

Status InventoryHandler::clearAcknowledged() {
  for (auto& ack : alerts_.takeAcknowledged()) acknowledged_.push_back(ack);
  if (acknowledged_.empty()) return {};
  std::sort(acknowledged_.begin(), acknowledged_.end());
  acknowledged_.erase(std::unique(acknowledged_.begin(), acknowledged_.end()), acknowledged_.end());
  size_t i = 0;
  while (i < acknowledged_.size()) {
    int64_t product = acknowledged_[i].first;
    store::UpdateRequest u{options_.table, productKey(product), {}, Condition::exists("product_id")};
    for (; i < acknowledged_.size() && acknowledged_[i].first == product; ++i) {
      u.update.remove(outboxAttribute(acknowledged_[i].second));
    }
    auto done = tables_.update(u);
    // A product deleted since keeps the entry in its deleted record until that expires.
    if (!done && done.error().kind == ErrorKind::Retry) return fail(done.error());
  }
  acknowledged_.clear();
  return {};
}

Status InventoryHandler::tick(Timestamp) { return clearAcknowledged(); }

Stats InventoryHandler::counts() const {
  const auto& s = stats_;
  return {{"product_changes", s.productChanges},
          {"order_item_changes", s.itemChanges},
          {"already_applied", s.duplicates},
          {"store_transactions", s.transactions},
          {"items_written", s.itemsWritten},
          {"write_units", s.writeUnits},
          {"conflicts", s.conflicts},
          {"low_stock_alerts", s.alerts}};
}

std::string InventoryHandler::summary() const {
  const auto& s = stats_;
  return fmt::format(
      "{} product changes, {} order-item changes, {} already applied, {} store transactions ({} items, {} write units), "
      "{} low-stock alerts",
      s.productChanges, s.itemChanges, s.duplicates, s.transactions, s.itemsWritten, s.writeUnits, s.alerts);
}

}  // namespace cdc::inventory
