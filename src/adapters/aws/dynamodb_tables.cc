// The tables of the DynamoDB table store: DescribeTable, CreateTable (on-demand, with the GSIs,
// waiting until ACTIVE) and Time to Live.

#include <thread>

#include <fmt/format.h>

#include "adapters/aws/dynamodb_parts.h"
#include "core/json_writer.h"
#include "core/log.h"

namespace cdc::aws {

using namespace detail;
using store::AttributeValue;

Result<store::TableSpec> DynamoDbTableStore::describeTable(std::string_view table) {
  std::string body = "{\"TableName\":";
  appendJsonString(body, table);
  body += "}";
  auto r = call("DescribeTable", body, table);
  if (!r) return fail(r.error());
  simdjson::dom::parser parser;
  auto doc = parse(parser, *r, "DescribeTable");
  if (!doc) return fail(doc.error());
  simdjson::dom::element t = (*doc)["Table"];
  std::map<std::string, AttributeValue::Type, std::less<>> types;
  simdjson::dom::array defs;
  if (!t["AttributeDefinitions"].get_array().get(defs)) {
    for (auto d : defs) {
      std::string_view n, ty;
      if (!d["AttributeName"].get_string().get(n) && !d["AttributeType"].get_string().get(ty)) types[std::string(n)] = typeOf(ty);
    }
  }
  auto keySchema = [&](simdjson::dom::element owner, store::KeyAttribute& hash, std::optional<store::KeyAttribute>& range) {
    simdjson::dom::array keys;
    if (owner["KeySchema"].get_array().get(keys)) return;
    for (auto k : keys) {
      std::string_view n, kind;
      if (k["AttributeName"].get_string().get(n) || k["KeyType"].get_string().get(kind)) continue;
      store::KeyAttribute a{std::string(n), types.contains(n) ? types.find(n)->second : AttributeValue::Type::S};
      if (kind == "HASH")
        hash = a;
      else
        range = a;
    }
  };
  store::TableSpec spec;
  spec.name = std::string(table);
  keySchema(t, spec.hash, spec.range);
  simdjson::dom::array indexes;
  if (!t["GlobalSecondaryIndexes"].get_array().get(indexes)) {
    for (auto i : indexes) {
      store::IndexSpec index;
      std::string_view n;
      if (!i["IndexName"].get_string().get(n)) index.name = std::string(n);
      keySchema(i, index.hash, index.range);
      spec.indexes.push_back(std::move(index));
    }
  }
  return spec;
}

Result<const store::TableSpec*> DynamoDbTableStore::spec(std::string_view table) {
  if (auto it = specs_.find(table); it != specs_.end()) return &it->second;
  auto described = describeTable(table);
  if (!described) return fail(described.error());
  return &specs_.insert_or_assign(std::string(table), std::move(*described)).first->second;
}

namespace {

// [{"AttributeName":…,"KeyType":"HASH"}(,{…,"KeyType":"RANGE"})]
std::string keySchemaJson(const store::KeyAttribute& hash, const std::optional<store::KeyAttribute>& range) {
  std::string out = "[{\"AttributeName\":";
  appendJsonString(out, hash.name);
  out += ",\"KeyType\":\"HASH\"}";
  if (range) {
    out += ",{\"AttributeName\":";
    appendJsonString(out, range->name);
    out += ",\"KeyType\":\"RANGE\"}";
  }
  return out + "]";
}

// The CreateTable request of a table: on demand, its key attributes' types, its key schema and
// its global secondary indexes (every attribute projected).
std::string createTableBody(const store::TableSpec& spec) {
  std::map<std::string, AttributeValue::Type> attributes{{spec.hash.name, spec.hash.type}};
  if (spec.range) attributes[spec.range->name] = spec.range->type;
  for (const auto& i : spec.indexes) {
    attributes[i.hash.name] = i.hash.type;
    if (i.range) attributes[i.range->name] = i.range->type;
  }
  std::string body = "{\"TableName\":";
  appendJsonString(body, spec.name);
  body += ",\"BillingMode\":\"PAY_PER_REQUEST\",\"AttributeDefinitions\":[";
  bool first = true;
  for (const auto& [n, t] : attributes) {
    body += first ? "{" : ",{";
    first = false;
    body += "\"AttributeName\":";
    appendJsonString(body, n);
    body += std::string(",\"AttributeType\":\"") + typeName(t) + "\"}";
  }
  body += "],\"KeySchema\":" + keySchemaJson(spec.hash, spec.range);
  if (!spec.indexes.empty()) {
    body += ",\"GlobalSecondaryIndexes\":[";
    for (size_t i = 0; i < spec.indexes.size(); ++i) {
      if (i) body += ',';
      body += "{\"IndexName\":";
      appendJsonString(body, spec.indexes[i].name);
      body += ",\"KeySchema\":" + keySchemaJson(spec.indexes[i].hash, spec.indexes[i].range) +
              ",\"Projection\":{\"ProjectionType\":\"ALL\"}}";
    }
    body += "]";
  }
  return body + "}";
}

}  // namespace

Status DynamoDbTableStore::ensureTable(const store::TableSpec& spec) {
  auto existing = describeTable(spec.name);
  if (existing) {
    if (existing->hash.name != spec.hash.name || existing->range.has_value() != spec.range.has_value()) {
      return fail(Error::fatal("table " + spec.name + " exists with another key schema"));
    }
    return {};
  }
  if (existing.error().kind != ErrorKind::NotFound) return fail(existing.error());
  if (auto created = call("CreateTable", createTableBody(spec), spec.name); !created) {
    // Another replica created it first.
    if (created.error().message.find("ResourceInUseException") == std::string::npos) return fail(created.error());
  }
  log::event(spdlog::level::info, "table_created", {{"table", spec.name}, {"endpoint", client_->endpoint().describe()}});
  if (auto active = waitUntilActive(spec.name); !active) return active;
  if (!spec.ttlAttribute) return {};
  std::string ttl = "{\"TableName\":";
  appendJsonString(ttl, spec.name);
  ttl += ",\"TimeToLiveSpecification\":{\"Enabled\":true,\"AttributeName\":";
  appendJsonString(ttl, *spec.ttlAttribute);
  ttl += "}}";
  if (auto r = call("UpdateTimeToLive", ttl, spec.name); !r) return fail(r.error());
  return {};
}

Status DynamoDbTableStore::waitUntilActive(const std::string& table) {
  auto deadline = options_.time->steady() + options_.tableActiveTimeout;
  std::string describeBody = "{\"TableName\":";
  appendJsonString(describeBody, table);
  describeBody += "}";
  while (true) {
    auto r = call("DescribeTable", describeBody, table);
    if (!r) return fail(r.error());
    simdjson::dom::parser parser;
    auto doc = parse(parser, *r, "DescribeTable");
    if (!doc) return fail(doc.error());
    std::string_view status;
    if ((*doc)["Table"]["TableStatus"].get_string().get(status)) status = "UNKNOWN";
    if (status == "ACTIVE") return {};
    if (options_.time->steady() > deadline) {
      return fail(Error::retry("table " + table + " is still " + std::string(status) + " after creation"));
    }
    std::this_thread::sleep_for(options_.tableActivePoll);
  }
}

}  // namespace cdc::aws
