#include "debezium/avro_decoder.h"

#include <charconv>
#include <vector>

#include <simdjson.h>

#include "debezium/assembly.h"
#include "debezium/field_reader.h"
#include "debezium/schema.h"

namespace cdc::debezium {

using avro::Node;
using avro::Reader;
using avro::Schema;
using avro::Type;
using fields::failure;
using fields::moneyFromDecimal;

namespace {

// What a column holds in our rows.
enum class Target : uint8_t { Int64, Int32, String, Money, Timestamp };

// How a writer's value becomes the column's.
enum class Conv : uint8_t {
  Integer,        // int or long
  String,         // string (valid UTF-8)
  DecimalBytes,   // Connect's Decimal: two's complement bytes (or fixed) at the schema's scale
  VariableScale,  // Debezium's VariableScaleDecimal: a record {scale, value}
  DecimalText,    // decimal.handling.mode=string
  DecimalDouble,  // decimal.handling.mode=double (its shortest exact text)
  Micros,
  Millis,
  Nanos,
  Days,
  Zoned,  // ISO-8601 text
};

// What a field of a record is to us.
enum class Role : uint8_t { Skip, Column, Op, Deleted, SourceTs, Lsn, TxId, TsMs, Snapshot, Before, After, Source };

struct FieldPlan {
  Role role = Role::Skip;
  int32_t node = 0;         // the writer's node of the field
  int32_t valueNode = 0;    // the node of its value (the non-null branch of a nullable union)
  int32_t nullBranch = -1;  // the union's null branch, -1 when the field is not nullable
  int8_t column = -1;       // the column (Column; Skip: one the service does not read), or -1
  Target target = Target::Int64;
  Conv conv = Conv::Integer;
  int32_t scale = 0;
  int32_t nested = -1;  // Before/After/Source: the record plan
  std::string_view name;
};

struct RecordPlan {
  std::vector<FieldPlan> fields;
  ColumnMask columns = 0;  // the columns the record has
};

// The member of `row` that holds column `idx`.
struct ColumnRef {
  int64_t* int64 = nullptr;
  int32_t* int32 = nullptr;
  std::string* string = nullptr;
  Money* money = nullptr;
  Timestamp* timestamp = nullptr;
};

ColumnRef refOf(ProductRow& r, int idx) {
  switch (static_cast<ProductColumn>(idx)) {
    case ProductColumn::Id:
      return {.int64 = &r.id.value};
    case ProductColumn::Name:
      return {.string = &r.name};
    case ProductColumn::Description:
      return {.string = &r.description};
    case ProductColumn::Price:
      return {.money = &r.price};
    case ProductColumn::StockQuantity:
      return {.int32 = &r.stockQuantity};
    case ProductColumn::CreatedAt:
      return {.timestamp = &r.createdAt};
    default:
      return {.timestamp = &r.updatedAt};
  }
}

ColumnRef refOf(OrderRow& r, int idx) {
  switch (static_cast<OrderColumn>(idx)) {
    case OrderColumn::Id:
      return {.int64 = &r.id.value};
    case OrderColumn::CustomerId:
      return {.int64 = &r.customerId.value};
    case OrderColumn::TotalAmount:
      return {.money = &r.totalAmount};
    case OrderColumn::Status:
      return {.string = &r.status};
    case OrderColumn::CreatedAt:
      return {.timestamp = &r.createdAt};
    default:
      return {.timestamp = &r.updatedAt};
  }
}

ColumnRef refOf(OrderItemRow& r, int idx) {
  switch (static_cast<OrderItemColumn>(idx)) {
    case OrderItemColumn::Id:
      return {.int64 = &r.id.value};
    case OrderItemColumn::OrderId:
      return {.int64 = &r.orderId.value};
    case OrderItemColumn::ProductId:
      return {.int64 = &r.productId.value};
    case OrderItemColumn::Quantity:
      return {.int32 = &r.quantity};
    case OrderItemColumn::Price:
      return {.money = &r.price};
    default:
      return {.timestamp = &r.createdAt};
  }
}

// What column `idx` of `table` holds: the type of the member refOf gives.
Target targetOf(Table table, int idx) {
  Row row = emptyRow(table);
  ColumnRef ref = std::visit([&](auto& r) { return refOf(r, idx); }, row);
  if (ref.int64) return Target::Int64;
  if (ref.int32) return Target::Int32;
  if (ref.string) return Target::String;
  if (ref.money) return Target::Money;
  return Target::Timestamp;
}

bool isInteger(Type t) { return t == Type::Int || t == Type::Long; }

// How the writer's `node` can fill a column of `target`; nullopt when it cannot exactly.
std::optional<Conv> conversion(const Schema& schema, const Node& n, Target target) {
  const std::string& name = n.connectName;
  switch (target) {
    case Target::Int64:
    case Target::Int32:
      if (isInteger(n.type) && name.empty()) return Conv::Integer;
      return std::nullopt;
    case Target::String:
      if (n.type == Type::String) return Conv::String;
      return std::nullopt;
    case Target::Money:
      if ((n.type == Type::Bytes || n.type == Type::Fixed) &&
          (name == "org.apache.kafka.connect.data.Decimal" || n.logicalType == "decimal") && n.scale >= 0) {
        return Conv::DecimalBytes;
      }
      if (n.type == Type::Record && name == "io.debezium.data.VariableScaleDecimal") {
        const auto* scale = schema.field(n, "scale");
        const auto* value = schema.field(n, "value");
        if (scale && value && schema.node(scale->type).type == Type::Int && schema.node(value->type).type == Type::Bytes) {
          return Conv::VariableScale;
        }
        return std::nullopt;
      }
      if (n.type == Type::String) return Conv::DecimalText;
      if (n.type == Type::Double || n.type == Type::Float) return Conv::DecimalDouble;
      return std::nullopt;
    case Target::Timestamp:
      if (n.type == Type::Long) {
        if (name == "io.debezium.time.MicroTimestamp" || n.logicalType == "timestamp-micros") return Conv::Micros;
        if (name == "io.debezium.time.Timestamp" || name == "org.apache.kafka.connect.data.Timestamp" ||
            n.logicalType == "timestamp-millis") {
          return Conv::Millis;
        }
        if (name == "io.debezium.time.NanoTimestamp") return Conv::Nanos;
        return std::nullopt;
      }
      if (n.type == Type::Int &&
          (name == "io.debezium.time.Date" || name == "org.apache.kafka.connect.data.Date" || n.logicalType == "date")) {
        return Conv::Days;
      }
      if (n.type == Type::String && name == "io.debezium.time.ZonedTimestamp") return Conv::Zoned;
      return std::nullopt;
  }
  return std::nullopt;
}

const char* targetName(Target t) {
  switch (t) {
    case Target::Int64:
    case Target::Int32:
      return "an integer";
    case Target::String:
      return "a string";
    case Target::Money:
      return "a decimal";
    case Target::Timestamp:
      return "a timestamp";
  }
  return "?";
}

std::string describe(const Node& n) {
  std::string d = typeName(n.type);
  if (!n.connectName.empty()) d += " (" + n.connectName + ")";
  return d;
}

}  // namespace

struct AvroDecoder::Plan {
  int32_t id = 0;
  std::shared_ptr<const Schema> schema;
  std::optional<DecodeError> incompatible;  // every record of this schema fails with it
  bool envelope = false;
  std::vector<RecordPlan> records;  // [0] the top record
  Table table = Table::Products;
  int32_t keyField = -1;  // keys: the index of `id` in the top record
};

namespace {

// Compiles the plans of a value schema: which field is which column, and how to convert it.
class Compiler {
 public:
  Compiler(AvroDecoder::Plan& plan, Table table, ColumnMask wanted) : plan_(plan), table_(table), wanted_(wanted) {}

  void compile() {
    const Schema& s = *plan_.schema;
    const Node& root = s.root();
    if (root.type != Type::Record)
      return incompatible("value", "the schema is a " + std::string(typeName(root.type)) + ", not a record");
    const auto* after = s.field(root, "after");
    const auto* before = s.field(root, "before");
    plan_.envelope = s.field(root, "op") != nullptr && (after != nullptr || before != nullptr);
    plan_.records.emplace_back();
    if (plan_.envelope) {
      envelope(root);
    } else {
      row(0, root, "");
    }
  }

 private:
  AvroDecoder::Plan& plan_;
  Table table_;
  ColumnMask wanted_;
  int32_t rowPlan_ = -1;
  int32_t rowNode_ = -1;

  void incompatible(std::string field, std::string detail) {
    if (plan_.incompatible) return;
    plan_.incompatible = DecodeError{DecodeErrc::IncompatibleSchema, std::move(field),
                                     "schema " + std::to_string(plan_.id) + ": " + std::move(detail)};
  }

  // The field's value node, unwrapping a union with null; false for any other union.
  bool unwrap(FieldPlan& f) {
    const Schema& s = *plan_.schema;
    f.valueNode = f.node;
    const Node& n = s.node(f.node);
    if (n.type != Type::Union) return true;
    auto nullable = s.nullable(n);
    if (!nullable) return false;
    f.valueNode = nullable->node;
    f.nullBranch = 1 - nullable->branch;
    return true;
  }

  bool metadata(FieldPlan& f, Role role, std::string_view field) {
    const Node& v = plan_.schema->node(f.valueNode);
    bool ok = false;
    switch (role) {
      case Role::Op:
        ok = v.type == Type::String;
        break;
      case Role::Deleted:
      case Role::Snapshot:
        ok = v.type == Type::String || v.type == Type::Boolean;
        break;
      default:
        ok = isInteger(v.type);
        break;
    }
    if (!ok) {
      incompatible(std::string(field), "'" + std::string(field) + "' is " + describe(v));
      return false;
    }
    f.role = role;
    return true;
  }

  void envelope(const Node& root) {
    const Schema& s = *plan_.schema;
    for (const auto& field : root.fields) {
      FieldPlan f;
      f.node = field.type;
      f.name = field.name;
      if (!unwrap(f)) {
        plan_.records[0].fields.push_back(f);
        continue;
      }
      const Node& v = s.node(f.valueNode);
      if (field.name == "before" || field.name == "after") {
        if (v.type != Type::Record) return incompatible(field.name, "'" + field.name + "' is " + describe(v) + ", not a row");
        f.role = field.name == "after" ? Role::After : Role::Before;
        f.nested = rowRecord(f.valueNode, field.name);
      } else if (field.name == "source" && v.type == Type::Record) {
        f.role = Role::Source;
        f.nested = source(v);
      } else if (field.name == "op") {
        metadata(f, Role::Op, field.name);
      } else if (field.name == "ts_ms") {
        metadata(f, Role::TsMs, field.name);
      }
      plan_.records[0].fields.push_back(f);
    }
  }

  // The plan of the row record (one for `before` and `after` when they share it).
  int32_t rowRecord(int32_t node, std::string_view field) {
    if (node == rowNode_) return rowPlan_;
    auto index = static_cast<int32_t>(plan_.records.size());
    plan_.records.emplace_back();
    row(index, plan_.schema->node(node), field);
    rowNode_ = node;
    rowPlan_ = index;
    return index;
  }

  int32_t source(const Node& record) {
    auto index = static_cast<int32_t>(plan_.records.size());
    plan_.records.emplace_back();
    for (const auto& field : record.fields) {
      FieldPlan f;
      f.node = field.type;
      f.name = field.name;
      if (unwrap(f)) {
        if (field.name == "ts_ms") {
          metadata(f, Role::SourceTs, "source.ts_ms");
        } else if (field.name == "lsn") {
          metadata(f, Role::Lsn, "source.lsn");
        } else if (field.name == "txId") {
          metadata(f, Role::TxId, "source.txId");
        } else if (field.name == "snapshot") {
          metadata(f, Role::Snapshot, "source.snapshot");
        }
      }
      plan_.records[static_cast<size_t>(index)].fields.push_back(f);
    }
    return index;
  }

  // A row's record: the flattened top record (with its `__` metadata) or an envelope's row.
  void row(int32_t index, const Node& record, std::string_view prefix) {
    RecordPlan& plan = plan_.records[static_cast<size_t>(index)];
    for (const auto& field : record.fields) {
      FieldPlan f;
      f.node = field.type;
      f.name = field.name;
      bool simple = unwrap(f);
      std::string_view name = field.name;
      if (prefix.empty() && name.size() > 2 && name.starts_with("__")) {
        std::string_view meta = name.substr(2);
        if (simple) {
          if (meta == "op") {
            metadata(f, Role::Op, name);
          } else if (meta == "deleted") {
            metadata(f, Role::Deleted, name);
          } else if (meta == "source_ts_ms") {
            metadata(f, Role::SourceTs, name);
          } else if (meta == "lsn" || meta == "source_lsn") {
            metadata(f, Role::Lsn, name);
          } else if (meta == "source_txId") {
            metadata(f, Role::TxId, name);
          } else if (meta == "ts_ms") {
            metadata(f, Role::TsMs, name);
          } else if (meta == "source_snapshot") {
            metadata(f, Role::Snapshot, name);
          }
        }
        plan.fields.push_back(f);
        continue;
      }
      int idx = columnIndex(table_, name);
      if (idx >= 0) column(plan, f, idx, simple, prefix);
      plan.fields.push_back(f);
    }
    // Every column the service reads must be in the schema (its id always).
    auto names = columnNames(table_);
    ColumnMask all = (ColumnMask{1} << names.size()) - 1;
    ColumnMask missing = (wanted_ | 1) & all & ~plan.columns;
    if (missing != 0) {
      std::string col(names[static_cast<size_t>(std::countr_zero(missing))]);
      incompatible(prefix.empty() ? col : std::string(prefix) + "." + col,
                   "no column '" + col + "' in the " + tableName(table_) + " rows, which the service reads");
    }
  }

  void column(RecordPlan& plan, FieldPlan& f, int idx, bool simple, std::string_view prefix) {
    ColumnMask b = ColumnMask{1} << idx;
    plan.columns |= b;
    std::string field = prefix.empty() ? std::string(f.name) : std::string(prefix) + "." + std::string(f.name);
    Target target = targetOf(table_, idx);
    if (!simple) {
      if (idx == 0 || (wanted_ & b) != 0) incompatible(field, "'" + std::string(f.name) + "' is a union of several types");
      return;
    }
    const Node& v = plan_.schema->node(f.valueNode);
    auto conv = conversion(*plan_.schema, v, target);
    if (!conv) {
      // A column the service does not read may be anything: it is skipped.
      if (idx == 0 || (wanted_ & b) != 0) {
        incompatible(field, "'" + std::string(f.name) + "' is " + describe(v) + ", not " + targetName(target));
      }
      return;
    }
    f.role = (idx == 0 || (wanted_ & b) != 0) ? Role::Column : Role::Skip;
    f.column = static_cast<int8_t>(idx);
    f.target = target;
    f.conv = *conv;
    f.scale = v.scale;
  }
};

// Reads the values of one record of a plan into the assembly and the event.
class RecordReader {
 public:
  RecordReader(const AvroDecoder::Plan& plan, Reader& in, Assembly& st, ChangeEvent& out)
      : plan_(plan), in_(in), st_(st), out_(out) {}

  std::expected<void, DecodeError> record(int32_t index, Row* row) {
    for (const auto& f : plan_.records[static_cast<size_t>(index)].fields) {
      if (auto r = field(f, row); !r) return r;
      if (!in_.ok()) return bad(f.name);
    }
    return {};
  }

  std::expected<void, DecodeError> bad(std::string_view field) const {
    return failure(DecodeErrc::InvalidAvro, field,
                   "schema " + std::to_string(plan_.id) + ": the bytes do not match it (" + in_.error() + ")");
  }

 private:
  const AvroDecoder::Plan& plan_;
  Reader& in_;
  Assembly& st_;
  ChangeEvent& out_;

  const Schema& schema() const { return *plan_.schema; }

  // Reads a nullable field's union index: false when the value is null.
  bool present(const FieldPlan& f) {
    if (f.nullBranch < 0) return true;
    int64_t branch = in_.readLong();
    if (!in_.ok()) return false;
    if (branch != 0 && branch != 1) {
      in_.fail("a union branch the schema does not have");
      return false;
    }
    return branch != f.nullBranch;
  }

  std::expected<void, DecodeError> field(const FieldPlan& f, Row* row) {
    if (f.role == Role::Skip) {
      // A column the service does not read: in the record (seen), not decoded.
      if (f.column >= 0 && row) {
        std::visit([&](auto& r) { r.seen |= ColumnMask{1} << f.column; }, *row);
      }
      in_.skip(schema(), f.node);
      return {};
    }
    bool has = present(f);
    if (!in_.ok()) return {};
    switch (f.role) {
      case Role::Column:
        return column(f, has, *row);
      case Role::Before:
      case Role::After: {
        st_.envelope = true;
        std::optional<Row>& target = f.role == Role::After ? out_.after : out_.before;
        if (!has) {
          target.reset();
          return {};
        }
        target = emptyRow(st_.table);
        return record(f.nested, &*target);
      }
      case Role::Source:
        return has ? record(f.nested, row) : std::expected<void, DecodeError>{};
      default:
        return has ? metadata(f) : std::expected<void, DecodeError>{};
    }
  }

  std::expected<void, DecodeError> metadata(const FieldPlan& f) {
    const Node& v = schema().node(f.valueNode);
    if (f.role == Role::Op || f.role == Role::Deleted || f.role == Role::Snapshot) {
      std::string_view text;
      bool flag = false;
      if (v.type == Type::Boolean) {
        flag = in_.readBoolean();
        text = flag ? "true" : "false";
      } else {
        text = in_.readBytes();
      }
      if (!in_.ok()) return {};
      if (f.role == Role::Op) {
        auto op = opFromCode(text);
        if (!op) return failure(DecodeErrc::UnknownOp, f.name, "'" + std::string(text.substr(0, 16)) + "'");
        st_.op = op;
      } else if (f.role == Role::Deleted) {
        st_.deleted = text == "true";
      } else {
        out_.source.snapshot = text != "false";
      }
      return {};
    }
    int64_t n = in_.readLong();
    switch (f.role) {
      case Role::SourceTs:
        out_.source.tsMs = n;
        break;
      case Role::Lsn:
        out_.source.lsn = n;
        break;
      case Role::TxId:
        out_.source.txId = n;
        break;
      default:
        out_.tsMs = n;
        break;
    }
    return {};
  }

  std::expected<void, DecodeError> column(const FieldPlan& f, bool has, Row& row) {
    if (!st_.envelope) st_.sawColumn = true;
    return std::visit(
        [&](auto& r) -> std::expected<void, DecodeError> {
          r.seen |= ColumnMask{1} << f.column;
          if (!has) return {};
          auto ok = value(f, refOf(r, f.column));
          if (!ok || !in_.ok()) return ok;
          r.present |= ColumnMask{1} << f.column;
          return {};
        },
        row);
  }

  std::expected<Money, DecodeError> money(const FieldPlan& f) {
    const Node& v = schema().node(f.valueNode);
    switch (f.conv) {
      case Conv::DecimalBytes: {
        std::string_view bytes = v.type == Type::Fixed ? in_.readFixed(v.size) : in_.readBytes();
        if (!in_.ok()) return Money{};
        if (bytes.size() > 16) return failure(DecodeErrc::NumberOutOfRange, f.name, "decimal of more than 16 bytes");
        return moneyFromDecimal(
            decimalFromTwosComplement({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}, f.scale), f.name);
      }
      case Conv::VariableScale: {
        int32_t scale = -1;
        std::string_view bytes;
        for (const auto& field : v.fields) {
          if (field.name == "scale") {
            scale = in_.readInt();
          } else if (field.name == "value") {
            bytes = in_.readBytes();
          } else {
            in_.skip(schema(), field.type);
          }
        }
        if (!in_.ok()) return Money{};
        if (scale < 0 || scale > 38) return failure(DecodeErrc::NumberOutOfRange, std::string(f.name) + ".scale");
        if (bytes.size() > 16) return failure(DecodeErrc::NumberOutOfRange, f.name, "decimal of more than 16 bytes");
        return moneyFromDecimal(decimalFromTwosComplement({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}, scale),
                                f.name);
      }
      case Conv::DecimalText:
        return moneyFromDecimal(parseDecimal(in_.readBytes()), f.name);
      default: {
        // `double` mode: the shortest text that reads back as the same double, then exact.
        double d = v.type == Type::Float ? static_cast<double>(in_.readFloat()) : in_.readDouble();
        char text[32];
        auto [end, ec] = std::to_chars(text, text + sizeof text, d);
        if (ec != std::errc()) return failure(DecodeErrc::BadDecimal, f.name);
        return moneyFromDecimal(parseDecimal({text, static_cast<size_t>(end - text)}), f.name);
      }
    }
  }

  std::expected<void, DecodeError> value(const FieldPlan& f, ColumnRef ref) {
    switch (f.target) {
      case Target::Int64:
        *ref.int64 = in_.readLong();
        return {};
      case Target::Int32: {
        int64_t n = in_.readLong();
        if (n < INT32_MIN || n > INT32_MAX) {
          return failure(DecodeErrc::NumberOutOfRange, f.name, std::to_string(n) + " does not fit a 32-bit integer");
        }
        *ref.int32 = static_cast<int32_t>(n);
        return {};
      }
      case Target::String: {
        std::string_view s = in_.readBytes();
        if (!simdjson::validate_utf8(s.data(), s.size())) return failure(DecodeErrc::InvalidUtf8, f.name);
        ref.string->assign(s);
        return {};
      }
      case Target::Money: {
        auto m = money(f);
        if (!m) return std::unexpected(m.error());
        *ref.money = *m;
        return {};
      }
      case Target::Timestamp:
        return timestamp(f, *ref.timestamp);
    }
    return {};
  }

  std::expected<void, DecodeError> timestamp(const FieldPlan& f, Timestamp& out) {
    constexpr int64_t kMaxMillis = INT64_MAX / 1000;
    constexpr int64_t kMaxDays = INT64_MAX / 86'400'000'000LL;
    if (f.conv == Conv::Zoned) {
      std::string_view s = in_.readBytes();
      if (!in_.ok()) return {};
      auto t = parseIsoTimestamp(s);
      if (!t) return failure(DecodeErrc::BadTimestamp, f.name, "'" + std::string(s.substr(0, 40)) + "' is not ISO-8601");
      out = *t;
      return {};
    }
    int64_t n = in_.readLong();
    switch (f.conv) {
      case Conv::Micros:
        out = Timestamp{n};
        break;
      case Conv::Nanos:
        out = Timestamp::fromNanos(n);
        break;
      case Conv::Millis:
        if (n > kMaxMillis || n < -kMaxMillis) return failure(DecodeErrc::NumberOutOfRange, f.name);
        out = Timestamp::fromMillis(n);
        break;
      default:
        if (n > kMaxDays || n < -kMaxDays) return failure(DecodeErrc::NumberOutOfRange, f.name);
        out = Timestamp::fromDays(n);
        break;
    }
    return {};
  }
};

}  // namespace

AvroDecoder::AvroDecoder(const DecoderOptions& options, SchemaCache& schemas) : options_(options), schemas_(schemas) {}
AvroDecoder::~AvroDecoder() = default;

std::expected<const AvroDecoder::Plan*, DecodeError> AvroDecoder::planFor(int32_t id, std::optional<Table> table) {
  int64_t key = static_cast<int64_t>(id) << 8 | (table ? static_cast<int64_t>(*table) : 0xff);
  if (key == lastKey_) return last_;
  auto it = plans_.find(key);
  if (it == plans_.end()) {
    auto entry = schemas_.find(id);
    if (!entry) {
      return failure(DecodeErrc::UnknownSchema, "schema",
                     "schema id " + std::to_string(id) + " was not loaded from " + schemas_.fetcher().describe());
    }
    if (!entry->schema) return failure(DecodeErrc::UnknownSchema, "schema", entry->problem);
    auto plan = std::make_unique<Plan>();
    plan->id = id;
    plan->schema = entry->schema;
    if (table) {
      plan->table = *table;
      Compiler(*plan, *table, options_.wanted[static_cast<int>(*table)]).compile();
    } else {
      const Node& root = plan->schema->root();
      const auto* idField = root.type == Type::Record ? plan->schema->field(root, "id") : nullptr;
      if (idField) {
        plan->keyField = static_cast<int32_t>(idField - root.fields.data());
        const Node& v = plan->schema->node(idField->type);
        if (!isInteger(v.type)) plan->keyField = -1;
      }
      if (plan->keyField < 0) {
        plan->incompatible = DecodeError{DecodeErrc::BadKey, "key",
                                         "schema " + std::to_string(id) + ": the key is not a record with an integer id"};
      }
    }
    // Plans are few (a schema per table and version); past the cache's size they start again.
    if (plans_.size() >= schemas_.capacity()) plans_.clear();
    it = plans_.emplace(key, std::move(plan)).first;
  }
  lastKey_ = key;
  last_ = it->second.get();
  return last_;
}

std::expected<int64_t, DecodeError> AvroDecoder::decodeKey(std::string_view key) {
  auto id = avro::wireSchemaId(key);
  if (!id) return failure(DecodeErrc::BadKey, "key", "not in the Confluent wire format");
  auto plan = planFor(*id, std::nullopt);
  if (!plan) return std::unexpected(plan.error());
  if ((*plan)->incompatible) return std::unexpected(*(*plan)->incompatible);
  const Schema& s = *(*plan)->schema;
  Reader in(key.substr(avro::kWireHeader));
  int64_t value = 0;
  const auto& fields = s.root().fields;
  for (size_t i = 0; i < fields.size() && in.ok(); ++i) {
    if (static_cast<int32_t>(i) == (*plan)->keyField) {
      value = in.readLong();
    } else {
      in.skip(s, fields[i].type);
    }
  }
  if (!in.ok()) {
    return failure(DecodeErrc::BadKey, "key",
                   "schema " + std::to_string(*id) + ": the bytes do not match it (" + in.error() + ")");
  }
  if (!in.atEnd()) return failure(DecodeErrc::BadKey, "key", "bytes left after the key's record");
  return value;
}

std::expected<void, DecodeError> AvroDecoder::read(Table table, std::string_view value, Assembly& st, ChangeEvent& out) {
  auto id = avro::wireSchemaId(value);
  if (!id) return failure(DecodeErrc::InvalidAvro, "value", "not in the Confluent wire format");
  auto plan = planFor(*id, table);
  if (!plan) return std::unexpected(plan.error());
  const Plan& p = **plan;
  if (p.incompatible) return std::unexpected(*p.incompatible);
  out.hadSchema = true;
  Reader in(value.substr(avro::kWireHeader));
  RecordReader reader(p, in, st, out);
  if (auto r = reader.record(0, &st.flatRow); !r) return r;
  if (!in.atEnd()) {
    return failure(DecodeErrc::InvalidAvro, "value",
                   "schema " + std::to_string(*id) + ": " + std::to_string(in.remaining()) + " bytes left after the record");
  }
  if (p.envelope) st.envelope = true;
  return {};
}

}  // namespace cdc::debezium
