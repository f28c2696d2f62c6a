#include "workload/generator.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "debezium/decoder.h"

namespace cdc::workload {
namespace {

using debezium::Op;
using debezium::Table;

std::vector<GeneratedRecord> generate(WorkloadOptions o) {
  WorkloadGenerator g(std::move(o));
  std::vector<GeneratedRecord> out;
  GeneratedRecord r;
  while (g.next(r)) out.push_back(r);
  return out;
}

WorkloadOptions small() {
  WorkloadOptions o;
  o.products = 50;
  o.customers = 100;
  o.orders = 400;
  return o;
}

TEST(Murmur2Test, MatchesKafkasPartitioner) {
  // Kafka's UtilsTest vectors.
  EXPECT_EQ(murmur2("21"), -973932308);
  EXPECT_EQ(murmur2("foobar"), -790332482);
  EXPECT_EQ(murmur2("a-little-bit-long-string"), -985981536);
  EXPECT_EQ(murmur2("a-little-bit-longer-string"), -1486304829);
  EXPECT_EQ(murmur2("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"), -58897971);
  EXPECT_EQ(murmur2("abc"), 479470107);
  EXPECT_EQ(murmur2("1"), -1993445489);
  EXPECT_EQ(murmur2("12345"), -1188365604);
}

TEST(GeneratorTest, SameSeedSameBytesOtherSeedOtherBytes) {
  auto a = generate(small());
  auto b = generate(small());
  auto o = small();
  o.seed = 7;
  auto c = generate(o);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].key, b[i].key);
    ASSERT_EQ(a[i].value, b[i].value);
  }
  bool differs = a.size() != c.size();
  for (size_t i = 0; !differs && i < a.size(); ++i) differs = a[i].value != c[i].value;
  EXPECT_TRUE(differs);
}

TEST(GeneratorTest, OffsetsArePerPartitionAndKeysStayInTheirPartition) {
  auto o = small();
  o.partitions = 3;
  auto records = generate(o);
  std::map<std::pair<std::string, int>, int64_t> next;
  std::map<std::string, int> partitionOfKey;
  for (const auto& r : records) {
    auto& n = next[{r.topic, r.partition}];
    EXPECT_EQ(r.offset, n++);
    EXPECT_EQ(r.partition, kafkaPartition(r.key, 3));
    auto [it, inserted] = partitionOfKey.emplace(r.topic + r.key, r.partition);
    EXPECT_EQ(it->second, r.partition);
  }
  std::set<int> used;
  for (const auto& [k, p] : partitionOfKey) used.insert(p);
  EXPECT_EQ(used.size(), 3u);
}

TEST(GeneratorTest, EventsBoundAndRealisticMix) {
  auto o = small();
  o.events = 3000;
  auto records = generate(o);
  EXPECT_EQ(records.size(), 3000u);
  debezium::Decoder d;
  std::map<std::pair<Table, Op>, int> mix;
  int tombstones = 0;
  std::map<int64_t, int> productOrders;
  for (const auto& r : records) {
    debezium::ChangeEvent ev;
    std::optional<std::string_view> v;
    if (r.value) v = *r.value;
    auto s = d.decode(r.topic, std::string_view(r.key), v, ev);
    ASSERT_TRUE(s.has_value()) << s.error().message();
    if (*s == debezium::DecodeStatus::Tombstone) {
      ++tombstones;
      continue;
    }
    ++mix[{ev.table, ev.op}];
    if (const auto* i = ev.afterAs<debezium::OrderItemRow>(); i && ev.op == Op::Create) ++productOrders[i->productId.value];
  }
  EXPECT_EQ((mix[{Table::Products, Op::Read}]), 50);
  for (auto key : {std::pair{Table::Products, Op::Update}, std::pair{Table::Orders, Op::Create},
                   std::pair{Table::Orders, Op::Update}, std::pair{Table::OrderItems, Op::Create},
                   std::pair{Table::OrderItems, Op::Update}, std::pair{Table::OrderItems, Op::Delete}}) {
    EXPECT_GT((mix[key]), 0) << static_cast<int>(key.first) << opCode(key.second);
  }
  EXPECT_GT(tombstones, 0);
  // Skewed popularity: the best seller is ordered far more often than the median product.
  std::vector<int> counts;
  for (const auto& [p, n] : productOrders) counts.push_back(n);
  std::sort(counts.begin(), counts.end());
  ASSERT_FALSE(counts.empty());
  EXPECT_GT(counts.back(), 4 * counts[counts.size() / 2]);
}

// Every shape carries the same rows: decoding each must give the same changes.
TEST(GeneratorTest, EveryShapeDecodesToTheSameChanges) {
  struct Shape {
    MessageShape shape;
    bool schemas;
    DecimalMode decimals;
    TimeMode times;
  };
  const Shape shapes[] = {
      {MessageShape::Unwrap, true, DecimalMode::Precise, TimeMode::Micro},
      {MessageShape::Unwrap, false, DecimalMode::String, TimeMode::Micro},
      {MessageShape::Unwrap, true, DecimalMode::Double, TimeMode::Milli},
      {MessageShape::Envelope, true, DecimalMode::Precise, TimeMode::Micro},
      {MessageShape::Envelope, false, DecimalMode::String, TimeMode::Zoned},
      {MessageShape::Envelope, true, DecimalMode::Double, TimeMode::Nano},
      {MessageShape::Envelope, false, DecimalMode::Precise, TimeMode::Micro},
  };
  std::vector<std::string> reference;
  for (const auto& s : shapes) {
    auto o = small();
    o.encoder.shape = s.shape;
    o.encoder.schemas = s.schemas;
    o.encoder.decimals = s.decimals;
    o.encoder.times = s.times;
    debezium::DecoderOptions dopts;
    if (!s.schemas && s.decimals == DecimalMode::Precise) dopts.schemalessDecimals = debezium::SchemalessDecimals::Precise;
    debezium::Decoder d(dopts);
    std::vector<std::string> summary;
    for (const auto& r : generate(o)) {
      if (!r.value) continue;
      debezium::ChangeEvent ev;
      auto st = d.decode(r.topic, std::string_view(r.key), std::string_view(*r.value), ev);
      ASSERT_TRUE(st.has_value()) << st.error().message() << " in " << *r.value;
      const auto& row = ev.after ? *ev.after : *ev.before;
      std::string line = std::string(1, opCode(ev.op)) + debezium::tableName(ev.table) + std::to_string(ev.rowId());
      std::visit(
          [&](const auto& x) {
            using R = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<R, debezium::ProductRow>) {
              line += "|" + x.name + "|" + x.price.toString() + "|" + std::to_string(x.stockQuantity) + "|" +
                      std::to_string(x.updatedAt.millis());
            } else if constexpr (std::is_same_v<R, debezium::OrderRow>) {
              line += "|" + std::to_string(x.customerId.value) + "|" + x.totalAmount.toString() + "|" + x.status + "|" +
                      std::to_string(x.createdAt.millis());
            } else {
              line += "|" + std::to_string(x.productId.value) + "|" + std::to_string(x.quantity) + "|" + x.price.toString() +
                      "|" + std::to_string(x.createdAt.millis());
            }
          },
          row);
      summary.push_back(std::move(line));
    }
    if (reference.empty()) {
      reference = summary;
    } else {
      EXPECT_EQ(summary, reference);
    }
  }
  EXPECT_GT(reference.size(), 500u);
}

TEST(GeneratorTest, KcatLineFormat) {
  GeneratedRecord r;
  r.topic = "dbserver1.public.products";
  r.partition = 2;
  r.offset = 42;
  r.timestampMs = 1767225600130;
  r.key = R"({"id":1})";
  r.value = R"({"id":1,"name":"a \"b\""})";
  std::string line;
  WorkloadGenerator::appendKcatLine(r, line);
  EXPECT_EQ(
      line,
      R"({"topic":"dbserver1.public.products","partition":2,"offset":42,"tstype":"create","ts":1767225600130,"broker":0,"key":"{\"id\":1}","payload":"{\"id\":1,\"name\":\"a \\\"b\\\"\"}"})"
      "\n");
  r.value.reset();
  line.clear();
  WorkloadGenerator::appendKcatLine(r, line);
  EXPECT_NE(line.find(R"("payload":null})"), std::string::npos);
}

}  // namespace
}  // namespace cdc::workload
