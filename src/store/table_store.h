#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "core/result.h"
#include "store/attribute_value.h"
#include "store/expression.h"
#include "store/instrumented.h"

namespace cdc::store {

// Key attribute of a table or index: name and scalar type (S, N or B).
struct KeyAttribute {
  std::string name;
  AttributeValue::Type type = AttributeValue::Type::S;
};

struct IndexSpec {
  std::string name;
  KeyAttribute hash;
  std::optional<KeyAttribute> range;
  // Projection ALL: an index returns whole items.
};

// A table as DynamoDB defines one: key schema and global secondary indexes.
struct TableSpec {
  std::string name;
  KeyAttribute hash;
  std::optional<KeyAttribute> range;
  std::vector<IndexSpec> indexes;
  // DynamoDB Time to Live: items whose attribute of this name (epoch seconds) lies in the past
  // are removed by the store in the background, some time after they expire.
  std::optional<std::string> ttlAttribute;
};

enum class ReturnValues : uint8_t { None, AllOld, AllNew };

struct PutRequest {
  std::string table;
  Item item;
  std::optional<Condition> condition;
  ReturnValues returnValues = ReturnValues::None;  // None or AllOld
};

struct UpdateRequest {
  std::string table;
  Item key;
  Update update;
  std::optional<Condition> condition;
  ReturnValues returnValues = ReturnValues::None;
};

struct DeleteRequest {
  std::string table;
  Item key;
  std::optional<Condition> condition;
  ReturnValues returnValues = ReturnValues::None;  // None or AllOld
};

struct ConditionCheck {
  std::string table;
  Item key;
  Condition condition;
};

// The result of a single conditional write.
struct WriteOutcome {
  bool conditionFailed = false;    // the condition was false: nothing was written
  std::optional<Item> attributes;  // per ReturnValues
};

using TransactItem = std::variant<PutRequest, UpdateRequest, DeleteRequest, ConditionCheck>;

// TransactWriteItems: all or nothing. When a condition fails nothing is written and
// `failedConditions` holds the positions of the items whose condition was false.
struct TransactOutcome {
  bool committed = false;
  std::vector<size_t> failedConditions;
  // With failed conditions: an earlier attempt of this transaction got no definite answer
  // (what it got); that attempt may have been applied, making the conditions fail now.
  std::string uncertainBefore;
};

// One entry of a BatchWriteItem: a put (whole item) or a delete (key).
struct WriteRequest {
  enum class Kind : uint8_t { Put, Delete } kind = Kind::Put;
  Item item;  // the item for Put, the key for Delete
};

enum class KeyOp : uint8_t { Eq, Lt, Le, Gt, Ge, Between, BeginsWith };

struct RangeCondition {
  KeyOp op = KeyOp::Eq;
  AttributeValue value;
  AttributeValue upper;  // Between only (inclusive)
};

// Query on a table or one of its indexes: one hash key value, an optional range condition.
struct QueryRequest {
  std::string table;
  std::optional<std::string> index;
  AttributeValue hashValue;
  std::optional<RangeCondition> range;
  bool forward = true;
  int limit = 0;  // 0: the backend's page size
  std::optional<Item> exclusiveStartKey;
};

struct ScanRequest {
  std::string table;
  int limit = 0;
  std::optional<Item> exclusiveStartKey;
};

// A page of a Query or Scan; `lastEvaluatedKey` is set when more may follow.
struct Page {
  std::vector<Item> items;
  std::optional<Item> lastEvaluatedKey;
};

// The table store, shaped after DynamoDB's API so that every effect a service performs is
// expressible as a DynamoDB request (conditional writes, ADD/SET/REMOVE updates, batch writes,
// transactions, queries on indexes). Errors carry ErrorKind: Retry for throttling and
// unavailability, Poison for a request DynamoDB would reject as invalid (the message that
// caused it goes to the dead-letter queue), Fatal for everything else.
// Implementations document their own threading; callers use one store per thread unless told.
class TableStore : public Instrumented {
 public:
  ~TableStore() override = default;

  // Creates the table when it does not exist (and waits until it is usable).
  virtual Status ensureTable(const TableSpec& spec) = 0;
  // The spec of an existing table, NotFound otherwise.
  virtual Result<TableSpec> describeTable(std::string_view table) = 0;

  virtual Result<std::optional<Item>> get(std::string_view table, const Item& key) = 0;
  // BatchGetItem for any number of keys (DynamoDB's go 100 at a time, concurrently): items in
  // no particular order; keys without an item are absent.
  virtual Result<std::vector<Item>> batchGet(std::string_view table, std::span<const Item> keys) = 0;
  // batchGet for a caller that only reads what it gets: `visit` sees each item found (in no
  // particular order; valid during the call only), so that a store keeping items in memory
  // need not copy them. An error of `visit` ends the call with it. By default: batchGet.
  virtual Status batchGetEach(std::string_view table, std::span<const Item> keys,
                              const std::function<Status(const Item&)>& visit);
  virtual Result<WriteOutcome> put(const PutRequest& request) = 0;
  virtual Result<WriteOutcome> update(const UpdateRequest& request) = 0;
  virtual Result<WriteOutcome> remove(const DeleteRequest& request) = 0;
  virtual Result<TransactOutcome> transact(std::span<const TransactItem> items) = 0;
  // Independent transactions, each all or nothing, none atomic with another (DynamoDB's are
  // sent concurrently): an outcome or an error for each, in order. By default one by one.
  virtual std::vector<Result<TransactOutcome>> transactAll(std::span<const std::vector<TransactItem>> transactions);
  // transactAll for a caller that is done with the requests once they are answered: the store
  // may take the items out of them instead of copying them. By default: transactAll.
  virtual std::vector<Result<TransactOutcome>> transactAllTaking(std::span<std::vector<TransactItem>> transactions) {
    return transactAll(transactions);
  }
  // BatchWriteItem for any number of requests (DynamoDB's are sent 25 at a time, concurrently):
  // returns the requests that were not processed, to be sent again. Not atomic as a whole.
  virtual Result<std::vector<WriteRequest>> batchWrite(std::string_view table, std::span<const WriteRequest> requests) = 0;
  virtual Result<Page> query(const QueryRequest& request) = 0;
  virtual Result<Page> scan(const ScanRequest& request) = 0;
};

// What one TransactWriteItems may hold: 100 items, 4 MB of items in all.
inline constexpr size_t kMaxTransactItems = 100;
inline constexpr size_t kMaxTransactBytes = 4'000'000;

// Packs writes into as few transactions as the limits above allow, in the order given; the
// writes of one add() stay in one transaction (a move: a delete and a put).
class TransactionPacker {
 public:
  // Returns the position of the transaction the writes went into.
  size_t add(std::vector<TransactItem> writes, size_t bytes = 0) {
    if (transactions_.empty() || transactions_.back().size() + writes.size() > kMaxTransactItems ||
        bytes_ + bytes > kMaxTransactBytes) {
      transactions_.emplace_back();
      bytes_ = 0;
    }
    for (auto& w : writes) transactions_.back().push_back(std::move(w));
    bytes_ += bytes;
    return transactions_.size() - 1;
  }
  size_t add(TransactItem write, size_t bytes = 0) {
    std::vector<TransactItem> one;
    one.push_back(std::move(write));
    return add(std::move(one), bytes);
  }
  std::vector<std::vector<TransactItem>>& transactions() { return transactions_; }

 private:
  std::vector<std::vector<TransactItem>> transactions_;
  size_t bytes_ = 0;  // of the last transaction
};

// transactAllTaking summed up for a caller that applies a batch (the requests may lose their
// items; the transactions keep their sizes): `committed(i)` is called for each
// transaction that committed; `error` is the first error of any (or of a callback); `conflict`
// says a condition failed in one (a concurrent writer: the caller applies its batch again).
struct TransactAllOutcome {
  Status error;
  bool conflict = false;
  std::string uncertainBefore;  // of a transaction in conflict (TransactOutcome::uncertainBefore)
  uint64_t items = 0;           // items of the committed transactions
};
TransactAllOutcome transactEach(TableStore& store, std::span<std::vector<TransactItem>> transactions,
                                const std::function<Status(size_t)>& committed);
// Why a transaction of `what` ("the inventory") failed its conditions, as far as is known, and
// what happens next: the batch is read and applied again.
std::string describeConflict(const TransactAllOutcome& outcome, std::string_view what);

// The key attributes of `item` under `spec` (hash and range).
Item keyOf(const TableSpec& spec, const Item& item);

// A service's start-up: creates its missing tables when `create` (CREATE_TABLES), or fails
// (Fatal, naming the table) when one is missing and it may not.
Status ensureTables(TableStore& store, std::span<const TableSpec> specs, bool create);

}  // namespace cdc::store
