#include "store/timed_store.h"

#include <algorithm>
#include <chrono>
#include <variant>

#include "metrics/registry.h"
#include "tracing/tracer.h"

namespace cdc::store {
namespace {

// Whether a store call now would be a span (the thread's current span records).
bool traced() {
  tracing::Span* span = tracing::current();
  return span && span->recording();
}

// One histogram per operation of an enum `Op` (kOps names), created by attach().
template <size_t N>
class OperationTimes {
 public:
  OperationTimes(const std::array<const char*, N>& names, const std::array<const char*, N>& operations, std::string backend,
                 const TimeSource& time)
      : names_(names), operations_(operations), backend_(std::move(backend)), time_(time) {}

  TimeSource::Steady now() const { return time_.steady(); }

  // The call's name in its service's API (TransactWriteItems, PutObject), for spans.
  const char* operation(size_t op) const { return operations_[op]; }
  const std::string& backend() const { return backend_; }

  std::shared_ptr<void> attach(metrics::Registry& registry, const std::string& service, const std::string& backend) {
    auto& family = registry.histogram("cdc_store_request_duration_seconds",
                                      "Time a store call took, retries included, by backend and operation.");
    for (size_t i = 0; i < N; ++i) {
      histograms_[i] =
          &family.Add({{"service", service}, {"backend", backend}, {"operation", names_[i]}}, metrics::latencyBuckets());
    }
    return std::shared_ptr<void>(nullptr, [this, &family](void*) {
      for (auto*& h : histograms_) {
        if (h) family.Remove(h);
        h = nullptr;
      }
    });
  }

  // Observes the time since `start` under operation `op` (`count` times: the transactions of one
  // transactAll were in flight together).
  void observe(size_t op, TimeSource::Steady start, size_t count = 1) const {
    metrics::Histogram* h = histograms_[op];
    if (!h) return;
    double seconds = std::chrono::duration<double>(time_.steady() - start).count();
    for (size_t i = 0; i < count; ++i) h->Observe(seconds);
  }
  bool on() const { return histograms_[0] != nullptr; }

 private:
  const std::array<const char*, N>& names_;
  const std::array<const char*, N>& operations_;
  std::string backend_;
  const TimeSource& time_;
  std::array<metrics::Histogram*, N> histograms_{};
};

// Whether a store call's result (or any of a list of them) is an error, and the first one.
template <typename R>
const Error* errorOf(const R& r) {
  return r ? nullptr : &r.error();
}
template <typename R>
const Error* errorOf(const std::vector<R>& results) {
  for (const auto& r : results) {
    if (!r) return &r.error();
  }
  return nullptr;
}

// A store round as a client span under the thread's current span (a batch's), when that one
// records: named and described as the OpenTelemetry database (and AWS SDK) conventions say.
tracing::Span storeSpan(const std::string& backend, const char* operation, std::span<const std::string_view> tables,
                        int64_t batchSize) {
  tracing::Span* parent = tracing::current();
  if (!parent || !parent->recording()) return {};
  std::string name = operation;
  if (tables.size() == 1) name += " " + std::string(tables.front());
  tracing::Span span = parent->child(std::move(name), tracing::SpanKind::Client);
  span.set("cdc.store.backend", std::string_view(backend)).set("db.operation.name", operation);
  if (backend == "dynamodb") {
    span.set("db.system.name", "aws.dynamodb").set("rpc.system", "aws-api").set("rpc.service", "DynamoDB");
    span.set("rpc.method", operation);
  } else if (backend == "sqlite") {
    span.set("db.system.name", "sqlite");
  } else if (backend == "s3") {
    span.set("rpc.system", "aws-api").set("rpc.service", "S3").set("rpc.method", operation);
  }
  if (tables.size() == 1) span.set("db.collection.name", tables.front());
  if (!tables.empty() && backend == "dynamodb") {
    span.set("aws.dynamodb.table_names", tracing::Value(std::vector<std::string>(tables.begin(), tables.end())));
  }
  if (batchSize > 1) span.set("db.operation.batch.size", batchSize);
  return span;
}

// Times `call` under `op` when timing is on, in a span when the thread's span records.
template <typename Times, typename Call>
auto timedCall(const Times& times, size_t op, Call&& call, size_t count = 1, std::span<const std::string_view> tables = {},
               int64_t batchSize = 0, std::string_view objectKey = {}) {
  tracing::Span span = storeSpan(times.backend(), times.operation(op), tables, batchSize);
  if (span.recording() && !objectKey.empty()) span.set("aws.s3.key", objectKey);
  if (!times.on() && !span.recording()) return call();
  auto start = times.now();
  auto result = call();
  times.observe(op, start, count);
  if (const Error* e = errorOf(result)) span.fail(toString(e->kind), e->message);
  return result;
}

void addTable(std::vector<std::string_view>& tables, const TransactItem& item) {
  std::string_view table = std::visit([](const auto& w) -> std::string_view { return w.table; }, item);
  if (std::find(tables.begin(), tables.end(), table) == tables.end()) tables.push_back(table);
}

// The distinct tables of a transaction list (a span's aws.dynamodb.table_names).
std::vector<std::string_view> tablesOf(std::span<const std::vector<TransactItem>> transactions) {
  std::vector<std::string_view> out;
  for (const auto& t : transactions) {
    for (const auto& item : t) addTable(out, item);
  }
  return out;
}

// The wrapped store (of interface `Store`) and its timings; the series and summary are the
// wrapped store's, with the timings added.
template <typename Store, size_t N>
class Timed : public Store {
 public:
  Timed(std::unique_ptr<Store> inner, std::string backend, const std::array<const char*, N>& names,
        const std::array<const char*, N>& operations, const TimeSource& time)
      : inner_(std::move(inner)), backend_(backend), times_(names, operations, std::move(backend), time) {}

  std::shared_ptr<void> instrument(metrics::Registry& registry, metrics::Health& health, const std::string& service,
                                   const std::string& role) override {
    auto own = times_.attach(registry, service, role.empty() ? backend_ : backend_ + "-" + role);
    auto inner = inner_->instrument(registry, health, service, role);
    return std::make_shared<std::pair<std::shared_ptr<void>, std::shared_ptr<void>>>(std::move(own), std::move(inner));
  }
  std::string requestSummary(const std::string& role) const override { return inner_->requestSummary(role); }
  std::optional<Instrumented::RequestCounts> requestCounts(const std::string& role) const override {
    return inner_->requestCounts(role);
  }

 protected:
  std::unique_ptr<Store> inner_;
  std::string backend_;
  OperationTimes<N> times_;
};

enum TableOp : size_t {
  kEnsure,
  kDescribe,
  kGet,
  kBatchGet,
  kPut,
  kUpdate,
  kDelete,
  kTransact,
  kBatchWrite,
  kQuery,
  kScan,
  kTableOps
};
const std::array<const char*, kTableOps> kTableOpNames = {
    "create_table", "describe_table",       "get_item",         "batch_get_item", "put_item", "update_item",
    "delete_item",  "transact_write_items", "batch_write_item", "query",          "scan"};
const std::array<const char*, kTableOps> kTableOperations = {
    "CreateTable", "DescribeTable",      "GetItem",        "BatchGetItem", "PutItem", "UpdateItem",
    "DeleteItem",  "TransactWriteItems", "BatchWriteItem", "Query",        "Scan"};

class TimedTableStore final : public Timed<TableStore, kTableOps> {
 public:
  TimedTableStore(std::unique_ptr<TableStore> inner, std::string backend, const TimeSource& time)
      : Timed(std::move(inner), std::move(backend), kTableOpNames, kTableOperations, time) {}

  Status ensureTable(const TableSpec& s) override {
    std::string_view t[] = {s.name};
    return timedCall(times_, kEnsure, [&] { return inner_->ensureTable(s); }, 1, t);
  }
  Result<TableSpec> describeTable(std::string_view t) override {
    return timedCall(times_, kDescribe, [&] { return inner_->describeTable(t); }, 1, {&t, 1});
  }
  Result<std::optional<Item>> get(std::string_view t, const Item& k) override {
    return timedCall(times_, kGet, [&] { return inner_->get(t, k); }, 1, {&t, 1});
  }
  Result<std::vector<Item>> batchGet(std::string_view t, std::span<const Item> k) override {
    return timedCall(times_, kBatchGet, [&] { return inner_->batchGet(t, k); }, 1, {&t, 1}, static_cast<int64_t>(k.size()));
  }
  Status batchGetEach(std::string_view t, std::span<const Item> k, const std::function<Status(const Item&)>& visit) override {
    return timedCall(
        times_, kBatchGet, [&] { return inner_->batchGetEach(t, k, visit); }, 1, {&t, 1}, static_cast<int64_t>(k.size()));
  }
  Result<WriteOutcome> put(const PutRequest& r) override {
    std::string_view t[] = {r.table};
    return timedCall(times_, kPut, [&] { return inner_->put(r); }, 1, t);
  }
  Result<WriteOutcome> update(const UpdateRequest& r) override {
    std::string_view t[] = {r.table};
    return timedCall(times_, kUpdate, [&] { return inner_->update(r); }, 1, t);
  }
  Result<WriteOutcome> remove(const DeleteRequest& r) override {
    std::string_view t[] = {r.table};
    return timedCall(times_, kDelete, [&] { return inner_->remove(r); }, 1, t);
  }
  Result<TransactOutcome> transact(std::span<const TransactItem> items) override {
    std::vector<std::string_view> tables;
    if (traced()) {
      for (const auto& item : items) addTable(tables, item);
    }
    return timedCall(times_, kTransact, [&] { return inner_->transact(items); }, 1, tables, static_cast<int64_t>(items.size()));
  }
  std::vector<Result<TransactOutcome>> transactAll(std::span<const std::vector<TransactItem>> t) override {
    auto tables = traced() ? tablesOf(t) : std::vector<std::string_view>();
    return timedCall(times_, kTransact, [&] { return inner_->transactAll(t); }, t.size(), tables, static_cast<int64_t>(t.size()));
  }
  std::vector<Result<TransactOutcome>> transactAllTaking(std::span<std::vector<TransactItem>> t) override {
    auto tables = traced() ? tablesOf(t) : std::vector<std::string_view>();
    return timedCall(
        times_, kTransact, [&] { return inner_->transactAllTaking(t); }, t.size(), tables, static_cast<int64_t>(t.size()));
  }
  Result<std::vector<WriteRequest>> batchWrite(std::string_view t, std::span<const WriteRequest> r) override {
    return timedCall(times_, kBatchWrite, [&] { return inner_->batchWrite(t, r); }, 1, {&t, 1}, static_cast<int64_t>(r.size()));
  }
  Result<Page> query(const QueryRequest& r) override {
    std::string_view t[] = {r.table};
    return timedCall(times_, kQuery, [&] { return inner_->query(r); }, 1, t);
  }
  Result<Page> scan(const ScanRequest& r) override {
    std::string_view t[] = {r.table};
    return timedCall(times_, kScan, [&] { return inner_->scan(r); }, 1, t);
  }
};

enum ObjectOp : size_t { kPutObject, kGetObject, kListObjects, kDeleteObject, kObjectOps };
const std::array<const char*, kObjectOps> kObjectOpNames = {"put_object", "get_object", "list_objects", "delete_object"};
const std::array<const char*, kObjectOps> kObjectOperations = {"PutObject", "GetObject", "ListObjectsV2", "DeleteObject"};

class TimedObjectStore final : public Timed<ObjectStore, kObjectOps> {
 public:
  TimedObjectStore(std::unique_ptr<ObjectStore> inner, std::string backend, const TimeSource& time)
      : Timed(std::move(inner), std::move(backend), kObjectOpNames, kObjectOperations, time) {}

  Status put(std::string_view key, std::string_view body, std::string_view contentType) override {
    return timedCall(times_, kPutObject, [&] { return inner_->put(key, body, contentType); }, 1, {}, 0, key);
  }
  Result<std::optional<std::string>> get(std::string_view key) override {
    return timedCall(times_, kGetObject, [&] { return inner_->get(key); }, 1, {}, 0, key);
  }
  Result<ObjectPage> list(std::string_view prefix, const std::optional<std::string>& token, int maxKeys) override {
    return timedCall(times_, kListObjects, [&] { return inner_->list(prefix, token, maxKeys); });
  }
  Status remove(std::string_view key) override {
    return timedCall(times_, kDeleteObject, [&] { return inner_->remove(key); }, 1, {}, 0, key);
  }
  Result<std::optional<TaggedObject>> getTagged(std::string_view key) override {
    return timedCall(times_, kGetObject, [&] { return inner_->getTagged(key); }, 1, {}, 0, key);
  }
  Result<std::optional<std::string>> putIf(std::string_view key, std::string_view body, const std::optional<std::string>& ifMatch,
                                           std::string_view contentType) override {
    return timedCall(times_, kPutObject, [&] { return inner_->putIf(key, body, ifMatch, contentType); }, 1, {}, 0, key);
  }
};

}  // namespace

std::unique_ptr<TableStore> timed(std::unique_ptr<TableStore> inner, std::string backend, const TimeSource& time) {
  return std::make_unique<TimedTableStore>(std::move(inner), std::move(backend), time);
}

std::unique_ptr<ObjectStore> timed(std::unique_ptr<ObjectStore> inner, std::string backend, const TimeSource& time) {
  return std::make_unique<TimedObjectStore>(std::move(inner), std::move(backend), time);
}

}  // namespace cdc::store
