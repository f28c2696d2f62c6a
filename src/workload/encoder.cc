#include "workload/encoder.h"

#include <charconv>

#include "core/base64.h"
#include "core/decimal.h"
#include "core/json_writer.h"

namespace cdc::workload {
namespace {

using debezium::Table;

void appendInt(std::string& out, int64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

std::string intField(const char* name, bool key) {
  return std::string(R"({"type":"int32","optional":)") + (key ? R"(false,"default":0)" : "true") + R"(,"field":")" + name + "\"}";
}

std::string stringField(const char* name, bool optional = true) {
  return std::string(R"({"type":"string","optional":)") + (optional ? "true" : "false") + R"(,"field":")" + name + "\"}";
}

std::string moneyField(const char* name, DecimalMode mode) {
  switch (mode) {
    case DecimalMode::Precise:
      return std::string(
                 R"({"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2","connect.decimal.precision":"10"},"field":")") +
             name + "\"}";
    case DecimalMode::String:
      return stringField(name);
    case DecimalMode::Double:
      return std::string(R"({"type":"double","optional":true,"field":")") + name + "\"}";
  }
  return {};
}

std::string timeField(const char* name, TimeMode mode) {
  const char* logical = "io.debezium.time.MicroTimestamp";
  const char* type = "int64";
  switch (mode) {
    case TimeMode::Micro:
      break;
    case TimeMode::Milli:
      logical = "org.apache.kafka.connect.data.Timestamp";
      break;
    case TimeMode::Nano:
      logical = "io.debezium.time.NanoTimestamp";
      break;
    case TimeMode::Zoned:
      logical = "io.debezium.time.ZonedTimestamp";
      type = "string";
      break;
  }
  return std::string(R"({"type":")") + type + R"(","optional":true,"name":")" + logical + R"(","version":1,"field":")" + name +
         "\"}";
}

std::string columnsSchema(Table t, const EncoderOptions& o) {
  switch (t) {
    case Table::Products:
      return intField("id", true) + "," + stringField("name", false) + "," + stringField("description") + "," +
             moneyField("price", o.decimals) + "," + intField("stock_quantity", false) + "," + timeField("created_at", o.times) +
             "," + timeField("updated_at", o.times);
    case Table::Orders:
      return intField("id", true) + "," + intField("customer_id", false) + "," + moneyField("total_amount", o.decimals) + "," +
             stringField("status") + "," + timeField("created_at", o.times) + "," + timeField("updated_at", o.times);
    case Table::OrderItems:
      return intField("id", true) + "," + intField("order_id", false) + "," + intField("product_id", false) + "," +
             intField("quantity", false) + "," + moneyField("price", o.decimals) + "," + timeField("created_at", o.times);
  }
  return {};
}

constexpr const char* kSourceSchema =
    R"({"type":"struct","fields":[{"type":"string","optional":false,"field":"version"},{"type":"string","optional":false,"field":"connector"},{"type":"string","optional":false,"field":"name"},{"type":"int64","optional":false,"field":"ts_ms"},{"type":"string","optional":true,"name":"io.debezium.data.Enum","version":1,"parameters":{"allowed":"true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"},"default":"false","field":"snapshot"},{"type":"string","optional":false,"field":"db"},{"type":"string","optional":true,"field":"sequence"},{"type":"int64","optional":true,"field":"ts_us"},{"type":"int64","optional":true,"field":"ts_ns"},{"type":"string","optional":false,"field":"schema"},{"type":"string","optional":false,"field":"table"},{"type":"int64","optional":true,"field":"txId"},{"type":"int64","optional":true,"field":"lsn"},{"type":"int64","optional":true,"field":"xmin"}],"optional":false,"name":"io.debezium.connector.postgresql.Source","version":1,"field":"source"},{"type":"struct","fields":[{"type":"string","optional":false,"field":"id"},{"type":"int64","optional":false,"field":"total_order"},{"type":"int64","optional":false,"field":"data_collection_order"}],"optional":true,"name":"event.block","version":1,"field":"transaction"},{"type":"string","optional":false,"field":"op"},{"type":"int64","optional":true,"field":"ts_ms"},{"type":"int64","optional":true,"field":"ts_us"},{"type":"int64","optional":true,"field":"ts_ns"})";

}  // namespace

DebeziumEncoder::DebeziumEncoder(EncoderOptions options) : options_(std::move(options)) {
  for (int i = 0; i < debezium::kTableCount; ++i) {
    auto t = static_cast<Table>(i);
    std::string name = options_.topicPrefix + ".public." + debezium::tableName(t);
    std::string columns = columnsSchema(t, options_);
    // NOLINTBEGIN(performance-inefficient-string-concatenation): once per table, at start
    if (options_.shape == MessageShape::Unwrap) {
      valueSchemas_[i] =
          R"({"type":"struct","fields":[)" + columns +
          R"(,{"type":"string","optional":true,"field":"__op"},{"type":"int64","optional":true,"field":"__source_ts_ms"},{"type":"string","optional":true,"field":"__source_db"},{"type":"string","optional":true,"field":"__source_table"},{"type":"string","optional":true,"field":"__deleted"}],"optional":false,"name":")" +
          name + R"(.Value"})";
    } else {
      std::string row =
          R"({"type":"struct","fields":[)" + columns + R"(],"optional":true,"name":")" + name + R"(.Value","field":")";
      valueSchemas_[i] = R"({"type":"struct","fields":[)" + row + R"(before"},)" + row + R"(after"},)" + kSourceSchema +
                         R"(],"optional":false,"name":")" + name + R"(.Envelope","version":2})";
    }
    // NOLINTEND(performance-inefficient-string-concatenation)
    keySchemas_[i] =
        R"({"type":"struct","fields":[{"type":"int32","optional":false,"default":0,"field":"id"}],"optional":false,"name":")" +
        name + R"(.Key"})";
  }
}

std::string DebeziumEncoder::topic(Table table) const { return options_.topicPrefix + ".public." + debezium::tableName(table); }

void DebeziumEncoder::key(Table table, int64_t id, std::string& out) const {
  if (options_.schemas) {
    out += R"({"schema":)";
    out += keySchemas_[static_cast<int>(table)];
    out += R"(,"payload":{"id":)";
    appendInt(out, id);
    out += "}}";
  } else {
    out += R"({"id":)";
    appendInt(out, id);
    out += "}";
  }
}

void DebeziumEncoder::money(Money m, std::string& out) const {
  switch (options_.decimals) {
    case DecimalMode::Precise:
      out.push_back('"');
      out += base64Encode(twosComplementBytes(m.cents()));
      out.push_back('"');
      break;
    case DecimalMode::String:
      out.push_back('"');
      m.appendTo(out);
      out.push_back('"');
      break;
    case DecimalMode::Double: {
      // As Java prints a double: 1299.99, 12.5, 100.0.
      std::string s = m.toString();
      if (s.ends_with("0")) s.pop_back();
      out += s;
      break;
    }
  }
}

void DebeziumEncoder::time(Timestamp t, std::string& out) const {
  switch (options_.times) {
    case TimeMode::Micro:
      appendInt(out, t.micros);
      break;
    case TimeMode::Milli:
      appendInt(out, t.millis());
      break;
    case TimeMode::Nano:
      appendInt(out, t.micros * 1000);
      break;
    case TimeMode::Zoned:
      appendJsonString(out, formatIsoTimestamp(t));
      break;
  }
}

void DebeziumEncoder::row(const debezium::Row& row, bool keyOnly, std::string& out) const {
  auto nullOr = [&](bool present, auto&& write) {
    if (present && !keyOnly) {
      write();
    } else {
      out += "null";
    }
  };
  std::visit(
      [&](const auto& r) {
        using R = std::decay_t<decltype(r)>;
        out += R"({"id":)";
        appendInt(out, r.id.value);
        if constexpr (std::is_same_v<R, debezium::ProductRow>) {
          using C = debezium::ProductColumn;
          out += R"(,"name":)";
          nullOr(r.has(C::Name), [&] { appendJsonString(out, r.name); });
          out += R"(,"description":)";
          nullOr(r.has(C::Description), [&] { appendJsonString(out, r.description); });
          out += R"(,"price":)";
          nullOr(r.has(C::Price), [&] { money(r.price, out); });
          out += R"(,"stock_quantity":)";
          nullOr(r.has(C::StockQuantity), [&] { appendInt(out, r.stockQuantity); });
          out += R"(,"created_at":)";
          nullOr(r.has(C::CreatedAt), [&] { time(r.createdAt, out); });
          out += R"(,"updated_at":)";
          nullOr(r.has(C::UpdatedAt), [&] { time(r.updatedAt, out); });
        } else if constexpr (std::is_same_v<R, debezium::OrderRow>) {
          using C = debezium::OrderColumn;
          out += R"(,"customer_id":)";
          nullOr(r.has(C::CustomerId), [&] { appendInt(out, r.customerId.value); });
          out += R"(,"total_amount":)";
          nullOr(r.has(C::TotalAmount), [&] { money(r.totalAmount, out); });
          out += R"(,"status":)";
          nullOr(r.has(C::Status), [&] { appendJsonString(out, r.status); });
          out += R"(,"created_at":)";
          nullOr(r.has(C::CreatedAt), [&] { time(r.createdAt, out); });
          out += R"(,"updated_at":)";
          nullOr(r.has(C::UpdatedAt), [&] { time(r.updatedAt, out); });
        } else {
          using C = debezium::OrderItemColumn;
          out += R"(,"order_id":)";
          nullOr(r.has(C::OrderId), [&] { appendInt(out, r.orderId.value); });
          out += R"(,"product_id":)";
          nullOr(r.has(C::ProductId), [&] { appendInt(out, r.productId.value); });
          out += R"(,"quantity":)";
          nullOr(r.has(C::Quantity), [&] { appendInt(out, r.quantity); });
          out += R"(,"price":)";
          nullOr(r.has(C::Price), [&] { money(r.price, out); });
          out += R"(,"created_at":)";
          nullOr(r.has(C::CreatedAt), [&] { time(r.createdAt, out); });
        }
        out.push_back('}');
      },
      row);
}

void DebeziumEncoder::source(const debezium::ChangeEvent& c, std::string& out) const {
  out += R"({"version":"3.0.4.Final","connector":"postgresql","name":)";
  appendJsonString(out, options_.topicPrefix);
  out += R"(,"ts_ms":)";
  appendInt(out, c.source.tsMs);
  out += R"(,"snapshot":)";
  out += c.source.snapshot ? R"("true")" : R"("false")";
  out += R"(,"db":"ecommerce","sequence":)";
  int64_t lsn = c.source.lsn.value_or(0);
  appendJsonString(out, "[null,\"" + std::to_string(lsn) + "\"]");
  out += R"(,"ts_us":)";
  appendInt(out, c.source.tsMs * 1000);
  out += R"(,"ts_ns":)";
  appendInt(out, c.source.tsMs * 1000000);
  out += R"(,"schema":"public","table":")";
  out += debezium::tableName(c.table);
  out += R"(","txId":)";
  if (c.source.txId) {
    appendInt(out, *c.source.txId);
  } else {
    out += "null";
  }
  out += R"(,"lsn":)";
  if (c.source.lsn) {
    appendInt(out, *c.source.lsn);
  } else {
    out += "null";
  }
  out += R"(,"xmin":null})";
}

void DebeziumEncoder::value(const debezium::ChangeEvent& c, std::string& out) const {
  if (options_.schemas) {
    out += R"({"schema":)";
    out += valueSchemas_[static_cast<int>(c.table)];
    out += R"(,"payload":)";
  }
  if (options_.shape == MessageShape::Unwrap) {
    // The row (the old one for a rewritten delete) plus the add.fields of the production config.
    const debezium::Row& r = c.op == debezium::Op::Delete ? *c.before : *c.after;
    std::string body;
    row(r, false, body);
    body.pop_back();
    out += body;
    out += R"(,"__op":")";
    out.push_back(debezium::opCode(c.op));
    out += R"(","__source_ts_ms":)";
    appendInt(out, c.source.tsMs);
    out += R"(,"__source_db":"ecommerce","__source_table":")";
    out += debezium::tableName(c.table);
    out += R"(","__deleted":")";
    out += c.op == debezium::Op::Delete ? "true" : "false";
    out += "\"}";
  } else {
    out += R"({"before":)";
    bool keyOnly = options_.before == BeforeImage::Key;
    if (c.before && (!keyOnly || c.op == debezium::Op::Delete)) {
      row(*c.before, keyOnly, out);
    } else {
      out += "null";
    }
    out += R"(,"after":)";
    if (c.after) {
      row(*c.after, false, out);
    } else {
      out += "null";
    }
    out += R"(,"source":)";
    source(c, out);
    out += R"(,"transaction":null,"op":")";
    out.push_back(debezium::opCode(c.op));
    out += R"(","ts_ms":)";
    appendInt(out, c.tsMs);
    out += R"(,"ts_us":)";
    appendInt(out, c.tsMs * 1000);
    out += R"(,"ts_ns":)";
    appendInt(out, c.tsMs * 1000000);
    out.push_back('}');
  }
  if (options_.schemas) out.push_back('}');
}

int32_t murmur2(std::string_view data) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(data.data());
  const auto length = static_cast<uint32_t>(data.size());
  const uint32_t m = 0x5bd1e995;
  const int r = 24;
  uint32_t h = 0x9747b28c ^ length;
  uint32_t length4 = length / 4;
  for (uint32_t i = 0; i < length4; ++i) {
    uint32_t i4 = i * 4;
    uint32_t k = bytes[i4] | (bytes[i4 + 1] << 8) | (bytes[i4 + 2] << 16) | (static_cast<uint32_t>(bytes[i4 + 3]) << 24);
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }
  uint32_t tail = length & ~3u;
  switch (length % 4) {
    case 3:
      h ^= static_cast<uint32_t>(bytes[tail + 2]) << 16;
      [[fallthrough]];
    case 2:
      h ^= static_cast<uint32_t>(bytes[tail + 1]) << 8;
      [[fallthrough]];
    case 1:
      h ^= bytes[tail];
      h *= m;
      break;
    default:  // no tail
      break;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return static_cast<int32_t>(h);
}

int32_t kafkaPartition(std::string_view keyBytes, int32_t partitions) {
  return static_cast<int32_t>((static_cast<uint32_t>(murmur2(keyBytes)) & 0x7fffffff) % static_cast<uint32_t>(partitions));
}

}  // namespace cdc::workload
