#include "debezium/schema.h"

#include <charconv>

#include <simdjson.h>

#include "debezium/simdjson_errors.h"

namespace cdc::debezium {
namespace {

using simdjson::ondemand::object;
using simdjson::ondemand::value;

constexpr std::string_view kProductColumns[] = {"id",         "name",      "description", "price", "stock_quantity",
                                                "created_at", "updated_at"};
constexpr std::string_view kOrderColumns[] = {"id", "customer_id", "total_amount", "status", "created_at", "updated_at"};
constexpr std::string_view kOrderItemColumns[] = {"id", "order_id", "product_id", "quantity", "price", "created_at"};

template <size_t N>
int indexIn(const std::string_view (&names)[N], std::string_view name) {
  for (size_t i = 0; i < N; ++i) {
    if (names[i] == name) return static_cast<int>(i);
  }
  return -1;
}

ColumnType typeOf(std::string_view type, std::string_view name, std::string_view scale) {
  ColumnType t;
  if (name == "org.apache.kafka.connect.data.Decimal") {
    t.kind = ColumnKind::DecimalBytes;
    int s = 0;
    std::from_chars(scale.data(), scale.data() + scale.size(), s);
    t.scale = s;
  } else if (name == "io.debezium.data.VariableScaleDecimal") {
    t.kind = ColumnKind::VariableScaleDecimal;
  } else if (name == "io.debezium.time.MicroTimestamp") {
    t.kind = ColumnKind::MicroTimestamp;
  } else if (name == "io.debezium.time.Timestamp" || name == "org.apache.kafka.connect.data.Timestamp") {
    t.kind = ColumnKind::MilliTimestamp;
  } else if (name == "io.debezium.time.NanoTimestamp") {
    t.kind = ColumnKind::NanoTimestamp;
  } else if (name == "io.debezium.time.ZonedTimestamp") {
    t.kind = ColumnKind::ZonedTimestamp;
  } else if (name == "io.debezium.time.Date" || name == "org.apache.kafka.connect.data.Date") {
    t.kind = ColumnKind::Date;
  } else if (type == "string") {
    t.kind = ColumnKind::String;
  } else if (type == "double" || type == "float") {
    t.kind = ColumnKind::Double;
  } else if (type == "int8" || type == "int16" || type == "int32" || type == "int64") {
    t.kind = ColumnKind::Integer;
  }
  return t;
}

// Reads one schema field descriptor; recurses into `after`/`before` structs of an envelope.
simdjson::error_code readFields(simdjson::ondemand::array fields, Table table, SchemaInfo& info, bool topLevel);

simdjson::error_code readField(object field, Table table, SchemaInfo& info, bool topLevel) {
  std::string_view type, name, fieldName, scale;
  bool nested = false;
  SchemaInfo nestedInfo;
  for (auto member : field) {
    std::string_view key;
    if (auto e = member.unescaped_key().get(key)) return e;
    value v = member.value();
    if (key == "type") {
      if (auto e = v.get_string().get(type)) return e;
    } else if (key == "name") {
      if (auto e = v.get_string().get(name)) return e;
    } else if (key == "field") {
      if (auto e = v.get_string().get(fieldName)) return e;
    } else if (key == "parameters") {
      object params;
      if (auto e = v.get_object().get(params)) return e;
      for (auto p : params) {
        std::string_view pk;
        if (auto e = p.unescaped_key().get(pk)) return e;
        if (pk == "scale") {
          if (auto e = p.value().get_string().get(scale)) return e;
        }
      }
    } else if (key == "fields" && topLevel) {
      // A nested struct: only the envelope's before/after hold columns, but Kafka Connect writes
      // "field" after "fields", so read it aside and keep it once the name is known.
      simdjson::ondemand::array nestedFields;
      if (auto e = v.get_array().get(nestedFields)) return e;
      if (auto e = readFields(nestedFields, table, nestedInfo, false)) return e;
      nested = true;
    }
  }
  if (nested && (fieldName == "before" || fieldName == "after")) {
    for (int i = 0; i < kMaxColumns; ++i) {
      if (info.columns[i].kind == ColumnKind::Unknown) info.columns[i] = nestedInfo.columns[i];
    }
  } else if (!fieldName.empty()) {
    int idx = columnIndex(table, fieldName);
    if (idx >= 0) {
      ColumnType t = typeOf(type, name, scale);
      // The envelope lists before and after with the same columns; keep the first typed one.
      if (info.columns[idx].kind == ColumnKind::Unknown) info.columns[idx] = t;
    }
  }
  return simdjson::SUCCESS;
}

simdjson::error_code readFields(simdjson::ondemand::array fields, Table table, SchemaInfo& info, bool topLevel) {
  for (auto element : fields) {
    object field;
    if (auto e = element.get_object().get(field)) return e;
    if (auto e = readField(field, table, info, topLevel)) return e;
  }
  return simdjson::SUCCESS;
}

}  // namespace

std::span<const std::string_view> columnNames(Table table) {
  switch (table) {
    case Table::Products:
      return kProductColumns;
    case Table::Orders:
      return kOrderColumns;
    case Table::OrderItems:
      return kOrderItemColumns;
  }
  return {};
}

int columnIndex(Table table, std::string_view name) {
  switch (table) {
    case Table::Products:
      return indexIn(kProductColumns, name);
    case Table::Orders:
      return indexIn(kOrderColumns, name);
    case Table::OrderItems:
      return indexIn(kOrderItemColumns, name);
  }
  return -1;
}

std::expected<SchemaInfo, DecodeError> parseSchema(std::string_view schemaJson, Table table) {
  // A schema is parsed once per distinct schema (the decoder caches it), so a private parser
  // and a padded copy cost nothing on the hot path.
  thread_local simdjson::ondemand::parser parser;
  simdjson::padded_string padded(schemaJson);
  simdjson::ondemand::document doc;
  if (auto e = parser.iterate(padded).get(doc)) return std::unexpected(detail::fromSimdjson(e, "schema"));
  SchemaInfo info;
  object root;
  if (auto e = doc.get_object().get(root)) return std::unexpected(detail::fromSimdjson(e, "schema", "an object"));
  for (auto member : root) {
    std::string_view key;
    if (auto e = member.unescaped_key().get(key)) return std::unexpected(detail::fromSimdjson(e, "schema"));
    if (key != "fields") continue;
    simdjson::ondemand::array fields;
    if (auto e = member.value().get_array().get(fields)) {
      return std::unexpected(detail::fromSimdjson(e, "schema.fields", "an array"));
    }
    if (auto e = readFields(fields, table, info, true)) {
      return std::unexpected(detail::fromSimdjson(e, "schema.fields"));
    }
  }
  return info;
}

}  // namespace cdc::debezium
