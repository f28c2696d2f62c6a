#include "store/attribute_value.h"

#include <algorithm>
#include <charconv>

#include "core/decimal.h"

namespace cdc::store {

struct AttributeValue::Compound {
  std::vector<AttributeValue> list;
  AttributeMap map;
  std::vector<std::string> members;
};

namespace {

// A number's text as an int64 when it is a plain integer of at most 18 digits (what counters,
// ids and versions are): the common case, read without a decimal parse.
std::optional<int64_t> plainInteger(std::string_view text) {
  size_t digits = text.size() - (!text.empty() && text[0] == '-' ? 1 : 0);
  if (digits == 0 || digits > 18) return std::nullopt;
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

std::string canonicalNumber(std::string_view text) {
  auto d = parseDecimal(text);
  if (!d) return std::string(text);
  // Drop trailing fractional zeros: DynamoDB normalises 1.50 to 1.5.
  while (d->scale > 0 && d->unscaled % 10 == 0) {
    d->unscaled /= 10;
    --d->scale;
  }
  return formatDecimal(*d);
}

}  // namespace

const char* toString(AttributeValue::Type t) {
  switch (t) {
    case AttributeValue::Type::S:
      return "S";
    case AttributeValue::Type::N:
      return "N";
    case AttributeValue::Type::B:
      return "B";
    case AttributeValue::Type::BOOL:
      return "BOOL";
    case AttributeValue::Type::NUL:
      return "NULL";
    case AttributeValue::Type::L:
      return "L";
    case AttributeValue::Type::M:
      return "M";
    case AttributeValue::Type::SS:
      return "SS";
    case AttributeValue::Type::NS:
      return "NS";
  }
  return "?";
}

AttributeValue AttributeValue::s(std::string v) {
  AttributeValue a;
  a.type_ = Type::S;
  a.text_ = std::move(v);
  return a;
}

AttributeValue AttributeValue::n(int64_t v) {
  AttributeValue a;
  a.type_ = Type::N;
  a.text_ = std::to_string(v);
  return a;
}

AttributeValue AttributeValue::n(std::string_view text) {
  AttributeValue a;
  a.type_ = Type::N;
  a.text_ = canonicalNumber(text);
  return a;
}

AttributeValue AttributeValue::b(std::string bytes) {
  AttributeValue a;
  a.type_ = Type::B;
  a.text_ = std::move(bytes);
  return a;
}

AttributeValue AttributeValue::boolean(bool v) {
  AttributeValue a;
  a.type_ = Type::BOOL;
  a.bool_ = v;
  return a;
}

AttributeValue AttributeValue::null() { return {}; }

AttributeValue AttributeValue::list(std::vector<AttributeValue> items) {
  AttributeValue a;
  a.type_ = Type::L;
  a.compound_ = std::make_shared<const Compound>(Compound{.list = std::move(items)});
  return a;
}

AttributeValue AttributeValue::map(AttributeMap items) {
  AttributeValue a;
  a.type_ = Type::M;
  a.compound_ = std::make_shared<const Compound>(Compound{.map = std::move(items)});
  return a;
}

AttributeValue AttributeValue::stringSet(std::vector<std::string> members) {
  AttributeValue a;
  a.type_ = Type::SS;
  std::sort(members.begin(), members.end());
  members.erase(std::unique(members.begin(), members.end()), members.end());
  a.compound_ = std::make_shared<const Compound>(Compound{.members = std::move(members)});
  return a;
}

AttributeValue AttributeValue::numberSet(std::vector<std::string> members) {
  AttributeValue a;
  a.type_ = Type::NS;
  for (auto& m : members) m = canonicalNumber(m);
  std::sort(members.begin(), members.end());
  members.erase(std::unique(members.begin(), members.end()), members.end());
  a.compound_ = std::make_shared<const Compound>(Compound{.members = std::move(members)});
  return a;
}

AttributeValue AttributeValue::storedNumber(std::string text) {
  AttributeValue a;
  a.type_ = Type::N;
  a.text_ = std::move(text);
  return a;
}

AttributeValue AttributeValue::storedSet(Type type, std::vector<std::string> members) {
  AttributeValue a;
  a.type_ = type;
  a.compound_ = std::make_shared<const Compound>(Compound{.members = std::move(members)});
  return a;
}

const std::vector<AttributeValue>& AttributeValue::asList() const {
  static const std::vector<AttributeValue> none;
  return compound_ ? compound_->list : none;
}

const AttributeMap& AttributeValue::asMap() const {
  static const AttributeMap none;
  return compound_ ? compound_->map : none;
}

const std::vector<std::string>& AttributeValue::members() const {
  static const std::vector<std::string> none;
  return compound_ ? compound_->members : none;
}

std::optional<int64_t> AttributeValue::asInt() const {
  if (type_ != Type::N) return std::nullopt;
  if (auto v = plainInteger(text_)) return v;
  auto d = parseDecimal(text_);
  if (!d || d->scale != 0 || d->unscaled > INT64_MAX || d->unscaled < INT64_MIN) return std::nullopt;
  return static_cast<int64_t>(d->unscaled);
}

std::optional<AttributeValue> AttributeValue::add(const AttributeValue& a, const AttributeValue& b) {
  if (a.type_ != Type::N || b.type_ != Type::N) return std::nullopt;
  auto x = parseDecimal(a.text_);
  auto y = parseDecimal(b.text_);
  if (!x || !y) return std::nullopt;
  while (x->scale < y->scale) {
    x->unscaled *= 10;
    ++x->scale;
  }
  while (y->scale < x->scale) {
    y->unscaled *= 10;
    ++y->scale;
  }
  return AttributeValue::n(formatDecimal(Decimal{x->unscaled + y->unscaled, x->scale}));
}

std::optional<std::strong_ordering> AttributeValue::compare(const AttributeValue& a, const AttributeValue& b) {
  if (a.type_ != b.type_) return std::nullopt;
  switch (a.type_) {
    case Type::N: {
      if (auto i = plainInteger(a.text_)) {
        if (auto j = plainInteger(b.text_)) return *i <=> *j;
      }
      auto x = parseDecimal(a.text_);
      auto y = parseDecimal(b.text_);
      if (!x || !y) return std::nullopt;
      while (x->scale < y->scale) {
        x->unscaled *= 10;
        ++x->scale;
      }
      while (y->scale < x->scale) {
        y->unscaled *= 10;
        ++y->scale;
      }
      return x->unscaled <=> y->unscaled;
    }
    case Type::S:
    case Type::B: {
      int c = a.text_.compare(b.text_);
      return c < 0 ? std::strong_ordering::less : c > 0 ? std::strong_ordering::greater : std::strong_ordering::equal;
    }
    default:
      return std::nullopt;
  }
}

bool operator==(const AttributeValue& a, const AttributeValue& b) {
  if (a.type_ != b.type_) return false;
  switch (a.type_) {
    case AttributeValue::Type::N:
      return AttributeValue::compare(a, b) == std::strong_ordering::equal;
    case AttributeValue::Type::S:
    case AttributeValue::Type::B:
      return a.text_ == b.text_;
    case AttributeValue::Type::BOOL:
      return a.bool_ == b.bool_;
    case AttributeValue::Type::NUL:
      return true;
    case AttributeValue::Type::L:
      return a.asList() == b.asList();
    case AttributeValue::Type::M:
      return a.asMap() == b.asMap();
    case AttributeValue::Type::SS:
    case AttributeValue::Type::NS:
      return a.members() == b.members();
  }
  return false;
}

namespace {

size_t valueSize(const AttributeValue& v) {
  using T = AttributeValue::Type;
  switch (v.type()) {
    case T::S:
    case T::B:
      return v.text().size();
    case T::N:
      return (v.text().size() + 1) / 2 + 1;
    case T::BOOL:
    case T::NUL:
      return 1;
    case T::L: {
      size_t n = 3;
      for (const auto& e : v.asList()) n += 1 + valueSize(e);
      return n;
    }
    case T::M: {
      size_t n = 3;
      for (const auto& [k, e] : v.asMap()) n += 1 + k.size() + valueSize(e);
      return n;
    }
    case T::SS:
    case T::NS: {
      size_t n = 0;
      for (const auto& m : v.members()) n += v.type() == T::SS ? m.size() : (m.size() + 1) / 2 + 1;
      return n;
    }
  }
  return 0;
}

}  // namespace

size_t itemSize(const Item& item) {
  size_t n = 0;
  for (const auto& [name, v] : item) n += name.size() + valueSize(v);
  return n;
}

const AttributeValue* find(const Item& item, std::string_view name) {
  auto it = item.find(name);
  return it == item.end() ? nullptr : &it->second;
}

}  // namespace cdc::store
