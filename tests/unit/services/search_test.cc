#include <gtest/gtest.h>

#include <unistd.h>
#include <filesystem>
#include <map>
#include <random>
#include <set>

#include "adapters/localfs/dir_object_store.h"
#include "adapters/sqlite/sqlite_table_store.h"
#include "runtime/dead_letter.h"
#include "runtime/runner.h"
#include "services/search/indexer.h"
#include "services/search/search_api.h"
#include "services/search/searcher.h"
#include "services/search/tokenizer.h"
#include "support/forwarding_table_store.h"
#include "support/vector_source.h"
#include "workload/encoder.h"
#include "workload/generator.h"

namespace cdc::search {
namespace {

namespace fs = std::filesystem;
using store::AttributeValue;

struct Product {
  std::string name, description;
  int64_t cents = 0;
};

class SearchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("cdc-search-" + std::to_string(::getpid()) + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    objects_ = std::make_unique<localfs::DirObjectStore>(dir_);
    fresh();
  }
  void TearDown() override { fs::remove_all(dir_); }

  void fresh() {
    tables_ = std::move(*sqlite::SqliteTableStore::open(":memory:"));
    IndexerOptions o;
    o.time = &time_;
    indexer_ = std::make_unique<IndexerHandler>(*tables_, o);
  }

  void index(std::vector<runtime::Record> records, size_t batch = 200) {
    test::VectorSource src(std::move(records));
    runtime::RunnerOptions ro;
    ro.batchSize = batch;
    std::atomic<bool> stop{false};
    auto stats = runtime::Runner(src, *indexer_, *objects_, ro, stop).run();
    ASSERT_TRUE(stats.has_value()) << stats.error().message;
    ASSERT_EQ(stats->deadLetters, 0u);
  }

  // The products topic of a generated workload (snapshot, updates, deletes) and the final rows.
  std::vector<runtime::Record> catalogue(int64_t products, int64_t orders, std::map<int64_t, Product>& final) {
    workload::WorkloadOptions w;
    w.products = products;
    w.orders = orders;
    w.seed = 99;
    workload::WorkloadGenerator gen(w);
    workload::GeneratedRecord g;
    std::vector<runtime::Record> out;
    debezium::Decoder d;
    while (gen.next(g)) {
      if (g.table != debezium::Table::Products) continue;
      runtime::Record r;
      r.topic = topics_.intern(g.topic);
      r.partition = g.partition;
      r.offset = g.offset;
      r.key = g.key;
      r.value = g.value;
      if (g.value) {
        debezium::ChangeEvent ev;
        EXPECT_TRUE(d.decode(g.topic, std::nullopt, std::string_view(*g.value), ev).has_value());
        if (ev.op == debezium::Op::Delete) {
          final.erase(ev.rowId());
        } else {
          const auto& p = *ev.afterAs<debezium::ProductRow>();
          final[p.id.value] = {p.name, p.description, p.price.cents()};
        }
      }
      out.push_back(std::move(r));
    }
    return out;
  }

  // The brute-force answer: every live product, checked one by one.
  std::vector<std::pair<int64_t, int64_t>> bruteForce(const std::map<int64_t, Product>& final, const std::string& q,
                                                      int64_t minCents, int64_t maxCents) {
    std::string prefix = prefixToken(q);
    std::vector<std::string> whole = tokenize(q);
    if (!prefix.empty() && !whole.empty() && !isStopWord(prefix)) whole.pop_back();
    std::set<std::string> wholeSet(whole.begin(), whole.end());
    std::vector<std::pair<int64_t, int64_t>> out;  // (-score, id)
    for (const auto& [id, p] : final) {
      if (p.cents < minCents || p.cents > maxCents) continue;
      auto tokens = weightedTokens(p.name, p.description);
      int64_t score = 0;
      bool ok = true;
      for (const auto& t : wholeSet) {
        auto it = tokens.find(t);
        if (it == tokens.end())
          ok = false;
        else
          score += it->second;
      }
      if (ok && !prefix.empty()) {
        int64_t best = -1;
        for (const auto& [t, w] : tokens) {
          if (t == stem(prefix) || (prefix.size() >= 2 && t.starts_with(prefix))) best = std::max(best, w);
        }
        if (best < 0)
          ok = false;
        else
          score += best;
      }
      if (ok) out.emplace_back(-score, id);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  std::vector<std::pair<int64_t, int64_t>> searchAll(const std::string& q, int64_t minCents, int64_t maxCents, int limit) {
    Searcher s(*tables_, IndexTables{});
    SearchRequest r;
    r.query = q;
    if (minCents > 0) r.minPriceCents = minCents;
    if (maxCents < INT64_MAX) r.maxPriceCents = maxCents;
    r.limit = limit;
    std::vector<std::pair<int64_t, int64_t>> out;
    do {
      auto page = s.search(r);
      EXPECT_TRUE(page.has_value()) << page.error().message;
      if (!page) break;
      EXPECT_LE(page->hits.size(), static_cast<size_t>(limit));
      for (const auto& h : page->hits) out.emplace_back(-h.score, h.productId);
      r.cursor = page->nextCursor;
    } while (!r.cursor.empty());
    return out;
  }

  // A products record in the production shape, on partition 0 at `offset`.
  runtime::Record productRecord(debezium::Op op, int64_t id, std::string name, std::string description, int32_t stock,
                                int64_t offset) {
    workload::DebeziumEncoder enc{workload::EncoderOptions{}};
    debezium::ChangeEvent c;
    c.table = debezium::Table::Products;
    c.op = op;
    debezium::ProductRow row;
    row.id = ProductId{id};
    row.name = std::move(name);
    row.description = std::move(description);
    row.price = Money::fromCents(1999);
    row.stockQuantity = stock;
    row.present = debezium::kAllColumns;
    (op == debezium::Op::Delete ? c.before : c.after) = row;
    c.source.tsMs = 1767225600000 + offset;
    runtime::Record r;
    r.topic = topics_.intern("dbserver1.public.products");
    r.partition = 0;
    r.offset = offset;
    enc.key(debezium::Table::Products, id, r.key.emplace());
    r.value.emplace();
    enc.value(c, *r.value);
    return r;
  }

  // Every posting of every token shard.
  std::vector<Posting> allPostings() {
    auto scanned = tables_->scan({"product-search-index-postings", 100000, std::nullopt});
    EXPECT_TRUE(scanned.has_value());
    std::vector<Posting> out;
    for (const auto& shard : scanned.value_or(store::Page{}).items) {
      for (auto& p : search::postingsOf(shard)) out.push_back(std::move(p));
    }
    return out;
  }
  size_t postingsOf(int64_t productId) {
    size_t n = 0;
    for (const auto& p : allPostings()) n += p.productId == productId;
    return n;
  }

  fs::path dir_;
  runtime::TopicInterner topics_;
  std::unique_ptr<localfs::DirObjectStore> objects_;
  std::unique_ptr<sqlite::SqliteTableStore> tables_;
  ManualTime time_;  // 2026-01-01T00:00:00Z, still
  std::unique_ptr<IndexerHandler> indexer_;
};

TEST_F(SearchTest, IndexContentsMatchTheCatalogueUnderDuplicatesAndStaleDeliveries) {
  std::map<int64_t, Product> final;
  auto records = catalogue(80, 3000, final);
  ASSERT_GT(records.size(), 150u);
  for (int iteration = 0; iteration < 12; ++iteration) {
    std::mt19937_64 rng(static_cast<uint64_t>(iteration));
    std::vector<runtime::Record> delivery;
    for (size_t i = 0; i < records.size(); ++i) {
      delivery.push_back(records[i]);
      if (rng() % 100 < 5) delivery.push_back(records[i]);                   // duplicate
      if (i > 0 && rng() % 100 < 5) delivery.push_back(records[rng() % i]);  // stale, late
    }
    fresh();
    index(delivery, 1 + rng() % 150);
    // Items: every live product with the seed's attributes; deleted ones only as tombstones.
    for (const auto& [id, p] : final) {
      auto item = tables_->get("product-search-index", {{"product_id", AttributeValue::n(id)}});
      ASSERT_TRUE(item.has_value() && item->has_value()) << id;
      const auto& it = **item;
      ASSERT_EQ(store::find(it, "name")->text(), p.name);
      ASSERT_EQ(store::find(it, "name_lower")->text(), lowercase(p.name));
      ASSERT_EQ(store::find(it, "price")->asInt(), p.cents);
      ASSERT_EQ(store::find(it, "price_display")->text(), std::string("$").append(Money::fromCents(p.cents).toString()));
      ASSERT_EQ(store::find(it, "deleted"), nullptr);
    }
    // Postings: exactly the live products' tokens with their weights.
    std::map<std::pair<std::string, int64_t>, int64_t> want, got;
    for (const auto& [id, p] : final) {
      for (const auto& [t, w] : weightedTokens(p.name, p.description)) want[{t, id}] = w;
    }
    for (const auto& p : allPostings()) {
      ASSERT_TRUE(got.emplace(std::pair{p.token, p.productId}, p.weight).second)
          << "product " << p.productId << " twice under " << p.token << ", iteration " << iteration;
    }
    ASSERT_EQ(got, want) << "iteration " << iteration;
  }
}

TEST_F(SearchTest, AnswersMatchABruteForceSearch) {
  std::map<int64_t, Product> final;
  index(catalogue(300, 6000, final));
  // Queries from the catalogue's own words: 1 to 3 whole words, prefixes, price ranges.
  std::vector<std::string> words;
  for (const auto& [id, p] : final) {
    for (const auto& t : tokenize(p.name + " " + p.description)) {
      if (t.size() >= 3 && !std::isdigit(static_cast<unsigned char>(t[0]))) words.push_back(t);
    }
  }
  ASSERT_GT(words.size(), 100u);
  std::mt19937_64 rng(3);
  int nonEmpty = 0;
  for (int n = 0; n < 120; ++n) {
    std::string q;
    int count = 1 + static_cast<int>(rng() % 3);
    for (int k = 0; k < count; ++k) q += (k ? " " : "") + words[rng() % words.size()];
    if (rng() % 2)
      q = q.substr(0, q.size() - rng() % 3);  // the last word cut: a prefix
    else
      q += " ";  // complete words only
    int64_t minCents = rng() % 3 == 0 ? static_cast<int64_t>(rng() % 5000) : 0;
    int64_t maxCents = rng() % 3 == 0 ? minCents + static_cast<int64_t>(rng() % 20000) : INT64_MAX;
    auto want = bruteForce(final, q, minCents, maxCents);
    auto got = searchAll(q, minCents, maxCents, 1 + static_cast<int>(rng() % 7));
    ASSERT_EQ(got, want) << "query '" << q << "' [" << minCents << ", " << maxCents << "]";
    nonEmpty += !want.empty();
  }
  EXPECT_GT(nonEmpty, 40);
  // Accents and case: "CAFÉ" finds what "cafe" finds.
  EXPECT_EQ(searchAll("CAFÉ ", 0, INT64_MAX, 10), searchAll("cafe ", 0, INT64_MAX, 10));
}

TEST_F(SearchTest, DeletesLeaveNoPostingsAndPoisonIsDeadLettered) {
  std::map<int64_t, Product> final;
  auto records = catalogue(30, 100, final);
  // A delete of product 3, then a stale update of it delivered late: it must stay deleted.
  workload::DebeziumEncoder enc{workload::EncoderOptions{}};
  debezium::ChangeEvent del;
  del.table = debezium::Table::Products;
  del.op = debezium::Op::Delete;
  debezium::ProductRow row;
  row.id = ProductId{3};
  row.name = "Gone Product";
  row.price = Money::fromCents(100);
  row.present = debezium::kAllColumns;
  del.before = row;
  runtime::Record d;
  d.topic = topics_.intern("dbserver1.public.products");
  enc.key(debezium::Table::Products, 3, d.key.emplace());
  d.partition = workload::kafkaPartition(*d.key, 3);  // product 3's own partition
  d.offset = 100000;
  d.value.emplace();
  enc.value(del, *d.value);
  runtime::Record stale = d;
  stale.offset = 99999;
  debezium::ChangeEvent upd = del;
  upd.op = debezium::Op::Update;
  upd.after = row;
  upd.before.reset();
  stale.value->clear();
  enc.value(upd, *stale.value);
  runtime::Record negative = stale;
  negative.offset = 100001;
  negative.key.reset();
  row.id = ProductId{4};
  row.price = Money::fromCents(-5);
  upd.after = row;
  negative.value->clear();
  enc.value(upd, *negative.value);
  records.push_back(d);
  records.push_back(stale);
  records.push_back(negative);
  test::VectorSource src(records);
  runtime::RunnerOptions ro;
  std::atomic<bool> stop{false};
  auto stats = runtime::Runner(src, *indexer_, *objects_, ro, stop).run();
  ASSERT_TRUE(stats.has_value());
  EXPECT_EQ(stats->deadLetters, 1u);  // the negative price
  auto item = tables_->get("product-search-index", {{"product_id", AttributeValue::n(3)}});
  ASSERT_TRUE(item.has_value() && item->has_value());
  EXPECT_NE(store::find(**item, "deleted"), nullptr);  // a tombstone in no index
  EXPECT_EQ(store::find(**item, "name_lower"), nullptr);
  EXPECT_EQ(store::find(**item, "price"), nullptr);
  EXPECT_EQ(postingsOf(3), 0u);
  EXPECT_EQ(searchAll("gone", 0, INT64_MAX, 10).size(), 0u);
}

// Debezium 3.x's default sends a delete only as a tombstone: the product and every posting of
// it go, from the key and what the index holds; after a rewritten delete it changes nothing.
TEST_F(SearchTest, TombstonesDeleteFromTheKeyAndRepeatNothing) {
  index({productRecord(debezium::Op::Read, 101, "Steel Lamp", "warm light", 5, 1),
         productRecord(debezium::Op::Read, 102, "Steel Desk", "oak top", 5, 2)});
  ASSERT_GT(postingsOf(101), 0u);
  runtime::Record tomb;
  tomb.topic = topics_.intern("dbserver1.public.products");
  tomb.offset = 3;
  tomb.key =
      R"({"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"}],"optional":false,"name":"k"},"payload":{"id":101}})";
  tomb.value =
      R"({"schema":{"type":"struct","fields":[],"optional":true,"name":"dbserver1.public.products.Value"},"payload":null})";
  index({tomb});
  EXPECT_EQ(postingsOf(101), 0u);
  EXPECT_EQ(searchAll("lamp", 0, INT64_MAX, 10).size(), 0u);
  EXPECT_EQ(searchAll("steel", 0, INT64_MAX, 10).size(), 1u);
  auto item = tables_->get("product-search-index", {{"product_id", AttributeValue::n(101)}});
  ASSERT_TRUE(item.has_value() && item->has_value());
  EXPECT_NE(store::find(**item, "deleted"), nullptr);
  // The rewritten delete of 102, then its Kafka tombstone: one item write, not two.
  index({productRecord(debezium::Op::Delete, 102, "Steel Desk", "oak top", 5, 4)});
  uint64_t writes = indexer_->stats().itemWrites;
  runtime::Record kafkaNull = tomb;
  kafkaNull.offset = 5;
  kafkaNull.key = R"({"id":102})";
  kafkaNull.value.reset();
  index({kafkaNull});
  EXPECT_EQ(indexer_->stats().itemWrites, writes);
  EXPECT_EQ(indexer_->stats().repeatedDeletes, 1u);
  EXPECT_EQ(postingsOf(102), 0u);
  EXPECT_EQ(searchAll("steel", 0, INT64_MAX, 10).size(), 0u);
  // The same delete and tombstone within one batch leave the same item as across two batches:
  // the delete stays the product's last change.
  index({productRecord(debezium::Op::Read, 103, "Steel Chair", "oak", 5, 6)});
  runtime::Record sameBatch = kafkaNull;
  sameBatch.offset = 8;
  sameBatch.key = R"({"id":103})";
  index({productRecord(debezium::Op::Delete, 103, "Steel Chair", "oak", 5, 7), sameBatch});
  auto deleted102 = tables_->get("product-search-index", {{"product_id", AttributeValue::n(102)}});
  auto deleted103 = tables_->get("product-search-index", {{"product_id", AttributeValue::n(103)}});
  ASSERT_TRUE(deleted102.has_value() && deleted102->has_value() && deleted103.has_value() && deleted103->has_value());
  EXPECT_EQ(store::find(**deleted102, "src_offset")->asInt(), 4);  // the delete's, not the tombstone's (5)
  EXPECT_EQ(store::find(**deleted103, "src_offset")->asInt(), 7);  // the delete's, not the tombstone's (8)
  EXPECT_EQ(*store::find(**deleted103, "cdc_timestamp"), AttributeValue::n(1767225600000 + 7));
  EXPECT_EQ(postingsOf(103), 0u);
}

TEST_F(SearchTest, AStockChangeKeepsTheTokensAndRenewsTheRestOfTheItem) {
  auto itemOf = [&](int64_t id) {
    auto got = tables_->get("product-search-index", {{"product_id", AttributeValue::n(id)}});
    EXPECT_TRUE(got.has_value() && got->has_value());
    return got.has_value() && got->has_value() ? **got : store::Item{};
  };
  index({productRecord(debezium::Op::Read, 201, "Oak Table", "solid wood", 5, 1)});
  store::Item first = itemOf(201);
  size_t postings = postingsOf(201);
  ASSERT_GT(postings, 0u);

  // The same text: the stored item is renewed in place (the tokens kept).
  index({productRecord(debezium::Op::Update, 201, "Oak Table", "solid wood", 3, 2)});
  store::Item second = itemOf(201);
  EXPECT_EQ(*store::find(second, "stock_quantity"), AttributeValue::n(3));
  EXPECT_EQ(*store::find(second, "version"), AttributeValue::n(store::find(first, "version")->asIntOr(0) + 1));
  EXPECT_EQ(*store::find(second, "src_offset"), AttributeValue::n(2));
  EXPECT_EQ(*store::find(second, "cdc_timestamp"), AttributeValue::n(1767225600000 + 2));
  EXPECT_EQ(*store::find(second, "indexed_at"), AttributeValue::s("2026-01-01T00:00:00.002Z"));
  for (const char* kept : {"name", "name_lower", "description", "search_tokens", "token_weights", "price", "price_display"}) {
    ASSERT_NE(store::find(second, kept), nullptr) << kept;
    EXPECT_EQ(*store::find(second, kept), *store::find(first, kept)) << kept;
  }
  EXPECT_EQ(second.size(), first.size());
  EXPECT_EQ(postingsOf(201), postings);
  EXPECT_EQ(searchAll("oak", 0, INT64_MAX, 10).size(), 1u);

  // An item with an attribute this indexer does not write (another version's) is written whole
  // again: the next item holds exactly the live product's attributes.
  store::Item legacy = second;
  legacy["legacy_rank"] = AttributeValue::n(7);
  ASSERT_TRUE(tables_->put({"product-search-index", legacy, std::nullopt}).has_value());
  index({productRecord(debezium::Op::Update, 201, "Oak Table", "solid wood", 1, 3)});
  store::Item third = itemOf(201);
  EXPECT_EQ(store::find(third, "legacy_rank"), nullptr);
  EXPECT_EQ(*store::find(third, "stock_quantity"), AttributeValue::n(1));
  EXPECT_EQ(*store::find(third, "version"), AttributeValue::n(store::find(second, "version")->asIntOr(0) + 1));
  EXPECT_EQ(*store::find(third, "search_tokens"), *store::find(first, "search_tokens"));
  EXPECT_EQ(third.size(), first.size());
  EXPECT_EQ(postingsOf(201), postings);
}

TEST_F(SearchTest, PriceRangesAloneUseThePriceIndex) {
  std::map<int64_t, Product> final;
  index(catalogue(200, 2000, final));
  Searcher s(*tables_, IndexTables{});
  SearchRequest r;
  r.minPriceCents = 1000;
  r.maxPriceCents = 5000;
  r.limit = 100;
  auto page = s.search(r);
  ASSERT_TRUE(page.has_value());
  std::vector<std::pair<int64_t, int64_t>> want;
  for (const auto& [id, p] : final) {
    if (p.cents >= 1000 && p.cents <= 5000) want.emplace_back(p.cents, id);
  }
  std::sort(want.begin(), want.end());
  ASSERT_EQ(page->hits.size(), std::min<size_t>(100, want.size()));
  for (size_t i = 0; i < page->hits.size(); ++i) EXPECT_EQ(page->hits[i].productId, want[i].second);
  EXPECT_LE(page->queries, 4);                          // buckets 10..13: one Query each
  EXPECT_FALSE(s.search(SearchRequest{}).has_value());  // neither a query nor a range
}

// GET /search with a store that fails: the client gets the status (503 for a passing failure,
// 500 otherwise) and no word of the store's own (endpoints, tables), which go to the log.
TEST_F(SearchTest, AFailingStoreIsAnsweredWithoutItsOwnWords) {
  std::map<int64_t, Product> final;
  index(catalogue(20, 200, final));
  class Failing final : public test::ForwardingTableStore {
   public:
    Failing(store::TableStore& inner, ErrorKind kind) : ForwardingTableStore(inner), kind_(kind) {}
    Result<store::Page> query(const store::QueryRequest&) override {
      return fail(Error{kind_, "dynamodb https://dynamodb.internal.example:8000 table secret-index: AccessDenied"});
    }
    Result<store::Page> scan(const store::ScanRequest&) override { return query({}); }

   private:
    ErrorKind kind_;
  };
  for (auto [kind, status] : {std::pair{ErrorKind::Retry, 503}, std::pair{ErrorKind::Fatal, 500}}) {
    SCOPED_TRACE(status);
    Failing failing(*tables_, kind);
    Searcher s(failing, IndexTables{});
    auto [code, body] = handleSearch(s, {{"q", "desk"}});
    EXPECT_EQ(code, status);
    EXPECT_EQ(body.find("internal.example"), std::string::npos) << body;
    EXPECT_EQ(body.find("secret-index"), std::string::npos) << body;
    EXPECT_EQ(body.find("AccessDenied"), std::string::npos) << body;
    EXPECT_NE(body.find("\"error\":"), std::string::npos) << body;
  }
  // A request of the client's own making is still explained.
  Searcher s(*tables_, IndexTables{});
  auto [code, body] = handleSearch(s, {{"q", "desk"}, {"cursor", "not-a-cursor"}});
  EXPECT_EQ(code, 400);
  EXPECT_NE(body.find("cursor"), std::string::npos) << body;
}

// Products DynamoDB would refuse (a 10 MB description, a name too long for the name-index key)
// and a negative stock are dead letters decided before any write: no postings or vocabulary of
// theirs are left behind and the good products are indexed once.
TEST_F(SearchTest, OversizedAndNegativeProductsAreRejectedBeforeAnyWrite) {
  std::vector<runtime::Record> records;
  auto add = [&](int64_t id, std::string name, std::string description, int32_t stock) {
    records.push_back(productRecord(debezium::Op::Read, id, std::move(name), std::move(description), stock,
                                    static_cast<int64_t>(records.size())));
  };
  add(1, "Desk Lamp", "warm light", 5);
  std::string huge = "zebrahuge ";
  while (huge.size() < (10u << 20)) huge += "lorem ipsum dolor sit amet ";
  add(2, "Huge Lamp", huge, 5);
  add(3, "Longname " + std::string(3000, 'q') + " zebraname", "a lamp", 5);
  add(4, "Negative zebraneg Lamp", "a lamp", -1);
  add(5, "Floor Lamp", "tall light", 5);
  test::VectorSource src(records);
  runtime::RunnerOptions ro;
  std::atomic<bool> stop{false};
  auto stats = runtime::Runner(src, *indexer_, *objects_, ro, stop).run();
  ASSERT_TRUE(stats.has_value()) << stats.error().message;
  EXPECT_EQ(stats->deadLetters, 3u);
  EXPECT_EQ(indexer_->stats().changes, 2u);  // 1 and 5, once each
  EXPECT_EQ(indexer_->stats().stale, 0u);
  auto letters = runtime::listDeadLetters(*objects_, "search-indexer");
  ASSERT_TRUE(letters.has_value());
  std::string errors;
  for (const auto& d : *letters) errors += d.error + "\n";
  EXPECT_NE(errors.find("product 2: an item of"), std::string::npos) << errors;
  EXPECT_NE(errors.find("exceeds DynamoDB's 400 KB item size"), std::string::npos) << errors;
  EXPECT_NE(errors.find("product 3: a name of"), std::string::npos) << errors;
  EXPECT_NE(errors.find("negative stock_quantity -1 for product 4"), std::string::npos) << errors;
  for (const char* table : {"product-search-index-postings", "product-search-index-tokens"}) {
    auto scanned = tables_->scan({table, 100000, std::nullopt});
    ASSERT_TRUE(scanned.has_value());
    for (const auto& item : scanned->items) EXPECT_FALSE(store::find(item, "token")->text().starts_with("zebra")) << table;
  }
  for (const auto& p : allPostings()) EXPECT_TRUE(p.productId == 1 || p.productId == 5) << p.token << " " << p.productId;
  EXPECT_EQ(searchAll("lamp", 0, INT64_MAX, 10).size(), 2u);
}

// Words longer than kMaxTokenBytes are not tokens; queries beyond the bounds are refused.
TEST_F(SearchTest, LongWordsAreNotIndexedAndHugeQueriesAreRefused) {
  EXPECT_EQ(tokenize("lamp " + std::string(65, 'a') + " " + std::string(64, 'b')),
            (std::vector<std::string>{"lamp", std::string(64, 'b')}));
  Searcher s(*tables_, IndexTables{});
  SearchRequest r;
  r.query = std::string(200 * 1024, 'q');
  auto refused = s.search(r);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().kind, ErrorKind::Poison);
  EXPECT_EQ(refused.error().message, "q: at most 1024 bytes, got 204800");
  r.query.clear();
  for (int i = 0; i < 17; ++i) r.query += "word" + std::to_string(i) + " ";
  refused = s.search(r);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().message, "q: at most 16 distinct words");
}

// Found by the crash test on Kafka + moto: an attempt that crashed between a product's postings
// and its item write, then the same change redelivered in one batch with a later change of the
// product (here its delete), left the first change's postings behind for good.
TEST_F(SearchTest, PostingsOfACrashedAttemptAreCleanedWhenALaterChangeSupersedesIt) {
  class CrashBeforeTheItem final : public test::ForwardingTableStore {
   public:
    using ForwardingTableStore::ForwardingTableStore;
    Result<store::TransactOutcome> transact(std::span<const store::TransactItem> items) override {
      for (const auto& i : items) {
        const auto* put = std::get_if<store::PutRequest>(&i);
        if (put && put->table == "product-search-index") return fail(Error::fatal("the process died before the item write"));
      }
      return inner_.transact(items);
    }
  } crashing(*tables_);
  auto create = productRecord(debezium::Op::Create, 101, "Brass Desk Lamp", "warm light", 5, 0);
  auto update = productRecord(debezium::Op::Update, 101, "Steel Lamp", "cold light", 5, 1);
  auto remove = productRecord(debezium::Op::Delete, 101, "Steel Lamp", "cold light", 5, 2);
  {
    IndexerOptions o;
    IndexerHandler crashed(crashing, o);
    test::VectorSource src({create});
    runtime::RunnerOptions ro;
    std::atomic<bool> stop{false};
    EXPECT_FALSE(runtime::Runner(src, crashed, *objects_, ro, stop).run().has_value());
  }
  ASSERT_GT(postingsOf(101), 0u);  // written before the "crash"
  index({create, update});         // redelivered with a later change of the product
  EXPECT_EQ(searchAll("brass", 0, INT64_MAX, 10).size(), 0u);
  EXPECT_EQ(searchAll("steel", 0, INT64_MAX, 10).size(), 1u);
  index({remove});
  EXPECT_EQ(postingsOf(101), 0u);
}

// A zombie indexer: it read product 101's item, then stalled past its session timeout, and its
// postings transaction reaches the store only after the group gave the partition to another
// member, which claimed it and indexed the product's later changes. The lease check refuses
// the zombie's postings: they stay exactly the product's current tokens. Run again on a store
// that drops the check, the same interleaving leaves the zombie's stale tokens in the postings.
TEST_F(SearchTest, AZombiesPostingsHeldUntilTheNewOwnerCommittedAreRefused) {
  class Holding final : public test::ForwardingTableStore {
   public:
    Holding(store::TableStore& inner, bool checked) : ForwardingTableStore(inner), checked_(checked) {}
    Result<store::TransactOutcome> transact(std::span<const store::TransactItem> items) override {
      bool postings = std::any_of(items.begin(), items.end(), [](const store::TransactItem& i) {
        const auto* u = std::get_if<store::UpdateRequest>(&i);
        return u && u->table == "product-search-index-postings";
      });
      if (postings && meanwhile) std::exchange(meanwhile, nullptr)();  // held until the owner is done
      if (checked_) return inner_.transact(items);
      std::vector<store::TransactItem> unchecked;
      for (const auto& i : items) {
        if (!std::holds_alternative<store::ConditionCheck>(i)) unchecked.push_back(i);
      }
      return inner_.transact(unchecked);
    }
    std::function<void()> meanwhile;

   private:
    bool checked_;
  };
  auto create = productRecord(debezium::Op::Create, 101, "Brass Desk Lamp", "warm light", 5, 0);
  auto update = productRecord(debezium::Op::Update, 101, "Steel Lamp", "cold light", 5, 1);
  auto later = productRecord(debezium::Op::Update, 101, "Copper Chair", "soft seat", 5, 2);
  std::map<std::pair<std::string, int64_t>, int64_t> want;
  for (const auto& [t, w] : weightedTokens("Copper Chair", "soft seat")) want[{t, 101}] = w;
  for (bool checked : {true, false}) {
    fresh();
    Holding zombieView(*tables_, checked);
    IndexerOptions zo;
    zo.member = "zombie";
    IndexerHandler zombie(zombieView, zo);
    auto run = [&](IndexerHandler& h, std::vector<runtime::Record> records) {
      auto stats = test::runRecords(h, *objects_, std::move(records));
      ASSERT_TRUE(stats.has_value()) << stats.error().message;
    };
    run(zombie, {create});
    // The zombie reads the item and sends its postings for the update; before they arrive, the
    // owner claims the partition and indexes the update and a later change.
    zombieView.meanwhile = [&] {
      IndexerOptions no;
      no.member = "owner";
      IndexerHandler owner(*tables_, no);
      run(owner, {update, later});
    };
    run(zombie, {update});
    EXPECT_FALSE(zombieView.meanwhile);
    std::map<std::pair<std::string, int64_t>, int64_t> got;
    for (const auto& p : allPostings()) got[{p.token, p.productId}] = p.weight;
    auto lease = tables_->get("product-search-index-postings", {{"token", AttributeValue::s("#lease/dbserver1.public.products")},
                                                                {"shard", AttributeValue::n(0)}});
    ASSERT_TRUE(lease.has_value() && lease->has_value());
    EXPECT_EQ(store::find(**lease, "owner")->text(), "owner");
    EXPECT_EQ(store::find(**lease, "epoch")->asInt(), 2);
    EXPECT_EQ(zombie.stats().fenced, 1u);
    if (checked) {
      EXPECT_EQ(got, want);
    } else {
      EXPECT_NE(got, want);
      EXPECT_TRUE(got.contains({"steel", 101}));  // a token the product no longer has
    }
    EXPECT_EQ(searchAll("copper", 0, INT64_MAX, 10).size(), 1u);
  }
}

}  // namespace
}  // namespace cdc::search
