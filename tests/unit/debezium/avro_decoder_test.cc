// Debezium records in Avro (Confluent's wire format), as Apicurio's converter wrote them from
// Debezium 3.6.1 against the stack's registry (deploy/debezium/avro.json): the schemas of
// tests/fixtures/avro/sample-schemas.json and the bytes below are that run's, copied from the
// topics. Hand-made schemas and bytes cover what the capture does not (the envelope, evolution,
// incompatible and broken records).

#include <gtest/gtest.h>

#include <map>

#include <simdjson.h>

#include "debezium/avro.h"
#include "debezium/decoder.h"
#include "debezium/schema_cache.h"
#include "support/avro_writer.h"
#include "support/fixtures.h"

namespace cdc::debezium {
namespace {

using Writer = test::AvroWriter;

constexpr const char* kProducts = "avro2.public.products";
constexpr const char* kOrders = "avro2.public.orders";
constexpr const char* kItems = "avro2.public.order_items";

std::string unhex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

// Schemas by id from a map (the captured ones and the test's own); counts its fetches.
class MapFetcher final : public SchemaFetcher {
 public:
  MapFetcher() {
    simdjson::dom::parser parser;
    auto doc = parser.parse(simdjson::padded_string(test::fixture("avro/sample-schemas.json")));
    for (auto [id, text] : doc.get_object()) schemas[std::stoi(std::string(id))] = std::string(text.get_string().value());
  }
  std::expected<std::string, SchemaFetchError> fetch(int32_t id) override {
    ++fetched;
    if (down) return std::unexpected(SchemaFetchError{false, "connection refused"});
    auto it = schemas.find(id);
    if (it == schemas.end()) return std::unexpected(SchemaFetchError{true, "40403 Schema not found"});
    return it->second;
  }
  std::string describe() const override { return "the test's map"; }
  std::map<int32_t, std::string> schemas;
  int fetched = 0;
  bool down = false;
};

class AvroDecoderTest : public ::testing::Test {
 protected:
  AvroDecoderTest() : cache_(fetcher_, 100) {}

  std::expected<DecodeStatus, DecodeError> decode(Decoder& d, const char* topic, std::optional<std::string> key,
                                                  std::optional<std::string> value, ChangeEvent& ev) {
    std::vector<int32_t> ids;
    for (const auto* bytes : {&key, &value}) {
      if (*bytes) {
        if (auto id = avro::wireSchemaId(**bytes)) ids.push_back(*id);
      }
    }
    EXPECT_TRUE(cache_.load(ids).has_value());
    std::optional<std::string_view> k, v;
    if (key) k = *key;
    if (value) v = *value;
    return d.decode(topic, k, v, ev);
  }
  ChangeEvent ok(Decoder& d, const char* topic, const std::string& keyHex, const std::string& valueHex) {
    ChangeEvent ev;
    auto r = decode(d, topic, unhex(keyHex), unhex(valueHex), ev);
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message());
    return ev;
  }
  DecodeError error(Decoder& d, const char* topic, const std::string& value) {
    ChangeEvent ev;
    auto r = decode(d, topic, std::nullopt, value, ev);
    EXPECT_FALSE(r.has_value());
    return r ? DecodeError{} : r.error();
  }
  std::unique_ptr<Decoder> decoder(DecoderOptions o = {}) {
    auto d = std::make_unique<Decoder>(o);
    d->useSchemas(&cache_);
    return d;
  }

  MapFetcher fetcher_;
  SchemaCache cache_;
};

TEST_F(AvroDecoderTest, TheCapturedProductsGiveTheirRowsWithExactMoneyAndTimes) {
  auto owned = decoder();
  Decoder& d = *owned;
  // The snapshot's row, then `UPDATE … SET price = 99999999.99, description = NULL`.
  auto read = ok(d, kProducts, "000000000302",
                 "0000000004020c576964676574021a412066696e65207769646765740404e2140084a8c7a4ef81b1060084a8c7a4ef81b106020a66616c7"
                 "365020272021070726f647563747302a6b4e9fbc968");
  EXPECT_EQ(read.op, Op::Read);
  EXPECT_TRUE(read.source.snapshot);
  EXPECT_TRUE(read.hadSchema);
  EXPECT_EQ(read.shape, Shape::Flattened);
  const auto* p = read.afterAs<ProductRow>();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->id.value, 1);
  EXPECT_EQ(p->name, "Widget");
  EXPECT_EQ(p->description, "A fine widget");
  EXPECT_EQ(p->price, Money::fromCents(1250));
  EXPECT_EQ(p->stockQuantity, 10);
  EXPECT_TRUE(p->has(ProductColumn::CreatedAt));
  EXPECT_EQ(formatIsoTimestamp(p->createdAt).substr(0, 4), "2026");
  EXPECT_GT(read.source.tsMs, 1'700'000'000'000);

  auto update =
      ok(d, kProducts, "000000000302",
         "0000000004020c576964676574000a02540be3ff140084a8c7a4ef81b1060084a8c7a4ef81b106020a66616c7365020275021070726f647"
         "563747302d0d589fcc968");
  EXPECT_EQ(update.op, Op::Update);
  p = update.afterAs<ProductRow>();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->price, Money::fromCents(9'999'999'999));
  EXPECT_FALSE(p->has(ProductColumn::Description));          // NULL
  EXPECT_NE(p->seen & bit(ProductColumn::Description), 0u);  // but in the record
  EXPECT_EQ(fetcher_.fetched, 2);                            // the key's and the value's schema, once each
}

TEST_F(AvroDecoderTest, TheCapturedOrderItemsCreateDeleteAndTombstone) {
  auto owned = decoder();
  Decoder& d = *owned;
  auto order =
      ok(d, kOrders, "000000000a0e",
         "000000000b0e540409c40e70656e64696e6700f0d4c4abf181b10600f0d4c4abf181b106020a66616c7365020263020c6f726465727302d"
         "0d589fcc968");
  ASSERT_NE(order.afterAs<OrderRow>(), nullptr);
  EXPECT_EQ(order.afterAs<OrderRow>()->customerId.value, 42);
  EXPECT_EQ(order.afterAs<OrderRow>()->totalAmount, Money::fromCents(2500));
  EXPECT_EQ(order.afterAs<OrderRow>()->status, "pending");

  auto create = ok(d, kItems, "000000000d8c01",
                   "000000000f8c010e02040404e200f0d4c4abf181b106020a66616c736502026302166f726465725f6974656d7302d0d589fcc968");
  EXPECT_EQ(create.op, Op::Create);
  const auto* item = create.afterAs<OrderItemRow>();
  ASSERT_NE(item, nullptr);
  EXPECT_EQ(item->id.value, 70);
  EXPECT_EQ(item->orderId.value, 7);
  EXPECT_EQ(item->productId.value, 1);
  EXPECT_EQ(item->quantity, 2);
  EXPECT_EQ(item->price, Money::fromCents(1250));

  // rewrite-with-tombstone: the old row with __deleted "true", then a null value.
  auto deleted = ok(d, kItems, "000000000d8c01",
                    "000000000f8c010e02040404e200f0d4c4abf181b10602087472756502026402166f726465725f6974656d7302d0d589fcc968");
  EXPECT_EQ(deleted.op, Op::Delete);
  ASSERT_NE(deleted.beforeAs<OrderItemRow>(), nullptr);
  EXPECT_EQ(deleted.beforeAs<OrderItemRow>()->quantity, 2);

  ChangeEvent tombstone;
  auto r = decode(d, kItems, unhex("000000000d8c01"), std::nullopt, tombstone);
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(*r, DecodeStatus::Tombstone);
  EXPECT_EQ(tombstone.rowId(), 70);
  EXPECT_EQ(d.decodeKey(unhex("000000000d8c01")).value_or(0), 70);
}

TEST_F(AvroDecoderTest, AnUnknownSchemaIdIsNamedAndNeverGuessed) {
  auto owned = decoder();
  Decoder& d = *owned;
  auto e = error(d, kProducts, Writer(999).l(1).bytes);
  EXPECT_EQ(e.code, DecodeErrc::UnknownSchema);
  EXPECT_NE(e.message().find("schema id 999"), std::string::npos) << e.message();
  // Without a registry at all, an Avro record is named as such.
  Decoder plain;
  ChangeEvent ev;
  std::string bytes = unhex("0000000004020c57");
  auto r = plain.decode(kProducts, std::nullopt, std::string_view(bytes), ev);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, DecodeErrc::UnknownSchema);
  EXPECT_NE(r.error().message().find("no schema registry"), std::string::npos) << r.error().message();
}

// An order_items schema as Debezium writes it, with `quantity` as `quantityType` (or absent)
// and an added column after it.
std::string itemsSchema(std::string_view quantity, std::string_view extra = "") {
  std::string s = R"({"type":"record","name":"Value","namespace":"t.public.order_items","fields":[
    {"name":"id","type":"int"},{"name":"order_id","type":"int"},{"name":"product_id","type":"int"},)";
  if (!quantity.empty()) s += R"({"name":"quantity","type":)" + std::string(quantity) + "},";
  s += R"({"name":"price","type":{"type":"bytes","scale":2,"precision":10,"connect.version":1,
      "connect.parameters":{"scale":"2","connect.decimal.precision":"10"},
      "connect.name":"org.apache.kafka.connect.data.Decimal","logicalType":"decimal"}},
    {"name":"created_at","type":[{"type":"long","connect.name":"io.debezium.time.MicroTimestamp"},"null"],"default":0})";
  s += extra;
  s += R"(,{"name":"__op","type":["null","string"],"default":null}]})";
  return s;
}

TEST_F(AvroDecoderTest, ACompatibleEvolutionIsReadAndAnIncompatibleOneIsRefusedNamingTheColumn) {
  fetcher_.schemas[100] = itemsSchema(R"("int")");
  fetcher_.schemas[101] =
      itemsSchema(R"("int")", R"(,{"name":"gift","type":{"type":"boolean","connect.default":false},"default":false},
      {"name":"note","type":["null","string"],"default":null})");
  fetcher_.schemas[102] = itemsSchema("");             // quantity dropped
  fetcher_.schemas[103] = itemsSchema(R"("string")");  // quantity retyped
  auto owned = decoder();
  Decoder& d = *owned;
  ChangeEvent ev;
  auto r = decode(d, kItems, std::nullopt, Writer(100).l(5).l(6).l(7).l(3).s("\x04\xe2").l(1).l(1).s("c").bytes, ev);
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(ev.afterAs<OrderItemRow>()->quantity, 3);
  EXPECT_EQ(ev.afterAs<OrderItemRow>()->price, Money::fromCents(1250));

  // ALTER TABLE … ADD COLUMN gift boolean DEFAULT false, note text: the new fields are skipped.
  r = decode(d, kItems, std::nullopt, Writer(101).l(5).l(6).l(7).l(4).s("\x04\xe2").l(1).b(true).l(1).s("hi").l(1).s("u").bytes,
             ev);
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(ev.op, Op::Update);
  EXPECT_EQ(ev.afterAs<OrderItemRow>()->quantity, 4);

  auto dropped = error(d, kItems, Writer(102).l(5).l(6).l(7).s("\x04\xe2").l(1).l(1).s("c").bytes);
  EXPECT_EQ(dropped.code, DecodeErrc::IncompatibleSchema);
  EXPECT_EQ(dropped.field, "quantity");
  EXPECT_NE(dropped.detail.find("schema 102"), std::string::npos) << dropped.message();

  auto retyped = error(d, kItems, Writer(103).l(5).l(6).l(7).s("3").s("\x04\xe2").l(1).l(1).s("c").bytes);
  EXPECT_EQ(retyped.code, DecodeErrc::IncompatibleSchema);
  EXPECT_EQ(retyped.field, "quantity");
  EXPECT_NE(retyped.message().find("schema 103"), std::string::npos) << retyped.message();

  // A service that does not read quantity (the analytics service reads order totals) takes the
  // schema without it.
  DecoderOptions noQuantity;
  noQuantity.wanted[static_cast<int>(Table::OrderItems)] = bit(OrderItemColumn::ProductId) | bit(OrderItemColumn::Price);
  auto ownedLenient = decoder(noQuantity);
  Decoder& lenient = *ownedLenient;
  r = decode(lenient, kItems, std::nullopt, Writer(102).l(5).l(6).l(7).s("\x04\xe2").l(1).l(1).s("c").bytes, ev);
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(ev.afterAs<OrderItemRow>()->productId.value, 7);
}

TEST_F(AvroDecoderTest, BytesThatDoNotMatchTheirSchemaAreRefusedNamingTheField) {
  auto owned = decoder();
  Decoder& d = *owned;
  std::string good =
      unhex("000000000f8c010e02040404e200f0d4c4abf181b106020a66616c736502026302166f726465725f6974656d7302d0d589fcc968");
  // Every truncation fails cleanly (never a crash or a half row).
  for (size_t n = avro::kWireHeader; n < good.size(); ++n) {
    auto e = error(d, kItems, good.substr(0, n));
    EXPECT_TRUE(e.code == DecodeErrc::InvalidAvro) << n << ": " << e.message();
  }
  auto trailing = error(d, kItems, good + "xyz");
  EXPECT_EQ(trailing.code, DecodeErrc::InvalidAvro);
  EXPECT_NE(trailing.detail.find("3 bytes left"), std::string::npos) << trailing.message();
  // A union branch the schema lacks, in `created_at` ([long, null]).
  fetcher_.schemas[110] = itemsSchema(R"("int")");
  auto branch = error(d, kItems, Writer(110).l(5).l(6).l(7).l(3).s("\x04\xe2").l(7).bytes);
  EXPECT_EQ(branch.code, DecodeErrc::InvalidAvro);
  EXPECT_EQ(branch.field, "created_at");
  EXPECT_NE(branch.message().find("schema 110"), std::string::npos) << branch.message();
  // A negative length.
  auto negative = error(d, kItems, Writer(110).l(5).l(6).l(7).l(3).l(-3).bytes);
  EXPECT_EQ(negative.code, DecodeErrc::InvalidAvro);
  EXPECT_EQ(negative.field, "price");
  // A quantity beyond 32 bits.
  auto wide = error(d, kItems, Writer(110).l(5).l(6).l(7).l(1LL << 40).s("\x04\xe2").l(1).l(0).bytes);
  EXPECT_EQ(wide.code, DecodeErrc::NumberOutOfRange);
}

TEST_F(AvroDecoderTest, TheEnvelopeShapeWithVariableScaleDecimalsAndZonedTimes) {
  // The envelope without ExtractNewRecordState, `decimal.handling.mode=precise` on an
  // unconstrained numeric (VariableScaleDecimal) and ZonedTimestamp columns.
  fetcher_.schemas[200] = R"({"type":"record","name":"Envelope","namespace":"e.public.orders","fields":[
    {"name":"before","type":["null",{"type":"record","name":"Value","fields":[
      {"name":"id","type":"long"},{"name":"customer_id","type":"long"},
      {"name":"total_amount","type":["null",{"type":"record","name":"VariableScaleDecimal","namespace":"io.debezium.data",
        "fields":[{"name":"scale","type":"int"},{"name":"value","type":"bytes"}],"connect.name":"io.debezium.data.VariableScaleDecimal"}]},
      {"name":"status","type":"string"},
      {"name":"created_at","type":["null",{"type":"string","connect.name":"io.debezium.time.ZonedTimestamp"}]},
      {"name":"updated_at","type":["null",{"type":"int","connect.name":"io.debezium.time.Date"}]}]}],"default":null},
    {"name":"after","type":["null","Value"],"default":null},
    {"name":"source","type":{"type":"record","name":"Source","namespace":"io.debezium.connector.postgresql","fields":[
      {"name":"version","type":"string"},{"name":"ts_ms","type":"long"},
      {"name":"snapshot","type":[{"type":"string","connect.name":"io.debezium.data.Enum"},"null"],"default":"false"},
      {"name":"txId","type":["null","long"],"default":null},{"name":"lsn","type":["null","long"],"default":null}]}},
    {"name":"transaction","type":["null",{"type":"record","name":"block","namespace":"event","fields":[
      {"name":"id","type":"string"},{"name":"total_order","type":"long"}]}],"default":null},
    {"name":"op","type":"string"},{"name":"ts_ms","type":["null","long"],"default":null}]})";
  auto owned = decoder();
  Decoder& d = *owned;
  Writer w(200);
  w.l(1).l(4).l(42).l(1).l(3).s("\x01\x86\xa0").s("pending").l(1).s("2026-01-01T00:00:00Z").l(1).l(20454);  // before
  w.l(1).l(4).l(42).l(1).l(2).s("\x30\x39").s("paid").l(0).l(0);                                            // after
  w.s("3.6.1.Final").l(1767225600123).l(0).s("false").l(1).l(900).l(1).l(123456);                           // source
  w.l(1).s("900:123456").l(3);                                                                              // transaction
  w.s("u").l(1).l(1767225600456);
  ChangeEvent ev;
  auto r = decode(d, kOrders, std::nullopt, w.bytes, ev);
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(ev.shape, Shape::Envelope);
  EXPECT_EQ(ev.op, Op::Update);
  const auto* before = ev.beforeAs<OrderRow>();
  const auto* after = ev.afterAs<OrderRow>();
  ASSERT_TRUE(before && after);
  EXPECT_EQ(before->totalAmount, Money::fromCents(10000));  // 100000 at scale 3 = 100.000
  EXPECT_EQ(after->totalAmount, Money::fromCents(12345));   // 12345 at scale 2
  EXPECT_EQ(formatIsoTimestamp(before->createdAt), "2026-01-01T00:00:00Z");
  EXPECT_EQ(formatIsoTimestamp(before->updatedAt).substr(0, 10), "2026-01-01");  // day 20454
  EXPECT_FALSE(after->has(OrderColumn::CreatedAt));
  EXPECT_EQ(after->status, "paid");
  EXPECT_EQ(ev.source.tsMs, 1767225600123);
  EXPECT_EQ(ev.source.txId.value_or(0), 900);
  EXPECT_EQ(ev.source.lsn.value_or(0), 123456);
  EXPECT_FALSE(ev.source.snapshot);
  EXPECT_EQ(ev.tsMs, 1767225600456);
}

TEST_F(AvroDecoderTest, TheCacheFetchesEachIdOnceKeepsItsBoundAndWaitsOutARegistryThatIsDown) {
  SchemaCache small(fetcher_, 2);
  ASSERT_TRUE(small.load(std::vector<int32_t>{3, 4, 3, 4}).has_value());
  EXPECT_EQ(fetcher_.fetched, 2);
  ASSERT_TRUE(small.load(std::vector<int32_t>{10}).has_value());
  EXPECT_EQ(small.size(), 2u);
  EXPECT_FALSE(small.contains(3));  // the least recently used went
  EXPECT_TRUE(small.contains(10));
  fetcher_.down = true;
  auto down = small.load(std::vector<int32_t>{11});
  ASSERT_FALSE(down.has_value());
  EXPECT_FALSE(down.error().notFound);
  EXPECT_FALSE(small.contains(11));  // nothing cached: the records wait, they are not dead letters
  fetcher_.down = false;
  ASSERT_TRUE(small.load(std::vector<int32_t>{11, 12345}).has_value());
  EXPECT_TRUE(small.find(11)->schema != nullptr);
  EXPECT_NE(small.find(12345)->problem.find("unknown"), std::string::npos);
}

}  // namespace
}  // namespace cdc::debezium
