#include "services/inventory/state.h"

#include "core/time.h"

namespace cdc::inventory {
namespace {

using store::AttributeValue;

int64_t intOf(const store::Item& item, std::string_view name, int64_t fallback = 0) {
  const AttributeValue* v = store::find(item, name);
  return v ? v->asIntOr(fallback) : fallback;
}

bool boolOf(const store::Item& item, std::string_view name) {
  const AttributeValue* v = store::find(item, name);
  return v && v->type() == AttributeValue::Type::BOOL && v->asBool();
}

void putPos(store::Item& item, const SourcePos& pos) {
  if (!pos.known()) return;
  item["src_partition"] = AttributeValue::n(pos.partition);
  item["src_offset"] = AttributeValue::n(pos.offset);
  item["src_ts"] = AttributeValue::n(pos.tsMs);
}

SourcePos posOf(const store::Item& item) {
  SourcePos p;
  p.partition = static_cast<int32_t>(intOf(item, "src_partition", -1));
  p.offset = intOf(item, "src_offset", -1);
  p.tsMs = intOf(item, "src_ts", 0);
  return p;
}

}  // namespace

store::Item productKey(int64_t productId) { return {{"product_id", AttributeValue::n(productId)}}; }
store::Item ledgerKey(int64_t orderItemId) { return {{"order_item_id", AttributeValue::n(orderItemId)}}; }

store::Item deletedProductKey(int64_t productId) { return ledgerKey(-productId); }

namespace {

void putProductAttributes(store::Item& item, const ProductState& p) {
  if (p.known) {
    if (p.name) item["name"] = AttributeValue::s(*p.name);
    if (p.description) item["description"] = AttributeValue::s(*p.description);
    if (p.price) item["price"] = AttributeValue::s(p.price->toString());
    item["db_stock"] = AttributeValue::n(p.dbStock);
  }
  item["stock_quantity"] = AttributeValue::n(p.stock());
  item["ordered"] = AttributeValue::n(p.ordered);
  item["cdc_timestamp"] = AttributeValue::n(p.cdcTimestampMs);
  item["last_updated"] = AttributeValue::s(formatIsoTimestamp(Timestamp::fromMillis(p.cdcTimestampMs)));
  item["low_stock_alert"] = AttributeValue::boolean(p.lowStock);
  item["version"] = AttributeValue::n(p.version);
  putPos(item, p.pos);
}

}  // namespace

store::Item ProductState::toItem() const {
  store::Item item = productKey(productId);
  putProductAttributes(item, *this);
  return item;
}

store::Item ProductState::toDeletedRecord() const {
  store::Item item = deletedProductKey(productId);
  item["product_id"] = AttributeValue::n(productId);
  putProductAttributes(item, *this);
  item["deleted"] = AttributeValue::boolean(true);
  item["expires_at"] = AttributeValue::n(expiresAt);
  return item;
}

ProductState ProductState::fromItem(const store::Item& item) {
  ProductState p;
  p.productId = intOf(item, "product_id");
  p.stored = true;
  p.tombstoned = store::find(item, "order_item_id") != nullptr;
  p.version = intOf(item, "version");
  if (const auto* db = store::find(item, "db_stock")) {
    p.known = true;
    p.dbStock = db->asIntOr(0);
    if (const auto* n = store::find(item, "name")) p.name = n->text();
    if (const auto* d = store::find(item, "description")) p.description = d->text();
    if (const auto* pr = store::find(item, "price")) p.price = Money::parse(pr->text()).value_or(Money{});
  }
  p.ordered = intOf(item, "ordered");
  p.lowStock = boolOf(item, "low_stock_alert");
  p.deleted = boolOf(item, "deleted");
  p.expiresAt = intOf(item, "expires_at");
  p.cdcTimestampMs = intOf(item, "cdc_timestamp");
  p.pos = posOf(item);
  return p;
}

store::Item LedgerEntry::toItem() const {
  store::Item item = ledgerKey(orderItemId);
  item["product_id"] = AttributeValue::n(productId);
  item["quantity"] = AttributeValue::n(quantity);
  item["version"] = AttributeValue::n(version);
  if (deleted) {
    item["deleted"] = AttributeValue::boolean(true);
    item["expires_at"] = AttributeValue::n(expiresAt);
  }
  putPos(item, pos);
  return item;
}

LedgerEntry LedgerEntry::fromItem(const store::Item& item) {
  LedgerEntry e;
  e.orderItemId = intOf(item, "order_item_id");
  e.stored = true;
  e.version = intOf(item, "version");
  e.productId = intOf(item, "product_id");
  e.quantity = intOf(item, "quantity");
  e.deleted = boolOf(item, "deleted");
  e.expiresAt = intOf(item, "expires_at");
  e.pos = posOf(item);
  return e;
}

store::TableSpec inventoryTableSpec(const std::string& name) {
  return {name, {"product_id", AttributeValue::Type::N}, std::nullopt, {}, std::nullopt};
}

store::TableSpec ledgerTableSpec(const std::string& name) {
  return {name, {"order_item_id", AttributeValue::Type::N}, std::nullopt, {}, std::string("expires_at")};
}

}  // namespace cdc::inventory
