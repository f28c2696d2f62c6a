#include "store/expression.h"

#include <algorithm>

namespace cdc::store {

// Kept out of the anonymous namespace: it needs Condition's private members.
struct ConditionBuilder {
  static Condition make(Condition::Kind kind, std::string attr, AttributeValue v, std::vector<Condition> children) {
    Condition c;
    c.kind_ = kind;
    c.attr_ = std::move(attr);
    c.value_ = std::move(v);
    c.children_ = std::move(children);
    return c;
  }
  static std::vector<Condition>& children(Condition& c) { return c.children_; }
};

namespace {

Condition make(Condition::Kind kind, std::string attr, AttributeValue v) {
  return ConditionBuilder::make(kind, std::move(attr), std::move(v), {});
}

}  // namespace

Condition Condition::exists(std::string attr) { return make(Kind::Exists, std::move(attr), {}); }
Condition Condition::notExists(std::string attr) { return make(Kind::NotExists, std::move(attr), {}); }
Condition Condition::eq(std::string attr, AttributeValue v) { return make(Kind::Eq, std::move(attr), std::move(v)); }
Condition Condition::ne(std::string attr, AttributeValue v) { return make(Kind::Ne, std::move(attr), std::move(v)); }
Condition Condition::lt(std::string attr, AttributeValue v) { return make(Kind::Lt, std::move(attr), std::move(v)); }
Condition Condition::le(std::string attr, AttributeValue v) { return make(Kind::Le, std::move(attr), std::move(v)); }
Condition Condition::gt(std::string attr, AttributeValue v) { return make(Kind::Gt, std::move(attr), std::move(v)); }
Condition Condition::ge(std::string attr, AttributeValue v) { return make(Kind::Ge, std::move(attr), std::move(v)); }
Condition Condition::beginsWith(std::string attr, AttributeValue prefix) {
  return make(Kind::BeginsWith, std::move(attr), std::move(prefix));
}

namespace {

// `a` AND/OR `b` as one node with all the operands: a chain of them grows one list instead of
// copying every earlier operand into a new node at each step.
Condition combine(Condition::Kind kind, Condition a, Condition b) {
  if (a.kind() == kind) {
    ConditionBuilder::children(a).push_back(std::move(b));
    return a;
  }
  std::vector<Condition> operands;
  operands.reserve(2);
  operands.push_back(std::move(a));
  operands.push_back(std::move(b));
  return ConditionBuilder::make(kind, {}, {}, std::move(operands));
}

}  // namespace

Condition operator&&(Condition a, Condition b) { return combine(Condition::Kind::And, std::move(a), std::move(b)); }
Condition operator||(Condition a, Condition b) { return combine(Condition::Kind::Or, std::move(a), std::move(b)); }
Condition operator!(Condition a) { return ConditionBuilder::make(Condition::Kind::Not, {}, {}, {std::move(a)}); }

bool Condition::evaluate(const Item* item) const {
  const AttributeValue* attr = item && !attr_.empty() ? find(*item, attr_) : nullptr;
  auto cmp = [&](auto pred) {
    if (!attr) return false;
    auto c = AttributeValue::compare(*attr, value_);
    return c.has_value() && pred(*c);
  };
  switch (kind_) {
    case Kind::Exists:
      return attr != nullptr;
    case Kind::NotExists:
      return attr == nullptr;
    case Kind::Eq:
      return attr != nullptr && *attr == value_;
    case Kind::Ne:
      return attr == nullptr || !(*attr == value_);
    case Kind::Lt:
      return cmp([](auto c) { return c < 0; });
    case Kind::Le:
      return cmp([](auto c) { return c <= 0; });
    case Kind::Gt:
      return cmp([](auto c) { return c > 0; });
    case Kind::Ge:
      return cmp([](auto c) { return c >= 0; });
    case Kind::BeginsWith:
      return attr != nullptr && attr->type() == value_.type() && (attr->isString() || attr->type() == AttributeValue::Type::B) &&
             attr->text().starts_with(value_.text());
    case Kind::And:
      return std::all_of(children_.begin(), children_.end(), [&](const Condition& c) { return c.evaluate(item); });
    case Kind::Or:
      return std::any_of(children_.begin(), children_.end(), [&](const Condition& c) { return c.evaluate(item); });
    case Kind::Not:
      return !children_[0].evaluate(item);
  }
  return false;
}

Update& Update::set(std::string attr, AttributeValue v) {
  actions_.push_back({UpdateAction::Kind::Set, std::move(attr), std::move(v)});
  return *this;
}
Update& Update::setIfNotExists(std::string attr, AttributeValue v) {
  actions_.push_back({UpdateAction::Kind::SetIfNotExists, std::move(attr), std::move(v)});
  return *this;
}
Update& Update::add(std::string attr, AttributeValue v) {
  actions_.push_back({UpdateAction::Kind::Add, std::move(attr), std::move(v)});
  return *this;
}
Update& Update::remove(std::string attr) {
  actions_.push_back({UpdateAction::Kind::Remove, std::move(attr), {}});
  return *this;
}
Update& Update::deleteFromSet(std::string attr, AttributeValue members) {
  actions_.push_back({UpdateAction::Kind::DeleteFromSet, std::move(attr), std::move(members)});
  return *this;
}

Status Update::applyTo(Item& item) const {
  for (const auto& a : actions_) {
    auto it = item.find(a.attribute);
    switch (a.kind) {
      case UpdateAction::Kind::Set:
        item.insert_or_assign(a.attribute, a.value);
        break;
      case UpdateAction::Kind::SetIfNotExists:
        if (it == item.end()) item.emplace(a.attribute, a.value);
        break;
      case UpdateAction::Kind::Remove:
        if (it != item.end()) item.erase(it);
        break;
      case UpdateAction::Kind::Add: {
        const auto t = a.value.type();
        if (t == AttributeValue::Type::N) {
          if (it == item.end()) {
            item.emplace(a.attribute, a.value);
          } else {
            auto sum = AttributeValue::add(it->second, a.value);
            if (!sum) return fail(Error::poison("ADD to non-number attribute " + a.attribute));
            it->second = std::move(*sum);
          }
        } else if (t == AttributeValue::Type::SS || t == AttributeValue::Type::NS) {
          if (it == item.end()) {
            item.emplace(a.attribute, a.value);
          } else {
            if (it->second.type() != t) return fail(Error::poison("ADD of mismatched set type to " + a.attribute));
            std::vector<std::string> merged = it->second.members();
            merged.insert(merged.end(), a.value.members().begin(), a.value.members().end());
            it->second = t == AttributeValue::Type::SS ? AttributeValue::stringSet(std::move(merged))
                                                       : AttributeValue::numberSet(std::move(merged));
          }
        } else {
          return fail(Error::poison("ADD supports only numbers and sets (attribute " + a.attribute + ")"));
        }
        break;
      }
      case UpdateAction::Kind::DeleteFromSet: {
        if (it == item.end()) break;
        if (it->second.type() != a.value.type()) {
          return fail(Error::poison("DELETE of mismatched set type from " + a.attribute));
        }
        std::vector<std::string> kept;
        for (const auto& m : it->second.members()) {
          if (!std::binary_search(a.value.members().begin(), a.value.members().end(), m)) kept.push_back(m);
        }
        if (kept.empty()) {
          item.erase(it);  // DynamoDB has no empty sets
        } else {
          it->second = a.value.type() == AttributeValue::Type::SS ? AttributeValue::stringSet(std::move(kept))
                                                                  : AttributeValue::numberSet(std::move(kept));
        }
        break;
      }
    }
  }
  return {};
}

}  // namespace cdc::store
