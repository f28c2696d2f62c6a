#include "services/search/indexer.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "core/log.h"
#include "core/time.h"
#include "metrics/registry.h"
#include "runtime/member.h"
#include "runtime/source_position.h"
#include "services/search/tokenizer.h"

namespace cdc::search {
namespace {

using debezium::Op;
using debezium::ProductColumn;
using debezium::ProductRow;
using store::AttributeValue;
using store::Condition;
using store::Item;

using Position = runtime::SourcePos;

Position positionOf(const runtime::InputEvent& e) {
  return Position{e.record->partition, e.record->offset, e.change.source.tsMs};
}

Position storedPosition(const Item& item) {
  Position p;
  if (const auto* v = store::find(item, "src_partition")) p.partition = static_cast<int32_t>(v->asIntOr(-1));
  if (const auto* v = store::find(item, "src_offset")) p.offset = v->asIntOr(-1);
  if (const auto* v = store::find(item, "src_ts")) p.tsMs = v->asIntOr(0);
  return p;
}

std::map<std::string, int64_t> storedTokens(const Item& item) {
  std::map<std::string, int64_t> out;
  const auto* tokens = store::find(item, "search_tokens");
  const auto* weights = store::find(item, "token_weights");
  if (!tokens) return out;
  const auto& list = tokens->asList();
  for (size_t i = 0; i < list.size(); ++i) {
    int64_t w = 1;
    if (weights && i < weights->asList().size()) w = weights->asList()[i].asIntOr(1);
    out[list[i].text()] = w;
  }
  return out;
}

// Sets an attribute, most often one the item holds already (found without building its name).
void set(Item& item, std::string_view name, AttributeValue v) {
  if (auto it = item.find(name); it != item.end()) {
    it->second = std::move(v);
  } else {
    item.emplace(std::string(name), std::move(v));
  }
}

// Where the item comes from: the change's position, its timestamp and when it was indexed.
void setPosition(Item& item, const Position& pos) {
  set(item, "src_partition", AttributeValue::n(pos.partition));
  set(item, "src_offset", AttributeValue::n(pos.offset));
  set(item, "src_ts", AttributeValue::n(pos.tsMs));
  set(item, "cdc_timestamp", AttributeValue::n(pos.tsMs));
  set(item, "indexed_at", AttributeValue::s(formatIsoTimestamp(Timestamp::fromMillis(pos.tsMs))));
}

void setPriceAndStock(Item& item, const ProductRow& row) {
  set(item, "price", AttributeValue::n(row.price.cents()));
  set(item, "price_bucket", AttributeValue::n(priceBucket(row.price.cents())));
  set(item, "price_display", AttributeValue::s(priceDisplay(row.price)));
  set(item, "stock_quantity", AttributeValue::n(row.stockQuantity));
}

// Whether a stored item holds exactly the attributes of a live product's item (what
// setPosition, putProduct and the version make; name_lower only with a name): one written by
// this version of the indexer, not a deleted product's nor one with attributes of another.
bool holdsLiveLayout(const Item& item, bool named) {
  static const std::array<std::string_view, 16> kLive = {"cdc_timestamp", "description",    "indexed_at",    "name",
                                                         "name_lower",    "price",          "price_bucket",  "price_display",
                                                         "product_id",    "search_tokens",  "src_offset",    "src_partition",
                                                         "src_ts",        "stock_quantity", "token_weights", "version"};
  if (item.size() != (named ? kLive.size() : kLive.size() - 1)) return false;
  auto it = item.begin();
  for (std::string_view name : kLive) {
    if (!named && name == "name_lower") continue;
    if (it->first != name) return false;
    ++it;
  }
  return true;
}

// The attributes an item holds for a live product: its columns, its GSI keys and its tokens.
// `nameLower`: the stored item's, when the name is the one stored.
void putProduct(Item& item, const ProductRow& row, const std::map<std::string, int64_t>& tokens,
                const AttributeValue* nameLower = nullptr) {
  item["name"] = AttributeValue::s(row.name);
  if (nameLower) {
    item["name_lower"] = *nameLower;
  } else if (!row.name.empty()) {
    item["name_lower"] = AttributeValue::s(lowercase(row.name));  // no empty GSI keys
  }
  item["description"] = AttributeValue::s(row.description);
  setPriceAndStock(item, row);
  std::vector<AttributeValue> names, weights;
  for (const auto& [token, weight] : tokens) {
    names.push_back(AttributeValue::s(token));
    weights.push_back(AttributeValue::n(weight));
  }
  item["search_tokens"] = AttributeValue::list(std::move(names));
  item["token_weights"] = AttributeValue::list(std::move(weights));
}

// Why DynamoDB would refuse the product's item, or empty. Checked before anything is written:
// a refused item would make the runner look for it by halving the batch, writing the good
// changes several times and the postings of a product whose item never lands.
std::string oversized(const ProductRow& row) {
  // NFKC expands a character to 18 at most: below these sizes no limit can be reached.
  if (row.name.size() > store::kMaxHashKeyBytes / 18) {
    if (size_t bytes = lowercase(row.name).size(); bytes > store::kMaxHashKeyBytes) {
      return "product " + std::to_string(row.id.value) + ": a name of " + std::to_string(bytes) +
             " bytes exceeds DynamoDB's 2048-byte key size (name-index)";
    }
  }
  if (row.name.size() + row.description.size() <= 8 * 1024) return {};
  Item probe;
  putProduct(probe, row, weightedTokens(row.name, row.description));
  // The position, version and timestamps add less than 300 bytes.
  if (size_t bytes = store::itemSize(probe) + 300; bytes > store::kMaxItemBytes) {
    return "product " + std::to_string(row.id.value) + ": an item of " + std::to_string(bytes) +
           " bytes exceeds DynamoDB's 400 KB item size (name and description too long)";
  }
  return {};
}

// The lease of a partition: an item of the postings table no token can collide with (tokens
// are letters and digits).
Item leaseKey(const TopicPartition& tp) {
  return {{"token", AttributeValue::s("#lease/" + tp.topic)}, {"shard", AttributeValue::n(tp.partition)}};
}

int64_t epochOf(const Item& lease) {
  const AttributeValue* v = store::find(lease, "epoch");
  return v ? v->asIntOr(0) : 0;
}

// The shard updates of one round of a batch's postings, each with the partitions whose
// products it changes (their leases are checked in its transaction).
struct PostingRound {
  std::vector<store::UpdateRequest> updates;
  std::vector<const std::set<const TopicPartition*>*> partitions;  // of each update
};

// The round's updates in transactions of up to 100 items, each with a check of the lease of
// every partition its updates concern; those partitions go to `involved`.
std::vector<std::vector<store::TransactItem>> packRound(PostingRound& round, const std::string& postings,
                                                        const std::map<TopicPartition, int64_t>& leases,
                                                        std::set<TopicPartition>& involved) {
  std::vector<std::vector<store::TransactItem>> transactions;
  std::vector<std::set<const TopicPartition*>> checked;  // of each transaction
  size_t inLast = 0;                                     // updates in the last transaction
  for (size_t i = 0; i < round.updates.size(); ++i) {
    const auto& with = *round.partitions[i];
    size_t added = 0;  // checks the update adds to the last transaction
    if (!checked.empty()) {
      for (const TopicPartition* tp : with) added += !checked.back().contains(tp);
    }
    if (transactions.empty() || inLast + 1 + checked.back().size() + added > store::kMaxTransactItems) {
      transactions.emplace_back();
      checked.emplace_back();
      inLast = 0;
    }
    checked.back().insert(with.begin(), with.end());
    transactions.back().emplace_back(std::move(round.updates[i]));
    ++inLast;
  }
  for (size_t t = 0; t < transactions.size(); ++t) {
    for (const TopicPartition* tp : checked[t]) {
      transactions[t].emplace_back(
          store::ConditionCheck{postings, leaseKey(*tp), Condition::eq("epoch", AttributeValue::n(leases.at(*tp)))});
      involved.insert(*tp);
    }
  }
  return transactions;
}

}  // namespace

IndexerHandler::IndexerHandler(store::TableStore& tables, IndexerOptions options)
    : tables_(tables), options_(std::move(options)) {
  if (options_.member.empty()) options_.member = runtime::memberName();
}

void IndexerHandler::instrument(metrics::Registry& registry, const std::string& service) {
  fencedSeries_ = metrics::addCountSeries(registry, "cdc_search_partitions_fenced_total",
                                          "Partitions whose lease another member claimed from this one (a zombie's postings "
                                          "refused by the store); their records are skipped until assigned here again.",
                                          {{"service", service}}, stats_.fenced);
}

Status IndexerHandler::claimLease(const TopicPartition& tp) {
  for (int attempt = 1;; ++attempt) {
    auto got = tables_.get(options_.tables.postings, leaseKey(tp));
    if (!got) return fail(got.error());
    const int64_t epoch = *got ? epochOf(**got) : 0;
    Item lease = leaseKey(tp);
    lease["epoch"] = AttributeValue::n(epoch + 1);
    lease["owner"] = AttributeValue::s(options_.member);
    Condition cond = *got ? Condition::eq("epoch", AttributeValue::n(epoch)) : Condition::notExists("token");
    auto put = tables_.put(store::PutRequest{options_.tables.postings, std::move(lease), std::move(cond)});
    if (!put) return fail(put.error());
    if (!put->conditionFailed) {
      leases_[tp] = epoch + 1;
      log::event(
          spdlog::level::info, "partition_claimed",
          {{"topic", tp.topic}, {"partition", std::to_string(tp.partition), true}, {"epoch", std::to_string(epoch + 1), true}});
      return {};
    }
    // Another member claimed it between our read and our write: read it again.
    if (attempt == 10) {
      return fail(Error::retry("the search index's lease of " + tp.topic + "[" + std::to_string(tp.partition) +
                               "] changed under every one of 10 claims"));
    }
  }
}

Result<bool> IndexerHandler::checkLeases(const std::set<TopicPartition>& partitions) {
  bool any = false;
  for (const auto& tp : partitions) {
    auto got = tables_.get(options_.tables.postings, leaseKey(tp));
    if (!got) return fail(got.error());
    auto mine = leases_.find(tp);
    if (*got && mine != leases_.end() && epochOf(**got) == mine->second) continue;
    log::event(spdlog::level::warn, "partition_fenced",
               {{"topic", tp.topic},
                {"partition", std::to_string(tp.partition), true},
                {"detail",
                 "another member claimed the partition: this member's postings were refused; its records are "
                 "skipped until the group assigns it here again"}});
    leases_.erase(tp);
    fenced_.insert(tp);
    ++stats_.fenced;
    any = true;
  }
  return any;
}

void IndexerHandler::onAssigned(std::span<const TopicPartition> partitions) {
  // Claimed again at their first record: another member may have held them meanwhile.
  for (const auto& tp : partitions) {
    fenced_.erase(tp);
    leases_.erase(tp);
  }
}

Status IndexerHandler::onRevoked(std::span<const TopicPartition> partitions) {
  for (const auto& tp : partitions) leases_.erase(tp);
  return {};
}

void IndexerHandler::onLost(std::span<const TopicPartition> partitions) {
  for (const auto& tp : partitions) leases_.erase(tp);
}

std::vector<TopicPartition> IndexerHandler::fenced() const { return {fenced_.begin(), fenced_.end()}; }

debezium::DecoderOptions IndexerHandler::decoding(debezium::DecoderOptions base) {
  using debezium::bit;
  debezium::DecoderOptions o = base;
  o.wanted[static_cast<int>(debezium::Table::Products)] =
      bit(ProductColumn::Name) | bit(ProductColumn::Description) | bit(ProductColumn::Price) | bit(ProductColumn::StockQuantity);
  o.wanted[static_cast<int>(debezium::Table::Orders)] = 0;
  o.wanted[static_cast<int>(debezium::Table::OrderItems)] = 0;
  return o;
}

Status IndexerHandler::start() {
  const store::TableSpec specs[] = {itemTableSpec(options_.tables.items), postingTableSpec(options_.tables.postings),
                                    tokenTableSpec(options_.tables.tokens)};
  return store::ensureTables(tables_, specs, options_.createTables);
}

namespace {

// Why the search indexer refuses a change (a dead letter), or empty when it takes it.
std::string refusal(const debezium::ChangeEvent& c) {
  if (c.table != debezium::Table::Products) return std::string("search-indexer does not consume ") + debezium::tableName(c.table);
  if (c.op == Op::Truncate) return "truncate of products is not applied: rebuild the index from a snapshot";
  const auto* p = c.afterAs<ProductRow>();
  if (!p) return {};
  if (p->has(ProductColumn::Price) && p->price < Money{}) return "negative price for product " + std::to_string(p->id.value);
  if (p->stockQuantity < 0) {
    return "negative stock_quantity " + std::to_string(p->stockQuantity) + " for product " + std::to_string(p->id.value);
  }
  return oversized(*p);
}

// The change of a product the batch applies: the latest by position (a redelivered stale
// record may come after a newer one). A tombstone right after a rewritten delete repeats it:
// the delete stays the product's last change, as when the two arrive in different batches.
size_t latestChange(std::span<const runtime::InputEvent> events, const std::vector<size_t>& indexes) {
  size_t index = indexes.front();
  for (size_t j : indexes) {
    if (positionOf(events[index]).before(positionOf(events[j]))) index = j;
  }
  if (!events[index].change.tombstone) return index;
  std::optional<size_t> previous;
  for (size_t j : indexes) {
    if (events[j].change.tombstone || !positionOf(events[j]).before(positionOf(events[index]))) continue;
    if (!previous || positionOf(events[*previous]).before(positionOf(events[j]))) previous = j;
  }
  return previous && events[*previous].change.op == Op::Delete ? *previous : index;
}

}  // namespace

bool IndexerHandler::ProductChange::sameText(const ProductRow& r) const {
  return oldName && oldDescription && oldHasTokens && oldName->text() == r.name && oldDescription->text() == r.description;
}

IndexerHandler::ChangesByProduct IndexerHandler::groupByProduct(std::span<const runtime::InputEvent> events,
                                                                std::vector<runtime::Rejection>& rejected) const {
  ChangesByProduct changes;
  for (size_t i = 0; i < events.size(); ++i) {
    if (std::string why = refusal(events[i].change); !why.empty()) {
      rejected.push_back({i, std::move(why)});
      continue;
    }
    changes[events[i].change.rowId()].push_back(i);
  }
  return changes;
}

Result<std::vector<const TopicPartition*>> IndexerHandler::claimPartitions(std::span<const runtime::InputEvent> events,
                                                                           ChangesByProduct& changes,
                                                                           std::set<TopicPartition>& partitions) {
  std::vector<const TopicPartition*> partitionOf;  // of each product of `changes`, in its order
  partitionOf.reserve(changes.size());
  for (auto it = changes.begin(); it != changes.end();) {
    const runtime::Record& r = *events[it->second.front()].record;
    TopicPartition tp{std::string(r.topic), r.partition};
    if (fenced_.contains(tp)) {
      it = changes.erase(it);
      continue;
    }
    partitionOf.push_back(&*partitions.insert(std::move(tp)).first);
    ++it;
  }
  for (const auto& tp : partitions) {
    if (leases_.contains(tp)) continue;
    if (auto s = claimLease(tp); !s) return fail(s.error());
  }
  return partitionOf;
}

Result<std::map<int64_t, Item>> IndexerHandler::readItems(const ChangesByProduct& changes) {
  std::vector<Item> keys;
  keys.reserve(changes.size());
  for (const auto& [id, indexes] : changes) keys.push_back({{"product_id", AttributeValue::n(id)}});
  auto got = tables_.batchGet(options_.tables.items, keys);
  if (!got) return fail(got.error());
  std::map<int64_t, Item> stored;
  for (auto& item : *got) stored[store::find(item, "product_id")->asIntOr(0)] = std::move(item);
  return stored;
}

Status IndexerHandler::apply(std::span<const runtime::InputEvent> events, std::vector<runtime::Rejection>& rejected) {
  // Every change of each product in this batch; the latest by position is applied.
  ChangesByProduct changes = groupByProduct(events, rejected);
  if (changes.empty()) return {};
  // The partitions of the batch, each claimed at its first record; those another member claimed
  // from this one are skipped (their positions are not committed: fenced()).
  std::set<TopicPartition> partitions;
  auto partitionOf = claimPartitions(events, changes, partitions);
  if (!partitionOf) return fail(partitionOf.error());
  if (changes.empty()) return {};
  auto stored = readItems(changes);
  if (!stored) return fail(stored.error());
  // The postings of every product first (shared BatchWrites), then the vocabulary, then the
  // items: an item is written only once the postings it names are, so a crash in between
  // leaves the old item, and the replay writes the same postings again.
  BatchWrites writes;
  size_t product = 0;
  for (const auto& [id, indexes] : changes) {
    ProductChange c{.id = id, .partition = (*partitionOf)[product++], .event = &events[latestChange(events, indexes)]};
    if (auto it = stored->find(id); it != stored->end()) c.old = &it->second;
    planProduct(c, events, indexes, writes);
  }
  return writeBatch(writes, partitions);
}

void IndexerHandler::planProduct(ProductChange& c, std::span<const runtime::InputEvent> events,
                                 const std::vector<size_t>& indexes, BatchWrites& writes) {
  const Position pos = positionOf(*c.event);
  if (c.old && !storedPosition(*c.old).before(pos)) {
    ++stats_.stale;
    return;
  }
  // The tokens of a row: those of the stored item when its text is the same (a price or stock
  // change, the most common update), without tokenizing it again.
  if (c.old) {
    c.oldName = store::find(*c.old, "name");
    c.oldDescription = store::find(*c.old, "description");
    c.oldHasTokens = store::find(*c.old, "search_tokens") != nullptr;
  }
  // The earlier changes of the product in this batch that the stored item does not count yet.
  for (size_t j : indexes) {
    if (&events[j] == c.event) continue;
    const auto* r = events[j].change.afterAs<ProductRow>();
    if (!r || (c.old && !storedPosition(*c.old).before(positionOf(events[j])))) continue;
    c.earlier.push_back(r);
  }
  c.row = c.event->change.op == Op::Delete ? nullptr : c.event->change.afterAs<ProductRow>();
  // When this change and every earlier one keep the stored text, the tokens and their
  // weights stay what the postings already hold: no posting changes.
  const bool keepsTokens = c.row && c.sameText(*c.row) &&
                           std::all_of(c.earlier.begin(), c.earlier.end(), [&](const ProductRow* r) { return c.sameText(*r); });
  std::map<std::string, int64_t> tokens;  // the product's tokens and weights after the change, when they change
  if (!keepsTokens) {
    auto after = planPostings(c, writes);
    if (!after) {
      ++stats_.repeatedDeletes;
      return;
    }
    tokens = std::move(*after);
  }
  ++stats_.changes;
  Item next;
  Condition cond = nextItem(c, keepsTokens, tokens, pos, next);
  size_t size = store::itemSize(next);
  writes.items.add(store::PutRequest{options_.tables.items, std::move(next), std::move(cond)}, size);
}

std::optional<std::map<std::string, int64_t>> IndexerHandler::planPostings(const ProductChange& c, BatchWrites& writes) {
  std::map<std::string, int64_t> before = c.old ? storedTokens(*c.old) : std::map<std::string, int64_t>{};
  auto tokensOf = [&](const ProductRow& r) { return c.sameText(r) ? before : weightedTokens(r.name, r.description); };
  // An earlier change of the product in this batch may have had its postings written by an
  // attempt that crashed before its item write: the weights it would have given its tokens
  // count as possibly written, so that no posting is left orphaned or doubled.
  std::map<std::string, std::set<int64_t>> maybe;
  for (const ProductRow* r : c.earlier) {
    for (const auto& [token, weight] : tokensOf(*r)) maybe[token].insert(weight);
  }
  // A delete of a product already deleted (the tombstone after a rewritten delete) or never
  // indexed, with no posting possibly written by this batch, changes nothing.
  if (!c.row && before.empty() && maybe.empty() && (!c.old || store::find(*c.old, "deleted") != nullptr)) return std::nullopt;
  std::map<std::string, int64_t> after = c.row ? tokensOf(*c.row) : std::map<std::string, int64_t>{};
  shiftPostings(c, before, maybe, after, writes);
  return after;
}

void IndexerHandler::shiftPostings(const ProductChange& c, const std::map<std::string, int64_t>& before,
                                   const std::map<std::string, std::set<int64_t>>& maybe,
                                   const std::map<std::string, int64_t>& after, BatchWrites& writes) {
  // Into the product's shard of each token: added to the set of its new weight, removed from
  // those of any other weight it has or may have there.
  const std::string pid = std::to_string(c.id);
  const int64_t shard = postingShardOf(c.id);
  auto weightsHeld = [&](const std::string& token) {
    std::set<int64_t> held;
    if (auto b = before.find(token); b != before.end()) held.insert(b->second);
    if (auto m = maybe.find(token); m != maybe.end()) held.insert(m->second.begin(), m->second.end());
    return held;
  };
  for (const auto& [token, weight] : after) {
    std::set<int64_t> held = weightsHeld(token);
    auto b = before.find(token);
    bool add = b == before.end() || b->second != weight;
    held.erase(weight);
    if (!add && held.empty()) continue;
    ShardChange& change = writes.shards[{token, shard}];
    change.partitions.insert(c.partition);
    if (add) {
      change.added[weight].push_back(pid);
      if (!knownTokens_.contains(token)) writes.newVocabulary.insert(token);
    }
    for (int64_t w : held) change.removed[w].push_back(pid);
    ++stats_.postingWrites;
  }
  std::set<std::string> gone;
  for (const auto& [token, weight] : before) gone.insert(token);
  for (const auto& [token, weights] : maybe) gone.insert(token);
  for (const auto& token : gone) {
    if (after.contains(token)) continue;
    ShardChange& change = writes.shards[{token, shard}];
    change.partitions.insert(c.partition);
    for (int64_t w : weightsHeld(token)) change.removed[w].push_back(pid);
    ++stats_.postingWrites;
  }
}

Condition IndexerHandler::nextItem(ProductChange& c, bool keepsTokens, const std::map<std::string, int64_t>& tokens,
                                   const Position& pos, Item& next) {
  const Item* old = c.old;
  const ProductRow* row = c.row;
  int64_t version = old ? store::find(*old, "version")->asIntOr(0) : 0;
  Condition cond = old ? Condition::eq("version", AttributeValue::n(version)) : Condition::notExists("product_id");
  // The same text, and the stored item holds just what a live product's item holds: it
  // becomes the next one, its name, description, name_lower and token lists kept as they are,
  // the rest set anew (no attribute allocated again).
  const bool renew = keepsTokens && holdsLiveLayout(*old, !row->name.empty());
  next = renew ? std::move(*c.old) : Item{{"product_id", AttributeValue::n(c.id)}};
  setPosition(next, pos);
  set(next, "version", AttributeValue::n(version + 1));
  if (renew) {
    setPriceAndStock(next, *row);
  } else if (keepsTokens) {
    // The same text: the same tokens (their lists are shared with the stored item, not copied).
    putProduct(next, *row, {}, store::find(*old, "name_lower"));
    next["search_tokens"] = *store::find(*old, "search_tokens");
    next["token_weights"] = old->contains("token_weights") ? *store::find(*old, "token_weights") : AttributeValue::list({});
  } else if (row) {
    putProduct(next, *row, tokens);
  } else {
    next["deleted"] = AttributeValue::boolean(true);
    next["expires_at"] = AttributeValue::n(options_.time->wall().seconds() + options_.tombstoneRetentionSeconds);
  }
  return cond;
}

Status IndexerHandler::writeBatch(BatchWrites& writes, const std::set<TopicPartition>& partitions) {
  if (auto s = writePostings(writes.shards); !s) return s;
  store::TransactionPacker vocabulary;
  for (const auto& t : writes.newVocabulary) {
    vocabulary.add(store::PutRequest{
        options_.tables.tokens, {{"head", AttributeValue::s(tokenHead(t))}, {"token", AttributeValue::s(t)}}, std::nullopt});
  }
  if (auto s = send(vocabulary.transactions()); !s) return s;
  stats_.tokenWrites += writes.newVocabulary.size();
  knownTokens_.insert(writes.newVocabulary.begin(), writes.newVocabulary.end());
  auto written = send(writes.items.transactions(), &stats_.itemWrites);
  if (!written && written.error().kind == ErrorKind::Retry) {
    // Another writer changed items since they were read: a member that claimed one of these
    // partitions from this one, or an uncertain retry. Fenced partitions are skipped from now.
    if (auto fenced = checkLeases(partitions); !fenced) return fail(fenced.error());
  }
  return written;
}

Status IndexerHandler::writePostings(ShardChanges& shards) {
  // DynamoDB refuses an update that both adds to and deletes from one set: those deletes go in
  // a second round (they concern other products than the adds, so the order does not matter).
  std::array<PostingRound, 2> rounds;
  for (auto& [key, change] : shards) {
    store::Item shardKey{{"token", AttributeValue::s(key.first)}, {"shard", AttributeValue::n(key.second)}};
    store::UpdateRequest now{options_.tables.postings, shardKey, {}, std::nullopt};
    store::UpdateRequest later{options_.tables.postings, shardKey, {}, std::nullopt};
    for (auto& [weight, ids] : change.added) now.update.add(weightAttribute(weight), AttributeValue::numberSet(ids));
    for (auto& [weight, ids] : change.removed) {
      (change.added.contains(weight) ? later : now).update.deleteFromSet(weightAttribute(weight), AttributeValue::numberSet(ids));
    }
    for (auto [round, update] : {std::pair{0, &now}, std::pair{1, &later}}) {
      if (update->update.empty()) continue;
      rounds[round].updates.push_back(std::move(*update));
      rounds[round].partitions.push_back(&change.partitions);
    }
  }
  for (auto& round : rounds) {
    std::set<TopicPartition> involved;
    auto transactions = packRound(round, options_.tables.postings, leases_, involved);
    auto sent = send(transactions);
    if (!sent && sent.error().kind == ErrorKind::Retry) {
      // A lease check failed (another member claimed a partition: this one is a zombie for it),
      // a concurrent transaction conflicted, or the answer was uncertain: the batch is applied
      // again, without the partitions found fenced.
      auto fenced = checkLeases(involved);
      if (!fenced) return fail(fenced.error());
    }
    if (!sent) return sent;
  }
  return {};
}

Status IndexerHandler::send(std::vector<std::vector<store::TransactItem>>& transactions, Count* written) {
  auto sent = store::transactEach(tables_, transactions, [](size_t) -> Status { return {}; });
  stats_.transactions += transactions.size();
  if (written) *written += sent.items;
  if (!sent.error) return sent.error;
  if (sent.conflict) {
    ++stats_.conflicts;
    return fail(Error::retry(store::describeConflict(sent, "the search index")));
  }
  return {};
}

Stats IndexerHandler::counts() const {
  const auto& s = stats_;
  return {{"product_changes", s.changes},          {"stale", s.stale},
          {"repeated_deletes", s.repeatedDeletes}, {"item_writes", s.itemWrites},
          {"posting_writes", s.postingWrites},     {"new_tokens", s.tokenWrites},
          {"store_transactions", s.transactions},  {"conflicts", s.conflicts},
          {"partitions_fenced", s.fenced}};
}

std::string IndexerHandler::summary() const {
  const auto& s = stats_;
  return fmt::format(
      "{} product changes, {} stale or repeated, {} item writes, {} posting writes, {} new tokens, {} store transactions",
      s.changes, s.stale + s.repeatedDeletes, s.itemWrites, s.postingWrites, s.tokenWrites, s.transactions);
}

}  // namespace cdc::search
