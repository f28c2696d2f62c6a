#pragma once

#include <expected>
#include <map>
#include <string>

#include "services/search/searcher.h"

namespace cdc::search {

// The parameters of GET /search and `cdc search`: q, min_price and max_price (in dollars,
// "12.50"), limit (1-100, default 20), cursor. A bad value gives the message for a 400.
std::expected<SearchRequest, std::string> parseSearchParams(const std::map<std::string, std::string, std::less<>>& params);

// {"query":…,"count":…,"results":[…],"next_cursor":…|null}
std::string searchResponseJson(const SearchRequest& request, const SearchPage& page);

// {"error":…}
std::string errorJson(std::string_view message);

// The whole GET /search exchange: HTTP status (200, 400 for bad parameters, 500/503 when the
// store fails) and JSON body.
std::pair<int, std::string> handleSearch(Searcher& searcher, const std::map<std::string, std::string, std::less<>>& params);

}  // namespace cdc::search
