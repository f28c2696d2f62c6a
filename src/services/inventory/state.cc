#include "services/inventory/state.h"

#include <charconv>
#include <map>

#include <fmt/format.h>

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

SourcePos posOf(const store::Item& item) {
  SourcePos p;
  p.partition = static_cast<int32_t>(intOf(item, "src_partition", -1));
  p.offset = intOf(item, "src_offset", -1);
  p.tsMs = intOf(item, "src_ts", 0);
  return p;
}

}  // namespace

store::Item productKey(int64_t productId) { return {{"product_id", AttributeValue::n(productId)}}; }

namespace {

constexpr std::string_view kLedgerKey = "ledger_key";
constexpr std::string_view kBucketPrefix = "order_items:";
constexpr std::string_view kProductPrefix = "product:";
constexpr std::string_view kOutboxPrefix = "alert_outbox_";

std::optional<int64_t> parseInt(std::string_view text) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

}  // namespace

std::string outboxAttribute(int64_t crossing) { return std::string(kOutboxPrefix) + std::to_string(crossing); }

int64_t ledgerBucketOf(int64_t orderItemId) {
  int64_t r = orderItemId % kLedgerBucket;
  return orderItemId - (r < 0 ? r + kLedgerBucket : r);
}

store::Item ledgerBucketKey(int64_t firstOrderItemId) {
  return {{std::string(kLedgerKey), AttributeValue::s(std::string(kBucketPrefix) + std::to_string(firstOrderItemId))}};
}

store::Item deletedProductKey(int64_t productId) {
  return {{std::string(kLedgerKey), AttributeValue::s(std::string(kProductPrefix) + std::to_string(productId))}};
}

std::optional<int64_t> ledgerBucketFirst(const store::Item& item) {
  const AttributeValue* key = store::find(item, kLedgerKey);
  if (!key || !key->isString() || !key->text().starts_with(kBucketPrefix)) return std::nullopt;
  return parseInt(std::string_view(key->text()).substr(kBucketPrefix.size()));
}

int64_t ProductState::itemOffset(int32_t partition) const {
  for (const auto& [p, offset] : itemOffsets) {
    if (p == partition) return offset;
  }
  return -1;
}

void ProductState::raiseItemOffset(int32_t partition, int64_t offset) {
  for (auto& [p, o] : itemOffsets) {
    if (p == partition) {
      o = std::max(o, offset);
      return;
    }
  }
  itemOffsets.emplace_back(partition, offset);
}

namespace {

// The attributes of a product's item (and of its deleted record, `deleted`), added in the
// order of their names so that each lands at the end of the map without a search. (Out of
// order they would still be right, only slower.)
store::Item productItem(const ProductState& p, bool deleted) {
  store::Item item;
  auto put = [&](std::string_view name, AttributeValue v) { item.emplace_hint(item.end(), name, std::move(v)); };
  for (const auto& a : p.outbox) item.emplace(outboxAttribute(a.crossing), AttributeValue::s(a.toOutbox()));
  put("cdc_timestamp", AttributeValue::n(p.cdcTimestampMs));
  if (p.known) put("db_stock", AttributeValue::n(p.dbStock));
  if (deleted) put("deleted", AttributeValue::boolean(true));
  if (p.known && p.description) put("description", AttributeValue::s(*p.description));
  if (deleted) put("expires_at", AttributeValue::n(p.expiresAt));
  put("last_updated", AttributeValue::s(formatIsoTimestamp(Timestamp::fromMillis(p.cdcTimestampMs))));
  if (deleted) put(kLedgerKey, AttributeValue::s(std::string(kProductPrefix) + std::to_string(p.productId)));
  put("low_stock_alert", AttributeValue::boolean(p.lowStock));
  if (p.crossings > 0) put("low_stock_crossings", AttributeValue::n(p.crossings));
  if (p.known && p.name) put("name", AttributeValue::s(*p.name));
  if (!p.itemOffsets.empty()) {
    store::AttributeMap offsets;
    for (const auto& [partition, offset] : p.itemOffsets) offsets[std::to_string(partition)] = AttributeValue::n(offset);
    put("order_item_offsets", AttributeValue::map(std::move(offsets)));
  }
  put("ordered", AttributeValue::n(p.ordered));
  if (p.known && p.price) put("price", AttributeValue::s(p.price->toString()));
  put("product_id", AttributeValue::n(p.productId));
  if (p.pos.known()) {
    put("src_offset", AttributeValue::n(p.pos.offset));
    put("src_partition", AttributeValue::n(p.pos.partition));
    put("src_ts", AttributeValue::n(p.pos.tsMs));
  }
  put("stock_quantity", AttributeValue::n(p.stock()));
  put("version", AttributeValue::n(p.version));
  return item;
}

}  // namespace

store::Item ProductState::toItem() const { return productItem(*this, false); }

store::Item ProductState::toDeletedRecord() const { return productItem(*this, true); }

ProductState ProductState::fromItem(const store::Item& item) {
  ProductState p;
  p.productId = intOf(item, "product_id");
  p.stored = true;
  p.tombstoned = store::find(item, kLedgerKey) != nullptr;
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
  p.crossings = intOf(item, "low_stock_crossings");
  for (auto it = item.lower_bound(kOutboxPrefix); it != item.end() && it->first.starts_with(kOutboxPrefix); ++it) {
    auto crossing = parseInt(std::string_view(it->first).substr(kOutboxPrefix.size()));
    auto alert =
        crossing && it->second.isString() ? LowStockAlert::fromOutbox(p.productId, *crossing, it->second.text()) : std::nullopt;
    if (alert) p.outbox.push_back(std::move(*alert));
  }
  p.deleted = boolOf(item, "deleted");
  p.expiresAt = intOf(item, "expires_at");
  p.cdcTimestampMs = intOf(item, "cdc_timestamp");
  p.pos = posOf(item);
  if (const auto* offsets = store::find(item, "order_item_offsets"); offsets && offsets->type() == AttributeValue::Type::M) {
    for (const auto& [partition, offset] : offsets->asMap()) {
      if (auto k = parseInt(partition)) p.itemOffsets.emplace_back(static_cast<int32_t>(*k), offset.asIntOr(-1));
    }
  }
  return p;
}

std::string Holding::encode() const {
  if (deleted) return fmt::format("d:{}:{}:{}", partition, offset, expiresAt);
  return fmt::format("{}:{}:{}:{}", productId, quantity, partition, offset);
}

std::optional<Holding> Holding::decode(std::string_view text) {
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    size_t colon = text.find(':', start);
    parts.push_back(text.substr(start, colon - start));
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  if (parts.size() != 4) return std::nullopt;
  Holding h;
  h.deleted = parts[0] == "d";
  std::optional<int64_t> n[4];
  for (size_t i = h.deleted ? 1 : 0; i < 4; ++i) {
    n[i] = parseInt(parts[i]);
    if (!n[i]) return std::nullopt;
  }
  if (h.deleted) {
    h.partition = static_cast<int32_t>(*n[1]);
    h.offset = *n[2];
    h.expiresAt = *n[3];
  } else {
    h.productId = *n[0];
    h.quantity = *n[1];
    h.partition = static_cast<int32_t>(*n[2]);
    h.offset = *n[3];
  }
  return h;
}

store::TableSpec inventoryTableSpec(const std::string& name) {
  return {name, {"product_id", AttributeValue::Type::N}, std::nullopt, {}, std::nullopt};
}

store::TableSpec ledgerTableSpec(const std::string& name) {
  return {name, {std::string(kLedgerKey), AttributeValue::Type::S}, std::nullopt, {}, std::string("expires_at")};
}

}  // namespace cdc::inventory
