#include "services/search/search_api.h"

#include <charconv>
#include <string>
#include <tuple>

#include "core/json_writer.h"
#include "core/log.h"

namespace cdc::search {

std::expected<SearchRequest, std::string> parseSearchParams(const std::map<std::string, std::string, std::less<>>& params,
                                                            const SearchParamNames& names) {
  SearchRequest r;
  auto get = [&](std::string_view name) -> const std::string* {
    auto it = params.find(name);
    return it == params.end() || it->second.empty() ? nullptr : &it->second;
  };
  if (const auto* q = get("q")) r.query = *q;
  for (auto [name, shown, target] :
       {std::tuple{"min_price", names.minPrice, &r.minPriceCents}, std::tuple{"max_price", names.maxPrice, &r.maxPriceCents}}) {
    if (const auto* v = get(name)) {
      auto m = Money::parse(*v);
      if (!m || m->cents() < 0)
        return std::unexpected(std::string(shown) + ": expected an amount such as 12.50, got '" + *v + "'");
      *target = m->cents();
    }
  }
  if (const auto* v = get("limit")) {
    int n = 0;
    auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
    if (ec != std::errc() || p != v->data() + v->size() || n < 1 || n > 100) {
      return std::unexpected(std::string(names.limit) + ": expected 1 to 100, got '" + *v + "'");
    }
    r.limit = n;
  }
  if (const auto* v = get("cursor")) r.cursor = *v;
  if (r.query.empty() && !r.minPriceCents && !r.maxPriceCents) {
    return std::unexpected("give " + std::string(names.query) + ", or " + std::string(names.minPrice) + " and/or " +
                           std::string(names.maxPrice));
  }
  if (r.minPriceCents && r.maxPriceCents && *r.minPriceCents > *r.maxPriceCents) {
    return std::unexpected(std::string(names.minPrice) + " is above " + std::string(names.maxPrice));
  }
  return r;
}

std::string searchResponseJson(const SearchRequest& request, const SearchPage& page) {
  std::string out;
  JsonWriter w(out);
  w.beginObject().field("query", request.query).field("count", static_cast<int64_t>(page.hits.size()));
  w.key("results").beginArray();
  for (const auto& h : page.hits) w.raw(hitJson(h));
  w.endArray().key("next_cursor");
  if (page.nextCursor.empty()) {
    w.null();
  } else {
    w.string(page.nextCursor);
  }
  w.endObject();
  return out;
}

std::string errorJson(std::string_view message) {
  std::string out;
  JsonWriter(out).beginObject().field("error", message).endObject();
  return out;
}

std::pair<int, std::string> handleSearch(Searcher& searcher, const std::map<std::string, std::string, std::less<>>& params) {
  auto request = parseSearchParams(params);
  if (!request) return {400, errorJson(request.error())};
  auto page = searcher.search(*request);
  if (!page) {
    // A request the index refuses (a cursor of another search) is the client's to fix: said.
    if (page.error().kind == ErrorKind::Poison) return {400, errorJson(page.error().message)};
    // The store's own words (endpoints, tables, what failed inside) are for the operator's log,
    // not for whoever asks.
    const bool passing = page.error().kind == ErrorKind::Retry;
    log::event(passing ? spdlog::level::warn : spdlog::level::err, "search_failed", {{"error", page.error().message}});
    return passing ? std::pair{503, errorJson("the search index cannot be read just now; try again")}
                   : std::pair{500, errorJson("internal error (logged by the service as search_failed)")};
  }
  return {200, searchResponseJson(*request, *page)};
}

}  // namespace cdc::search
