#include "adapters/aws/dynamodb_expressions.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/json_writer.h"
#include "store/item_codec.h"

namespace cdc::aws {

using store::AttributeValue;
using store::Condition;

std::string ExpressionBuilder::name(const std::string& attribute) {
  auto it = std::find(names_.begin(), names_.end(), attribute);
  size_t i = static_cast<size_t>(it - names_.begin());
  if (it == names_.end()) names_.push_back(attribute);
  return "#n" + std::to_string(i);
}

std::string ExpressionBuilder::value(const AttributeValue& v) {
  values_.push_back(v);
  return ":v" + std::to_string(values_.size() - 1);
}

std::string ExpressionBuilder::condition(const Condition& c) {
  using K = Condition::Kind;
  auto compare = [&](const char* op) { return name(c.attribute()) + " " + op + " " + value(c.operand()); };
  switch (c.kind()) {
    case K::Exists:
      return "attribute_exists(" + name(c.attribute()) + ")";
    case K::NotExists:
      return "attribute_not_exists(" + name(c.attribute()) + ")";
    case K::Eq:
      return compare("=");
    case K::Ne:
      return compare("<>");
    case K::Lt:
      return compare("<");
    case K::Le:
      return compare("<=");
    case K::Gt:
      return compare(">");
    case K::Ge:
      return compare(">=");
    case K::BeginsWith:
      return "begins_with(" + name(c.attribute()) + ", " + value(c.operand()) + ")";
    case K::Not:
      return "NOT (" + condition(c.children().front()) + ")";
    case K::And:
    case K::Or: {
      std::string out;
      for (const auto& child : c.children()) {
        if (!out.empty()) out += c.kind() == K::And ? " AND " : " OR ";
        out += "(" + condition(child) + ")";
      }
      return out;
    }
  }
  return {};
}

std::string ExpressionBuilder::update(const store::Update& u) {
  using K = store::UpdateAction::Kind;
  std::string set, add, remove, del;
  auto join = [](std::string& clause, const std::string& part) { clause += (clause.empty() ? "" : ", ") + part; };
  for (const auto& a : u.actions()) {
    switch (a.kind) {
      case K::Set:
        join(set, name(a.attribute) + " = " + value(a.value));
        break;
      case K::SetIfNotExists: {
        std::string n = name(a.attribute);
        join(set, fmt::format("{0} = if_not_exists({0}, {1})", n, value(a.value)));
        break;
      }
      case K::Add:
        join(add, name(a.attribute) + " " + value(a.value));
        break;
      case K::Remove:
        join(remove, name(a.attribute));
        break;
      case K::DeleteFromSet:
        join(del, name(a.attribute) + " " + value(a.value));
        break;
    }
  }
  std::string out;
  for (auto [keyword, clause] : {std::pair{"SET ", &set}, {"ADD ", &add}, {"REMOVE ", &remove}, {"DELETE ", &del}}) {
    if (!clause->empty()) out += (out.empty() ? "" : " ") + std::string(keyword) + *clause;
  }
  return out;
}

void ExpressionBuilder::appendTo(std::string& out) const {
  if (!names_.empty()) {
    out += ",\"ExpressionAttributeNames\":{";
    for (size_t i = 0; i < names_.size(); ++i) {
      if (i) out += ',';
      appendJsonString(out, "#n" + std::to_string(i));
      out += ':';
      appendJsonString(out, names_[i]);
    }
    out += '}';
  }
  if (!values_.empty()) {
    out += ",\"ExpressionAttributeValues\":{";
    for (size_t i = 0; i < values_.size(); ++i) {
      if (i) out += ',';
      appendJsonString(out, ":v" + std::to_string(i));
      out += ':';
      store::appendDynamoJson(out, values_[i]);
    }
    out += '}';
  }
}

}  // namespace cdc::aws
