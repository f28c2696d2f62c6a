#pragma once

#include <string>
#include <vector>

#include "store/expression.h"

namespace cdc::aws {

// ConditionExpression / UpdateExpression text with its placeholders: attribute names become
// #n0, #n1 … (so reserved words never clash) and values :v0, :v1 ….
class ExpressionBuilder {
 public:
  std::string condition(const store::Condition& c);
  std::string update(const store::Update& u);
  // Appends "ExpressionAttributeNames" and "ExpressionAttributeValues" fields (when any) to
  // a JSON object being written: `out` ends inside that object, after at least one field.
  void appendTo(std::string& out) const;
  std::string name(const std::string& attribute);
  std::string value(const store::AttributeValue& v);

 private:
  std::vector<std::string> names_;
  std::vector<store::AttributeValue> values_;
};

}  // namespace cdc::aws
