#include "adapters/aws/dynamodb_table_store.h"

#include <algorithm>
#include <map>
#include <thread>

#include <fmt/format.h>
#include <simdjson.h>

#include "adapters/aws/client_metrics.h"
#include "adapters/aws/dynamodb_parts.h"
#include "core/json_writer.h"
#include "core/log.h"
#include "store/item_codec.h"

namespace cdc::aws {
namespace detail {

using store::AttributeValue;
using store::Condition;
using store::Item;

constexpr size_t kBatchWrite = 25;
constexpr size_t kBatchGet = 100;

std::string itemJson(const Item& item) { return store::toDynamoJson(item); }

const char* typeName(AttributeValue::Type t) {
  switch (t) {
    case AttributeValue::Type::N:
      return "N";
    case AttributeValue::Type::B:
      return "B";
    default:
      return "S";
  }
}

AttributeValue::Type typeOf(std::string_view t) {
  return t == "N" ? AttributeValue::Type::N : t == "B" ? AttributeValue::Type::B : AttributeValue::Type::S;
}

// Items of a JSON array element ("Items", "Responses.<table>").
Status appendItems(simdjson::dom::element array, std::vector<Item>& out) {
  simdjson::dom::array items;
  if (array.get_array().get(items)) return {};
  for (auto element : items) {
    auto item = store::parseDynamoItem(simdjson::minify(element));
    if (!item) return fail(item.error());
    out.push_back(std::move(*item));
  }
  return {};
}

Result<simdjson::dom::element> parse(simdjson::dom::parser& parser, const std::string& body, std::string_view what) {
  simdjson::dom::element doc;
  if (auto e = parser.parse(body).get(doc)) {
    return fail(Error::retry(std::string(what) + ": unreadable response (" + simdjson::error_message(e) + ")"));
  }
  return doc;
}

// A Query or Scan answer: its Items and LastEvaluatedKey.
Result<store::Page> pageOf(const std::string& body, std::string_view operation) {
  simdjson::dom::parser parser;
  auto doc = parse(parser, body, operation);
  if (!doc) return fail(doc.error());
  store::Page page;
  simdjson::dom::element items;
  if (!(*doc)["Items"].get(items)) {
    if (auto s = appendItems(items, page.items); !s) return fail(s.error());
  }
  simdjson::dom::element last;
  if (!(*doc)["LastEvaluatedKey"].get(last)) {
    auto key = store::parseDynamoItem(simdjson::minify(last));
    if (!key) return fail(key.error());
    page.lastEvaluatedKey = std::move(*key);
  }
  return page;
}

const char* returnValues(store::ReturnValues r) {
  switch (r) {
    case store::ReturnValues::AllOld:
      return "ALL_OLD";
    case store::ReturnValues::AllNew:
      return "ALL_NEW";
    default:
      return "NONE";
  }
}

// The body of a Put/Update/Delete/ConditionCheck, as a request or as a transaction member.
std::string putBody(const store::PutRequest& p, bool transaction) {
  ExpressionBuilder x;
  std::string out = "{\"TableName\":";
  appendJsonString(out, p.table);
  out += ",\"Item\":" + itemJson(p.item);
  if (p.condition) {
    out += ",\"ConditionExpression\":";
    appendJsonString(out, x.condition(*p.condition));
  }
  if (!transaction && p.returnValues != store::ReturnValues::None)
    out += std::string(",\"ReturnValues\":\"") + returnValues(p.returnValues) + "\"";
  x.appendTo(out);
  return out + "}";
}

std::string updateBody(const store::UpdateRequest& u, bool transaction) {
  ExpressionBuilder x;
  std::string out = "{\"TableName\":";
  appendJsonString(out, u.table);
  out += ",\"Key\":" + itemJson(u.key);
  if (!u.update.empty()) {
    out += ",\"UpdateExpression\":";
    appendJsonString(out, x.update(u.update));
  }
  if (u.condition) {
    out += ",\"ConditionExpression\":";
    appendJsonString(out, x.condition(*u.condition));
  }
  if (!transaction && u.returnValues != store::ReturnValues::None)
    out += std::string(",\"ReturnValues\":\"") + returnValues(u.returnValues) + "\"";
  x.appendTo(out);
  return out + "}";
}

std::string deleteBody(const store::DeleteRequest& d, bool transaction) {
  ExpressionBuilder x;
  std::string out = "{\"TableName\":";
  appendJsonString(out, d.table);
  out += ",\"Key\":" + itemJson(d.key);
  if (d.condition) {
    out += ",\"ConditionExpression\":";
    appendJsonString(out, x.condition(*d.condition));
  }
  if (!transaction && d.returnValues != store::ReturnValues::None)
    out += std::string(",\"ReturnValues\":\"") + returnValues(d.returnValues) + "\"";
  x.appendTo(out);
  return out + "}";
}

std::string checkBody(const store::ConditionCheck& c) {
  ExpressionBuilder x;
  std::string out = "{\"TableName\":";
  appendJsonString(out, c.table);
  out += ",\"Key\":" + itemJson(c.key) + ",\"ConditionExpression\":";
  appendJsonString(out, x.condition(c.condition));
  x.appendTo(out);
  return out + "}";
}

std::string writeRequestJson(const store::WriteRequest& w) {
  return w.kind == store::WriteRequest::Kind::Put ? "{\"PutRequest\":{\"Item\":" + itemJson(w.item) + "}}"
                                                  : "{\"DeleteRequest\":{\"Key\":" + itemJson(w.item) + "}}";
}

}  // namespace detail

using namespace detail;

// --- the store -------------------------------------------------------------------------------

DynamoDbTableStore::DynamoDbTableStore(std::unique_ptr<AwsClient> client, DynamoDbOptions options)
    : client_(std::move(client)), options_(options) {}

HttpRequest DynamoDbTableStore::request(std::string_view operation, std::string body) const {
  HttpRequest r = client_->request("POST", "/");
  r.headers = {{"Content-Type", "application/x-amz-json-1.0"}, {"X-Amz-Target", "DynamoDB_20120810." + std::string(operation)}};
  r.body = std::move(body);
  return r;
}

// What a final error answer means for the caller.
static Error finalError(const HttpResponse& r, std::string_view operation, std::string_view table) {
  std::string code = errorCode(r);
  std::string what = std::string(operation) + " on " + std::string(table) + ": " + describe(r);
  if (code == "ResourceNotFoundException") return Error::notFound(what);
  // The request built from one message is refused as such (an item over 400 KB, an empty
  // key string, a number out of range): no retry helps, the message is a dead letter.
  if (code == "ValidationException" || code == "SerializationException" || code == "ItemCollectionSizeLimitExceededException") {
    return Error::poison(what);
  }
  return Error::fatal(what);
}

Result<std::string> DynamoDbTableStore::call(std::string_view operation, std::string body, std::string_view table) {
  auto r = client_->send(request(operation, std::move(body)));
  if (!r) return fail(r.error());
  if (r->status != 200) return fail(finalError(*r, operation, table));
  return std::move(r->body);
}

Result<store::WriteOutcome> DynamoDbTableStore::write(std::string_view operation, std::string body, std::string_view table) {
  auto r = client_->send(request(operation, std::move(body)));
  if (!r) return fail(r.error());
  store::WriteOutcome out;
  if (r->status != 200) {
    if (errorCode(*r) == "ConditionalCheckFailedException") {
      out.conditionFailed = true;
      return out;
    }
    return fail(finalError(*r, operation, table));
  }
  simdjson::dom::parser parser;
  auto doc = parse(parser, r->body, operation);
  if (!doc) return fail(doc.error());
  simdjson::dom::element attributes;
  if (!(*doc)["Attributes"].get(attributes)) {
    auto item = store::parseDynamoItem(simdjson::minify(attributes));
    if (!item) return fail(item.error());
    out.attributes = std::move(*item);
  }
  return out;
}

Result<std::optional<Item>> DynamoDbTableStore::get(std::string_view table, const Item& key) {
  std::string body = "{\"TableName\":";
  appendJsonString(body, table);
  body += ",\"Key\":" + itemJson(key) + ",\"ConsistentRead\":true}";
  auto r = call("GetItem", body, table);
  if (!r) return fail(r.error());
  simdjson::dom::parser parser;
  auto doc = parse(parser, *r, "GetItem");
  if (!doc) return fail(doc.error());
  simdjson::dom::element item;
  if ((*doc)["Item"].get(item)) return std::optional<Item>{};
  auto parsed = store::parseDynamoItem(simdjson::minify(item));
  if (!parsed) return fail(parsed.error());
  return std::optional<Item>(std::move(*parsed));
}

Result<std::vector<Item>> DynamoDbTableStore::batchGet(std::string_view table, std::span<const Item> keys) {
  return itemsOfTable(table, keys);
}

Result<std::vector<Item>> DynamoDbTableStore::itemsOfTable(std::string_view table, std::span<const Item> keys) {
  std::vector<Item> out;
  std::vector<Item> remaining(keys.begin(), keys.end());
  for (int round = 0; !remaining.empty(); ++round) {
    if (round == 8) return fail(Error::retry("BatchGetItem on " + std::string(table) + ": keys still unprocessed"));
    if (round > 0) std::this_thread::sleep_for(std::chrono::milliseconds(20 << std::min(round, 6)));
    std::vector<HttpRequest> requests;
    for (size_t b = 0; b < remaining.size(); b += kBatchGet) {
      std::string body = "{\"RequestItems\":{";
      appendJsonString(body, table);
      body += ":{\"ConsistentRead\":true,\"Keys\":[";
      for (size_t i = b; i < std::min(remaining.size(), b + kBatchGet); ++i) body += (i > b ? "," : "") + itemJson(remaining[i]);
      body += "]}}}";
      requests.push_back(request("BatchGetItem", std::move(body)));
    }
    auto responses = client_->sendAll(std::move(requests));
    if (!responses) return fail(responses.error());
    std::vector<Item> unprocessed;
    for (const auto& r : *responses) {
      if (r.status != 200) return fail(finalError(r, "BatchGetItem", table));
      simdjson::dom::parser parser;
      auto doc = parse(parser, r.body, "BatchGetItem");
      if (!doc) return fail(doc.error());
      simdjson::dom::element found;
      if (!(*doc)["Responses"][table].get(found)) {
        if (auto s = appendItems(found, out); !s) return fail(s.error());
      }
      simdjson::dom::array left;
      if (!(*doc)["UnprocessedKeys"][table]["Keys"].get_array().get(left)) {
        for (auto k : left) {
          auto key = store::parseDynamoItem(simdjson::minify(k));
          if (!key) return fail(key.error());
          unprocessed.push_back(std::move(*key));
        }
      }
    }
    remaining = std::move(unprocessed);
  }
  return out;
}

Result<store::WriteOutcome> DynamoDbTableStore::put(const store::PutRequest& p) {
  return write("PutItem", putBody(p, false), p.table);
}

Result<store::WriteOutcome> DynamoDbTableStore::update(const store::UpdateRequest& u) {
  return write("UpdateItem", updateBody(u, false), u.table);
}

Result<store::WriteOutcome> DynamoDbTableStore::remove(const store::DeleteRequest& d) {
  return write("DeleteItem", deleteBody(d, false), d.table);
}

Result<HttpRequest> DynamoDbTableStore::transactRequest(std::span<const store::TransactItem> items) {
  if (items.size() > store::kMaxTransactItems) return fail(Error::poison("a transaction holds at most 100 items"));
  std::string body = "{\"TransactItems\":[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) body += ',';
    std::visit(
        [&](const auto& member) {
          using T = std::decay_t<decltype(member)>;
          if constexpr (std::is_same_v<T, store::PutRequest>) {
            body += "{\"Put\":" + putBody(member, true) + "}";
          } else if constexpr (std::is_same_v<T, store::UpdateRequest>) {
            body += "{\"Update\":" + updateBody(member, true) + "}";
          } else if constexpr (std::is_same_v<T, store::DeleteRequest>) {
            body += "{\"Delete\":" + deleteBody(member, true) + "}";
          } else {
            body += "{\"ConditionCheck\":" + checkBody(member) + "}";
          }
        },
        items[i]);
  }
  // The same token on every retry of this request: DynamoDB applies it once (for 10 minutes).
  body += "],\"ClientRequestToken\":\"" + fmt::format("{:016x}{:016x}", tokens_(), tokens_()) + "\"}";
  return request("TransactWriteItems", std::move(body));
}

Result<store::TransactOutcome> DynamoDbTableStore::transactOutcome(const HttpResponse& r,
                                                                   std::span<const store::TransactItem> items) {
  std::string table;
  if (!items.empty()) std::visit([&](const auto& member) { table = member.table; }, items.front());
  store::TransactOutcome out;
  if (r.status == 200) {
    out.committed = true;
    return out;
  }
  if (errorCode(r) != "TransactionCanceledException") return fail(finalError(r, "TransactWriteItems", table));
  // CancellationReasons, one per item: a failed condition is an answer; a conflict with
  // another transaction or throttling is transient.
  simdjson::dom::parser parser;
  auto doc = parse(parser, r.body, "TransactWriteItems");
  if (!doc) return fail(doc.error());
  simdjson::dom::array reasons;
  if (!(*doc)["CancellationReasons"].get_array().get(reasons)) {
    size_t i = 0;
    for (auto reason : reasons) {
      std::string_view code;
      if (reason["Code"].get_string().get(code)) code = {};
      if (code == "ConditionalCheckFailed") out.failedConditions.push_back(i);
      if (code == "TransactionConflict" || code == "ThrottlingError" || code == "ProvisionedThroughputExceeded") {
        return fail(Error::retry("TransactWriteItems: " + describe(r)));
      }
      if (code == "ValidationError" || code == "ItemCollectionSizeLimitExceeded") {
        return fail(Error::poison("TransactWriteItems on " + table + ": " + describe(r)));
      }
      ++i;
    }
  }
  if (out.failedConditions.empty()) return fail(Error::retry("TransactWriteItems: " + describe(r)));
  out.uncertainBefore = r.uncertainBefore;
  return out;
}

Result<store::TransactOutcome> DynamoDbTableStore::transact(std::span<const store::TransactItem> items) {
  auto req = transactRequest(items);
  if (!req) return fail(req.error());
  auto r = client_->send(std::move(*req));
  if (!r) return fail(r.error());
  return transactOutcome(*r, items);
}

std::vector<Result<store::TransactOutcome>> DynamoDbTableStore::transactAll(
    std::span<const std::vector<store::TransactItem>> transactions) {
  std::vector<Result<store::TransactOutcome>> out(transactions.size(), fail(Error::fatal("not sent")));
  std::vector<HttpRequest> requests;
  std::vector<size_t> sent;
  for (size_t i = 0; i < transactions.size(); ++i) {
    auto req = transactRequest(transactions[i]);
    if (!req) {
      out[i] = fail(req.error());
      continue;
    }
    requests.push_back(std::move(*req));
    sent.push_back(i);
  }
  auto responses = client_->sendAll(std::move(requests));
  for (size_t k = 0; k < sent.size(); ++k) {
    out[sent[k]] = responses ? transactOutcome((*responses)[k], transactions[sent[k]]) : fail(responses.error());
  }
  return out;
}

Result<std::vector<store::WriteRequest>> DynamoDbTableStore::batchWrite(std::string_view table,
                                                                        std::span<const store::WriteRequest> writes) {
  std::vector<HttpRequest> requests;
  for (size_t b = 0; b < writes.size(); b += kBatchWrite) {
    std::string body = "{\"RequestItems\":{";
    appendJsonString(body, table);
    body += ":[";
    for (size_t i = b; i < std::min(writes.size(), b + kBatchWrite); ++i)
      body += (i > b ? "," : "") + writeRequestJson(writes[i]);
    body += "]}}";
    requests.push_back(request("BatchWriteItem", std::move(body)));
  }
  auto responses = client_->sendAll(std::move(requests));
  if (!responses) return fail(responses.error());
  std::vector<store::WriteRequest> unprocessed;
  for (const auto& r : *responses) {
    if (r.status != 200) return fail(finalError(r, "BatchWriteItem", table));
    simdjson::dom::parser parser;
    auto doc = parse(parser, r.body, "BatchWriteItem");
    if (!doc) return fail(doc.error());
    simdjson::dom::array left;
    if ((*doc)["UnprocessedItems"][table].get_array().get(left)) continue;
    for (auto w : left) {
      simdjson::dom::element e;
      store::WriteRequest back;
      if (!w["PutRequest"]["Item"].get(e)) {
        back.kind = store::WriteRequest::Kind::Put;
      } else if (!w["DeleteRequest"]["Key"].get(e)) {
        back.kind = store::WriteRequest::Kind::Delete;
      } else {
        continue;
      }
      auto item = store::parseDynamoItem(simdjson::minify(e));
      if (!item) return fail(item.error());
      back.item = std::move(*item);
      unprocessed.push_back(std::move(back));
    }
  }
  return unprocessed;
}

namespace {

// A Query's condition on the range key, in KeyConditionExpression's words.
std::string rangeCondition(ExpressionBuilder& x, const std::string& name, const store::RangeCondition& r) {
  std::string n = x.name(name);
  switch (r.op) {
    case store::KeyOp::Eq:
      return n + " = " + x.value(r.value);
    case store::KeyOp::Lt:
      return n + " < " + x.value(r.value);
    case store::KeyOp::Le:
      return n + " <= " + x.value(r.value);
    case store::KeyOp::Gt:
      return n + " > " + x.value(r.value);
    case store::KeyOp::Ge:
      return n + " >= " + x.value(r.value);
    case store::KeyOp::Between: {
      std::string low = x.value(r.value);
      return n + " BETWEEN " + low + " AND " + x.value(r.upper);
    }
    case store::KeyOp::BeginsWith:
      return "begins_with(" + n + ", " + x.value(r.value) + ")";
  }
  return n + " = " + x.value(r.value);
}

}  // namespace

Result<store::Page> DynamoDbTableStore::query(const store::QueryRequest& q) {
  ExpressionBuilder x;
  auto known = spec(q.table);
  if (!known) return fail(known.error());
  const store::TableSpec& t = **known;
  const store::KeyAttribute* hash = &t.hash;
  const store::KeyAttribute* range = t.range ? &*t.range : nullptr;
  if (q.index) {
    auto it = std::find_if(t.indexes.begin(), t.indexes.end(), [&](const auto& i) { return i.name == *q.index; });
    // DynamoDB answers ValidationException: the table does not have the specified index.
    if (it == t.indexes.end()) return fail(Error::poison("index " + *q.index + " of " + q.table + " does not exist"));
    hash = &it->hash;
    range = it->range ? &*it->range : nullptr;
  }
  std::string keyCondition = x.name(hash->name) + " = " + x.value(q.hashValue);
  if (q.range) {
    if (!range) return fail(Error::fatal("a range condition on " + q.table + " which has no range key"));
    keyCondition += " AND " + rangeCondition(x, range->name, *q.range);
  }
  std::string body = "{\"TableName\":";
  appendJsonString(body, q.table);
  if (q.index) {
    body += ",\"IndexName\":";
    appendJsonString(body, *q.index);
  } else {
    body += ",\"ConsistentRead\":true";
  }
  body += ",\"KeyConditionExpression\":";
  appendJsonString(body, keyCondition);
  if (!q.forward) body += ",\"ScanIndexForward\":false";
  if (q.limit > 0) body += ",\"Limit\":" + std::to_string(q.limit);
  if (q.exclusiveStartKey) body += ",\"ExclusiveStartKey\":" + itemJson(*q.exclusiveStartKey);
  x.appendTo(body);
  body += "}";
  auto r = call("Query", body, q.table);
  if (!r) return fail(r.error());
  return pageOf(*r, "Query");
}

Result<store::Page> DynamoDbTableStore::scan(const store::ScanRequest& s) {
  std::string body = "{\"TableName\":";
  appendJsonString(body, s.table);
  body += ",\"ConsistentRead\":true";
  if (s.limit > 0) body += ",\"Limit\":" + std::to_string(s.limit);
  if (s.exclusiveStartKey) body += ",\"ExclusiveStartKey\":" + itemJson(*s.exclusiveStartKey);
  body += "}";
  auto r = call("Scan", body, s.table);
  if (!r) return fail(r.error());
  return pageOf(*r, "Scan");
}

std::shared_ptr<void> DynamoDbTableStore::instrument(metrics::Registry& registry, metrics::Health& health,
                                                     const std::string& service, const std::string& role) {
  return instrumentClient(registry, health, *client_, backendLabel("dynamodb", role), service);
}

std::string DynamoDbTableStore::requestSummary(const std::string& role) const {
  return aws::requestSummary(*client_, backendLabel("dynamodb", role));
}

std::optional<store::Instrumented::RequestCounts> DynamoDbTableStore::requestCounts(const std::string& role) const {
  return aws::requestCounts(*client_, backendLabel("dynamodb", role));
}

}  // namespace cdc::aws
