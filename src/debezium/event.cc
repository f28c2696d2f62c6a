#include "debezium/event.h"

namespace cdc::debezium {

const char* tableName(Table t) {
  switch (t) {
    case Table::Products:
      return "products";
    case Table::Orders:
      return "orders";
    case Table::OrderItems:
      return "order_items";
  }
  return "unknown";
}

std::optional<Table> tableFromName(std::string_view name) {
  if (name == "products") return Table::Products;
  if (name == "orders") return Table::Orders;
  if (name == "order_items") return Table::OrderItems;
  return std::nullopt;
}

std::optional<Table> tableFromTopic(std::string_view topic) {
  auto dot = topic.rfind('.');
  return tableFromName(dot == std::string_view::npos ? topic : topic.substr(dot + 1));
}

char opCode(Op op) {
  switch (op) {
    case Op::Create:
      return 'c';
    case Op::Update:
      return 'u';
    case Op::Delete:
      return 'd';
    case Op::Read:
      return 'r';
    case Op::Truncate:
      return 't';
  }
  return '?';
}

std::optional<Op> opFromCode(std::string_view code) {
  if (code.size() != 1) return std::nullopt;
  switch (code[0]) {
    case 'c':
      return Op::Create;
    case 'u':
      return Op::Update;
    case 'd':
      return Op::Delete;
    case 'r':
      return Op::Read;
    case 't':
      return Op::Truncate;
    default:
      return std::nullopt;
  }
}

int64_t ChangeEvent::rowId() const {
  const std::optional<Row>& row = after ? after : before;
  if (!row) return 0;
  return std::visit([](const auto& r) { return r.id.value; }, *row);
}

}  // namespace cdc::debezium
