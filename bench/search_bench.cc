// Search latency over an index built by `cdc search-indexer`: random queries made of the
// catalogue's own words (1 to 3 words, the last one cut to a prefix half of the time, a price
// range a third of the time), each timed end to end through Searcher (Queries + BatchGetItem on
// the SQLite store). Usage: search_bench STORE.db [QUERIES]

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <set>

#include "adapters/sqlite/sqlite_table_store.h"
#include "services/search/searcher.h"
#include "services/search/tokenizer.h"

int main(int argc, char** argv) {
  using namespace cdc;
  if (argc < 2) {
    std::fprintf(stderr, "usage: search_bench STORE.db [QUERIES]\n");
    return 2;
  }
  int n = argc > 2 ? std::atoi(argv[2]) : 1000;
  auto tables = sqlite::SqliteTableStore::open(argv[1]);
  if (!tables) return 2;
  // The vocabulary of product names, read once with a Scan (the benchmark's set-up only).
  std::vector<std::string> words;
  std::set<std::string> seen;
  store::ScanRequest scan{"product-search-index", 1000, std::nullopt};
  size_t products = 0;
  do {
    auto page = (*tables)->scan(scan);
    if (!page) return 2;
    for (const auto& item : page->items) {
      const auto* name = store::find(item, "name");
      if (!name) continue;
      ++products;
      for (const auto& t : search::tokenize(name->text())) {
        if (t.size() >= 3 && !std::isdigit(static_cast<unsigned char>(t[0])) && seen.insert(t).second) words.push_back(t);
      }
    }
    scan.exclusiveStartKey = page->lastEvaluatedKey;
  } while (scan.exclusiveStartKey);
  search::Searcher searcher(**tables, search::IndexTables{});
  std::mt19937_64 rng(1);
  std::vector<double> micros;
  size_t hits = 0, queries = 0;
  for (int i = 0; i < n; ++i) {
    search::SearchRequest r;
    int count = 1 + static_cast<int>(rng() % 3);
    for (int k = 0; k < count; ++k) r.query += (k ? " " : "") + words[rng() % words.size()];
    if (rng() % 2) r.query.resize(r.query.size() - rng() % 3);
    if (rng() % 3 == 0) {
      r.minPriceCents = static_cast<int64_t>(rng() % 10000);
      r.maxPriceCents = *r.minPriceCents + 20000;
    }
    auto start = std::chrono::steady_clock::now();
    auto page = searcher.search(r);
    auto us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
    if (!page) return 1;
    micros.push_back(us);
    hits += page->hits.size();
    queries += static_cast<size_t>(page->queries);
  }
  std::sort(micros.begin(), micros.end());
  auto pct = [&](double p) { return micros[static_cast<size_t>(p * (micros.size() - 1))] / 1000.0; };
  std::printf(
      "%zu products, %d searches: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms; %.1f store Queries and %.1f hits per "
      "search\n",
      products, n, pct(0.5), pct(0.9), pct(0.99), micros.back() / 1000.0, static_cast<double>(queries) / n,
      static_cast<double>(hits) / n);
  return 0;
}
