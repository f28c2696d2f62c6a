#pragma once

#include <string>
#include <string_view>

#include "core/result.h"
#include "store/attribute_value.h"
#include "store/table_store.h"

namespace cdc::store {

// DynamoDB's JSON wire form: {"price":{"N":"1299.99"},"name":{"S":"Laptop"}}.
void appendDynamoJson(std::string& out, const AttributeValue& value);
void appendDynamoJson(std::string& out, const Item& item);
std::string toDynamoJson(const Item& item);
Result<Item> parseDynamoItem(std::string_view json);
Result<AttributeValue> parseDynamoValue(std::string_view json);

// The SQLite store's row form of an item: compact and binary, so that a change costs no JSON
// and a row no more bytes than its names and values. Format 1: the byte 0x01, then each
// attribute in name order as <varint length><name><value>, where a value is a tag byte
// (1 S, 2 N, 3 B, 4 false, 5 true, 6 NULL, 7 L, 8 M, 9 SS, 10 NS) followed by
// <varint length><bytes> for S, N (canonical decimal text) and B; <varint count><value>… for L;
// <varint count>(<varint length><name><value>)… for M; <varint count>(<varint length><member>)…
// for SS and NS (sorted, unique); nothing for BOOL and NULL. Varints are LEB128.
void appendItemRow(std::string& out, const Item& item);
// Reads a row of either form: format 1, or DynamoDB JSON (rows written before format 1 began
// with '{'). A damaged row is a Fatal error.
Result<Item> parseItemRow(std::string_view row);

// Plain JSON as `cdc dump` prints items: numbers as JSON numbers, sets and lists as arrays,
// binary as base64 strings. Keys sorted (the Item's order).
void appendPlainJson(std::string& out, const Item& item);

// TableSpec to and from JSON (the SQLite store's catalogue).
std::string tableSpecToJson(const TableSpec& spec);
Result<TableSpec> tableSpecFromJson(std::string_view json);

}  // namespace cdc::store
