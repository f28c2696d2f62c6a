#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/result.h"
#include "services/search/layout.h"
#include "store/table_store.h"

namespace cdc::search {

struct SearchRequest {
  std::string query;
  std::optional<int64_t> minPriceCents;
  std::optional<int64_t> maxPriceCents;
  int limit = 20;      // 1..100
  std::string cursor;  // from the previous page; empty for the first
};

struct SearchHit {
  int64_t productId = 0;
  int64_t score = 0;  // the rank: the postings' score of a text search, -price (cents) of a price-only one
  store::Item item;
  bool textScore = true;  // false: a price-only search, whose rank is no score to show
};

struct SearchPage {
  std::vector<SearchHit> hits;
  std::string nextCursor;  // empty on the last page
  int queries = 0;         // store Queries the search made (never a Scan)
};

// Answers searches from the index, with Queries only:
//  - every query token must match: whole tokens (after the tokenizer's rules) by one Query on
//    the postings each; the last word as typed is a prefix (at least two characters): one
//    Query on the vocabulary (begins_with), then one Query on the postings per matching token
//    (the 50 first), plus its stemmed form as a whole token;
//  - a price range alone is answered by the price-range-index, one Query per power of two;
//  - score: the sum over the query tokens of the product's token weight (3 per occurrence in
//    the name, 1 in the description; for the prefix, the best matching token). Results are
//    ranked by score, then by ascending product id; a price-only search by ascending price.
//  - pages: the cursor names the last hit of the previous page.
// The items are read back (BatchGetItem) and checked against the query, so a product changed
// between the postings and the item writes never shows up wrongly. Not thread-safe.
class Searcher {
 public:
  // A query beyond these is refused (a 400): each word costs a Query on the postings.
  static constexpr size_t kMaxQueryBytes = 1024;
  static constexpr size_t kMaxQueryWords = 16;

  Searcher(store::TableStore& tables, IndexTables names) : tables_(tables), names_(std::move(names)) {}
  Result<SearchPage> search(const SearchRequest& request);

 private:
  // A request checked and split: its whole tokens, its prefix, where its page starts.
  struct Query {
    std::vector<std::string> whole;                    // sorted, distinct
    std::string prefix;                                // the last word as typed; empty when the query ends in a separator
    std::optional<std::pair<int64_t, int64_t>> after;  // the cursor's (score, id)
    int64_t minPrice = 0;
    int64_t maxPrice = 0;
    size_t limit = 0;
  };
  // The steps of search(): the request checked, then the hits of its text (postings scores,
  // the items read back in rank order) or of its price range alone, then the page cut.
  static Result<Query> parse(const SearchRequest& request);
  Result<std::vector<SearchHit>> textHits(const Query& q, int& queries);
  Result<std::vector<SearchHit>> priceHits(const Query& q, int& queries);
  // The vocabulary's tokens that begin with the prefix (the first 50), and its stemmed form.
  Result<std::set<std::string>> prefixTokens(const std::string& prefix, int& queries);
  // Each candidate's score: the sum of its whole tokens' weights and its best prefix token's
  // (the prefix's tokens into `prefixes`, looked up only when the whole tokens left candidates).
  Result<std::map<int64_t, int64_t>> scores(const Query& q, std::set<std::string>& prefixes, int& queries);
  // Whether a read-back item is a live product in the range whose tokens still match.
  static bool matches(const Query& q, const std::set<std::string>& prefixes, const store::Item& item);
  Result<std::map<int64_t, int64_t>> postings(const std::string& token, int& queries);
  Result<std::vector<store::Item>> page(store::QueryRequest q, int& queries);

  store::TableStore& tables_;
  IndexTables names_;
};

// {"product_id","name","description","price","price_display","stock_quantity","score"}.
std::string hitJson(const SearchHit& hit);

}  // namespace cdc::search
