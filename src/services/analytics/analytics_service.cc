#include "services/analytics/analytics_service.h"

#include <fmt/format.h>

#include <chrono>
#include <map>

#include <simdjson.h>
#include <set>

#include "core/json_writer.h"
#include "core/log.h"
#include "metrics/registry.h"
#include "runtime/dead_letter.h"
#include "runtime/member.h"
#include "services/analytics/reports.h"

namespace cdc::analytics {

AnalyticsHandler::AnalyticsHandler(store::ObjectStore& objects, AnalyticsOptions options)
    : objects_(objects), options_(std::move(options)) {
  if (options_.member.empty()) options_.member = runtime::memberName();
}

debezium::DecoderOptions AnalyticsHandler::decoding(debezium::DecoderOptions base) {
  using debezium::bit;
  using debezium::OrderColumn;
  using debezium::OrderItemColumn;
  debezium::DecoderOptions o = base;
  o.wanted[static_cast<int>(debezium::Table::Products)] = 0;
  o.wanted[static_cast<int>(debezium::Table::Orders)] =
      bit(OrderColumn::CustomerId) | bit(OrderColumn::TotalAmount) | bit(OrderColumn::Status) | bit(OrderColumn::CreatedAt);
  o.wanted[static_cast<int>(debezium::Table::OrderItems)] = bit(OrderItemColumn::ProductId) | bit(OrderItemColumn::Quantity) |
                                                            bit(OrderItemColumn::Price) | bit(OrderItemColumn::CreatedAt);
  return o;
}

Result<AnalyticsHandler::Owned*> AnalyticsHandler::partition(std::string_view topic, int32_t partition) {
  auto key = std::make_pair(std::string(topic), partition);
  if (auto it = owned_.find(key); it != owned_.end()) return &it->second;
  if (fenced_.contains(key)) return nullptr;
  Owned o;
  o.key = key;
  o.checkpoint = std::make_unique<PartitionCheckpoint>(objects_, key.first, partition);
  if (auto s = o.checkpoint->claim(o.state, options_.member); !s) return fail(s.error());
  log::event(spdlog::level::info, "partition_state_loaded",
             {{"topic", key.first},
              {"partition", std::to_string(partition), true},
              {"next_offset", std::to_string(o.state.nextOffset()), true},
              {"generation", std::to_string(o.checkpoint->generation()), true},
              {"rows", std::to_string(o.state.orders() + o.state.items()), true}});
  return &owned_.emplace(std::move(key), std::move(o)).first->second;
}

Status AnalyticsHandler::apply(std::span<const runtime::InputEvent> events, std::vector<runtime::Rejection>& rejected) {
  std::set<Owned*> touched;
  for (size_t i = 0; i < events.size(); ++i) {
    const auto& e = events[i];
    auto owned = partition(e.record->topic, e.record->partition);
    if (!owned) return fail(owned.error());
    if (!*owned) continue;  // another member's now: not applied, its position not committed
    auto r = (*owned)->state.apply(e.change, e.record->offset);
    // A dead letter replayed below the position: applied only if still its row's latest change.
    if (r && *r == PartitionState::Outcome::AlreadyApplied && e.record->header(runtime::kAttemptsHeader)) {
      r = (*owned)->state.replay(e.change, e.record->offset);
    }
    touched.insert(*owned);
    const bool row = e.change.op != debezium::Op::Truncate;
    if (!r) {
      if (r.error().kind != ErrorKind::Poison) return fail(r.error());
      if (row) (*owned)->checkpoint->markDirty(e.change.rowId());  // remembered as dead-lettered
      rejected.push_back({i, r.error().message});
      continue;
    }
    if (*r == PartitionState::Outcome::Superseded) {
      // A dead letter replayed after a later change of its row was applied: applying it would
      // set the row back. It stays a dead letter until purged.
      rejected.push_back({i, "superseded: a later change of " + std::string(debezium::tableName(e.change.table)) + " row " +
                                 std::to_string(e.change.rowId()) +
                                 " was applied after it (or it was dead-lettered before analytics-service kept track of "
                                 "dead-lettered rows); applying it would set the row back: purge it (cdc dlq purge)"});
    } else if (*r == PartitionState::Outcome::AlreadyApplied) {
      ++stats_.alreadyApplied;
    } else {
      ++stats_.changes;
      if (row) (*owned)->checkpoint->markDirty(e.change.rowId());
    }
  }
  for (Owned* o : touched) unsaved_.insert(o->key);
  return {};
}

Status AnalyticsHandler::onUndecodable(const runtime::Record& record) {
  if (!record.key) return {};
  auto id = keys_.decodeKey(*record.key);
  if (!id) return {};  // no row to remember: a replay of it is applied only at or above the position
  auto owned = partition(record.topic, record.partition);
  if (!owned) return fail(owned.error());
  if (!*owned) return {};
  (*owned)->state.noteDeadLetter(*id, record.offset);
  (*owned)->checkpoint->markDirty(*id);
  unsaved_.insert((*owned)->key);
  return {};
}

Result<bool> AnalyticsHandler::persisted(bool force) {
  if (unsaved_.empty()) return true;
  auto now = options_.time->steady();
  if (!force && now - lastSave_ < std::chrono::milliseconds(options_.checkpointIntervalMs)) return false;
  while (!unsaved_.empty()) {
    auto key = *unsaved_.begin();  // a copy: a refused save drops the partition and its key
    if (auto o = owned_.find(key); o != owned_.end()) {
      if (auto s = save(o->second); !s) return fail(s.error());
    }
    unsaved_.erase(key);
  }
  lastSave_ = now;
  return true;
}

Status AnalyticsHandler::save(Owned& owned) {
  auto saved = owned.checkpoint->save(owned.state);
  if (!saved) return fail(saved.error());
  if (*saved) {
    ++stats_.checkpoints;
  } else {
    dropFenced(owned.key, "its checkpoint was refused");  // invalidates `owned`
  }
  return {};
}

void AnalyticsHandler::dropFenced(std::pair<std::string, int32_t> key, std::string_view found) {
  // `key` is a copy: it may be the key of the state erased here.
  log::event(spdlog::level::warn, "partition_fenced",
             {{"topic", key.first},
              {"partition", std::to_string(key.second), true},
              {"detail", "another member claimed the partition (" + std::string(found) +
                             "): this member's state of it dropped, its records skipped until it is assigned here again"}});
  owned_.erase(key);
  unsaved_.erase(key);
  fenced_.insert(std::move(key));
  ++stats_.fenced;
}

void AnalyticsHandler::onLost(std::span<const TopicPartition> partitions) {
  // The new owner claims them and reads them again from the committed offsets: what this
  // member holds of them is dropped unwritten.
  for (const auto& tp : partitions) {
    std::pair<std::string, int32_t> key{tp.topic, tp.partition};
    owned_.erase(key);
    unsaved_.erase(key);
  }
}

void AnalyticsHandler::onAssigned(std::span<const TopicPartition> partitions) {
  // Given back by the group: claimed again when their first record comes.
  for (const auto& tp : partitions) fenced_.erase({tp.topic, tp.partition});
}

std::vector<TopicPartition> AnalyticsHandler::fenced() const {
  std::vector<TopicPartition> out;
  out.reserve(fenced_.size());
  for (const auto& [topic, partition] : fenced_) out.push_back({topic, partition});
  return out;
}

Status AnalyticsHandler::onRevoked(std::span<const TopicPartition> partitions) {
  // What the partitions hold goes to their checkpoints before they go (their positions are
  // committed next), then their state is dropped.
  for (const auto& tp : partitions) {
    std::pair<std::string, int32_t> key{tp.topic, tp.partition};
    auto o = owned_.find(key);
    if (o == owned_.end()) continue;
    if (unsaved_.contains(key)) {
      if (auto s = save(o->second); !s) return s;
      unsaved_.erase(key);
    }
    owned_.erase(key);
  }
  return {};
}

Status AnalyticsHandler::tick(Timestamp now) {
  if (!lastFlush_) lastFlush_ = now;
  if (now.micros - lastFlush_->micros < options_.flushIntervalSeconds * 1'000'000) return {};
  return flush(now);
}

Status AnalyticsHandler::finish() { return flush(options_.time->wall()); }

namespace {

constexpr std::string_view kReportPositions = "analytics/_state/report-positions.json";

using Positions = std::map<std::string, int64_t>;  // "topic/partition" -> next offset

std::string positionsJson(const Positions& p) {
  std::string out;
  JsonWriter w(out);
  w.beginObject().key("positions").beginObject();
  for (const auto& [k, v] : p) w.field(k, v);
  w.endObject().endObject();
  return out;
}

Positions parsePositions(const std::string& body) {
  Positions out;
  simdjson::dom::parser parser;
  simdjson::dom::object positions;
  if (parser.parse(body)["positions"].get_object().get(positions)) return out;
  for (auto [k, v] : positions) {
    int64_t n = 0;
    if (!v.get_int64().get(n)) out[std::string(k)] = n;
  }
  return out;
}

// True when `a` holds at least every position of `b`.
bool covers(const Positions& a, const Positions& b) {
  for (const auto& [k, v] : b) {
    auto it = a.find(k);
    if (it == a.end() || it->second < v) return false;
  }
  return true;
}

}  // namespace

Result<std::vector<CheckpointView>> describeCheckpoints(store::ObjectStore& objects) {
  auto checkpoints = listCheckpoints(objects);
  if (!checkpoints) return fail(checkpoints.error());
  auto reported = objects.get(kReportPositions);
  if (!reported) return fail(reported.error());
  Positions positions = *reported ? parsePositions(**reported) : Positions{};
  std::vector<CheckpointView> out;
  for (const auto& [topic, partition] : *checkpoints) {
    PartitionState state;
    PartitionCheckpoint reader(objects, topic, partition);
    if (auto s = reader.load(state); !s) return fail(s.error());
    CheckpointView v{topic, partition, state.nextOffset(), state.orders(), state.items(), state.deadLettered().size(), {}};
    if (auto it = positions.find(topic + "/" + std::to_string(partition)); it != positions.end())
      v.reportedNextOffset = it->second;
    out.push_back(std::move(v));
  }
  return out;
}

void AnalyticsHandler::instrument(metrics::Registry& registry, const std::string& service) {
  metrics::Labels labels{{"service", service}};
  flushSeconds_ =
      &registry.histogram("cdc_analytics_flush_duration_seconds", "Time to merge the aggregates and write the reports.")
           .Add(labels, metrics::latencyBuckets());
  // Before the first flush, the start counts: the age of the reports is the time since then.
  lastFlushTime_ = &registry
                        .gauge("cdc_analytics_last_flush_timestamp_seconds",
                               "When the reports were last written whole (unix time; the start before the first flush).")
                        .Add(labels);
  lastFlushTime_->Set(static_cast<double>(options_.time->wall().micros) / 1e6);
  fencedSeries_ = metrics::addCountSeries(registry, "cdc_analytics_partitions_fenced_total",
                                          "Partitions whose checkpoint another member claimed from this one (a zombie's "
                                          "write refused by the store); their state was dropped.",
                                          labels, stats_.fenced);
  registry.gauge("cdc_analytics_flush_interval_seconds", "Seconds between report flushes (FLUSH_INTERVAL).")
      .Add(labels)
      .Set(static_cast<double>(options_.flushIntervalSeconds));
}

Status AnalyticsHandler::flush(Timestamp now) {
  auto started = options_.time->steady();
  // Replicas flush independently, each merging its own partitions from memory and the others'
  // from their checkpoints. A flush reads the latest.json objects' versions, then the positions
  // they stand for; a merge those positions cover (an older one) writes no latest.json. Else it
  // claims the positions with a conditional put, then writes each latest.json only over the
  // version it read: when another replica claimed or wrote in between, it reads and merges
  // again. So a latest.json is never replaced by a merge older than the one it holds, whatever
  // the order of the replicas' requests.
  constexpr int kAttempts = 5;
  for (int attempt = 1;; ++attempt) {
    auto wrote = flushOnce(now);
    if (!wrote) return fail(wrote.error());
    if (!*wrote && attempt < kAttempts) {
      log::event(spdlog::level::info, "reports_raced",
                 {{"detail", "another replica flushed meanwhile: merging again"}, {"attempt", std::to_string(attempt), true}});
      continue;
    }
    if (!*wrote) {
      log::event(spdlog::level::warn, "reports_raced",
                 {{"detail", "other replicas flushed during each of the attempts: latest.json stays theirs"},
                  {"attempt", std::to_string(attempt), true}});
    }
    lastFlush_ = now;
    ++stats_.flushes;
    if (flushSeconds_) flushSeconds_->Observe(std::chrono::duration<double>(options_.time->steady() - started).count());
    if (lastFlushTime_) lastFlushTime_->Set(static_cast<double>(now.micros) / 1e6);
    return {};
  }
}

Result<bool> AnalyticsHandler::flushOnce(Timestamp now) {
  auto started = options_.time->steady();
  // The versions first: a write after this read makes ours refused.
  std::map<std::string, std::optional<std::string>> versions;
  for (auto& key : latestReportKeys()) {
    auto latest = objects_.getTagged(key);
    if (!latest) return fail(latest.error());
    versions[std::move(key)] = *latest ? std::optional<std::string>((*latest)->etag) : std::nullopt;
  }
  auto current = objects_.getTagged(kReportPositions);
  if (!current) return fail(current.error());
  Aggregates merged;
  Positions positions;
  if (auto s = mergeAll(merged, positions); !s) return fail(s.error());
  Positions theirs = *current ? parsePositions((*current)->body) : Positions{};
  auto reports = renderReports(merged, options_.topN, now);
  auto keys = reportKeys(reports, now);
  for (const auto& [key, report] : keys) {
    if (versions.contains(key)) continue;
    if (auto s = objects_.put(key, report->body); !s) return fail(s.error());
  }
  if (!theirs.empty() && covers(theirs, positions) && theirs != positions) {
    log::event(spdlog::level::info, "reports_superseded", {{"detail", "a newer flush of another replica stays latest.json"}});
    return true;
  }
  std::optional<std::string> etag = *current ? std::optional<std::string>((*current)->etag) : std::nullopt;
  auto claimed = objects_.putIf(kReportPositions, positionsJson(positions), etag);
  if (!claimed) return fail(claimed.error());
  if (!*claimed) return false;
  for (const auto& [key, report] : keys) {
    auto version = versions.find(key);
    if (version == versions.end()) continue;
    auto written = objects_.putIf(key, report->body, version->second);
    if (!written) return fail(written.error());
    if (!*written) return false;
  }
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(options_.time->steady() - started).count();
  log::event(spdlog::level::info, "reports_flushed",
             {{"orders", std::to_string(merged.orderCount()), true},
              {"revenue", merged.revenue().toString(), true},
              {"duration_ms", std::to_string(ms), true}});
  return true;
}

// The aggregates of every partition with a checkpoint: this member's own from memory, the
// others' from their checkpoints, with the position each stands at.
Status AnalyticsHandler::mergeAll(Aggregates& merged, std::map<std::string, int64_t>& positions) {
  // A partition another member claimed since this one last saved it (this one was paused past
  // its session and has not heard yet that the group moved on) counts from its checkpoint, as
  // the others do: this member's state of it is older.
  std::vector<std::pair<std::string, int32_t>> claimed;
  for (const auto& [tp, o] : owned_) {
    auto mine = o.checkpoint->stillOwned();
    if (!mine) return fail(mine.error());
    if (!*mine) {
      claimed.push_back(tp);
      continue;
    }
    merged.merge(o.state.aggregates());
    positions[tp.first + "/" + std::to_string(tp.second)] = o.state.nextOffset();
  }
  for (const auto& key : claimed) dropFenced(key, "its manifest is no longer this member's");
  // Partitions that other replicas own (or that this one has not seen yet) count from their
  // checkpoints, so that every replica's reports cover the whole topic.
  auto checkpoints = listCheckpoints(objects_);
  if (!checkpoints) return fail(checkpoints.error());
  for (const auto& [topic, partition] : *checkpoints) {
    if (owned_.contains({topic, partition})) continue;
    PartitionState other;
    PartitionCheckpoint reader(objects_, topic, partition);
    if (auto s = reader.load(other); !s) return s;
    merged.merge(other.aggregates());
    positions[topic + "/" + std::to_string(partition)] = other.nextOffset();
  }
  return {};
}

size_t AnalyticsHandler::rowsInMemory() const {
  size_t n = 0;
  for (const auto& [tp, o] : owned_) n += o.state.orders() + o.state.items();
  return n;
}

Stats AnalyticsHandler::counts() const {
  const auto& s = stats_;
  return {{"changes", s.changes},        {"already_applied", s.alreadyApplied}, {"checkpoints", s.checkpoints},
          {"report_flushes", s.flushes}, {"partitions_fenced", s.fenced},       {"rows_of_keyed_state", rowsInMemory()}};
}

std::string AnalyticsHandler::summary() const {
  const auto& s = stats_;
  return fmt::format("{} changes, {} already applied, {} checkpoints, {} report flushes, {} rows of keyed state", s.changes,
                     s.alreadyApplied, s.checkpoints, s.flushes, rowsInMemory());
}

}  // namespace cdc::analytics
