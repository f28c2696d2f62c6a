#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "adapters/aws/aws_client.h"
#include "adapters/aws/dynamodb_expressions.h"
#include "core/time.h"
#include "store/table_store.h"

namespace cdc::aws {

struct DynamoDbOptions {
  std::chrono::milliseconds tableActiveTimeout{std::chrono::minutes(5)};
  std::chrono::milliseconds tableActivePoll{std::chrono::milliseconds(500)};
  const TimeSource* time = &systemTime();  // the wait for a new table's deadline
};

// The table store on DynamoDB's JSON protocol (API version 2012-08-10): every store
// operation is one DynamoDB request (GetItem, PutItem, UpdateItem, DeleteItem,
// TransactWriteItems, Query, Scan) or, for the batch calls, as many BatchWriteItem (25) /
// BatchGetItem (100) requests as needed, sent concurrently. Reads of the base table are
// strongly consistent (the services read what they wrote); index queries cannot be.
// CreateTable uses on-demand billing and waits until the table is ACTIVE, then turns on TTL.
// A request DynamoDB rejects as invalid (ValidationException: an item over 400 KB …) is a
// Poison error for the message that caused it; throttling and outages are Retry errors from
// the client. One thread at a time.
class DynamoDbTableStore final : public store::TableStore {
 public:
  DynamoDbTableStore(std::unique_ptr<AwsClient> client, DynamoDbOptions options = {});

  Status ensureTable(const store::TableSpec& spec) override;
  Result<store::TableSpec> describeTable(std::string_view table) override;
  Result<std::optional<store::Item>> get(std::string_view table, const store::Item& key) override;
  Result<std::vector<store::Item>> batchGet(std::string_view table, std::span<const store::Item> keys) override;
  Result<store::WriteOutcome> put(const store::PutRequest& request) override;
  Result<store::WriteOutcome> update(const store::UpdateRequest& request) override;
  Result<store::WriteOutcome> remove(const store::DeleteRequest& request) override;
  Result<store::TransactOutcome> transact(std::span<const store::TransactItem> items) override;
  // Sent concurrently, each with its own ClientRequestToken (a retry after a lost answer is
  // not applied twice).
  std::vector<Result<store::TransactOutcome>> transactAll(
      std::span<const std::vector<store::TransactItem>> transactions) override;
  Result<std::vector<store::WriteRequest>> batchWrite(std::string_view table,
                                                      std::span<const store::WriteRequest> requests) override;
  Result<store::Page> query(const store::QueryRequest& request) override;
  Result<store::Page> scan(const store::ScanRequest& request) override;

  const AwsClient& client() const { return *client_; }
  std::shared_ptr<void> instrument(metrics::Registry& registry, metrics::Health& health, const std::string& service,
                                   const std::string& role = "") override;
  std::string requestSummary(const std::string& role = "") const override;
  std::optional<RequestCounts> requestCounts(const std::string& role = "") const override;
  uint64_t requests() const { return client_->probe().requests.load(); }

 private:
  HttpRequest request(std::string_view operation, std::string body) const;
  // The TransactWriteItems request of `items` (Poison when there are too many), and its answer.
  Result<HttpRequest> transactRequest(std::span<const store::TransactItem> items);
  Result<store::TransactOutcome> transactOutcome(const HttpResponse& r, std::span<const store::TransactItem> items);
  // After a CreateTable: DescribeTable until the table is ACTIVE (a Retry error past
  // tableActiveTimeout).
  Status waitUntilActive(const std::string& table);
  // One call; a final error answer becomes an Error (NotFound, Poison, Fatal).
  Result<std::string> call(std::string_view operation, std::string body, std::string_view table);
  Result<store::WriteOutcome> write(std::string_view operation, std::string body, std::string_view table);
  Result<std::vector<store::Item>> itemsOfTable(std::string_view table, std::span<const store::Item> keys);
  // The key schema of a table, asked once (queries need the names of the index keys).
  Result<const store::TableSpec*> spec(std::string_view table);

  std::unique_ptr<AwsClient> client_;
  std::mt19937_64 tokens_{std::random_device{}()};  // ClientRequestTokens
  DynamoDbOptions options_;
  std::map<std::string, store::TableSpec, std::less<>> specs_;
};

}  // namespace cdc::aws
