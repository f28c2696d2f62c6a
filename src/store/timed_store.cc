#include "store/timed_store.h"

#include <chrono>

#include "metrics/registry.h"

namespace cdc::store {
namespace {

// One histogram per operation of an enum `Op` (kOps names), created by attach().
template <size_t N>
class OperationTimes {
 public:
  explicit OperationTimes(const std::array<const char*, N>& names) : names_(names) {}

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
  void observe(size_t op, std::chrono::steady_clock::time_point start, size_t count = 1) const {
    metrics::Histogram* h = histograms_[op];
    if (!h) return;
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    for (size_t i = 0; i < count; ++i) h->Observe(seconds);
  }
  bool on() const { return histograms_[0] != nullptr; }

 private:
  const std::array<const char*, N>& names_;
  std::array<metrics::Histogram*, N> histograms_{};
};

// Times `call` under `op` when timing is on.
template <typename Times, typename Call>
auto timedCall(const Times& times, size_t op, Call&& call, size_t count = 1) {
  if (!times.on()) return call();
  auto start = std::chrono::steady_clock::now();
  auto result = call();
  times.observe(op, start, count);
  return result;
}

// The wrapped store (of interface `Store`) and its timings; the series and summary are the
// wrapped store's, with the timings added.
template <typename Store, size_t N>
class Timed : public Store {
 public:
  Timed(std::unique_ptr<Store> inner, std::string backend, const std::array<const char*, N>& names)
      : inner_(std::move(inner)), backend_(std::move(backend)), times_(names) {}

  std::shared_ptr<void> instrument(metrics::Registry& registry, metrics::Health& health, const std::string& service,
                                   const std::string& role) override {
    auto own = times_.attach(registry, service, role.empty() ? backend_ : backend_ + "-" + role);
    auto inner = inner_->instrument(registry, health, service, role);
    return std::make_shared<std::pair<std::shared_ptr<void>, std::shared_ptr<void>>>(std::move(own), std::move(inner));
  }
  std::string requestSummary(const std::string& role) const override { return inner_->requestSummary(role); }

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

class TimedTableStore final : public Timed<TableStore, kTableOps> {
 public:
  TimedTableStore(std::unique_ptr<TableStore> inner, std::string backend)
      : Timed(std::move(inner), std::move(backend), kTableOpNames) {}

  Status ensureTable(const TableSpec& s) override {
    return timedCall(times_, kEnsure, [&] { return inner_->ensureTable(s); });
  }
  Result<TableSpec> describeTable(std::string_view t) override {
    return timedCall(times_, kDescribe, [&] { return inner_->describeTable(t); });
  }
  Result<std::optional<Item>> get(std::string_view t, const Item& k) override {
    return timedCall(times_, kGet, [&] { return inner_->get(t, k); });
  }
  Result<std::vector<Item>> batchGet(std::string_view t, std::span<const Item> k) override {
    return timedCall(times_, kBatchGet, [&] { return inner_->batchGet(t, k); });
  }
  Status batchGetEach(std::string_view t, std::span<const Item> k, const std::function<Status(const Item&)>& visit) override {
    return timedCall(times_, kBatchGet, [&] { return inner_->batchGetEach(t, k, visit); });
  }
  Result<WriteOutcome> put(const PutRequest& r) override {
    return timedCall(times_, kPut, [&] { return inner_->put(r); });
  }
  Result<WriteOutcome> update(const UpdateRequest& r) override {
    return timedCall(times_, kUpdate, [&] { return inner_->update(r); });
  }
  Result<WriteOutcome> remove(const DeleteRequest& r) override {
    return timedCall(times_, kDelete, [&] { return inner_->remove(r); });
  }
  Result<TransactOutcome> transact(std::span<const TransactItem> items) override {
    return timedCall(times_, kTransact, [&] { return inner_->transact(items); });
  }
  std::vector<Result<TransactOutcome>> transactAll(std::span<const std::vector<TransactItem>> t) override {
    return timedCall(times_, kTransact, [&] { return inner_->transactAll(t); }, t.size());
  }
  std::vector<Result<TransactOutcome>> transactAllTaking(std::span<std::vector<TransactItem>> t) override {
    return timedCall(times_, kTransact, [&] { return inner_->transactAllTaking(t); }, t.size());
  }
  Result<std::vector<WriteRequest>> batchWrite(std::string_view t, std::span<const WriteRequest> r) override {
    return timedCall(times_, kBatchWrite, [&] { return inner_->batchWrite(t, r); });
  }
  Result<Page> query(const QueryRequest& r) override {
    return timedCall(times_, kQuery, [&] { return inner_->query(r); });
  }
  Result<Page> scan(const ScanRequest& r) override {
    return timedCall(times_, kScan, [&] { return inner_->scan(r); });
  }
};

enum ObjectOp : size_t { kPutObject, kGetObject, kListObjects, kDeleteObject, kObjectOps };
const std::array<const char*, kObjectOps> kObjectOpNames = {"put_object", "get_object", "list_objects", "delete_object"};

class TimedObjectStore final : public Timed<ObjectStore, kObjectOps> {
 public:
  TimedObjectStore(std::unique_ptr<ObjectStore> inner, std::string backend)
      : Timed(std::move(inner), std::move(backend), kObjectOpNames) {}

  Status put(std::string_view key, std::string_view body, std::string_view contentType) override {
    return timedCall(times_, kPutObject, [&] { return inner_->put(key, body, contentType); });
  }
  Result<std::optional<std::string>> get(std::string_view key) override {
    return timedCall(times_, kGetObject, [&] { return inner_->get(key); });
  }
  Result<ObjectPage> list(std::string_view prefix, const std::optional<std::string>& token, int maxKeys) override {
    return timedCall(times_, kListObjects, [&] { return inner_->list(prefix, token, maxKeys); });
  }
  Status remove(std::string_view key) override {
    return timedCall(times_, kDeleteObject, [&] { return inner_->remove(key); });
  }
  Result<std::optional<TaggedObject>> getTagged(std::string_view key) override {
    return timedCall(times_, kGetObject, [&] { return inner_->getTagged(key); });
  }
  Result<std::optional<std::string>> putIf(std::string_view key, std::string_view body, const std::optional<std::string>& ifMatch,
                                           std::string_view contentType) override {
    return timedCall(times_, kPutObject, [&] { return inner_->putIf(key, body, ifMatch, contentType); });
  }
};

}  // namespace

std::unique_ptr<TableStore> timed(std::unique_ptr<TableStore> inner, std::string backend) {
  return std::make_unique<TimedTableStore>(std::move(inner), std::move(backend));
}

std::unique_ptr<ObjectStore> timed(std::unique_ptr<ObjectStore> inner, std::string backend) {
  return std::make_unique<TimedObjectStore>(std::move(inner), std::move(backend));
}

}  // namespace cdc::store
