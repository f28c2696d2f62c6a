#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/stats.h"
#include "core/time.h"
#include "runtime/handler.h"
#include "runtime/source_position.h"
#include "services/search/layout.h"
#include "store/table_store.h"

namespace prometheus {
class Counter;
}  // namespace prometheus

namespace cdc::search {

struct IndexerOptions {
  IndexTables tables;
  bool createTables = true;
  int64_t tombstoneRetentionSeconds = 7 * 86400;
  const TimeSource* time = &systemTime();  // the wall clock (a test: a ManualTime)
  debezium::DecoderOptions decoding;
  // The name this member writes into the leases of the partitions it claims (default: host
  // name and process id).
  std::string member;
};

struct IndexerStats {
  Count changes;
  Count stale;            // at or before the product's recorded position
  Count repeatedDeletes;  // deletes of a product already deleted or never indexed
  Count itemWrites;
  Count postingWrites;  // products added to or removed from a token's postings
  Count tokenWrites;    // new vocabulary entries
  Count transactions;   // TransactWriteItems sent (postings, vocabulary, items)
  Count conflicts;
  Count fenced;  // partitions whose lease another member claimed from this one
};

// search-indexer (SPEC §4): products into the search index.
//
// Per batch, the last change of each product is applied (earlier ones in the batch are
// superseded), against the stored item: the product is added to the postings of tokens it
// gained or whose weight changed and removed from those of tokens it lost, then the new
// vocabulary is written, then the item with a condition on the version read. The item write is
// the commit point: a crash before it replays the same diff (set ADD/DELETE repeat harmlessly),
// a crash after it finds the position applied. Each step is one round of TransactWriteItems of
// up to 100 items sent concurrently: the products of a batch sharing a token's shard share its
// update.
// A change at or before the item's recorded position is stale and ignored, so a duplicate or
// an out-of-order delivery never resurrects a deleted product or overwrites a newer one.
// Fencing: the items are written on the condition of the version read, but the postings (set
// ADD/DELETE on shards that many products share) cannot be. A member therefore claims a lease
// for each partition it reads (an item of the postings table, token "#lease/<topic>", shard the
// partition: the next epoch and its name, conditional on the epoch it read), and every
// transaction of postings carries a check that the lease of each partition whose products it
// changes still has this member's epoch. A former owner that read an item before pausing past its session
// timeout cannot add stale postings after the new owner claimed the partition: its
// transaction is refused, and it drops the partition (fenced()).
// Runs on the runner's thread; not thread-safe.
class IndexerHandler final : public runtime::Handler {
 public:
  IndexerHandler(store::TableStore& tables, IndexerOptions options);

  std::string_view serviceName() const override { return "search-indexer"; }
  debezium::DecoderOptions decoderOptions() const override { return decoding(options_.decoding); }
  // The columns this service reads, on top of the schemaless rules in `base`.
  static debezium::DecoderOptions decoding(debezium::DecoderOptions base);
  Status start() override;
  Status apply(std::span<const runtime::InputEvent> events, std::vector<runtime::Rejection>& rejected) override;
  void onAssigned(std::span<const TopicPartition> partitions) override;
  Status onRevoked(std::span<const TopicPartition> partitions) override;
  void onLost(std::span<const TopicPartition> partitions) override;
  std::vector<TopicPartition> fenced() const override;
  void instrument(metrics::Registry& registry, const std::string& service) override;

  const IndexerStats& stats() const { return stats_; }
  std::string summary() const override;
  Stats counts() const override;

 private:
  // The postings changes of one (token, shard): product ids by weight.
  struct ShardChange {
    std::map<int64_t, std::vector<std::string>> added;
    std::map<int64_t, std::vector<std::string>> removed;
    std::set<const TopicPartition*> partitions;  // of the products changed (the batch's): leases checked with it
  };
  // By (token, shard).
  using ShardChanges = std::map<std::pair<std::string, int64_t>, ShardChange>;
  // A batch's changes by product id: the indexes of each product's events, in order.
  using ChangesByProduct = std::map<int64_t, std::vector<size_t>>;
  // What a batch writes, gathered product by product: the postings, then the new vocabulary,
  // then the items.
  struct BatchWrites {
    ShardChanges shards;
    std::set<std::string> newVocabulary;  // known to the vocabulary table only once written
    store::TransactionPacker items;       // written last, each conditioned on the version read
  };
  // One product's change in a batch, against its stored item.
  struct ProductChange {
    int64_t id = 0;
    const TopicPartition* partition = nullptr;   // of its records
    const runtime::InputEvent* event = nullptr;  // the change applied
    store::Item* old = nullptr;                  // the stored item, when there is one
    const store::AttributeValue* oldName = nullptr;
    const store::AttributeValue* oldDescription = nullptr;
    bool oldHasTokens = false;
    const debezium::ProductRow* row = nullptr;         // after the change; null for a delete
    std::vector<const debezium::ProductRow*> earlier;  // its earlier changes the stored item does not count
    // Whether a row keeps the stored item's text (and so its tokens).
    bool sameText(const debezium::ProductRow& r) const;
  };

  // The steps of apply(): the changes it takes (the others refused), the partitions they come
  // from (claimed; a fenced one's changes dropped), the stored items, each product's writes,
  // then the writes in their order.
  ChangesByProduct groupByProduct(std::span<const runtime::InputEvent> events, std::vector<runtime::Rejection>& rejected) const;
  Result<std::vector<const TopicPartition*>> claimPartitions(std::span<const runtime::InputEvent> events,
                                                             ChangesByProduct& changes, std::set<TopicPartition>& partitions);
  Result<std::map<int64_t, store::Item>> readItems(const ChangesByProduct& changes);
  void planProduct(ProductChange& c, std::span<const runtime::InputEvent> events, const std::vector<size_t>& indexes,
                   BatchWrites& writes);
  // The postings of a product whose tokens change; its tokens after the change, or nullopt for
  // a delete that changes nothing (already deleted or never indexed).
  std::optional<std::map<std::string, int64_t>> planPostings(const ProductChange& c, BatchWrites& writes);
  void shiftPostings(const ProductChange& c, const std::map<std::string, int64_t>& before,
                     const std::map<std::string, std::set<int64_t>>& maybe, const std::map<std::string, int64_t>& after,
                     BatchWrites& writes);
  // The product's next item into `next` (the stored one renewed in place when it can be); the
  // condition it is written on (the version read).
  store::Condition nextItem(ProductChange& c, bool keepsTokens, const std::map<std::string, int64_t>& tokens,
                            const runtime::SourcePos& pos, store::Item& next);
  Status writeBatch(BatchWrites& writes, const std::set<TopicPartition>& partitions);
  Status writePostings(ShardChanges& shards);
  // The lease of a partition this member reads: claimed at its first record (the next epoch).
  Status claimLease(const TopicPartition& tp);
  // After a refused postings transaction: the partitions whose lease another member holds now
  // are fenced; true when there is one.
  Result<bool> checkLeases(const std::set<TopicPartition>& partitions);
  // Sends the transactions concurrently; counts the items of those committed into `written`.
  // Retry when a condition failed (a concurrent writer).
  Status send(std::vector<std::vector<store::TransactItem>>& transactions, Count* written = nullptr);

  store::TableStore& tables_;
  IndexerOptions options_;
  IndexerStats stats_;
  std::unordered_set<std::string> knownTokens_;  // vocabulary entries written (bounded by the vocabulary)
  std::map<TopicPartition, int64_t> leases_;     // this member's epoch of each partition it claimed
  std::set<TopicPartition> fenced_;              // claimed by another member from this one
  std::shared_ptr<void> fencedSeries_;           // cdc_search_partitions_fenced_total, read from stats_.fenced
};

}  // namespace cdc::search
