#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/decimal.h"
#include "store/table_store.h"

namespace cdc::search {

// The search index as DynamoDB tables (SPEC §4, §9):
//  <table>            hash product_id (N): the seed's item (name, name_lower, description,
//                     price in integer cents, price_display, stock_quantity, search_tokens,
//                     indexed_at, cdc_timestamp) plus price_bucket and our bookkeeping. GSIs
//                     name-index (name_lower), price-index (price) and price-range-index
//                     (hash price_bucket = bit length of the price in cents, range price), so a
//                     price range is at most one Query per power of two, never a Scan.
//  <table>-postings   hash token (S), range shard (N) = product_id / 256: the products of the
//                     shard holding the token, one number set per weight (`w3`: the ids of the
//                     products where the token weighs 3). One Query per token; a product's
//                     postings change with ADD/DELETE on those sets, which repeat harmlessly
//                     and let many products share one small write (an item stays under 2 KB).
//  <table>-tokens     hash head (the token's first two characters), range token: the
//                     vocabulary, so that a prefix is one Query (begins_with) on it.
// A deleted product leaves a tombstone item (no name, no price: in no index) that remembers its
// position, so that a stale update never brings it back; it expires after the retention.
struct IndexTables {
  std::string items = "product-search-index";
  std::string postings = "product-search-index-postings";
  std::string tokens = "product-search-index-tokens";
};

store::TableSpec itemTableSpec(const std::string& name);
store::TableSpec postingTableSpec(const std::string& name);
store::TableSpec tokenTableSpec(const std::string& name);

// Products per posting shard.
inline constexpr int64_t kPostingShard = 256;
int64_t postingShardOf(int64_t productId);
// The set attribute of a weight ("w3") and back (nullopt: not a weight set).
std::string weightAttribute(int64_t weight);
std::optional<int64_t> weightOf(std::string_view attribute);

// One product under one token.
struct Posting {
  std::string token;
  int64_t productId = 0;
  int64_t weight = 0;
};
// The postings a shard item holds.
std::vector<Posting> postingsOf(const store::Item& shard);

// A product's tokens with their weights: 3 per occurrence in the name, 1 in the description.
std::map<std::string, int64_t> weightedTokens(std::string_view name, std::string_view description);

// The first two characters (code points) of a token: its dictionary partition.
std::string tokenHead(std::string_view token);

// Bit length of a price in cents: its price-range-index partition.
int64_t priceBucket(int64_t cents);

// "$1299.99", as the Python service wrote it.
std::string priceDisplay(Money price);

}  // namespace cdc::search
