#include "services/search/layout.h"

#include <bit>
#include <charconv>

#include "services/search/tokenizer.h"

namespace cdc::search {

using store::AttributeValue;

store::TableSpec itemTableSpec(const std::string& name) {
  store::TableSpec s{name, {"product_id", AttributeValue::Type::N}, std::nullopt, {}, std::string("expires_at")};
  s.indexes.push_back({"name-index", {"name_lower", AttributeValue::Type::S}, std::nullopt});
  s.indexes.push_back({"price-index", {"price", AttributeValue::Type::N}, std::nullopt});
  s.indexes.push_back(
      {"price-range-index", {"price_bucket", AttributeValue::Type::N}, store::KeyAttribute{"price", AttributeValue::Type::N}});
  return s;
}

store::TableSpec postingTableSpec(const std::string& name) {
  return {name, {"token", AttributeValue::Type::S}, store::KeyAttribute{"shard", AttributeValue::Type::N}, {}, std::nullopt};
}

int64_t postingShardOf(int64_t productId) {
  int64_t q = productId / kPostingShard;
  return productId % kPostingShard < 0 ? q - 1 : q;
}

std::string weightAttribute(int64_t weight) { return "w" + std::to_string(weight); }

std::optional<int64_t> weightOf(std::string_view attribute) {
  if (attribute.size() < 2 || attribute[0] != 'w') return std::nullopt;
  int64_t w = 0;
  auto [end, ec] = std::from_chars(attribute.data() + 1, attribute.data() + attribute.size(), w);
  if (ec != std::errc() || end != attribute.data() + attribute.size()) return std::nullopt;
  return w;
}

std::vector<Posting> postingsOf(const store::Item& shard) {
  std::vector<Posting> out;
  const AttributeValue* token = store::find(shard, "token");
  if (!token) return out;
  for (const auto& [name, value] : shard) {
    auto weight = weightOf(name);
    if (!weight || value.type() != AttributeValue::Type::NS) continue;
    for (const auto& member : value.members()) {
      int64_t id = 0;
      auto [end, ec] = std::from_chars(member.data(), member.data() + member.size(), id);
      if (ec == std::errc() && end == member.data() + member.size()) out.push_back({token->text(), id, *weight});
    }
  }
  return out;
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
