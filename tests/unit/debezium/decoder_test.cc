#include "debezium/decoder.h"

#include <gtest/gtest.h>

#include "support/fixtures.h"

namespace cdc::debezium {
namespace {

using test::fixture;

constexpr const char* kProducts = "dbserver1.public.products";
constexpr const char* kOrders = "dbserver1.public.orders";
constexpr const char* kItems = "dbserver1.public.order_items";

ChangeEvent decodeOk(Decoder& d, const char* topic, const std::string& value,
                     std::optional<std::string_view> key = std::nullopt) {
  ChangeEvent ev;
  auto r = d.decode(topic, key, value, ev);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message());
  EXPECT_EQ(r.value_or(DecodeStatus::Tombstone), DecodeStatus::Event);
  return ev;
}

DecodeError decodeErr(Decoder& d, const char* topic, std::string_view value) {
  ChangeEvent ev;
  auto r = d.decode(topic, std::nullopt, value, ev);
  EXPECT_FALSE(r.has_value()) << "decoded unexpectedly: " << value;
  return r ? DecodeError{} : r.error();
}

TEST(DecoderTest, ProductionShapeFlattenedWithSchemaAndPreciseDecimals) {
  Decoder d;
  auto ev = decodeOk(d, kProducts, fixture("debezium/unwrap_schema_precise_products_create.json"));
  EXPECT_EQ(ev.shape, Shape::Flattened);
  EXPECT_TRUE(ev.hadSchema);
  EXPECT_EQ(ev.op, Op::Create);
  EXPECT_EQ(ev.table, Table::Products);
  ASSERT_NE(ev.afterAs<ProductRow>(), nullptr);
  EXPECT_EQ(ev.before, std::nullopt);
  const auto& p = *ev.afterAs<ProductRow>();
  EXPECT_EQ(p.id.value, 1);
  EXPECT_EQ(p.name, "Laptop");
  EXPECT_EQ(p.description, "High-performance laptop");
  EXPECT_EQ(p.price, Money::fromCents(129999));
  EXPECT_EQ(p.stockQuantity, 50);
  EXPECT_EQ(p.createdAt.micros, 1767225600000000);
  EXPECT_EQ(ev.source.tsMs, 1767225600123);
  EXPECT_FALSE(ev.source.snapshot);
  EXPECT_EQ(ev.rowId(), 1);
}

TEST(DecoderTest, FlattenedRewrittenDeleteCarriesTheOldRow) {
  Decoder d;
  auto ev = decodeOk(d, kProducts, fixture("debezium/unwrap_schema_precise_products_delete.json"));
  EXPECT_EQ(ev.op, Op::Delete);
  EXPECT_EQ(ev.after, std::nullopt);
  ASSERT_NE(ev.beforeAs<ProductRow>(), nullptr);
  EXPECT_EQ(ev.beforeAs<ProductRow>()->stockQuantity, 42);
  EXPECT_EQ(ev.beforeAs<ProductRow>()->price.cents(), 129999);
}

TEST(DecoderTest, FlattenedSnapshotReadIsMarkedSnapshot) {
  Decoder d;
  auto ev = decodeOk(d, kProducts, fixture("debezium/unwrap_schema_precise_products_read.json"));
  EXPECT_EQ(ev.op, Op::Read);
  EXPECT_TRUE(ev.source.snapshot);
  EXPECT_EQ(ev.afterAs<ProductRow>()->price.cents(), 29);  // 0.29 is 29 cents
}

TEST(DecoderTest, NegativePreciseDecimal) {
  Decoder d;
  auto ev = decodeOk(d, kItems, fixture("debezium/unwrap_schema_precise_order_items_update_negative.json"));
  EXPECT_EQ(ev.op, Op::Update);
  const auto* item = ev.afterAs<OrderItemRow>();
  ASSERT_NE(item, nullptr);
  EXPECT_EQ(item->price.cents(), -500);
  EXPECT_EQ(item->orderId.value, 7);
  EXPECT_EQ(item->productId.value, 1);
  EXPECT_EQ(item->quantity, 3);
}

TEST(DecoderTest, FlattenedWithoutSchemaStringDecimals) {
  Decoder d;
  auto ev = decodeOk(d, kProducts, fixture("debezium/unwrap_noschema_string_products_update.json"));
  EXPECT_FALSE(ev.hadSchema);
  EXPECT_EQ(ev.shape, Shape::Flattened);
  EXPECT_EQ(ev.op, Op::Update);
  EXPECT_EQ(ev.afterAs<ProductRow>()->price.cents(), 2999);
  EXPECT_EQ(ev.afterAs<ProductRow>()->description, "Ergonomic, 2.4 GHz");
  EXPECT_EQ(ev.afterAs<ProductRow>()->updatedAt.micros, 1767229200000000);
}

TEST(DecoderTest, FlattenedWithoutOpFieldIsAnUpsertAndDoubleDecimalsAreExact) {
  Decoder d;
  auto ev = decodeOk(d, kOrders, fixture("debezium/unwrap_noschema_double_orders_noop.json"));
  EXPECT_EQ(ev.op, Op::Update);
  const auto* o = ev.afterAs<OrderRow>();
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->totalAmount.cents(), 11998);
  EXPECT_EQ(o->status, "shipped");
  EXPECT_EQ(o->customerId.value, 1002);
}

TEST(DecoderTest, EnvelopeWithoutSchema) {
  Decoder d;
  auto ev = decodeOk(d, kOrders, fixture("debezium/envelope_noschema_string_orders_create.json"));
  EXPECT_EQ(ev.shape, Shape::Envelope);
  EXPECT_FALSE(ev.hadSchema);
  EXPECT_EQ(ev.op, Op::Create);
  EXPECT_EQ(ev.before, std::nullopt);
  const auto* o = ev.afterAs<OrderRow>();
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->id.value, 7);
  EXPECT_EQ(o->totalAmount.cents(), 11998);
  EXPECT_EQ(o->status, "pending");
  EXPECT_EQ(ev.source.lsn, 24023984);
  EXPECT_EQ(ev.source.txId, 741);
  EXPECT_EQ(ev.source.tsMs, 1767225600123);
  EXPECT_EQ(ev.tsMs, 1767225600140);
}

TEST(DecoderTest, EnvelopeUpdateWithFullBeforeImage) {
  Decoder d;
  auto ev = decodeOk(d, kOrders, fixture("debezium/envelope_schema_precise_orders_update.json"));
  EXPECT_TRUE(ev.hadSchema);
  EXPECT_EQ(ev.op, Op::Update);
  ASSERT_NE(ev.beforeAs<OrderRow>(), nullptr);
  ASSERT_NE(ev.afterAs<OrderRow>(), nullptr);
  EXPECT_EQ(ev.beforeAs<OrderRow>()->status, "pending");
  EXPECT_EQ(ev.afterAs<OrderRow>()->status, "paid");
  EXPECT_EQ(ev.afterAs<OrderRow>()->totalAmount.cents(), 11998);
  EXPECT_EQ(ev.source.lsn, 24024400);
}

TEST(DecoderTest, TemporalTypesFromTheSchema) {
  Decoder d;
  const int64_t midnight = 1767225600000000;  // 2026-01-01T00:00:00Z in µs
  auto ms = decodeOk(d, kOrders, fixture("debezium/envelope_schema_precise_orders_create_connect_time.json"));
  EXPECT_EQ(ms.afterAs<OrderRow>()->createdAt.micros, midnight);
  EXPECT_EQ(ms.afterAs<OrderRow>()->totalAmount.cents(), 119998);
  auto ns = decodeOk(d, kOrders, fixture("debezium/envelope_schema_precise_orders_create_nano_time.json"));
  EXPECT_EQ(ns.afterAs<OrderRow>()->createdAt.micros, midnight + 1);
  auto zoned = decodeOk(d, kOrders, fixture("debezium/envelope_schema_string_orders_create_zoned_time.json"));
  EXPECT_EQ(zoned.afterAs<OrderRow>()->createdAt.micros, midnight + 500000);
  EXPECT_EQ(zoned.afterAs<OrderRow>()->updatedAt.micros, midnight + 500000);
  EXPECT_EQ(zoned.afterAs<OrderRow>()->totalAmount.cents(), 4999);
}

TEST(DecoderTest, EnvelopeDeleteWithFullBefore) {
  Decoder d;
  auto ev = decodeOk(d, kItems, fixture("debezium/envelope_schema_precise_order_items_delete.json"));
  EXPECT_EQ(ev.op, Op::Delete);
  EXPECT_EQ(ev.after, std::nullopt);
  const auto* item = ev.beforeAs<OrderItemRow>();
  ASSERT_NE(item, nullptr);
  EXPECT_EQ(item->quantity, 2);
  EXPECT_EQ(item->price.cents(), 5999);
  EXPECT_EQ(item->productId.value, 2);
}

TEST(DecoderTest, EnvelopeDoubleDecimalIsExact) {
  Decoder d;
  auto ev = decodeOk(d, kItems, fixture("debezium/envelope_noschema_double_order_items_create.json"));
  EXPECT_EQ(ev.afterAs<OrderItemRow>()->price.cents(), 29);
  EXPECT_EQ(ev.afterAs<OrderItemRow>()->quantity, 4);
}

TEST(DecoderTest, VariableScaleDecimalAndDateAndSnapshotMarker) {
  Decoder d;
  auto ev = decodeOk(d, kProducts, fixture("debezium/envelope_schema_variable_scale_products_read.json"));
  EXPECT_EQ(ev.op, Op::Read);
  EXPECT_TRUE(ev.source.snapshot);
  const auto* p = ev.afterAs<ProductRow>();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->price.cents(), 10000);  // {"scale":3,"value":"AYag"} = 100.000
  EXPECT_EQ(p->name, "Café Crème – 1 kg");
  EXPECT_EQ(p->createdAt.micros, 1767225600000000);  // Date 20454 = 2026-01-01
  EXPECT_EQ(p->stockQuantity, 7);
}

TEST(DecoderTest, KeyOnlyBeforeImageDelete) {
  Decoder d;
  auto ev = decodeOk(d, kProducts, fixture("debezium/envelope_noschema_products_delete_key_only.json"));
  EXPECT_EQ(ev.op, Op::Delete);
  const auto* p = ev.beforeAs<ProductRow>();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->id.value, 5);
  EXPECT_FALSE(p->has(ProductColumn::Price));
  EXPECT_FALSE(p->has(ProductColumn::Description));
}

TEST(DecoderTest, Truncate) {
  Decoder d;
  auto ev = decodeOk(d, kItems, fixture("debezium/envelope_noschema_order_items_truncate.json"));
  EXPECT_EQ(ev.op, Op::Truncate);
  EXPECT_EQ(ev.before, std::nullopt);
  EXPECT_EQ(ev.after, std::nullopt);
  EXPECT_EQ(ev.rowId(), 0);
}

TEST(DecoderTest, TombstonesAreDeletesOfTheirKey) {
  // A Kafka null value, the literal null, and Debezium 3.6's default `payload: null` value
  // (delete.tombstone.handling.mode=tombstone, schemas on) are each a delete of the key's row.
  const std::string payloadNull =
      R"({"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"default":0,"field":"id"}],)"
      R"("optional":true,"name":"dbserver1.public.order_items.Value"},"payload":null})";
  const std::optional<std::string_view> values[] = {std::nullopt, std::string_view("null"), std::string_view(payloadNull)};
  const std::string_view keys[] = {
      R"({"id":7})",
      R"({"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"}],"optional":false,"name":"dbserver1.public.order_items.Key"},"payload":{"id":7}})"};
  for (auto key : keys) {
    for (const auto& value : values) {
      Decoder d;
      ChangeEvent ev;
      auto r = d.decode(kItems, key, value, ev);
      ASSERT_TRUE(r.has_value()) << r.error().message();
      EXPECT_EQ(*r, DecodeStatus::Tombstone);
      EXPECT_EQ(ev.table, Table::OrderItems);
      EXPECT_EQ(ev.op, Op::Delete);
      EXPECT_TRUE(ev.tombstone);
      EXPECT_EQ(ev.after, std::nullopt);
      ASSERT_NE(ev.beforeAs<OrderItemRow>(), nullptr);
      EXPECT_EQ(ev.rowId(), 7);
      EXPECT_TRUE(ev.beforeAs<OrderItemRow>()->has(OrderItemColumn::Id));
      EXPECT_FALSE(ev.beforeAs<OrderItemRow>()->has(OrderItemColumn::Quantity));
    }
  }
}

TEST(DecoderTest, ATombstoneWithoutAUsableKeyIsAnErrorNeverACrash) {
  Decoder d;
  ChangeEvent ev;
  auto noKey = d.decode(kProducts, std::nullopt, std::nullopt, ev);
  ASSERT_FALSE(noKey.has_value());
  EXPECT_EQ(noKey.error().code, DecodeErrc::MissingField);
  EXPECT_NE(noKey.error().message().find("key"), std::string::npos);
  for (std::string_view key : {R"({"uuid":"x"})", "{", "[]", R"({"id":"x"})"}) {
    auto r = d.decode(kProducts, key, std::string_view(R"({"schema":null,"payload":null})"), ev);
    EXPECT_FALSE(r.has_value()) << key;
  }
}

TEST(DecoderTest, KeysWithAndWithoutSchema) {
  Decoder d;
  auto a = d.decodeKey(fixture("debezium/key_schema_products.json"));
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(*a, 1);
  auto b = d.decodeKey(fixture("debezium/key_noschema_orders.json"));
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(*b, 7);
  auto bad = d.decodeKey(R"({"uuid":"x"})");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, DecodeErrc::MissingField);
}

TEST(DecoderTest, IdFromKeyWhenTheRowLacksIt) {
  Decoder d;
  ChangeEvent ev;
  auto r = d.decode(kProducts, std::string_view(R"({"id":42})"),
                    std::string_view(R"({"before":{"name":null},"after":null,"op":"d","source":{"ts_ms":1}})"), ev);
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(ev.rowId(), 42);
}

TEST(DecoderTest, UnwantedColumnsAreSkipped) {
  DecoderOptions opts;
  opts.wanted[static_cast<int>(Table::Products)] = bit(ProductColumn::StockQuantity);
  Decoder d(opts);
  auto ev = decodeOk(d, kProducts, fixture("debezium/unwrap_schema_precise_products_create.json"));
  const auto* p = ev.afterAs<ProductRow>();
  EXPECT_EQ(p->id.value, 1);  // the id is always decoded
  EXPECT_EQ(p->stockQuantity, 50);
  EXPECT_TRUE(p->name.empty());
  EXPECT_FALSE(p->has(ProductColumn::Price));
}

TEST(DecoderTest, SchemaCacheFollowsSchemaChanges) {
  Decoder d;
  auto precise = fixture("debezium/unwrap_schema_precise_products_create.json");
  decodeOk(d, kProducts, precise);
  // The same table's schema changes to scale 1: the cache must notice.
  std::string rescaled = precise;
  rescaled.replace(rescaled.find(R"("scale":"2")"), 11, R"("scale":"1")");
  auto ev = decodeOk(d, kProducts, rescaled);
  EXPECT_EQ(ev.afterAs<ProductRow>()->price.cents(), 1299990);  // 12999.9
}

// ---- malformed input: every case is a typed error, never a crash ----

TEST(DecoderMalformedTest, TruncatedJson) {
  Decoder d;
  auto full = fixture("debezium/unwrap_schema_precise_products_create.json");
  for (size_t cut : {size_t{1}, size_t{10}, full.size() / 2, full.size() - 1}) {
    auto e = decodeErr(d, kProducts, std::string_view(full).substr(0, cut));
    EXPECT_TRUE(e.code == DecodeErrc::Truncated || e.code == DecodeErrc::InvalidJson) << cut << ": " << e.message();
  }
}

TEST(DecoderMalformedTest, NotJson) {
  Decoder d;
  EXPECT_EQ(decodeErr(d, kProducts, "hello").code, DecodeErrc::InvalidJson);
  // Text that starts like the literal null is no tombstone.
  for (const char* text : {"not json at all", "nope", "nullx", "null x", "n"}) {
    EXPECT_EQ(decodeErr(d, kProducts, text).code, DecodeErrc::InvalidJson) << text;
  }
  EXPECT_EQ(decodeErr(d, kProducts, "[1,2]").code, DecodeErrc::WrongType);
  EXPECT_EQ(decodeErr(d, kProducts, R"({"id":1,"__op":"c"} {"id":2})").code, DecodeErrc::InvalidJson);
  EXPECT_EQ(decodeErr(d, kProducts, R"({"id":1,"__op":"c"}})").code, DecodeErrc::InvalidJson);
}

TEST(DecoderMalformedTest, WrongTypes) {
  Decoder d;
  auto e = decodeErr(d, kItems, R"({"id":1,"order_id":2,"product_id":3,"quantity":"three","__op":"c"})");
  EXPECT_EQ(e.code, DecodeErrc::WrongType);
  EXPECT_EQ(e.field, "quantity");
  e = decodeErr(d, kProducts, R"({"id":"one","__op":"c"})");
  EXPECT_EQ(e.code, DecodeErrc::WrongType);
  EXPECT_EQ(e.field, "id");
  e = decodeErr(d, kProducts, R"({"before":null,"after":[1],"op":"c"})");
  EXPECT_EQ(e.code, DecodeErrc::WrongType);
  EXPECT_EQ(e.field, "after");
  e = decodeErr(d, kProducts, R"({"id":1,"price":true,"__op":"c"})");
  EXPECT_EQ(e.code, DecodeErrc::WrongType);
  e = decodeErr(d, kProducts, R"({"id":1,"__op":7})");
  EXPECT_EQ(e.code, DecodeErrc::WrongType);
}

TEST(DecoderMalformedTest, MissingFields) {
  Decoder d;
  EXPECT_EQ(decodeErr(d, kOrders, R"({"before":null,"after":{"id":1},"source":{}})").code, DecodeErrc::MissingField);
  auto e = decodeErr(d, kOrders, R"({"before":null,"after":null,"op":"c","source":{}})");
  EXPECT_EQ(e.code, DecodeErrc::MissingField);
  EXPECT_EQ(e.field, "after");
  e = decodeErr(d, kOrders, R"({"customer_id":5,"__op":"c"})");
  EXPECT_EQ(e.code, DecodeErrc::MissingField);
  EXPECT_EQ(e.field, "id");
  EXPECT_EQ(decodeErr(d, kOrders, R"({})").code, DecodeErrc::MissingField);
  e = decodeErr(d, kProducts, R"({"id":1,"price":{"value":"AfvP"},"__op":"c"})");
  EXPECT_EQ(e.code, DecodeErrc::MissingField);
  EXPECT_EQ(e.field, "price.scale");
}

TEST(DecoderMalformedTest, HugeNumbers) {
  Decoder d;
  EXPECT_EQ(decodeErr(d, kItems, R"({"id":1,"quantity":99999999999,"__op":"c"})").code, DecodeErrc::NumberOutOfRange);
  EXPECT_EQ(decodeErr(d, kItems, R"({"id":123456789012345678901234567890,"__op":"c"})").code, DecodeErrc::NumberOutOfRange);
  // 40 bytes of unscaled decimal, then a decimal that overflows int64 cents.
  EXPECT_EQ(
      decodeErr(d, kItems, R"({"id":1,"price":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","__op":"c"})").code,
      DecodeErrc::NumberOutOfRange);
  EXPECT_EQ(decodeErr(d, kItems, R"({"id":1,"price":"99999999999999999999999.99","__op":"c"})").code,
            DecodeErrc::NumberOutOfRange);
  EXPECT_EQ(decodeErr(d, kItems, R"({"id":1,"price":1e400,"__op":"c"})").code, DecodeErrc::NumberOutOfRange);
  // A millisecond timestamp (schema: connect Timestamp) too large for microseconds.
  auto ms = fixture("debezium/envelope_schema_precise_orders_create_connect_time.json");
  ms.replace(ms.find("\"created_at\":1767225600000,"), 27, "\"created_at\":99999999999999999,");
  EXPECT_EQ(decodeErr(d, kOrders, ms).code, DecodeErrc::NumberOutOfRange);
}

TEST(DecoderMalformedTest, BadBase64AndBadDecimals) {
  Decoder d;
  auto e = decodeErr(d, kProducts, R"({"id":1,"price":"A!vP","__op":"c"})");
  EXPECT_EQ(e.code, DecodeErrc::BadBase64);
  EXPECT_EQ(e.field, "price");
  EXPECT_EQ(decodeErr(d, kProducts, R"({"id":1,"price":"AfvPx","__op":"c"})").code, DecodeErrc::BadBase64);
  EXPECT_EQ(decodeErr(d, kProducts, R"({"id":1,"price":"A=vP","__op":"c"})").code, DecodeErrc::BadBase64);
  EXPECT_EQ(decodeErr(d, kProducts, R"({"id":1,"price":"12.3.4","__op":"c"})").code, DecodeErrc::BadDecimal);
  EXPECT_EQ(decodeErr(d, kProducts, R"({"id":1,"price":"1.005","__op":"c"})").code, DecodeErrc::BadDecimal);
  EXPECT_EQ(decodeErr(d, kProducts, R"({"id":1,"price":{"scale":2,"value":"%%%%"},"__op":"c"})").code, DecodeErrc::BadBase64);
}

TEST(DecoderMalformedTest, InvalidUtf8) {
  Decoder d;
  std::string bad = "{\"id\":1,\"name\":\"caf\xC3\x28\",\"__op\":\"c\"}";
  EXPECT_EQ(decodeErr(d, kProducts, bad).code, DecodeErrc::InvalidUtf8);
  std::string overlong = "{\"id\":1,\"name\":\"\xC0\xAF\",\"__op\":\"c\"}";
  EXPECT_EQ(decodeErr(d, kProducts, overlong).code, DecodeErrc::InvalidUtf8);
}

TEST(DecoderMalformedTest, BadTimestampsOpsAndTables) {
  Decoder d;
  EXPECT_EQ(decodeErr(d, kOrders, R"({"id":1,"created_at":"yesterday","__op":"c"})").code, DecodeErrc::BadTimestamp);
  EXPECT_EQ(decodeErr(d, kOrders, R"({"id":1,"created_at":"2026-02-30T00:00:00Z","__op":"c"})").code, DecodeErrc::BadTimestamp);
  EXPECT_EQ(decodeErr(d, kOrders, R"({"id":1,"__op":"x"})").code, DecodeErrc::UnknownOp);
  EXPECT_EQ(decodeErr(d, kOrders, R"({"before":null,"after":{"id":1},"op":"upsert"})").code, DecodeErrc::UnknownOp);
  EXPECT_EQ(decodeErr(d, "dbserver1.public.customers", R"({"id":1,"__op":"c"})").code, DecodeErrc::UnknownTable);
}

TEST(DecoderMalformedTest, ErrorMessagesNameTheField) {
  Decoder d;
  auto e = decodeErr(d, kItems, R"({"id":1,"quantity":"three","__op":"c"})");
  EXPECT_EQ(e.message(), "wrong_type: field 'quantity': expected an integer");
}

// A malformed key once crashed the decoder (simdjson's iterator used again after an error):
// every key is an answer, an id or a typed error.
TEST(DecoderMalformedTest, MalformedKeysAreErrorsNeverCrashes) {
  Decoder d;
  const char* keys[] = {R"({"a":{})",
                        R"({"a":{}})",
                        R"({"payload":{"id":1})",
                        R"({"payload":)",
                        R"({"id":)",
                        R"({"id":1,"id")",
                        "[",
                        "",
                        "{",
                        R"({"payload":null})",
                        R"({"payload":{"id":null}})",
                        R"({"id":1} x)",
                        R"({"schema":{"a":[}, "payload":{"id":1}})",
                        R"({"id":"x"})",
                        R"({"payload":{"id":1,"id":{}})",
                        "\"id\"",
                        R"({"a":[[[[[[[[[[]]]]]]]]]]})"};
  // A delete without a before image needs the key for its id.
  const std::string value = R"({"before":null,"after":null,"op":"d","source":{"ts_ms":1}})";
  for (const char* key : keys) {
    ChangeEvent ev;
    auto r = d.decode(kProducts, std::string_view(key), value, ev);
    EXPECT_FALSE(r.has_value()) << key;
    EXPECT_FALSE(d.decodeKey(key).has_value()) << key;
  }
  // A key whose payload and top level disagree takes the payload (the schema form).
  auto wrapped = d.decodeKey(R"({"schema":{"type":"struct"},"payload":{"id":9}})");
  ASSERT_TRUE(wrapped.has_value()) << wrapped.error().message();
  EXPECT_EQ(*wrapped, 9);
  // The decoder goes on decoding good messages after bad keys.
  ChangeEvent ev;
  auto r = d.decode(kProducts, std::string_view(R"({"id":5})"), value, ev);
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(ev.rowId(), 5);
}

// A JSON object that is not a row of the table is poison, not a row with every column missing.
TEST(DecoderMalformedTest, ObjectsThatAreNotRowsArePoison) {
  DecoderOptions opts;
  opts.wanted[static_cast<int>(Table::Products)] = bit(ProductColumn::Name) | bit(ProductColumn::Price);
  Decoder d(opts);
  auto e = decodeErr(d, kProducts, R"({"foo":"bar"})");
  EXPECT_EQ(e.code, DecodeErrc::MissingField);
  EXPECT_EQ(e.message(), "missing_field: field 'id': the message is not a products row");
  e = decodeErr(d, kProducts, R"({"schema":null,"payload":{"id":3,"foo":"bar","__op":"u"}})");
  EXPECT_EQ(e.message(), "missing_field: field 'name': the message is not a products row");
  e = decodeErr(d, kProducts, R"({"id":3,"name":"Lamp","__op":"c"})");
  EXPECT_EQ(e.message(), "missing_field: field 'price': the message is not a products row");
  e = decodeErr(d, kProducts, R"({"before":null,"after":{"foo":"bar"},"op":"c"})");
  EXPECT_EQ(e.message(), "missing_field: field 'after.id': the message is not a products row");
  // A column the service does not read may be absent; a column it reads may be null.
  auto ev = decodeOk(d, kProducts, R"({"id":3,"name":"Lamp","price":null,"__op":"c"})");
  EXPECT_FALSE(ev.afterAs<ProductRow>()->has(ProductColumn::Price));
  // A rewritten delete needs only its id (the default replica identity sends key columns only).
  ev = decodeOk(d, kProducts, R"({"id":3,"__op":"d","__deleted":"true"})");
  EXPECT_EQ(ev.op, Op::Delete);
  EXPECT_EQ(ev.rowId(), 3);
  EXPECT_EQ(decodeErr(d, kProducts, R"({"x":3,"__op":"d","__deleted":"true"})").code, DecodeErrc::MissingField);
}

// Found by the fuzzer: an envelope delete that also carried a new row took its id from the new
// row and left the old one without it.
TEST(DecoderMalformedTest, AnEnvelopeDeleteWithANewRowIsPoison) {
  Decoder d;
  auto e = decodeErr(d, kProducts, R"({"before":{"name":"x"},"after":{"id":2},"op":"d"})");
  EXPECT_EQ(e.message(), "wrong_type: field 'after': a delete (op d) has a null after");
}

// A price beyond 64-bit cents once wrapped (2^126+123 stored as 123.00): in every decimal mode
// it is out of range.
TEST(DecoderMalformedTest, MoneyBeyondCentsIsOutOfRangeInEveryMode) {
  Decoder d;
  auto row = [](std::string price) {
    return R"({"id":1,"name":"x","description":null,"price":)" + price +
           R"(,"stock_quantity":1,"created_at":null,"updated_at":null,"__op":"c"})";
  };
  for (std::string price :
       {std::string(R"("QAAAAAAAAAAAAAAAAAAAew==")"), std::string(R"("v///////////////////hQ==")"),
        std::string(R"("85070591730234615865843651857942052987.0")"), std::string("85070591730234615865843651857942052987"),
        std::string("85070591730234615865843651857942052987.00"),
        std::string(R"({"scale":0,"value":"QAAAAAAAAAAAAAAAAAAAew=="})"), std::string("92233720368547758.08")}) {
    auto e = decodeErr(d, kProducts, row(price));
    EXPECT_EQ(e.code, DecodeErrc::NumberOutOfRange) << price << ": " << e.message();
    EXPECT_EQ(e.field, "price") << price;
  }
  EXPECT_EQ(decodeOk(d, kProducts, row("92233720368547758.07")).afterAs<ProductRow>()->price.cents(), INT64_MAX);
}

}  // namespace
}  // namespace cdc::debezium
