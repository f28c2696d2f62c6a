#pragma once

#include <expected>
#include <map>
#include <string>

#include "services/search/searcher.h"

namespace cdc::search {

// How the messages name the parameters: the API's query parameters, or `cdc search`'s flags.
struct SearchParamNames {
  std::string_view query = "q";
  std::string_view minPrice = "min_price";
  std::string_view maxPrice = "max_price";
  std::string_view limit = "limit";
};

// The parameters of GET /search and `cdc search`: q, min_price and max_price (in dollars,
// "12.50"), limit (1-100, default 20), cursor. A bad value gives the message for a 400 (or
// a configuration error), naming the parameter as `names` says.
std::expected<SearchRequest, std::string> parseSearchParams(const std::map<std::string, std::string, std::less<>>& params,
                                                            const SearchParamNames& names = {});

// {"query":…,"count":…,"results":[…],"next_cursor":…|null}
std::string searchResponseJson(const SearchRequest& request, const SearchPage& page);

// {"error":…}
std::string errorJson(std::string_view message);

// The whole GET /search exchange: HTTP status (200, 400 for bad parameters, 500/503 when the
// store fails) and JSON body.
std::pair<int, std::string> handleSearch(Searcher& searcher, const std::map<std::string, std::string, std::less<>>& params);

}  // namespace cdc::search
