#include "workload/generator.h"

#include <algorithm>
#include <charconv>

#include "core/json_writer.h"
#include "workload/catalog.h"

namespace cdc::workload {
namespace {

using debezium::Op;
using debezium::Table;

constexpr const char* kStatuses[] = {"pending", "processing", "paid", "shipped", "delivered", "completed", "cancelled"};
constexpr int kCompleted = 5;
constexpr int kCancelled = 6;
constexpr size_t kMaxOpenOrders = 5000;
constexpr int32_t kLowStock = 15;

template <class Row>
void setAll(Row& r) {
  r.present = debezium::kAllColumns;
}

}  // namespace

WorkloadGenerator::WorkloadGenerator(WorkloadOptions options)
    : options_(std::move(options)),
      encoder_(options_.encoder),
      random_(options_.seed),
      offsets_(debezium::kTableCount, std::vector<int64_t>(static_cast<size_t>(std::max(1, options_.partitions)), 0)),
      now_(options_.start) {
  products_.reserve(static_cast<size_t>(options_.products) + 1024);
}

void WorkloadGenerator::advanceClock() {
  now_.micros += static_cast<int64_t>(random_.exponential(options_.meanGapSeconds) * 1e6) + 1;
  lsn_ += 64 + random_.between(0, 512);
}

debezium::ProductRow WorkloadGenerator::productRow(int64_t id) const {
  const Product& p = products_[static_cast<size_t>(id - 1)];
  debezium::ProductRow r;
  r.id = ProductId{id};
  r.name = productName(id, p.variant);
  r.description = productDescription(id, p.variant);
  r.price = p.price;
  r.stockQuantity = p.stock;
  r.createdAt = p.createdAt;
  r.updatedAt = p.updatedAt;
  setAll(r);
  return r;
}

debezium::OrderRow WorkloadGenerator::orderRow(const Order& o) const {
  debezium::OrderRow r;
  r.id = OrderId{o.id};
  r.customerId = CustomerId{o.customerId};
  r.totalAmount = o.total;
  r.status = kStatuses[o.status];
  r.createdAt = o.createdAt;
  r.updatedAt = o.updatedAt;
  setAll(r);
  return r;
}

debezium::OrderItemRow WorkloadGenerator::itemRow(const Order& o, const Item& i) const {
  debezium::OrderItemRow r;
  r.id = OrderItemId{i.id};
  r.orderId = OrderId{o.id};
  r.productId = ProductId{i.productId};
  r.quantity = i.quantity;
  r.price = i.price;
  r.createdAt = i.createdAt;
  setAll(r);
  return r;
}

void WorkloadGenerator::emit(Op op, std::optional<debezium::Row> before, std::optional<debezium::Row> after, bool snapshot) {
  debezium::ChangeEvent c;
  c.table = std::visit([](const auto& r) { return std::decay_t<decltype(r)>::kTable; }, after ? *after : *before);
  c.op = op;
  c.before = std::move(before);
  c.after = std::move(after);
  c.source.tsMs = now_.millis();
  c.source.lsn = lsn_;
  c.source.txId = txId_;
  c.source.snapshot = snapshot;
  lsn_ += 8;
  // Debezium sees the change a few milliseconds after the commit, Kafka a little later.
  c.tsMs = c.source.tsMs + 3 + random_.between(0, 20);
  int64_t id = c.rowId();

  GeneratedRecord rec;
  rec.table = c.table;
  rec.topic = encoder_.topic(c.table);
  encoder_.key(c.table, id, rec.key);
  rec.partition = kafkaPartition(rec.key, options_.partitions);
  rec.timestampMs = c.tsMs + 2 + random_.between(0, 10);
  std::string value;
  encoder_.value(c, value);
  rec.value = std::move(value);
  using Deletes = WorkloadOptions::Deletes;
  if (op == Op::Delete && options_.deletes == Deletes::Tombstone) {
    // Only the tombstone: with schemas the transform's own record, `payload: null`.
    if (options_.encoder.schemas) {
      rec.value =
          R"({"schema":{"type":"struct","fields":[],"optional":true,"name":")" + rec.topic + R"(.Value"},"payload":null})";
    } else {
      rec.value.reset();
    }
    queue_.push_back(std::move(rec));
    return;
  }
  bool tombstone = op == Op::Delete && options_.deletes == Deletes::RewriteWithTombstone;
  GeneratedRecord tomb;
  if (tombstone) {
    tomb = rec;
    tomb.value.reset();
  }
  queue_.push_back(std::move(rec));
  if (tombstone) queue_.push_back(std::move(tomb));
}

void WorkloadGenerator::snapshotProduct(int64_t id) {
  Product p;
  p.variant = random_.next();
  p.price = Money::fromCents(random_.between(99, 2000) * (random_.chance(0.1) ? 50 : 5) + random_.between(0, 4) * 25);
  p.stock = static_cast<int32_t>(random_.between(5, 400));
  p.available = p.stock;
  p.listPrice = p.price;
  p.createdAt = Timestamp{options_.start.micros - random_.between(86'400LL, 86'400LL * 365) * 1'000'000};
  p.updatedAt = p.createdAt;
  p.live = true;
  products_.push_back(p);
  emit(Op::Read, std::nullopt, productRow(id), true);
}

void WorkloadGenerator::createProduct() {
  ++txId_;
  Product p;
  p.variant = random_.next();
  p.price = Money::fromCents(random_.between(199, 40000));
  p.stock = static_cast<int32_t>(random_.between(20, 300));
  p.available = p.stock;
  p.listPrice = p.price;
  p.createdAt = now_;
  p.updatedAt = now_;
  p.live = true;
  products_.push_back(p);
  emit(Op::Create, std::nullopt, productRow(static_cast<int64_t>(products_.size())));
}

int64_t WorkloadGenerator::pickProduct() {
  // Popularity follows a Zipf law over the catalogue; ranks map to ids through a fixed
  // permutation so that the best sellers are spread over the id range.
  auto n = static_cast<int64_t>(products_.size());
  for (int attempt = 0; attempt < 16; ++attempt) {
    int64_t rank = random_.zipf(n);
    int64_t id = ((rank - 1) * 7919) % n + 1;
    if (products_[static_cast<size_t>(id - 1)].live) return id;
  }
  for (int64_t id = 1; id <= n; ++id) {
    if (products_[static_cast<size_t>(id - 1)].live) return id;
  }
  return 0;
}

void WorkloadGenerator::recomputeTotal(Order& o) {
  Money total;
  for (const auto& i : o.items) total += i.price * i.quantity;
  o.total = total;
}

void WorkloadGenerator::restock(int64_t productId, int32_t amount) {
  Product& p = products_[static_cast<size_t>(productId - 1)];
  debezium::Row before = productRow(productId);
  p.stock += amount;
  p.available += amount;
  p.updatedAt = now_;
  emit(Op::Update, std::move(before), productRow(productId));
}

void WorkloadGenerator::placeOrder() {
  ++txId_;
  Order o;
  o.id = nextOrderId_++;
  int64_t customers = std::max<int64_t>(1, options_.customers);
  o.customerId = 1000 + ((random_.zipf(customers) - 1) * 104729) % customers + 1;
  o.createdAt = now_;
  o.updatedAt = now_;
  int itemCount = 1 + static_cast<int>(std::min(5.0, random_.exponential(0.8)));
  for (int k = 0; k < itemCount; ++k) {
    int64_t pid = pickProduct();
    if (pid == 0) break;
    Product& p = products_[static_cast<size_t>(pid - 1)];
    Item i;
    i.id = nextItemId_++;
    i.productId = pid;
    i.quantity = random_.chance(0.7) ? 1 : static_cast<int32_t>(random_.between(2, 4));
    i.price = p.price;
    i.createdAt = now_;
    p.available -= i.quantity;
    p.everOrdered = true;
    o.items.push_back(i);
  }
  recomputeTotal(o);
  // The order row is written first, then its items, in one transaction.
  emit(Op::Create, std::nullopt, orderRow(o));
  for (const auto& i : o.items) emit(Op::Create, std::nullopt, itemRow(o, i));
  ++ordersCreated_;
  // The shop restocks what runs low (often, not always: stock can go negative).
  for (const auto& i : o.items) {
    const Product& p = products_[static_cast<size_t>(i.productId - 1)];
    if (p.available < kLowStock && (p.available < 0 || random_.chance(0.35))) {
      advanceClock();
      ++txId_;
      restock(i.productId, static_cast<int32_t>(random_.between(50, 300)));
    }
  }
  open_.push_back(std::move(o));
  if (open_.size() > kMaxOpenOrders) {
    // The oldest open order is done: it leaves the window without further events.
    open_.erase(open_.begin());
  }
}

void WorkloadGenerator::advanceOrder() {
  if (open_.empty()) return;
  ++txId_;
  auto idx = static_cast<size_t>(random_.between(0, static_cast<int64_t>(open_.size()) - 1));
  Order& o = open_[idx];
  if (o.status >= kCompleted) return;  // a cancelled order waiting to be deleted
  debezium::Row before = orderRow(o);
  if (o.status <= 2 && random_.chance(0.06)) {
    o.status = kCancelled;  // its items stay in the database, so they still hold stock
  } else {
    ++o.status;
  }
  o.updatedAt = now_;
  emit(Op::Update, std::move(before), orderRow(o));
  if (o.status == kCompleted || o.status == kCancelled) {
    // Cancelled orders stay open for a while so that some of them get deleted.
    if (o.status == kCompleted || random_.chance(0.5)) {
      open_[idx] = std::move(open_.back());
      open_.pop_back();
    }
  }
}

void WorkloadGenerator::editItem() {
  if (open_.empty()) return;
  Order& o = open_[static_cast<size_t>(random_.between(0, static_cast<int64_t>(open_.size()) - 1))];
  if (o.items.empty() || o.status > 1) return;  // only before payment
  ++txId_;
  Item& i = o.items[static_cast<size_t>(random_.between(0, static_cast<int64_t>(o.items.size()) - 1))];
  debezium::Row before = itemRow(o, i);
  auto q = static_cast<int32_t>(random_.between(1, 5));
  if (q == i.quantity) q = i.quantity + 1;
  products_[static_cast<size_t>(i.productId - 1)].available -= q - i.quantity;
  i.quantity = q;
  emit(Op::Update, std::move(before), itemRow(o, i));
  debezium::Row orderBefore = orderRow(o);
  recomputeTotal(o);
  o.updatedAt = now_;
  emit(Op::Update, std::move(orderBefore), orderRow(o));
}

void WorkloadGenerator::removeItem() {
  if (open_.empty()) return;
  Order& o = open_[static_cast<size_t>(random_.between(0, static_cast<int64_t>(open_.size()) - 1))];
  if (o.items.size() < 2 || o.status > 1) return;
  ++txId_;
  auto k = static_cast<size_t>(random_.between(0, static_cast<int64_t>(o.items.size()) - 1));
  Item gone = o.items[k];
  o.items.erase(o.items.begin() + static_cast<std::ptrdiff_t>(k));
  products_[static_cast<size_t>(gone.productId - 1)].available += gone.quantity;
  emit(Op::Delete, itemRow(o, gone), std::nullopt);
  debezium::Row orderBefore = orderRow(o);
  recomputeTotal(o);
  o.updatedAt = now_;
  emit(Op::Update, std::move(orderBefore), orderRow(o));
}

void WorkloadGenerator::deleteOrder() {
  // Only pending or cancelled orders are deleted (with their items first, as the FK requires).
  for (size_t idx = 0; idx < open_.size(); ++idx) {
    Order& o = open_[idx];
    if (o.status != 0 && o.status != kCancelled) continue;
    ++txId_;
    for (const auto& i : o.items) {
      products_[static_cast<size_t>(i.productId - 1)].available += i.quantity;
      emit(Op::Delete, itemRow(o, i), std::nullopt);
    }
    emit(Op::Delete, orderRow(o), std::nullopt);
    open_[idx] = std::move(open_.back());
    open_.pop_back();
    return;
  }
}

void WorkloadGenerator::changePrice() {
  int64_t pid = pickProduct();
  if (pid == 0) return;
  ++txId_;
  Product& p = products_[static_cast<size_t>(pid - 1)];
  debezium::Row before = productRow(pid);
  // Prices move around the product's list price (80% to 120% of it), never drift away.
  int64_t cents = (p.listPrice.cents() * random_.between(80, 120) + 50) / 100;
  p.price = Money::fromCents(std::max<int64_t>(cents, 1));
  p.updatedAt = now_;
  emit(Op::Update, std::move(before), productRow(pid));
}

void WorkloadGenerator::retireProduct() {
  // Products that were never ordered can be deleted (order_items reference the rest).
  for (int attempt = 0; attempt < 8; ++attempt) {
    int64_t pid = random_.between(1, static_cast<int64_t>(products_.size()));
    Product& p = products_[static_cast<size_t>(pid - 1)];
    if (!p.live || p.everOrdered) continue;
    ++txId_;
    debezium::Row before = productRow(pid);
    p.live = false;
    emit(Op::Delete, std::move(before), std::nullopt);
    return;
  }
}

void WorkloadGenerator::step() {
  advanceClock();
  double x = random_.uniform() * 100.0;
  // Each order moves through about five statuses, so status changes outnumber new orders.
  if (x < 15) {
    placeOrder();
  } else if (x < 82) {  // NOLINT(bugprone-branch-clone): the draws left at the end advance an order too
    advanceOrder();
  } else if (x < 86) {
    editItem();
  } else if (x < 88) {
    removeItem();
  } else if (x < 89) {
    deleteOrder();
  } else if (x < 92.5) {
    // A delivery arrives for a product that is running short.
    int64_t pid = pickProduct();
    if (pid != 0 && products_[static_cast<size_t>(pid - 1)].available < 60) {
      ++txId_;
      restock(pid, static_cast<int32_t>(random_.between(10, 200)));
    }
  } else if (x < 93.5) {
    // A manual correction after a stock count: small, either way.
    int64_t pid = pickProduct();
    if (pid != 0) {
      ++txId_;
      auto delta = static_cast<int32_t>(random_.between(-5, 5));
      restock(pid, delta == 0 ? -1 : delta);
    }
  } else if (x < 97) {
    changePrice();
  } else if (x < 97.5) {
    createProduct();
  } else if (x < 97.8) {
    retireProduct();
  } else {
    advanceOrder();
  }
}

bool WorkloadGenerator::next(GeneratedRecord& out) {
  if (options_.events && recordsEmitted_ >= *options_.events) return false;
  while (queue_.empty()) {
    if (!snapshotDone_) {
      ++txId_;
      for (auto id = static_cast<int64_t>(products_.size()) + 1; id <= options_.products; ++id) {
        snapshotProduct(id);
        if (queue_.size() >= 4096) break;
      }
      if (static_cast<int64_t>(products_.size()) >= options_.products) snapshotDone_ = true;
      if (products_.empty()) {  // an empty catalogue still gets one product to order
        snapshotProduct(1);
        snapshotDone_ = true;
      }
      continue;
    }
    if (!options_.events && ordersCreated_ >= options_.orders) return false;
    step();
  }
  out = std::move(queue_.front());
  queue_.pop_front();
  auto& offset = offsets_[static_cast<size_t>(out.table)][static_cast<size_t>(out.partition)];
  out.offset = offset++;
  ++recordsEmitted_;
  return true;
}

void WorkloadGenerator::appendKcatLine(const GeneratedRecord& r, std::string& out) {
  char buf[24];
  out += R"({"topic":)";
  appendJsonString(out, r.topic);
  out += R"(,"partition":)";
  out.append(buf, std::to_chars(buf, buf + sizeof buf, r.partition).ptr);
  out += R"(,"offset":)";
  out.append(buf, std::to_chars(buf, buf + sizeof buf, r.offset).ptr);
  out += R"(,"tstype":"create","ts":)";
  out.append(buf, std::to_chars(buf, buf + sizeof buf, r.timestampMs).ptr);
  out += R"(,"broker":0,"key":)";
  appendJsonString(out, r.key);
  out += R"(,"payload":)";
  if (r.value) {
    appendJsonString(out, *r.value);
  } else {
    out += "null";
  }
  out += "}\n";
}

}  // namespace cdc::workload
