#include "services/search/searcher.h"

#include <algorithm>
#include <set>

#include "core/json_writer.h"
#include "services/search/tokenizer.h"

namespace cdc::search {
namespace {

using store::AttributeValue;
using store::Item;

constexpr size_t kMaxPrefixTokens = 50;

int64_t intAttr(const Item& item, std::string_view name) {
  const auto* v = store::find(item, name);
  return v ? v->asIntOr(0) : 0;
}

std::string encodeCursor(int64_t score, int64_t id) { return std::to_string(score) + ":" + std::to_string(id); }

std::optional<std::pair<int64_t, int64_t>> decodeCursor(const std::string& c) {
  auto colon = c.find(':');
  if (colon == std::string::npos) return std::nullopt;
  try {
    return std::make_pair(std::stoll(c.substr(0, colon)), std::stoll(c.substr(colon + 1)));
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

Result<std::vector<Item>> Searcher::page(store::QueryRequest q, int& queries) {
  std::vector<Item> out;
  do {
    auto p = tables_.query(q);
    ++queries;
    if (!p) return fail(p.error());
    for (auto& i : p->items) out.push_back(std::move(i));
    q.exclusiveStartKey = std::move(p->lastEvaluatedKey);
  } while (q.exclusiveStartKey);
  return out;
}

Result<std::map<int64_t, int64_t>> Searcher::postings(const std::string& token, int& queries) {
  store::QueryRequest q;
  q.table = names_.postings;
  q.hashValue = AttributeValue::s(token);
  auto items = page(q, queries);
  if (!items) return fail(items.error());
  std::map<int64_t, int64_t> out;
  for (const auto& shard : *items) {
    for (const auto& p : postingsOf(shard)) out[p.productId] = p.weight;
  }
  return out;
}

Result<Searcher::Query> Searcher::parse(const SearchRequest& r) {
  if (r.limit < 1 || r.limit > 100) return fail(Error::poison("limit must be between 1 and 100"));
  if (r.query.size() > kMaxQueryBytes) {
    return fail(Error::poison("q: at most " + std::to_string(kMaxQueryBytes) + " bytes, got " + std::to_string(r.query.size())));
  }
  Query q;
  if (!r.cursor.empty()) {
    q.after = decodeCursor(r.cursor);
    if (!q.after) return fail(Error::poison("invalid cursor"));
  }
  q.minPrice = r.minPriceCents.value_or(0);
  q.maxPrice = r.maxPriceCents.value_or(INT64_MAX);
  q.limit = static_cast<size_t>(r.limit);
  // Whole tokens, and the last word as a prefix unless the query ends in a separator.
  q.prefix = prefixToken(r.query);
  q.whole = tokenize(r.query);
  if (!q.prefix.empty() && !q.whole.empty() && !isStopWord(q.prefix)) q.whole.pop_back();  // the last word is the prefix
  std::sort(q.whole.begin(), q.whole.end());
  q.whole.erase(std::unique(q.whole.begin(), q.whole.end()), q.whole.end());
  if (q.whole.size() + (q.prefix.empty() ? 0 : 1) > kMaxQueryWords) {
    return fail(Error::poison("q: at most " + std::to_string(kMaxQueryWords) + " distinct words"));
  }
  if (q.whole.empty() && q.prefix.empty() && !r.minPriceCents && !r.maxPriceCents) {
    return fail(Error::poison("give a query or a price range"));
  }
  return q;
}

Result<SearchPage> Searcher::search(const SearchRequest& r) {
  auto q = parse(r);
  if (!q) return fail(q.error());
  SearchPage result;
  auto hits = q->whole.empty() && q->prefix.empty() ? priceHits(*q, result.queries) : textHits(*q, result.queries);
  if (!hits) return fail(hits.error());
  if (hits->size() > q->limit) {
    hits->resize(q->limit);
    result.nextCursor = encodeCursor(hits->back().score, hits->back().productId);
  }
  result.hits = std::move(*hits);
  return result;
}

Result<std::set<std::string>> Searcher::prefixTokens(const std::string& prefix, int& queries) {
  std::set<std::string> tokens{stem(prefix)};
  if (prefix.size() < 2) return tokens;
  store::QueryRequest q;
  q.table = names_.tokens;
  q.hashValue = AttributeValue::s(tokenHead(prefix));
  q.range = store::RangeCondition{store::KeyOp::BeginsWith, AttributeValue::s(prefix), {}};
  q.limit = static_cast<int>(kMaxPrefixTokens);
  auto p = tables_.query(q);
  ++queries;
  if (!p) return fail(p.error());
  for (const auto& i : p->items) tokens.insert(store::find(i, "token")->text());
  return tokens;
}

Result<std::map<int64_t, int64_t>> Searcher::scores(const Query& q, std::set<std::string>& prefixes, int& queries) {
  std::map<int64_t, int64_t> scores;  // candidate -> score
  bool first = true;
  auto intersect = [&](const std::map<int64_t, int64_t>& list) {
    if (first) {
      scores = list;
      first = false;
      return;
    }
    std::map<int64_t, int64_t> kept;
    for (const auto& [id, s] : scores) {
      if (auto it = list.find(id); it != list.end()) kept[id] = s + it->second;
    }
    scores = std::move(kept);
  };
  for (const auto& t : q.whole) {
    auto list = postings(t, queries);
    if (!list) return fail(list.error());
    intersect(*list);
    if (scores.empty()) return scores;
  }
  if (q.prefix.empty()) return scores;
  auto tokens = prefixTokens(q.prefix, queries);
  if (!tokens) return fail(tokens.error());
  prefixes = std::move(*tokens);
  // The prefix scores a product by its best matching token.
  std::map<int64_t, int64_t> best;
  for (const auto& t : prefixes) {
    auto list = postings(t, queries);
    if (!list) return fail(list.error());
    for (const auto& [id, w] : *list) best[id] = std::max(best[id], w);
  }
  intersect(best);
  return scores;
}

bool Searcher::matches(const Query& q, const std::set<std::string>& prefixes, const Item& item) {
  if (store::find(item, "deleted") || !store::find(item, "price")) return false;
  int64_t price = intAttr(item, "price");
  if (price < q.minPrice || price > q.maxPrice) return false;
  std::set<std::string> tokens;
  if (const auto* st = store::find(item, "search_tokens")) {
    for (const auto& t : st->asList()) tokens.insert(t.text());
  }
  if (!std::all_of(q.whole.begin(), q.whole.end(), [&](const auto& t) { return tokens.contains(t); })) return false;
  return q.prefix.empty() || std::any_of(tokens.begin(), tokens.end(),
                                         [&](const std::string& t) { return t.starts_with(q.prefix) || prefixes.contains(t); });
}

Result<std::vector<SearchHit>> Searcher::textHits(const Query& q, int& queries) {
  std::set<std::string> prefixes;  // filled once the whole tokens left candidates
  auto scored = scores(q, prefixes, queries);
  if (!scored) return fail(scored.error());
  // Rank the candidates by their postings score, then read back only as many as the page
  // needs (in rank order): live products whose tokens still match, in the price range.
  std::vector<std::pair<int64_t, int64_t>> ranked;  // (score, id)
  for (const auto& [id, score] : *scored) {
    if (q.after && (score > q.after->first || (score == q.after->first && id <= q.after->second))) continue;
    ranked.emplace_back(score, id);
  }
  std::sort(ranked.begin(), ranked.end(),
            [](const auto& a, const auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; });
  std::vector<SearchHit> hits;
  const size_t want = q.limit + 1;  // one more tells whether a next page exists
  for (size_t b = 0; b < ranked.size() && hits.size() < want; b += 100) {
    std::vector<Item> keys;
    for (size_t k = b; k < std::min(ranked.size(), b + 100); ++k)
      keys.push_back({{"product_id", AttributeValue::n(ranked[k].second)}});
    auto got = tables_.batchGet(names_.items, keys);
    if (!got) return fail(got.error());
    std::map<int64_t, Item> byId;
    for (auto& item : *got) byId.emplace(intAttr(item, "product_id"), std::move(item));
    for (size_t k = b; k < std::min(ranked.size(), b + 100) && hits.size() < want; ++k) {
      auto it = byId.find(ranked[k].second);
      if (it != byId.end() && matches(q, prefixes, it->second))
        hits.push_back({ranked[k].second, ranked[k].first, std::move(it->second)});
    }
  }
  return hits;
}

Result<std::vector<SearchHit>> Searcher::priceHits(const Query& q, int& queries) {
  // A price range: one Query per power-of-two bucket it overlaps, sorted by (price, id).
  std::vector<SearchHit> hits;
  const int64_t top = std::min<int64_t>(q.maxPrice, INT64_MAX / 2);
  for (int64_t b = priceBucket(q.minPrice); b <= priceBucket(top); ++b) {
    store::QueryRequest request;
    request.table = names_.items;
    request.index = "price-range-index";
    request.hashValue = AttributeValue::n(b);
    request.range = store::RangeCondition{store::KeyOp::Between, AttributeValue::n(q.minPrice), AttributeValue::n(top)};
    auto items = page(request, queries);
    if (!items) return fail(items.error());
    for (auto& item : *items) {
      int64_t id = intAttr(item, "product_id");
      int64_t price = intAttr(item, "price");
      hits.push_back({id, -price, std::move(item), false});  // ranked cheaper first
    }
    if (b >= 63) break;
  }
  std::sort(hits.begin(), hits.end(), [](const SearchHit& a, const SearchHit& b) {
    return a.score != b.score ? a.score > b.score : a.productId < b.productId;
  });
  if (q.after) {
    auto pos = std::find_if(hits.begin(), hits.end(), [&](const SearchHit& h) {
      return h.score < q.after->first || (h.score == q.after->first && h.productId > q.after->second);
    });
    hits.erase(hits.begin(), pos);
  }
  return hits;
}

std::string hitJson(const SearchHit& h) {
  std::string out;
  JsonWriter w(out);
  auto text = [&](const char* name) {
    const auto* v = store::find(h.item, name);
    return v ? v->text() : std::string();
  };
  w.beginObject()
      .field("product_id", h.productId)
      .field("name", text("name"))
      .field("description", text("description"))
      .field("price", intAttr(h.item, "price"))
      .field("price_display", text("price_display"))
      .field("stock_quantity", intAttr(h.item, "stock_quantity"));
  // A price-only search ranks by price: its hits have no score of their own.
  if (h.textScore) w.field("score", h.score);
  w.endObject();
  return out;
}

}  // namespace cdc::search
