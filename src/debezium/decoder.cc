#include "debezium/decoder.h"

#include <bit>
#include <cstring>

#include <simdjson.h>

#include "core/base64.h"
#include "debezium/schema.h"
#include "debezium/simdjson_errors.h"

namespace cdc::debezium {
namespace {

using simdjson::ondemand::json_type;
using simdjson::ondemand::object;
using simdjson::ondemand::value;
using detail::fromSimdjson;

using Failure = std::unexpected<DecodeError>;
// Decoding one field: true when it held a non-null value, false for JSON null.
using FieldResult = std::expected<bool, DecodeError>;

Failure failure(DecodeErrc code, std::string_view field, std::string detail = {}) {
  return Failure(DecodeError{code, std::string(field), std::move(detail)});
}

Failure failure(simdjson::error_code e, std::string_view field, std::string_view expected = {}) {
  return Failure(fromSimdjson(e, field, expected));
}

FieldResult isNull(value& v, std::string_view field) {
  bool null = false;
  if (auto e = v.is_null().get(null)) return failure(e, field);
  return !null;
}

FieldResult readInt64(value& v, std::string_view field, int64_t& out) {
  auto present = isNull(v, field);
  if (!present || !*present) return present;
  if (auto e = v.get_int64().get(out)) {
    // simdjson calls an integer beyond 64 bits a type error; for us it is a range error.
    json_type jt;
    if (e == simdjson::INCORRECT_TYPE && v.type().get(jt) == simdjson::SUCCESS && jt == json_type::number &&
        v.raw_json_token().find_first_of(".eE") == std::string_view::npos) {
      return failure(DecodeErrc::NumberOutOfRange, field, "integer beyond 64 bits");
    }
    return failure(e, field, "an integer");
  }
  return true;
}

FieldResult readInt32(value& v, std::string_view field, int32_t& out) {
  int64_t wide = 0;
  auto present = readInt64(v, field, wide);
  if (!present || !*present) return present;
  if (wide < INT32_MIN || wide > INT32_MAX) {
    return failure(DecodeErrc::NumberOutOfRange, field, std::to_string(wide) + " does not fit a 32-bit integer");
  }
  out = static_cast<int32_t>(wide);
  return true;
}

FieldResult readString(value& v, std::string_view field, std::string& out) {
  auto present = isNull(v, field);
  if (!present || !*present) return present;
  std::string_view s;
  if (auto e = v.get_string().get(s)) return failure(e, field, "a string");
  out.assign(s);
  return true;
}

std::expected<Money, DecodeError> moneyFromDecimal(const std::expected<Decimal, DecimalErrc>& d,
                                                    std::string_view field) {
  if (!d) {
    auto code = d.error() == DecimalErrc::OutOfRange ? DecodeErrc::NumberOutOfRange : DecodeErrc::BadDecimal;
    return failure(code, field, toString(d.error()));
  }
  auto m = Money::fromDecimal(*d);
  if (!m) {
    auto code = m.error() == DecimalErrc::OutOfRange ? DecodeErrc::NumberOutOfRange : DecodeErrc::BadDecimal;
    return failure(code, field, std::string(toString(m.error())) + " in cents");
  }
  return *m;
}

std::expected<Money, DecodeError> moneyFromBase64(std::string_view text, int32_t scale, std::string_view field) {
  uint8_t bytes[32];
  if (text.size() / 4 * 3 > sizeof bytes) {
    return failure(DecodeErrc::NumberOutOfRange, field, "decimal of more than 32 bytes");
  }
  int n = base64DecodeInto(text, bytes, sizeof bytes);
  if (n <= 0) return failure(DecodeErrc::BadBase64, field, "'" + std::string(text.substr(0, 40)) + "' is not base64");
  return moneyFromDecimal(decimalFromTwosComplement({bytes, static_cast<size_t>(n)}, scale), field);
}

// A field's key without unescaping it: Debezium's keys are plain identifiers. A key that holds
// an escape sequence is returned as a string that matches none of ours (it is skipped).
std::string_view rawKey(simdjson::ondemand::field& field) {
  const char* start = field.key().raw();
  const char* end = static_cast<const char*>(std::memchr(start, '"', 256));
  if (end == nullptr) return "\x01";
  std::string_view k(start, static_cast<size_t>(end - start));
  if (k.find('\\') != std::string_view::npos) return "\x01";
  return k;
}

// The `id` of a message key: {"id":1} or {"schema":…,"payload":{"id":1}}. Every field is read
// in order and every error is returned at once: simdjson's iterator must not be used again
// after an error (a truncated key such as {"a":{} once crashed a second field look-up).
std::expected<int64_t, DecodeError> parseKeyId(simdjson::ondemand::parser& parser, std::string_view key) {
  simdjson::padded_string padded(key);
  simdjson::ondemand::document doc;
  if (auto e = parser.iterate(padded).get(doc)) return failure(e, "key");
  object o;
  if (doc.get_object().get(o)) return failure(DecodeErrc::BadKey, "key", "not an object");
  std::optional<int64_t> id;
  bool wrapped = false;
  auto readId = [&](value& v, std::string_view field) -> std::expected<void, DecodeError> {
    int64_t n = 0;
    auto present = readInt64(v, field, n);
    if (!present) return std::unexpected(present.error());
    if (!*present) return failure(DecodeErrc::BadKey, field, "null");
    id = n;
    return {};
  };
  for (auto member : o) {
    simdjson::ondemand::field f;
    if (auto e = std::move(member).get(f)) return failure(e, "key");
    std::string_view k = rawKey(f);
    value v = f.value();
    if (k == "payload") {
      object p;
      if (v.get_object().get(p) != simdjson::SUCCESS) return failure(DecodeErrc::BadKey, "key.payload", "not an object");
      wrapped = true;
      id.reset();
      for (auto inner : p) {
        simdjson::ondemand::field pf;
        if (auto e = std::move(inner).get(pf)) return failure(e, "key.payload");
        value pv = pf.value();
        if (rawKey(pf) != "id") continue;
        if (auto r = readId(pv, "key.id"); !r) return std::unexpected(r.error());
      }
    } else if (k == "id" && !wrapped) {
      if (auto r = readId(v, "key.id"); !r) return std::unexpected(r.error());
    }
  }
  if (doc.current_location().error() == simdjson::SUCCESS) return failure(DecodeErrc::InvalidJson, "key", "trailing content after the JSON object");
  if (!id) return failure(DecodeErrc::MissingField, "key.id", "the key has no id");
  return *id;
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

static_assert(kDecoderPadding >= simdjson::SIMDJSON_PADDING);

struct Decoder::Impl {
  explicit Impl(DecoderOptions o) : options(o) {}

  struct CachedSchema {
    bool valid = false;
    std::string bytes;
    SchemaInfo info;
  };

  // Per-message decoding state.
  struct State {
    Table table = Table::Products;
    const SchemaInfo* schema = nullptr;
    ColumnMask wanted = kAllColumns;
    bool envelope = false;
    bool sawColumn = false;
    bool deleted = false;
    std::optional<Op> op;
    Row flatRow;
  };

  DecoderOptions options;
  simdjson::ondemand::parser parser;
  simdjson::ondemand::parser keyParser;
  std::string buffer;
  std::string lastTopic;
  std::optional<Table> lastTable;
  std::array<CachedSchema, kTableCount> schemas;
  SchemaInfo noSchema;

  std::expected<const SchemaInfo*, DecodeError> schemaFor(Table table, std::string_view bytes) {
    CachedSchema& cached = schemas[static_cast<int>(table)];
    if (cached.valid && cached.bytes.size() == bytes.size() &&
        std::memcmp(cached.bytes.data(), bytes.data(), bytes.size()) == 0) {
      return &cached.info;
    }
    auto info = parseSchema(bytes, table);
    if (!info) return std::unexpected(info.error());
    cached.valid = true;
    cached.bytes.assign(bytes);
    cached.info = *info;
    return &cached.info;
  }

  FieldResult readMoney(value& v, std::string_view field, const ColumnType& type, Money& out) {
    json_type jt;
    if (auto e = v.type().get(jt)) return failure(e, field);
    switch (jt) {
      case json_type::null:
        return false;
      case json_type::string: {
        std::string_view s;
        if (auto e = v.get_string().get(s)) return failure(e, field, "a decimal");
        bool base64 = false;
        switch (type.kind) {
          case ColumnKind::DecimalBytes: base64 = true; break;
          case ColumnKind::String:
          case ColumnKind::Double: base64 = false; break;
          case ColumnKind::Unknown:
            base64 = options.schemalessDecimals == SchemalessDecimals::Precise ||
                     (options.schemalessDecimals == SchemalessDecimals::Auto && s.find('.') == std::string_view::npos);
            break;
          default:
            return failure(DecodeErrc::WrongType, field, "a string where the schema says otherwise");
        }
        int32_t scale = type.kind == ColumnKind::DecimalBytes ? type.scale : options.defaultDecimalScale;
        auto m = base64 ? moneyFromBase64(s, scale, field) : moneyFromDecimal(parseDecimal(s), field);
        if (!m) return std::unexpected(m.error());
        out = *m;
        return true;
      }
      case json_type::number: {
        // `double` mode: read the literal's digits, never the binary double.
        std::string_view token = v.raw_json_token();
        auto m = moneyFromDecimal(parseDecimal(trimmed(token)), field);
        if (!m) return std::unexpected(m.error());
        out = *m;
        return true;
      }
      case json_type::object: {
        // io.debezium.data.VariableScaleDecimal: {"scale": 2, "value": "AfvP"}.
        object o;
        if (auto e = v.get_object().get(o)) return failure(e, field);
        int64_t scale = -1;
        std::string_view bytes;
        bool haveValue = false;
        for (auto member : o) {
          std::string_view k;
          if (auto e = member.unescaped_key().get(k)) return failure(e, field);
          if (k == "scale") {
            if (auto e = member.value().get_int64().get(scale)) return failure(e, std::string(field) + ".scale", "an integer");
          } else if (k == "value") {
            if (auto e = member.value().get_string().get(bytes)) return failure(e, std::string(field) + ".value", "a base64 string");
            haveValue = true;
          }
        }
        if (scale < 0) return failure(DecodeErrc::MissingField, std::string(field) + ".scale");
        if (!haveValue) return failure(DecodeErrc::MissingField, std::string(field) + ".value");
        if (scale > 38) return failure(DecodeErrc::NumberOutOfRange, std::string(field) + ".scale");
        auto m = moneyFromBase64(bytes, static_cast<int32_t>(scale), field);
        if (!m) return std::unexpected(m.error());
        out = *m;
        return true;
      }
      default:
        return failure(DecodeErrc::WrongType, field, "expected a decimal");
    }
  }

  FieldResult readTimestamp(value& v, std::string_view field, const ColumnType& type, Timestamp& out) {
    json_type jt;
    if (auto e = v.type().get(jt)) return failure(e, field);
    if (jt == json_type::null) return false;
    if (jt == json_type::string) {
      std::string_view s;
      if (auto e = v.get_string().get(s)) return failure(e, field);
      auto t = parseIsoTimestamp(s);
      if (!t) return failure(DecodeErrc::BadTimestamp, field, "'" + std::string(s.substr(0, 40)) + "' is not ISO-8601");
      out = *t;
      return true;
    }
    int64_t n = 0;
    if (auto e = v.get_int64().get(n)) return failure(e, field, "a timestamp");
    ColumnKind kind = type.kind;
    if (kind == ColumnKind::Unknown || kind == ColumnKind::Integer) {
      switch (options.schemalessTimestamps) {
        case SchemalessTimestamps::Micro: kind = ColumnKind::MicroTimestamp; break;
        case SchemalessTimestamps::Milli: kind = ColumnKind::MilliTimestamp; break;
        case SchemalessTimestamps::Nano: kind = ColumnKind::NanoTimestamp; break;
        case SchemalessTimestamps::Auto: {
          int64_t mag = n < 0 ? -n : n;
          kind = mag >= 100'000'000'000'000'000LL ? ColumnKind::NanoTimestamp
                 : mag >= 100'000'000'000'000LL   ? ColumnKind::MicroTimestamp
                 : mag >= 100'000'000'000LL       ? ColumnKind::MilliTimestamp
                                                  : ColumnKind::Unknown;  // seconds
          break;
        }
      }
    }
    constexpr int64_t kMaxMillis = INT64_MAX / 1000;
    constexpr int64_t kMaxSeconds = INT64_MAX / 1'000'000;
    constexpr int64_t kMaxDays = INT64_MAX / 86'400'000'000LL;
    switch (kind) {
      case ColumnKind::MicroTimestamp: out = Timestamp{n}; break;
      case ColumnKind::NanoTimestamp: out = Timestamp::fromNanos(n); break;
      case ColumnKind::MilliTimestamp:
        if (n > kMaxMillis || n < -kMaxMillis) return failure(DecodeErrc::NumberOutOfRange, field);
        out = Timestamp::fromMillis(n);
        break;
      case ColumnKind::Date:
        if (n > kMaxDays || n < -kMaxDays) return failure(DecodeErrc::NumberOutOfRange, field);
        out = Timestamp::fromDays(n);
        break;
      case ColumnKind::Unknown:
        if (n > kMaxSeconds || n < -kMaxSeconds) return failure(DecodeErrc::NumberOutOfRange, field);
        out = Timestamp{n * 1'000'000};
        break;
      default:
        return failure(DecodeErrc::WrongType, field, "a number where the schema says otherwise");
    }
    return true;
  }

  // Decodes column `idx` of the row into its typed field.
  std::expected<void, DecodeError> setColumn(ProductRow& row, int idx, value& v, std::string_view name,
                                             const ColumnType& t) {
    FieldResult r;
    switch (static_cast<ProductColumn>(idx)) {
      case ProductColumn::Id: r = readInt64(v, name, row.id.value); break;
      case ProductColumn::Name: r = readString(v, name, row.name); break;
      case ProductColumn::Description: r = readString(v, name, row.description); break;
      case ProductColumn::Price: r = readMoney(v, name, t, row.price); break;
      case ProductColumn::StockQuantity: r = readInt32(v, name, row.stockQuantity); break;
      case ProductColumn::CreatedAt: r = readTimestamp(v, name, t, row.createdAt); break;
      case ProductColumn::UpdatedAt: r = readTimestamp(v, name, t, row.updatedAt); break;
      default: return {};
    }
    if (!r) return std::unexpected(r.error());
    if (*r) row.set(static_cast<ProductColumn>(idx));
    return {};
  }

  std::expected<void, DecodeError> setColumn(OrderRow& row, int idx, value& v, std::string_view name,
                                             const ColumnType& t) {
    FieldResult r;
    switch (static_cast<OrderColumn>(idx)) {
      case OrderColumn::Id: r = readInt64(v, name, row.id.value); break;
      case OrderColumn::CustomerId: r = readInt64(v, name, row.customerId.value); break;
      case OrderColumn::TotalAmount: r = readMoney(v, name, t, row.totalAmount); break;
      case OrderColumn::Status: r = readString(v, name, row.status); break;
      case OrderColumn::CreatedAt: r = readTimestamp(v, name, t, row.createdAt); break;
      case OrderColumn::UpdatedAt: r = readTimestamp(v, name, t, row.updatedAt); break;
      default: return {};
    }
    if (!r) return std::unexpected(r.error());
    if (*r) row.set(static_cast<OrderColumn>(idx));
    return {};
  }

  std::expected<void, DecodeError> setColumn(OrderItemRow& row, int idx, value& v, std::string_view name,
                                             const ColumnType& t) {
    FieldResult r;
    switch (static_cast<OrderItemColumn>(idx)) {
      case OrderItemColumn::Id: r = readInt64(v, name, row.id.value); break;
      case OrderItemColumn::OrderId: r = readInt64(v, name, row.orderId.value); break;
      case OrderItemColumn::ProductId: r = readInt64(v, name, row.productId.value); break;
      case OrderItemColumn::Quantity: r = readInt32(v, name, row.quantity); break;
      case OrderItemColumn::Price: r = readMoney(v, name, t, row.price); break;
      case OrderItemColumn::CreatedAt: r = readTimestamp(v, name, t, row.createdAt); break;
      default: return {};
    }
    if (!r) return std::unexpected(r.error());
    if (*r) row.set(static_cast<OrderItemColumn>(idx));
    return {};
  }

  // A column of `row` by name; unknown and unwanted columns are skipped.
  std::expected<void, DecodeError> column(Row& row, State& st, std::string_view name, value& v) {
    int idx = columnIndex(st.table, name);
    if (idx < 0) return {};
    ColumnMask b = ColumnMask{1} << idx;
    return std::visit([&](auto& r) -> std::expected<void, DecodeError> {
      r.seen |= b;
      if (idx != 0 && (st.wanted & b) == 0) return {};
      return setColumn(r, idx, v, name, st.schema->columns[idx]);
    }, row);
  }

  // A row must carry its id and every column the service reads (null or not): a JSON object
  // that is not a row of the table (`{"foo":"bar"}`) would otherwise replace the stored row
  // with one whose columns are all missing.
  static std::expected<void, DecodeError> requireColumns(const Row& row, Table table, ColumnMask wanted,
                                                         std::string_view field) {
    auto names = columnNames(table);
    ColumnMask all = (ColumnMask{1} << names.size()) - 1;
    ColumnMask seen = std::visit([](const auto& r) { return r.seen; }, row);
    ColumnMask missing = (wanted | 1) & all & ~seen;
    if (missing == 0) return {};
    std::string column(names[static_cast<size_t>(std::countr_zero(missing))]);
    return failure(DecodeErrc::MissingField, field.empty() ? column : std::string(field) + "." + column,
                   std::string("the message is not a ") + tableName(table) + " row");
  }

  static Row emptyRow(Table table) {
    switch (table) {
      case Table::Products: return ProductRow{};
      case Table::Orders: return OrderRow{};
      case Table::OrderItems: return OrderItemRow{};
    }
    return ProductRow{};
  }

  // A delete without a row (a Kafka null value, or `payload: null` with schemas on): the key
  // names the row, the services act on it from their own keyed state.
  std::expected<DecodeStatus, DecodeError> tombstone(std::optional<std::string_view> key, ChangeEvent& out) {
    if (!key) return failure(DecodeErrc::MissingField, "key", "a tombstone (a delete without a row) needs its key");
    auto id = parseKeyId(keyParser, *key);
    if (!id) return std::unexpected(id.error());
    out.op = Op::Delete;
    out.tombstone = true;
    out.before = emptyRow(out.table);
    std::visit([&](auto& r) {
      r.id.value = *id;
      r.set(std::decay_t<decltype(r)>::Column::Id);
      r.seen |= bit(std::decay_t<decltype(r)>::Column::Id);
    }, *out.before);
    return DecodeStatus::Tombstone;
  }

  std::expected<void, DecodeError> rowObject(value& v, std::string_view name, State& st, std::optional<Row>& out) {
    auto present = isNull(v, name);
    if (!present) return std::unexpected(present.error());
    if (!*present) {
      out.reset();
      return {};
    }
    object o;
    if (auto e = v.get_object().get(o)) return failure(e, name, "an object");
    out = emptyRow(st.table);
    for (auto member : o) {
      simdjson::ondemand::field f;
      if (auto e = std::move(member).get(f)) return failure(e, name);
      std::string_view k = rawKey(f);
      value cv = f.value();
      if (auto r = column(*out, st, k, cv); !r) return r;
    }
    return {};
  }

  std::expected<void, DecodeError> sourceObject(value& v, ChangeEvent& out) {
    auto present = isNull(v, "source");
    if (!present) return std::unexpected(present.error());
    if (!*present) return {};
    object o;
    if (auto e = v.get_object().get(o)) return failure(e, "source", "an object");
    for (auto member : o) {
      simdjson::ondemand::field f;
      if (auto e = std::move(member).get(f)) return failure(e, "source");
      std::string_view k = rawKey(f);
      value sv = f.value();
      if (auto r = sourceField(k, sv, out); !r) return r;
    }
    return {};
  }

  // A field of the `source` block (or its flattened `__source_*` copy).
  std::expected<void, DecodeError> sourceField(std::string_view k, value& v, ChangeEvent& out) {
    if (k == "ts_ms") {
      auto r = readInt64(v, "source.ts_ms", out.source.tsMs);
      if (!r) return std::unexpected(r.error());
    } else if (k == "lsn") {
      int64_t lsn = 0;
      auto r = readInt64(v, "source.lsn", lsn);
      if (!r) return std::unexpected(r.error());
      if (*r) out.source.lsn = lsn;
    } else if (k == "txId") {
      int64_t tx = 0;
      auto r = readInt64(v, "source.txId", tx);
      if (!r) return std::unexpected(r.error());
      if (*r) out.source.txId = tx;
    } else if (k == "snapshot") {
      // "true", "first", "last", "incremental", "false" (older versions: a boolean).
      json_type jt;
      if (auto e = v.type().get(jt)) return failure(e, "source.snapshot");
      if (jt == json_type::boolean) {
        bool b = false;
        if (auto e = v.get_bool().get(b)) return failure(e, "source.snapshot");
        out.source.snapshot = b;
      } else if (jt == json_type::string) {
        std::string_view s;
        if (auto e = v.get_string().get(s)) return failure(e, "source.snapshot");
        out.source.snapshot = s != "false";
      }
    }
    return {};
  }

  std::expected<void, DecodeError> opField(value& v, std::string_view name, State& st) {
    std::string_view s;
    if (auto e = v.get_string().get(s)) return failure(e, name, "a string");
    auto op = opFromCode(s);
    if (!op) return failure(DecodeErrc::UnknownOp, name, "'" + std::string(s.substr(0, 16)) + "'");
    st.op = op;
    return {};
  }

  // One field of a payload: envelope blocks, flattened metadata, or a flattened column.
  std::expected<void, DecodeError> payloadField(std::string_view k, value& v, State& st, ChangeEvent& out) {
    if (k.size() > 2 && k[0] == '_' && k[1] == '_') {
      std::string_view meta = k.substr(2);
      if (meta == "op") return opField(v, k, st);
      if (meta == "deleted") {
        json_type jt;
        if (auto e = v.type().get(jt)) return failure(e, k);
        if (jt == json_type::boolean) {
          if (auto e = v.get_bool().get(st.deleted)) return failure(e, k);
        } else if (jt == json_type::string) {
          std::string_view s;
          if (auto e = v.get_string().get(s)) return failure(e, k);
          st.deleted = s == "true";
        } else if (jt != json_type::null) {
          return failure(DecodeErrc::WrongType, k, "expected \"true\" or \"false\"");
        }
        return {};
      }
      if (meta.starts_with("source_")) return sourceField(meta.substr(7), v, out);
      if (meta == "lsn" || meta == "ts_ms") return sourceField(meta, v, out);
      return {};
    }
    if (k == "after") {
      st.envelope = true;
      return rowObject(v, k, st, out.after);
    }
    if (k == "before") {
      st.envelope = true;
      return rowObject(v, k, st, out.before);
    }
    if (k == "op") {
      st.envelope = true;
      return opField(v, k, st);
    }
    if (k == "source") {
      st.envelope = true;
      return sourceObject(v, out);
    }
    if (k == "ts_ms") {
      auto r = readInt64(v, k, out.tsMs);
      if (!r) return std::unexpected(r.error());
      return {};
    }
    if (k == "transaction" || k == "ts_us" || k == "ts_ns") return {};
    st.sawColumn = true;
    return column(st.flatRow, st, k, v);
  }

  std::expected<void, DecodeError> payloadObject(value& v, State& st, ChangeEvent& out) {
    object o;
    if (auto e = v.get_object().get(o)) return failure(e, "payload", "an object");
    for (auto member : o) {
      simdjson::ondemand::field f;
      if (auto e = std::move(member).get(f)) return failure(e, "payload");
      std::string_view k = rawKey(f);
      value fv = f.value();
      if (auto r = payloadField(k, fv, st, out); !r) return r;
    }
    return {};
  }

  // Fills in op, rows and shape once every field has been seen, and checks the shape's rules.
  std::expected<DecodeStatus, DecodeError> finish(State& st, std::optional<std::string_view> key, ChangeEvent& out);
};

std::expected<DecodeStatus, DecodeError> Decoder::Impl::finish(State& st, std::optional<std::string_view> key,
                                                               ChangeEvent& out) {
  if (st.envelope) {
    out.shape = Shape::Envelope;
    if (!st.op) return failure(DecodeErrc::MissingField, "op");
    out.op = *st.op;
    switch (out.op) {
      case Op::Create:
      case Op::Read:
      case Op::Update:
        if (!out.after) return failure(DecodeErrc::MissingField, "after", "required for op " + std::string(1, opCode(out.op)));
        if (auto r = requireColumns(*out.after, st.table, st.wanted, "after"); !r) return std::unexpected(r.error());
        break;
      case Op::Delete:
        // A delete's new row is null: one that carries a row is not a Debezium delete.
        if (out.after) return failure(DecodeErrc::WrongType, "after", "a delete (op d) has a null after");
        if (!out.before) {
          // Without a before image (replica identity NOTHING) the key still names the row.
          if (!key) return failure(DecodeErrc::MissingField, "before", "a delete needs the old row or a key");
          out.before = emptyRow(st.table);
        }
        break;
      case Op::Truncate:
        return DecodeStatus::Event;
    }
  } else {
    out.shape = Shape::Flattened;
    if (!st.sawColumn) return failure(DecodeErrc::MissingField, "payload", "no columns and no envelope fields");
    if (st.deleted) {
      out.op = Op::Delete;
    } else if (st.op) {
      out.op = *st.op;
    } else {
      out.op = Op::Update;  // without `__op` a flattened record is an upsert of the row
    }
    // A rewritten delete carries the old row, which with the default replica identity holds
    // only its key columns: it needs its id, not the service's columns.
    if (out.op == Op::Delete) {
      if (auto r = requireColumns(st.flatRow, st.table, 0, ""); !r) return std::unexpected(r.error());
      out.before = std::move(st.flatRow);
    } else {
      if (auto r = requireColumns(st.flatRow, st.table, st.wanted, ""); !r) return std::unexpected(r.error());
      out.after = std::move(st.flatRow);
    }
  }
  if (out.op == Op::Read) out.source.snapshot = true;
  // The id comes from the row; a key-only delete takes it from the key.
  std::optional<Row>& row = out.after ? out.after : out.before;
  bool hasId = std::visit([](const auto& r) { return r.has(std::decay_t<decltype(r)>::Column::Id); }, *row);
  if (!hasId) {
    if (!key) return failure(DecodeErrc::MissingField, "id", "neither the row nor a key has it");
    auto decoded = parseKeyId(keyParser, *key);
    if (!decoded) return std::unexpected(decoded.error());
    std::visit([&](auto& r) {
      r.id.value = *decoded;
      r.set(std::decay_t<decltype(r)>::Column::Id);
    }, *row);
  }
  return DecodeStatus::Event;
}

Decoder::Decoder(DecoderOptions options) : impl_(std::make_unique<Impl>(options)) {}
Decoder::~Decoder() = default;

std::expected<int64_t, DecodeError> Decoder::decodeKey(std::string_view key) {
  return parseKeyId(impl_->keyParser, key);
}

std::expected<DecodeStatus, DecodeError> Decoder::decode(std::string_view topic, std::optional<std::string_view> key,
                                                          std::optional<std::string_view> value, ChangeEvent& out,
                                                          size_t valueCapacity) {
  Impl& im = *impl_;
  if (topic != im.lastTopic) {
    im.lastTopic.assign(topic);
    im.lastTable = tableFromTopic(topic);
  }
  auto table = im.lastTable;
  if (!table) return failure(DecodeErrc::UnknownTable, "topic", "'" + std::string(topic) + "' is not products, orders or order_items");
  out = ChangeEvent{};
  out.table = *table;
  if (!value) return im.tombstone(key, out);

  // Parse in place when the caller's buffer has simdjson's padding, else from a padded copy.
  const char* data = value->data();
  size_t capacity = valueCapacity;
  if (capacity < value->size() + simdjson::SIMDJSON_PADDING) {
    im.buffer.assign(*value);
    im.buffer.resize(value->size() + simdjson::SIMDJSON_PADDING);
    data = im.buffer.data();
    capacity = im.buffer.size();
  }
  simdjson::ondemand::document doc;
  if (auto e = im.parser.iterate(data, value->size(), capacity).get(doc)) return failure(e, "value");
  json_type rootType;
  if (auto e = doc.type().get(rootType)) return failure(e, "value");
  if (rootType == json_type::null) {
    // The type is read off the first byte: only the literal null (a JSON null value) is one.
    bool isNull = false;
    if (auto e = doc.is_null().get(isNull); e || !isNull) return failure(DecodeErrc::InvalidJson, "value", "not JSON");
    if (doc.current_location().error() == simdjson::SUCCESS) return failure(DecodeErrc::InvalidJson, "value", "trailing content after null");
    return im.tombstone(key, out);
  }
  if (rootType != json_type::object) return failure(DecodeErrc::WrongType, "value", "expected a JSON object");

  Impl::State st;
  st.table = *table;
  st.wanted = im.options.wanted[static_cast<int>(*table)];
  st.schema = &im.noSchema;
  st.flatRow = Impl::emptyRow(*table);

  object root;
  if (auto e = doc.get_object().get(root)) return failure(e, "value", "an object");
  bool wrapped = false;
  bool payloadNull = false;
  for (auto member : root) {
    simdjson::ondemand::field f;
    if (auto e = std::move(member).get(f)) return failure(e, "value");
    std::string_view k = rawKey(f);
    simdjson::ondemand::value v = f.value();
    if (k == "schema" && !st.sawColumn && !st.envelope) {
      wrapped = true;
      auto present = isNull(v, "schema");
      if (!present) return std::unexpected(present.error());
      if (!*present) continue;
      object schemaObject;
      if (auto e = v.get_object().get(schemaObject)) return failure(e, "schema", "an object");
      std::string_view bytes;
      if (auto e = schemaObject.raw_json().get(bytes)) return failure(e, "schema");
      auto schema = im.schemaFor(*table, bytes);
      if (!schema) return std::unexpected(schema.error());
      st.schema = *schema;
      out.hadSchema = true;
    } else if (k == "payload" && (wrapped || (!st.sawColumn && !st.envelope))) {
      wrapped = true;
      auto present = isNull(v, "payload");
      if (!present) return std::unexpected(present.error());
      if (!*present) {
        payloadNull = true;
        continue;
      }
      if (auto r = im.payloadObject(v, st, out); !r) return std::unexpected(r.error());
    } else {
      if (auto r = im.payloadField(k, v, st, out); !r) return std::unexpected(r.error());
    }
  }
  if (doc.current_location().error() == simdjson::SUCCESS) return failure(DecodeErrc::InvalidJson, "value", "trailing content after the JSON object");
  if (payloadNull) return im.tombstone(key, out);
  return im.finish(st, key, out);
}

}  // namespace cdc::debezium
