#include "services/search/layout.h"

#include <bit>

#include "services/search/tokenizer.h"

namespace cdc::search {

using store::AttributeValue;

store::TableSpec itemTableSpec(const std::string& name) {
  store::TableSpec s{name, {"product_id", AttributeValue::Type::N}, std::nullopt, {}, std::string("expires_at")};
  s.indexes.push_back({"name-index", {"name_lower", AttributeValue::Type::S}, std::nullopt});
  s.indexes.push_back({"price-index", {"price", AttributeValue::Type::N}, std::nullopt});
  s.indexes.push_back({"price-range-index", {"price_bucket", AttributeValue::Type::N},
                       store::KeyAttribute{"price", AttributeValue::Type::N}});
  return s;
}

store::TableSpec postingTableSpec(const std::string& name) {
  return {name, {"token", AttributeValue::Type::S}, store::KeyAttribute{"product_id", AttributeValue::Type::N}, {}, std::nullopt};
}

store::TableSpec tokenTableSpec(const std::string& name) {
  return {name, {"head", AttributeValue::Type::S}, store::KeyAttribute{"token", AttributeValue::Type::S}, {}, std::nullopt};
}

std::map<std::string, int64_t> weightedTokens(std::string_view name, std::string_view description) {
  std::map<std::string, int64_t> w;
  for (auto& t : tokenize(name)) w[t] += 3;
  for (auto& t : tokenize(description)) w[t] += 1;
  return w;
}

std::string tokenHead(std::string_view token) {
  size_t i = 0;
  int chars = 0;
  while (i < token.size() && chars < 2) {
    auto c = static_cast<unsigned char>(token[i]);
    i += c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    ++chars;
  }
  return std::string(token.substr(0, std::min(i, token.size())));
}

int64_t priceBucket(int64_t cents) { return cents <= 0 ? 0 : std::bit_width(static_cast<uint64_t>(cents)); }

std::string priceDisplay(Money price) {
  std::string plain = price.toString();
  return plain.starts_with('-') ? "-$" + plain.substr(1) : "$" + plain;
}

}  // namespace cdc::search
