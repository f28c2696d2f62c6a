#pragma once

// What the DynamoDB table store's files share (dynamodb_table_store.cc: items, writes,
// transactions, queries; dynamodb_tables.cc: DescribeTable, CreateTable, TTL). Not an API.

#include <string>
#include <string_view>

#include <simdjson.h>

#include "adapters/aws/dynamodb_table_store.h"

namespace cdc::aws::detail {

// DynamoDB's name of an attribute type ("S", "N", "B") and back.
const char* typeName(store::AttributeValue::Type t);
store::AttributeValue::Type typeOf(std::string_view t);
// An answer's JSON; `what` names the operation in the error.
Result<simdjson::dom::element> parse(simdjson::dom::parser& parser, const std::string& body, std::string_view what);

}  // namespace cdc::aws::detail
