#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "debezium/event.h"
#include "workload/encoder.h"
#include "workload/random.h"

namespace cdc::workload {

struct WorkloadOptions {
  uint64_t seed = 42;
  int64_t products = 1000;  // in the initial snapshot (more are created along the way)
  int64_t customers = 5000;
  int64_t orders = 10000;         // stop after this many orders have been created ...
  std::optional<int64_t> events;  // ... or after this many records, when set
  int32_t partitions = 3;
  // How a delete is sent, as ExtractNewRecordState's delete.tombstone.handling.mode:
  // the old row then a tombstone, the old row only, or only a tombstone (Debezium 3.x's default:
  // a `payload: null` value with schemas on, a Kafka null value without).
  enum class Deletes : uint8_t { RewriteWithTombstone, Rewrite, Tombstone };
  Deletes deletes = Deletes::RewriteWithTombstone;
  Timestamp start{1767225600000000};  // 2026-01-01T00:00:00Z
  double meanGapSeconds = 2.0;        // average time between two database transactions
  EncoderOptions encoder;
};

// A Kafka record as the generator emits it.
struct GeneratedRecord {
  debezium::Table table = debezium::Table::Products;
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestampMs = 0;
  std::string key;
  std::optional<std::string> value;  // nullopt: a tombstone
};

// A deterministic e-commerce change stream: an initial snapshot of the product catalogue,
// then orders placed by customers with a skewed (Zipf) popularity of products and
// customers, orders moving through their statuses (some cancelled, a few deleted), order items
// edited and removed, restocks when stock runs low, price changes, new and retired products.
// The same seed gives the same bytes. Memory stays constant in the stream length: only the
// catalogue and a bounded window of open orders are kept.
class WorkloadGenerator {
 public:
  explicit WorkloadGenerator(WorkloadOptions options);

  // The next record; false when the workload is complete.
  bool next(GeneratedRecord& out);
  // `kcat -C -J` form of a record, with a trailing newline.
  static void appendKcatLine(const GeneratedRecord& r, std::string& out);

  int64_t ordersCreated() const { return ordersCreated_; }
  int64_t recordsEmitted() const { return recordsEmitted_; }
  const DebeziumEncoder& encoder() const { return encoder_; }

 private:
  struct Product {
    Money price;
    Money listPrice;
    int32_t stock = 0;
    int64_t available = 0;  // stock minus what open order items hold, as the generator sees it
    uint64_t variant = 0;
    Timestamp createdAt;
    Timestamp updatedAt;
    bool live = false;
    bool everOrdered = false;
  };
  struct Item {
    int64_t id = 0;
    int64_t productId = 0;
    int32_t quantity = 0;
    Money price;
    Timestamp createdAt;
  };
  struct Order {
    int64_t id = 0;
    int64_t customerId = 0;
    Money total;
    int status = 0;  // index into kStatuses
    Timestamp createdAt;
    Timestamp updatedAt;
    std::vector<Item> items;
  };

  void step();
  void snapshotProduct(int64_t id);
  void createProduct();
  void placeOrder();
  void advanceOrder();
  void editItem();
  void removeItem();
  void deleteOrder();
  void restock(int64_t productId, int32_t amount);
  void changePrice();
  void retireProduct();
  int64_t pickProduct();
  void recomputeTotal(Order& o);

  debezium::ProductRow productRow(int64_t id) const;
  debezium::OrderRow orderRow(const Order& o) const;
  debezium::OrderItemRow itemRow(const Order& o, const Item& i) const;
  void emit(debezium::Op op, std::optional<debezium::Row> before, std::optional<debezium::Row> after, bool snapshot = false);
  void advanceClock();

  WorkloadOptions options_;
  DebeziumEncoder encoder_;
  Random random_;
  std::vector<Product> products_;  // index = product id - 1
  std::vector<Order> open_;        // orders not yet completed, cancelled or deleted
  std::deque<GeneratedRecord> queue_;
  std::vector<std::vector<int64_t>> offsets_;  // [table][partition]
  Timestamp now_;
  int64_t lsn_ = 24'000'000;
  int64_t txId_ = 700;
  int64_t nextOrderId_ = 1;
  int64_t nextItemId_ = 1;
  int64_t ordersCreated_ = 0;
  int64_t recordsEmitted_ = 0;
  bool snapshotDone_ = false;
};

}  // namespace cdc::workload
