#pragma once

#include "store/table_store.h"

namespace cdc::test {

// A table store that passes every call to another: tests override the calls they interfere
// with (a concurrent writer, a crash between two writes).
class ForwardingTableStore : public store::TableStore {
 public:
  explicit ForwardingTableStore(store::TableStore& inner) : inner_(inner) {}
  Status ensureTable(const store::TableSpec& s) override { return inner_.ensureTable(s); }
  Result<store::TableSpec> describeTable(std::string_view t) override { return inner_.describeTable(t); }
  Result<std::optional<store::Item>> get(std::string_view t, const store::Item& k) override { return inner_.get(t, k); }
  Result<std::vector<store::Item>> batchGet(std::string_view t, std::span<const store::Item> k) override {
    return inner_.batchGet(t, k);
  }
  Result<store::WriteOutcome> put(const store::PutRequest& r) override { return inner_.put(r); }
  Result<store::WriteOutcome> update(const store::UpdateRequest& r) override { return inner_.update(r); }
  Result<store::WriteOutcome> remove(const store::DeleteRequest& r) override { return inner_.remove(r); }
  Result<store::TransactOutcome> transact(std::span<const store::TransactItem> items) override { return inner_.transact(items); }
  // One by one through transact(), so that a test overriding transact() sees every transaction.
  std::vector<Result<store::TransactOutcome>> transactAll(std::span<const std::vector<store::TransactItem>> t) override {
    return TableStore::transactAll(t);
  }
  Result<std::vector<store::WriteRequest>> batchWrite(std::string_view t, std::span<const store::WriteRequest> r) override {
    return inner_.batchWrite(t, r);
  }
  Result<store::Page> query(const store::QueryRequest& r) override { return inner_.query(r); }
  Result<store::Page> scan(const store::ScanRequest& r) override { return inner_.scan(r); }

 protected:
  store::TableStore& inner_;
};

}  // namespace cdc::test
