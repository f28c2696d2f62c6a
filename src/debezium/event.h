#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "core/decimal.h"
#include "core/time.h"
#include "core/types.h"

namespace cdc::debezium {

// The three captured tables of the `ecommerce` database.
enum class Table : uint8_t { Products, Orders, OrderItems };
inline constexpr int kTableCount = 3;

const char* tableName(Table t);  // "products", "orders", "order_items"
std::optional<Table> tableFromName(std::string_view name);
// The table a topic carries: the last dot-separated segment of its name
// ("dbserver1.public.order_items" -> OrderItems).
std::optional<Table> tableFromTopic(std::string_view topic);

enum class Op : uint8_t { Create, Update, Delete, Read, Truncate };
char opCode(Op op);  // 'c', 'u', 'd', 'r', 't'
std::optional<Op> opFromCode(std::string_view code);

// Bit i set for column i of a table (see `present` and `seen` below).
using ColumnMask = uint32_t;
inline constexpr ColumnMask kAllColumns = ~ColumnMask{0};

enum class ProductColumn : uint8_t { Id, Name, Description, Price, StockQuantity, CreatedAt, UpdatedAt, Count };
enum class OrderColumn : uint8_t { Id, CustomerId, TotalAmount, Status, CreatedAt, UpdatedAt, Count };
enum class OrderItemColumn : uint8_t { Id, OrderId, ProductId, Quantity, Price, CreatedAt, Count };

template <class E>
constexpr ColumnMask bit(E column) {
  return ColumnMask{1} << static_cast<unsigned>(column);
}

template <class Column>
struct RowBase {
  ColumnMask present = 0;  // the column held a non-null value in the message (and was decoded)
  ColumnMask seen = 0;     // the column was in the message, null or not
  bool has(Column c) const { return (present & bit(c)) != 0; }
  void set(Column c) { present |= bit(c); }
};

struct ProductRow : RowBase<ProductColumn> {
  using Column = ProductColumn;
  static constexpr Table kTable = Table::Products;
  ProductId id;
  std::string name;
  std::string description;
  Money price;
  int32_t stockQuantity = 0;
  Timestamp createdAt;
  Timestamp updatedAt;
};

struct OrderRow : RowBase<OrderColumn> {
  using Column = OrderColumn;
  static constexpr Table kTable = Table::Orders;
  OrderId id;
  CustomerId customerId;
  Money totalAmount;
  std::string status;
  Timestamp createdAt;
  Timestamp updatedAt;
};

struct OrderItemRow : RowBase<OrderItemColumn> {
  using Column = OrderItemColumn;
  static constexpr Table kTable = Table::OrderItems;
  OrderItemId id;
  OrderId orderId;
  ProductId productId;
  int32_t quantity = 0;
  Money price;
  Timestamp createdAt;
};

using Row = std::variant<ProductRow, OrderRow, OrderItemRow>;

// Where the change happened in the source database.
struct SourceInfo {
  int64_t tsMs = 0;            // commit time in PostgreSQL (source.ts_ms / __source_ts_ms)
  std::optional<int64_t> lsn;  // WAL position, when the message carries it
  std::optional<int64_t> txId;
  bool snapshot = false;  // part of the initial snapshot (op r, or source.snapshot true)
};

// The message shape the event was decoded from.
enum class Shape : uint8_t { Envelope, Flattened };

// One decoded row change, the same whatever message shape carried it.
// For c/r/u the new row is `after`; for d the old row is `before` (for the flattened form
// that is the row the `rewrite` delete mode sends); `before` of an update is present only in
// the envelope form with REPLICA IDENTITY FULL.
struct ChangeEvent {
  Table table = Table::Products;
  Op op = Op::Create;
  Shape shape = Shape::Envelope;
  bool hadSchema = false;
  // A delete that came as a tombstone (no row: Kafka null value or `payload: null`); `before`
  // holds only the key's id. After a rewritten delete it repeats what was already done.
  bool tombstone = false;
  std::optional<Row> before;
  std::optional<Row> after;
  SourceInfo source;
  int64_t tsMs = 0;  // when Debezium processed the change (envelope ts_ms), 0 when absent

  template <class R>
  const R* afterAs() const {
    return after ? std::get_if<R>(&*after) : nullptr;
  }
  template <class R>
  const R* beforeAs() const {
    return before ? std::get_if<R>(&*before) : nullptr;
  }
  // The id of the changed row (from after, else before); 0 for a truncate.
  int64_t rowId() const;
};

}  // namespace cdc::debezium
