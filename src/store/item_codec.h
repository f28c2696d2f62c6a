#pragma once

#include <string>
#include <string_view>

#include "core/result.h"
#include "store/attribute_value.h"
#include "store/table_store.h"

namespace cdc::store {

// DynamoDB's JSON wire form: {"price":{"N":"1299.99"},"name":{"S":"Laptop"}}.
// The SQLite store keeps items in this form too, so both backends share one codec.
void appendDynamoJson(std::string& out, const AttributeValue& value);
void appendDynamoJson(std::string& out, const Item& item);
std::string toDynamoJson(const Item& item);
Result<Item> parseDynamoItem(std::string_view json);
Result<AttributeValue> parseDynamoValue(std::string_view json);

// Plain JSON as `cdc dump` prints items: numbers as JSON numbers, sets and lists as arrays,
// binary as base64 strings. Keys sorted (the Item's order).
void appendPlainJson(std::string& out, const Item& item);

// TableSpec to and from JSON (the SQLite store's catalogue).
std::string tableSpecToJson(const TableSpec& spec);
Result<TableSpec> tableSpecFromJson(std::string_view json);

}  // namespace cdc::store
