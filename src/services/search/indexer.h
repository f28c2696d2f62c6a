#pragma once

#include <functional>
#include <string>
#include <unordered_set>

#include "runtime/handler.h"
#include "services/search/layout.h"
#include "store/table_store.h"

namespace cdc::search {

struct IndexerOptions {
  IndexTables tables;
  bool createTables = true;
  int64_t tombstoneRetentionSeconds = 7 * 86400;
  std::function<int64_t()> nowSeconds;  // injected for tests; wall clock by default
  debezium::DecoderOptions decoding;
};

struct IndexerStats {
  uint64_t changes = 0;
  uint64_t stale = 0;            // at or before the product's recorded position
  uint64_t repeatedDeletes = 0;  // deletes of a product already deleted or never indexed
  uint64_t itemWrites = 0;
  uint64_t postingWrites = 0;    // puts and deletes of postings
  uint64_t tokenWrites = 0;      // new vocabulary entries
  uint64_t conflicts = 0;
};

// search-indexer (SPEC §4): products into the search index.
//
// Per batch, the last change of each product is applied (earlier ones in the batch are
// superseded), against the stored item: the postings of tokens the product gained or whose
// weight changed are written, those of tokens it lost are deleted, then the item is written
// with a condition on the version read. The item write is the commit point: a crash before it
// replays the same diff (idempotent writes), a crash after it finds the position applied.
// A change at or before the item's recorded position is stale and ignored, so a duplicate or
// an out-of-order delivery never resurrects a deleted product or overwrites a newer one.
// Runs on the runner's thread; not thread-safe.
class IndexerHandler final : public runtime::Handler {
 public:
  IndexerHandler(store::TableStore& tables, IndexerOptions options);

  std::string_view serviceName() const override { return "search-indexer"; }
  debezium::DecoderOptions decoderOptions() const override;
  Status start() override;
  Status apply(std::span<const runtime::InputEvent> events, std::vector<runtime::Rejection>& rejected) override;

  const IndexerStats& stats() const { return stats_; }

 private:
  // Writes every request, sending what comes back unprocessed again; counts into `written`.
  Status writeAll(const std::string& table, std::vector<store::WriteRequest>& requests, uint64_t& written);

  store::TableStore& tables_;
  IndexerOptions options_;
  IndexerStats stats_;
  std::unordered_set<std::string> knownTokens_;  // vocabulary entries written (bounded by the vocabulary)
};

}  // namespace cdc::search
