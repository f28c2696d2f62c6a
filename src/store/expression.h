#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "store/attribute_value.h"

namespace cdc::store {

struct ConditionBuilder;

// A condition on an item's attributes, a subset of DynamoDB's ConditionExpression grammar
// that every backend can honour: attribute_exists, attribute_not_exists, comparisons,
// begins_with, AND, OR, NOT. Attribute names are top-level names.
class Condition {
 public:
  enum class Kind : uint8_t { Exists, NotExists, Eq, Ne, Lt, Le, Gt, Ge, BeginsWith, And, Or, Not };

  static Condition exists(std::string attr);
  static Condition notExists(std::string attr);
  static Condition eq(std::string attr, AttributeValue v);
  static Condition ne(std::string attr, AttributeValue v);
  static Condition lt(std::string attr, AttributeValue v);
  static Condition le(std::string attr, AttributeValue v);
  static Condition gt(std::string attr, AttributeValue v);
  static Condition ge(std::string attr, AttributeValue v);
  static Condition beginsWith(std::string attr, AttributeValue prefix);
  friend Condition operator&&(Condition a, Condition b);
  friend Condition operator||(Condition a, Condition b);
  friend Condition operator!(Condition a);

  Kind kind() const { return kind_; }
  const std::string& attribute() const { return attr_; }
  const AttributeValue& operand() const { return value_; }
  const std::vector<Condition>& children() const { return children_; }

  // Evaluates against an item (null = the item does not exist), as DynamoDB would.
  bool evaluate(const Item* item) const;

 private:
  friend struct ConditionBuilder;
  Kind kind_ = Kind::Exists;
  std::string attr_;
  AttributeValue value_;
  std::vector<Condition> children_;
};

// One clause of an UpdateExpression.
struct UpdateAction {
  enum class Kind : uint8_t {
    Set,             // SET a = :v
    SetIfNotExists,  // SET a = if_not_exists(a, :v)
    Add,             // ADD a :v (numbers: a missing attribute counts as 0; sets: union)
    Remove,          // REMOVE a
    DeleteFromSet,   // DELETE a :set
  };
  Kind kind = Kind::Set;
  std::string attribute;
  AttributeValue value;
};

// An UpdateExpression as a list of actions, applied in order.
class Update {
 public:
  Update& set(std::string attr, AttributeValue v);
  Update& setIfNotExists(std::string attr, AttributeValue v);
  Update& add(std::string attr, AttributeValue v);
  Update& remove(std::string attr);
  Update& deleteFromSet(std::string attr, AttributeValue members);

  const std::vector<UpdateAction>& actions() const { return actions_; }
  bool empty() const { return actions_.empty(); }

  // Applies to `item` (which holds at least the key). Fails (Poison) when an action does
  // not fit the attribute's type, as DynamoDB rejects it with a ValidationException.
  Status applyTo(Item& item) const;

 private:
  std::vector<UpdateAction> actions_;
};

}  // namespace cdc::store
