#include "debezium/decoder.h"

#include <bit>
#include <cstring>

#include <simdjson.h>

#include "debezium/assembly.h"
#include "debezium/avro_decoder.h"
#include "debezium/field_reader.h"
#include "debezium/schema.h"

namespace cdc::debezium {
namespace {

// The decoder is made of the field readers (field_reader.h).
using namespace fields;

}  // namespace

static_assert(kDecoderPadding >= simdjson::SIMDJSON_PADDING);

struct Decoder::Impl {
  explicit Impl(DecoderOptions o) : options(o) {}

  struct CachedSchema {
    bool valid = false;
    std::string bytes;
    SchemaInfo info;
  };

  // Per-message decoding state: what the message said, and its embedded schema.
  struct State : Assembly {
    const SchemaInfo* schema = nullptr;
  };

  DecoderOptions options;
  simdjson::ondemand::parser parser;
  simdjson::ondemand::parser keyParser;
  std::string buffer;
  std::string lastTopic;
  std::optional<Table> lastTable;
  std::array<CachedSchema, kTableCount> schemas;
  SchemaInfo noSchema;
  std::unique_ptr<AvroDecoder> avro;  // with a schema registry

  // The `id` of a key: JSON ({"id":1}, with or without schema) or Avro in the wire format.
  std::expected<int64_t, DecodeError> keyId(std::string_view key) {
    if (avro::wireSchemaId(key)) {
      if (!avro) return failure(DecodeErrc::UnknownSchema, "key", "an Avro key, but no schema registry is configured");
      return avro->decodeKey(key);
    }
    return parseKeyId(keyParser, key);
  }

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

  // Decodes column `idx` of the row into its typed field.
  std::expected<void, DecodeError> setColumn(ProductRow& row, int idx, value& v, std::string_view name, const ColumnType& t) {
    FieldResult r;
    switch (static_cast<ProductColumn>(idx)) {
      case ProductColumn::Id:
        r = readInt64(v, name, row.id.value);
        break;
      case ProductColumn::Name:
        r = readString(v, name, row.name);
        break;
      case ProductColumn::Description:
        r = readString(v, name, row.description);
        break;
      case ProductColumn::Price:
        r = readMoney(options, v, name, t, row.price);
        break;
      case ProductColumn::StockQuantity:
        r = readInt32(v, name, row.stockQuantity);
        break;
      case ProductColumn::CreatedAt:
        r = readTimestamp(options, v, name, t, row.createdAt);
        break;
      case ProductColumn::UpdatedAt:
        r = readTimestamp(options, v, name, t, row.updatedAt);
        break;
      default:
        return {};
    }
    if (!r) return std::unexpected(r.error());
    if (*r) row.set(static_cast<ProductColumn>(idx));
    return {};
  }

  std::expected<void, DecodeError> setColumn(OrderRow& row, int idx, value& v, std::string_view name, const ColumnType& t) {
    FieldResult r;
    switch (static_cast<OrderColumn>(idx)) {
      case OrderColumn::Id:
        r = readInt64(v, name, row.id.value);
        break;
      case OrderColumn::CustomerId:
        r = readInt64(v, name, row.customerId.value);
        break;
      case OrderColumn::TotalAmount:
        r = readMoney(options, v, name, t, row.totalAmount);
        break;
      case OrderColumn::Status:
        r = readString(v, name, row.status);
        break;
      case OrderColumn::CreatedAt:
        r = readTimestamp(options, v, name, t, row.createdAt);
        break;
      case OrderColumn::UpdatedAt:
        r = readTimestamp(options, v, name, t, row.updatedAt);
        break;
      default:
        return {};
    }
    if (!r) return std::unexpected(r.error());
    if (*r) row.set(static_cast<OrderColumn>(idx));
    return {};
  }

  std::expected<void, DecodeError> setColumn(OrderItemRow& row, int idx, value& v, std::string_view name, const ColumnType& t) {
    FieldResult r;
    switch (static_cast<OrderItemColumn>(idx)) {
      case OrderItemColumn::Id:
        r = readInt64(v, name, row.id.value);
        break;
      case OrderItemColumn::OrderId:
        r = readInt64(v, name, row.orderId.value);
        break;
      case OrderItemColumn::ProductId:
        r = readInt64(v, name, row.productId.value);
        break;
      case OrderItemColumn::Quantity:
        r = readInt32(v, name, row.quantity);
        break;
      case OrderItemColumn::Price:
        r = readMoney(options, v, name, t, row.price);
        break;
      case OrderItemColumn::CreatedAt:
        r = readTimestamp(options, v, name, t, row.createdAt);
        break;
      default:
        return {};
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
    return std::visit(
        [&](auto& r) -> std::expected<void, DecodeError> {
          r.seen |= b;
          if (idx != 0 && (st.wanted & b) == 0) return {};
          return setColumn(r, idx, v, name, st.schema->columns[idx]);
        },
        row);
  }

  // A row must carry its id and every column the service reads (null or not): a JSON object
  // that is not a row of the table (`{"foo":"bar"}`) would otherwise replace the stored row
  // with one whose columns are all missing.
  static std::expected<void, DecodeError> requireColumns(const Row& row, Table table, ColumnMask wanted, std::string_view field) {
    auto names = columnNames(table);
    ColumnMask all = (ColumnMask{1} << names.size()) - 1;
    ColumnMask seen = std::visit([](const auto& r) { return r.seen; }, row);
    ColumnMask missing = (wanted | 1) & all & ~seen;
    if (missing == 0) return {};
    std::string column(names[static_cast<size_t>(std::countr_zero(missing))]);
    return failure(DecodeErrc::MissingField, field.empty() ? column : std::string(field) + "." + column,
                   std::string("the message is not a ") + tableName(table) + " row");
  }

  // A delete without a row (a Kafka null value, or `payload: null` with schemas on): the key
  // names the row, the services act on it from their own keyed state.
  std::expected<DecodeStatus, DecodeError> tombstone(std::optional<std::string_view> key, ChangeEvent& out) {
    if (!key) return failure(DecodeErrc::MissingField, "key", "a tombstone (a delete without a row) needs its key");
    auto id = keyId(*key);
    if (!id) return std::unexpected(id.error());
    out.op = Op::Delete;
    out.tombstone = true;
    out.before = emptyRow(out.table);
    std::visit(
        [&](auto& r) {
          r.id.value = *id;
          r.set(std::decay_t<decltype(r)>::Column::Id);
          r.seen |= bit(std::decay_t<decltype(r)>::Column::Id);
        },
        *out.before);
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
  std::expected<DecodeStatus, DecodeError> finish(Assembly& st, std::optional<std::string_view> key, ChangeEvent& out);
  // finish's steps: an envelope's op and rows (a delete's old row or key), a flattened record's
  // op and row, the row's id (from the key when the row lacks it: a key-only delete).
  std::expected<void, DecodeError> finishEnvelope(Assembly& st, std::optional<std::string_view> key, ChangeEvent& out);
  std::expected<void, DecodeError> finishFlattened(Assembly& st, ChangeEvent& out);
  std::expected<void, DecodeError> fillId(std::optional<std::string_view> key, ChangeEvent& out);

  // An Avro record in the Confluent wire format (schema `id`).
  std::expected<DecodeStatus, DecodeError> decodeAvro(Table table, int32_t id, std::optional<std::string_view> key,
                                                      std::string_view value, ChangeEvent& out);
  // A JSON value's document, parsed in place when the caller's buffer has simdjson's padding,
  // else from a padded copy.
  simdjson::error_code parse(std::string_view value, size_t capacity, simdjson::ondemand::document& doc);
  // One member of the JSON value's root object: the schema, the payload, or (flattened, or an
  // envelope without schema) one of the payload's own fields.
  std::expected<void, DecodeError> rootMember(std::string_view k, simdjson::ondemand::value v, State& st, ChangeEvent& out,
                                              bool& wrapped, bool& payloadNull);
};

std::expected<void, DecodeError> Decoder::Impl::finishEnvelope(Assembly& st, std::optional<std::string_view> key,
                                                               ChangeEvent& out) {
  if (!st.op) return failure(DecodeErrc::MissingField, "op");
  out.op = *st.op;
  switch (out.op) {
    case Op::Create:
    case Op::Read:
    case Op::Update:
      if (!out.after) return failure(DecodeErrc::MissingField, "after", "required for op " + std::string(1, opCode(out.op)));
      return requireColumns(*out.after, st.table, st.wanted, "after");
    case Op::Delete:
      // A delete's new row is null: one that carries a row is not a Debezium delete.
      if (out.after) return failure(DecodeErrc::WrongType, "after", "a delete (op d) has a null after");
      if (!out.before) {
        // Without a before image (replica identity NOTHING) the key still names the row.
        if (!key) return failure(DecodeErrc::MissingField, "before", "a delete needs the old row or a key");
        out.before = emptyRow(st.table);
      }
      return {};
    case Op::Truncate:
      return {};
  }
  return {};
}

std::expected<void, DecodeError> Decoder::Impl::finishFlattened(Assembly& st, ChangeEvent& out) {
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
    if (auto r = requireColumns(st.flatRow, st.table, 0, ""); !r) return r;
    out.before = std::move(st.flatRow);
  } else {
    if (auto r = requireColumns(st.flatRow, st.table, st.wanted, ""); !r) return r;
    out.after = std::move(st.flatRow);
  }
  return {};
}

std::expected<void, DecodeError> Decoder::Impl::fillId(std::optional<std::string_view> key, ChangeEvent& out) {
  std::optional<Row>& row = out.after ? out.after : out.before;
  bool hasId = std::visit([](const auto& r) { return r.has(std::decay_t<decltype(r)>::Column::Id); }, *row);
  if (hasId) return {};
  if (!key) return failure(DecodeErrc::MissingField, "id", "neither the row nor a key has it");
  auto decoded = keyId(*key);
  if (!decoded) return std::unexpected(decoded.error());
  std::visit(
      [&](auto& r) {
        r.id.value = *decoded;
        r.set(std::decay_t<decltype(r)>::Column::Id);
      },
      *row);
  return {};
}

std::expected<DecodeStatus, DecodeError> Decoder::Impl::finish(Assembly& st, std::optional<std::string_view> key,
                                                               ChangeEvent& out) {
  if (st.envelope) {
    out.shape = Shape::Envelope;
    if (auto r = finishEnvelope(st, key, out); !r) return std::unexpected(r.error());
    if (out.op == Op::Truncate) return DecodeStatus::Event;
  } else {
    out.shape = Shape::Flattened;
    if (auto r = finishFlattened(st, out); !r) return std::unexpected(r.error());
  }
  if (out.op == Op::Read) out.source.snapshot = true;
  if (auto r = fillId(key, out); !r) return std::unexpected(r.error());
  return DecodeStatus::Event;
}

std::expected<DecodeStatus, DecodeError> Decoder::Impl::decodeAvro(Table table, int32_t id, std::optional<std::string_view> key,
                                                                   std::string_view value, ChangeEvent& out) {
  if (!avro) {
    return failure(DecodeErrc::UnknownSchema, "value",
                   "an Avro record (schema id " + std::to_string(id) + "), but no schema registry is configured");
  }
  Assembly st;
  st.table = table;
  st.wanted = options.wanted[static_cast<int>(table)];
  st.flatRow = emptyRow(table);
  if (auto r = avro->read(table, value, st, out); !r) return std::unexpected(r.error());
  return finish(st, key, out);
}

simdjson::error_code Decoder::Impl::parse(std::string_view value, size_t capacity, simdjson::ondemand::document& doc) {
  const char* data = value.data();
  if (capacity < value.size() + simdjson::SIMDJSON_PADDING) {
    buffer.assign(value);
    buffer.resize(value.size() + simdjson::SIMDJSON_PADDING);
    data = buffer.data();
    capacity = buffer.size();
  }
  return parser.iterate(data, value.size(), capacity).get(doc);
}

std::expected<void, DecodeError> Decoder::Impl::rootMember(std::string_view k, simdjson::ondemand::value v, State& st,
                                                           ChangeEvent& out, bool& wrapped, bool& payloadNull) {
  if (k == "schema" && !st.sawColumn && !st.envelope) {
    wrapped = true;
    auto present = isNull(v, "schema");
    if (!present) return std::unexpected(present.error());
    if (!*present) return {};
    object schemaObject;
    if (auto e = v.get_object().get(schemaObject)) return failure(e, "schema", "an object");
    std::string_view bytes;
    if (auto e = schemaObject.raw_json().get(bytes)) return failure(e, "schema");
    auto schema = schemaFor(st.table, bytes);
    if (!schema) return std::unexpected(schema.error());
    st.schema = *schema;
    out.hadSchema = true;
    return {};
  }
  if (k == "payload" && (wrapped || (!st.sawColumn && !st.envelope))) {
    wrapped = true;
    auto present = isNull(v, "payload");
    if (!present) return std::unexpected(present.error());
    if (!*present) {
      payloadNull = true;
      return {};
    }
    if (auto r = payloadObject(v, st, out); !r) return std::unexpected(r.error());
    return {};
  }
  if (auto r = payloadField(k, v, st, out); !r) return std::unexpected(r.error());
  return {};
}

Decoder::Decoder(DecoderOptions options) : impl_(std::make_unique<Impl>(options)) {}
Decoder::~Decoder() = default;

std::expected<int64_t, DecodeError> Decoder::decodeKey(std::string_view key) { return impl_->keyId(key); }

void Decoder::useSchemas(SchemaCache* schemas) {
  impl_->avro = schemas ? std::make_unique<AvroDecoder>(impl_->options, *schemas) : nullptr;
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
  if (!table)
    return failure(DecodeErrc::UnknownTable, "topic", "'" + std::string(topic) + "' is not products, orders or order_items");
  out = ChangeEvent{};
  out.table = *table;
  if (!value) return im.tombstone(key, out);
  // Avro in the Confluent wire format: a zero byte and a schema id (JSON never starts so).
  if (auto id = avro::wireSchemaId(*value)) return im.decodeAvro(*table, *id, key, *value, out);

  simdjson::ondemand::document doc;
  if (auto e = im.parse(*value, valueCapacity, doc)) return failure(e, "value");
  json_type rootType;
  if (auto e = doc.type().get(rootType)) return failure(e, "value");
  if (rootType == json_type::null) {
    // The type is read off the first byte: only the literal null (a JSON null value) is one.
    bool isNull = false;
    if (auto e = doc.is_null().get(isNull); e || !isNull) return failure(DecodeErrc::InvalidJson, "value", "not JSON");
    if (doc.current_location().error() == simdjson::SUCCESS)
      return failure(DecodeErrc::InvalidJson, "value", "trailing content after null");
    return im.tombstone(key, out);
  }
  if (rootType != json_type::object) return failure(DecodeErrc::WrongType, "value", "expected a JSON object");

  Impl::State st;
  st.table = *table;
  st.wanted = im.options.wanted[static_cast<int>(*table)];
  st.schema = &im.noSchema;
  st.flatRow = emptyRow(*table);

  object root;
  if (auto e = doc.get_object().get(root)) return failure(e, "value", "an object");
  bool wrapped = false;
  bool payloadNull = false;
  for (auto member : root) {
    simdjson::ondemand::field f;
    if (auto e = std::move(member).get(f)) return failure(e, "value");
    if (auto r = im.rootMember(rawKey(f), f.value(), st, out, wrapped, payloadNull); !r) return std::unexpected(r.error());
  }
  if (doc.current_location().error() == simdjson::SUCCESS)
    return failure(DecodeErrc::InvalidJson, "value", "trailing content after the JSON object");
  if (payloadNull) return im.tombstone(key, out);
  return im.finish(st, key, out);
}

}  // namespace cdc::debezium
