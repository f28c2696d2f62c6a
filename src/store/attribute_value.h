#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cdc::store {

// Orders attribute names bytewise, as std::less does, comparing the first bytes inline: names
// mostly differ there, and a library call per comparison was a tenth of a search update's cost.
struct NameLess {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const noexcept {
    if (!a.empty() && !b.empty() && a.front() != b.front()) {
      return static_cast<unsigned char>(a.front()) < static_cast<unsigned char>(b.front());
    }
    return a < b;
  }
};

class AttributeValue;
// An item, and the entries of an M value: by name.
using AttributeMap = std::map<std::string, AttributeValue, NameLess>;

// A DynamoDB attribute value. Numbers keep their exact decimal text, as DynamoDB does
// (up to 38 digits), so money and counters never pass through a binary float. A value is
// immutable once built: the elements of a list, map or set are shared by its copies, so that
// copying an item copies its scalars' text and nothing deeper.
class AttributeValue {
 public:
  enum class Type : uint8_t { S, N, B, BOOL, NUL, L, M, SS, NS };

  AttributeValue() = default;
  static AttributeValue s(std::string v);
  static AttributeValue n(int64_t v);
  // `text` must be a decimal literal; it is stored in canonical form.
  static AttributeValue n(std::string_view text);
  static AttributeValue b(std::string bytes);
  static AttributeValue boolean(bool v);
  static AttributeValue null();
  static AttributeValue list(std::vector<AttributeValue> items);
  static AttributeValue map(AttributeMap items);
  static AttributeValue stringSet(std::vector<std::string> members);
  static AttributeValue numberSet(std::vector<std::string> members);
  // As read back from a store that wrote them: a number's text already canonical (as text()
  // gives it), a set's members already canonical, sorted and unique. Nothing is checked.
  static AttributeValue storedNumber(std::string text);
  static AttributeValue storedSet(Type type, std::vector<std::string> members);

  Type type() const { return type_; }
  bool isNumber() const { return type_ == Type::N; }
  bool isString() const { return type_ == Type::S; }

  // S, N (decimal text) and B (bytes).
  const std::string& text() const { return text_; }
  // N as an integer; nullopt when it has a fraction or does not fit.
  std::optional<int64_t> asInt() const;
  int64_t asIntOr(int64_t fallback) const { return asInt().value_or(fallback); }
  bool asBool() const { return bool_; }
  // L's elements, M's entries (empty for other types).
  const std::vector<AttributeValue>& asList() const;
  const AttributeMap& asMap() const;
  // SS and NS members, sorted and unique.
  const std::vector<std::string>& members() const;

  // Exact numeric sum of two N values (DynamoDB's ADD and SET a = a + b).
  static std::optional<AttributeValue> add(const AttributeValue& a, const AttributeValue& b);
  // Ordering used by conditions and key conditions: numbers numerically, strings and bytes
  // bytewise; nullopt when the two cannot be compared (different types).
  static std::optional<std::strong_ordering> compare(const AttributeValue& a, const AttributeValue& b);

  friend bool operator==(const AttributeValue& a, const AttributeValue& b);

 private:
  struct Compound;  // the elements of an L, M, SS or NS

  Type type_ = Type::NUL;
  bool bool_ = false;
  std::string text_;
  std::shared_ptr<const Compound> compound_;  // L, M, SS and NS only
};

const char* toString(AttributeValue::Type t);

using Item = AttributeMap;

// Finds an attribute of an item, or null.
const AttributeValue* find(const Item& item, std::string_view name);

// DynamoDB's limits on what one item may hold: its size (names and values), and the bytes of
// a partition (hash) key and a sort (range) key value, GSI keys included.
inline constexpr size_t kMaxItemBytes = 400 * 1024;
inline constexpr size_t kMaxHashKeyBytes = 2048;
inline constexpr size_t kMaxRangeKeyBytes = 1024;

// An item's size as DynamoDB counts it against kMaxItemBytes (an upper bound for numbers):
// each attribute's name plus its value, strings and bytes by length, a number 1 byte per two
// significant digits plus 1, a list or map 3 bytes plus 1 per element plus the elements.
size_t itemSize(const Item& item);

}  // namespace cdc::store
