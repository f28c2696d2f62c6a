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

Result<SearchPage> Searcher::search(const SearchRequest& r) {
  if (r.limit < 1 || r.limit > 100) return fail(Error::poison("limit must be between 1 and 100"));
  if (r.query.size() > kMaxQueryBytes) {
    return fail(Error::poison("q: at most " + std::to_string(kMaxQueryBytes) + " bytes, got " + std::to_string(r.query.size())));
  }
  std::optional<std::pair<int64_t, int64_t>> after;
  if (!r.cursor.empty()) {
    after = decodeCursor(r.cursor);
    if (!after) return fail(Error::poison("invalid cursor"));
  }
  int64_t minPrice = r.minPriceCents.value_or(0);
  int64_t maxPrice = r.maxPriceCents.value_or(INT64_MAX);
  SearchPage result;

  // Whole tokens, and the last word as a prefix unless the query ends in a separator.
  std::string prefix = prefixToken(r.query);
  std::vector<std::string> whole = tokenize(r.query);
  if (!prefix.empty() && !whole.empty() && !isStopWord(prefix)) whole.pop_back();  // the last word is the prefix
  std::sort(whole.begin(), whole.end());
  whole.erase(std::unique(whole.begin(), whole.end()), whole.end());
  if (whole.size() + (prefix.empty() ? 0 : 1) > kMaxQueryWords) {
    return fail(Error::poison("q: at most " + std::to_string(kMaxQueryWords) + " distinct words"));
  }

  std::map<int64_t, int64_t> scores;  // candidate -> score
  bool textual = !whole.empty() || !prefix.empty();
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
  for (const auto& t : whole) {
    auto list = postings(t, result.queries);
    if (!list) return fail(list.error());
    intersect(*list);
    if (scores.empty()) return result;
  }
  std::set<std::string> prefixTokens;
  if (!prefix.empty()) {
    prefixTokens.insert(stem(prefix));
    if (prefix.size() >= 2) {
      store::QueryRequest q;
      q.table = names_.tokens;
      q.hashValue = AttributeValue::s(tokenHead(prefix));
      q.range = store::RangeCondition{store::KeyOp::BeginsWith, AttributeValue::s(prefix), {}};
      q.limit = static_cast<int>(kMaxPrefixTokens);
      auto p = tables_.query(q);
      ++result.queries;
      if (!p) return fail(p.error());
      for (const auto& i : p->items) prefixTokens.insert(store::find(i, "token")->text());
    }
    std::map<int64_t, int64_t> best;
    for (const auto& t : prefixTokens) {
      auto list = postings(t, result.queries);
      if (!list) return fail(list.error());
      for (const auto& [id, w] : *list) best[id] = std::max(best[id], w);
    }
    intersect(best);
  }

  std::vector<SearchHit> hits;
  if (textual) {
    // Rank the candidates by their postings score, then read back only as many as the page
    // needs (in rank order): live products whose tokens still match, in the price range.
    std::vector<std::pair<int64_t, int64_t>> ranked;  // (score, id)
    for (const auto& [id, score] : scores) {
      if (after && (score > after->first || (score == after->first && id <= after->second))) continue;
      ranked.emplace_back(score, id);
    }
    std::sort(ranked.begin(), ranked.end(),
              [](const auto& a, const auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; });
    size_t want = static_cast<size_t>(r.limit) + 1;  // one more tells whether a next page exists
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
        if (it == byId.end()) continue;
        Item& item = it->second;
        if (store::find(item, "deleted") || !store::find(item, "price")) continue;
        int64_t price = intAttr(item, "price");
        if (price < minPrice || price > maxPrice) continue;
        std::set<std::string> tokens;
        if (const auto* st = store::find(item, "search_tokens")) {
          for (const auto& t : st->asList()) tokens.insert(t.text());
        }
        bool ok = std::all_of(whole.begin(), whole.end(), [&](const auto& t) { return tokens.contains(t); });
        if (!prefix.empty()) {
          ok = ok && std::any_of(tokens.begin(), tokens.end(),
                                 [&](const std::string& t) { return t.starts_with(prefix) || prefixTokens.contains(t); });
        }
        if (ok) hits.push_back({ranked[k].second, ranked[k].first, std::move(item)});
      }
    }
  } else {
    if (!r.minPriceCents && !r.maxPriceCents) return fail(Error::poison("give a query or a price range"));
    // A price range: one Query per power-of-two bucket it overlaps, sorted by (price, id).
    for (int64_t b = priceBucket(minPrice); b <= priceBucket(std::min<int64_t>(maxPrice, INT64_MAX / 2)); ++b) {
      store::QueryRequest q;
      q.table = names_.items;
      q.index = "price-range-index";
      q.hashValue = AttributeValue::n(b);
      q.range = store::RangeCondition{store::KeyOp::Between, AttributeValue::n(minPrice),
                                      AttributeValue::n(std::min<int64_t>(maxPrice, INT64_MAX / 2))};
      auto items = page(q, result.queries);
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
    if (after) {
      auto pos = std::find_if(hits.begin(), hits.end(), [&](const SearchHit& h) {
        return h.score < after->first || (h.score == after->first && h.productId > after->second);
      });
      hits.erase(hits.begin(), pos);
    }
  }
  if (hits.size() > static_cast<size_t>(r.limit)) {
    hits.resize(static_cast<size_t>(r.limit));
    result.nextCursor = encodeCursor(hits.back().score, hits.back().productId);
  }
  result.hits = std::move(hits);
  return result;
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
