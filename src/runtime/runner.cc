#include "runtime/runner.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "core/log.h"
#include "runtime/runner_probe.h"

namespace cdc::runtime {
namespace {

// How far the rate cap's schedule may lag behind the clock and still be caught up: after a
// stall, at most this long's worth of the cap's records come early.
constexpr std::chrono::milliseconds kPaceCatchUp{100};

void notePosition(std::vector<Position>& pending, const Record& r) {
  for (auto& p : pending) {
    if (p.partition == r.partition && p.topic == r.topic) {
      p.nextOffset = std::max(p.nextOffset, r.offset + 1);
      return;
    }
  }
  pending.push_back(Position{std::string(r.topic), r.partition, r.offset + 1});
}

}  // namespace

Runner::Runner(Source& source, Handler& handler, store::ObjectStore& deadLetterObjects, RunnerOptions options,
               const std::atomic<bool>& stop)
    : Runner(source, handler, DeadLetterQueue(deadLetterObjects, std::string(handler.serviceName())), std::move(options), stop) {}

Runner::Runner(Source& source, Handler& handler, DeadLetterStore& deadLetterStore, RunnerOptions options,
               const std::atomic<bool>& stop)
    : Runner(source, handler, DeadLetterQueue(deadLetterStore, std::string(handler.serviceName())), std::move(options), stop) {}

Runner::Runner(Source& source, Handler& handler, DeadLetterQueue deadLetters, RunnerOptions options,
               const std::atomic<bool>& stop)
    : source_(source),
      handler_(handler),
      deadLetters_(std::move(deadLetters)),
      options_(std::move(options)),
      stop_(stop),
      decoder_(handler.decoderOptions()) {
  source_.setRebalanceListener(this);
  decoder_.useSchemas(options_.schemas);
  if (options_.probe) series_ = options_.probe->observe(counts_);
}

Stats RunStats::counts() const {
  Stats out{{"records", records}, {"events", events},   {"tombstones", tombstones}, {"dead_letters", deadLetters},
            {"batches", batches}, {"retries", retries}, {"batches_cut", cuts}};
  if (appendToDurable.count() > 0) {
    out.push_back({"append_to_durable_p50_ms", static_cast<uint64_t>(appendToDurable.quantile(0.5))});
    out.push_back({"append_to_durable_p99_ms", static_cast<uint64_t>(appendToDurable.quantile(0.99))});
    out.push_back({"append_to_durable_max_ms", static_cast<uint64_t>(appendToDurable.max())});
    out.push_back({"poll_to_durable_p99_ms", static_cast<uint64_t>(pollToDurable.quantile(0.99))});
    out.push_back({"poll_to_durable_max_ms", static_cast<uint64_t>(pollToDurable.max())});
  }
  return out;
}

RunStats Runner::stats() const {
  RunStats out = stats_;
  out.records = counts_.records();
  out.deadLetters = counts_.deadLetters();
  out.retries = counts_.retries();
  out.cuts = counts_.cuts;
  return out;
}

void Runner::noteRebalance(std::string_view kind, size_t partitions) {
  const size_t i = RunCounts::move(kind);
  ++counts_.rebalances[i];
  counts_.partitionsMoved[i] += partitions;
}

Timestamp Runner::now() const { return options_.time->wall(); }

tracing::Span Runner::sideSpan(const char* name) {
  if (!options_.tracer) return {};
  tracing::Span span = options_.tracer->start(name, tracing::SpanKind::Internal);
  span.keepOnlyWithChildren();
  return span;
}

Status Runner::withRetry(const char* what, const std::function<Status()>& op) {
  auto delay = options_.retryInitial;
  int attempt = 0;
  while (true) {
    Status s = op();
    if (s || s.error().kind != ErrorKind::Retry) return s;
    ++counts_.retried(what);
    ++attempt;
    // Logged on the first failure and then at growing intervals, not once per retry.
    if ((attempt & (attempt - 1)) == 0) {
      log::event(spdlog::level::warn, "retrying",
                 {{"what", what}, {"attempt", std::to_string(attempt), true}, {"error", s.error().message}});
    }
    if (stop_.load(std::memory_order_relaxed)) return s;
    // The source stops fetching meanwhile (backpressure) and keeps its group session alive.
    auto deadline = options_.time->steady() + delay;
    do {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - options_.time->steady());
      source_.idle(std::clamp(left, std::chrono::milliseconds(1), std::chrono::milliseconds(100)));
      served(options_.time->steady());
    } while (!stop_.load(std::memory_order_relaxed) && options_.time->steady() < deadline);
    delay = std::min(delay * 2, options_.retryMax);
  }
}

void Runner::waitForPace() {
  if (!paceNext_) return;
  while (!stop_.load(std::memory_order_relaxed)) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(*paceNext_ - options_.time->steady());
    if (left.count() <= 0) return;
    source_.idle(std::min(left, std::chrono::milliseconds(100)));
    served(options_.time->steady());
  }
}

// The source was served while the loop waits (a retry's back-off, the pace): the liveness
// beat, and the stats line stays on time, so an outage shows in the logs as the lag grows.
void Runner::served(std::chrono::steady_clock::time_point now) {
  lastServed_ = now;
  if (options_.health) options_.health->beat();
  if (options_.statsInterval.count() > 0 && now - lastStats_ >= options_.statsInterval) logStats(now);
}

Status Runner::processBatch(std::vector<Record>& records) {
  // A source that must be served within an interval (Kafka's max.poll.interval.ms) gets the
  // batch applied in parts, each sized to take about a third of the interval at the pace of
  // the parts before it. When the next part would end past half the interval since the source
  // was last served, what is durable is committed and the source served first (its partitions
  // paused: nothing more is fetched meanwhile).
  auto interval = source_.servingInterval();
  const auto batchStarted = options_.time->steady();
  // The batch's spans: its store calls and commits happen under it (the thread's current span).
  std::optional<BatchTrace> trace;
  std::optional<tracing::Scope> scope;
  if (options_.tracer) {
    trace.emplace(*options_.tracer, options_.consumerGroup, records, options_.tracer->nowNs());
    scope.emplace(trace->span());
    batchTrace_ = &*trace;
  }
  struct Forget {
    BatchTrace*& trace;
    ~Forget() { trace = nullptr; }
  } forget{batchTrace_};
  if (source_.liveTimestamps()) polledMs_ = now().micros / 1000;
  std::span<Record> all(records);
  size_t begin = 0;
  while (begin < all.size()) {
    size_t planned = interval ? partSize(*interval) : all.size();
    size_t n = std::min(planned, all.size() - begin);
    if (begin > 0 && interval) {
      auto expected = std::chrono::duration<double>(partSeconds_ * static_cast<double>(n) / static_cast<double>(partRecords_));
      if (options_.time->steady() - lastServed_ + expected > *interval / 2) {
        if (auto s = commitPositions(); !s) return s;
        source_.keepAlive();
        lastServed_ = options_.time->steady();
        ++counts_.cuts;
      }
    }
    auto started = options_.time->steady();
    if (auto s = processPart(all.subspan(begin, n)); !s) return s;
    // The pace is kept for the planned size (the last part of a batch is often smaller).
    partRecords_ = planned;
    partSeconds_ = std::chrono::duration<double>(options_.time->steady() - started).count() * static_cast<double>(planned) /
                   static_cast<double>(n);
    begin += n;
  }
  countConsumed(records);
  ++stats_.batches;
  const Record& last = records.back();
  stats_.lastPosition = fmt::format("{}[{}]@{}", last.topic, last.partition, last.offset);
  Status committed = commitPositions();
  if (committed && options_.probe) {
    options_.probe->batch(records.size(), std::chrono::duration<double>(options_.time->steady() - batchStarted).count());
  }
  return committed;
}

size_t Runner::partSize(std::chrono::milliseconds interval) const {
  // Nothing measured yet: a small first part gives the first measure.
  if (partRecords_ == 0) return std::min<size_t>(options_.batchSize, 256);
  // Scaled from the last part towards a third of the interval, at most halved or doubled at a
  // time (a part has fixed costs, reads and writes, that do not shrink with it).
  double third = std::chrono::duration<double>(interval).count() / 3;
  double scaled = static_cast<double>(partRecords_) * third / std::max(partSeconds_, 1e-6);
  size_t n =
      static_cast<size_t>(std::clamp(scaled, static_cast<double>(partRecords_) / 2, static_cast<double>(partRecords_) * 2));
  return std::clamp<size_t>(n, 1, std::max<size_t>(options_.batchSize, 1));
}

Status Runner::loadSchemas(std::span<const Record> records) {
  if (options_.schemas == nullptr) return {};
  // The part's distinct schema ids (a few: one per table and version); load() fetches only
  // those not cached.
  std::vector<int32_t> ids;
  auto want = [&](const std::optional<std::string>& bytes) {
    if (!bytes) return;
    auto id = debezium::avro::wireSchemaId(*bytes);
    if (id && std::find(ids.begin(), ids.end(), *id) == ids.end()) ids.push_back(*id);
  };
  for (const Record& r : records) {
    want(r.key);
    want(r.value);
  }
  if (ids.empty()) return {};
  return withRetry("schema registry", [&]() -> Status {
    auto loaded = options_.schemas->load(ids);
    if (!loaded) return fail(Error::retry(loaded.error().message));
    return {};
  });
}

Status Runner::processPart(std::span<Record> records) {
  events_.clear();
  rejected_.clear();
  if (auto s = loadSchemas(records); !s) return s;
  std::vector<Poison> poison;
  if (auto s = decodePart(records, poison); !s) return s;
  if (auto s = applyEvents(poison); !s) return s;
  if (auto s = deadLetter(poison); !s) return s;
  notePositions(records);
  return {};
}

Status Runner::decodePart(std::span<const Record> records, std::vector<Poison>& poison) {
  for (const Record& r : records) {
    if (r.sourceError) {
      poison.push_back({&r, *r.sourceError, "source"});
      continue;
    }
    InputEvent ev;
    ev.record = &r;
    if (batchTrace_) ev.trace = batchTrace_->recordSpan(r);
    std::optional<std::string_view> key, value;
    if (r.key) key = *r.key;
    if (r.value) value = *r.value;
    auto decoded = decoder_.decode(r.topic, key, value, ev.change, r.value ? r.value->capacity() : 0);
    if (!decoded) {
      poison.push_back({&r, decoded.error().message(), "decode"});
      if (auto s = handler_.onUndecodable(r); !s) return s;
    } else {
      // A tombstone is a delete of its key (SPEC §1): the service acts on it from its state.
      if (*decoded == debezium::DecodeStatus::Tombstone) ++stats_.tombstones;
      events_.push_back(std::move(ev));
    }
  }
  stats_.events += events_.size();
  return {};
}

Status Runner::applyEvents(std::vector<Poison>& poison) {
  if (!events_.empty()) {
    Status applied = withRetry("apply", [&]() -> Status {
      // Partitions taken away while this batch was being retried belong to their new owner,
      // which reads them again from the committed offset: their events are not applied here.
      if (!revokedDuringBatch_.empty()) {
        std::erase_if(events_, [&](const InputEvent& e) { return revoked(*e.record); });
      }
      rejected_.clear();
      if (events_.empty()) return {};
      return handler_.apply(events_, rejected_);
    });
    if (!applied && applied.error().kind == ErrorKind::Poison) {
      // The store refused something in the batch as invalid (an item over DynamoDB's 400 KB):
      // find the event(s) it comes from by halving; the rest is applied (effects are idempotent).
      log::event(spdlog::level::warn, "poison_in_batch",
                 {{"events", std::to_string(events_.size()), true}, {"error", applied.error().message}});
      rejected_.clear();
      applied = applyIsolating(events_, poison);
    }
    if (!applied) return applied;
  }
  for (const auto& rej : rejected_) poison.push_back({events_[rej.index].record, rej.reason, "rejected"});
  // Only /metrics reads the events by topic and op (the run summary has no such count).
  if (options_.probe) countApplied(poison);
  return {};
}

Status Runner::deadLetter(const std::vector<Poison>& poison) {
  for (const auto& [record, reason, kind] : poison) {
    if (batchTrace_) batchTrace_->deadLettered(*record, kind, reason);
    log::event(spdlog::level::warn, "dead_letter",
               {{"topic", record->topic},
                {"partition", std::to_string(record->partition), true},
                {"offset", std::to_string(record->offset), true},
                {"error", reason}},
               record->trace());
    Status written = withRetry("dead letter", [&]() { return deadLetters_.write(*record, reason, now(), kind); });
    if (!written) return written;
    ++topicCounts(record->topic).deadLetters[RunCounts::reason(kind)];
  }
  return {};
}

void Runner::notePositions(std::span<const Record> records) {
  const bool live = source_.liveTimestamps();
  for (const Record& r : records) {
    if (revoked(r)) continue;
    notePosition(pending_, r);
    if (live && r.timestampMs > 0) {
      pendingTimestamps_.push_back(r.timestampMs);
      if (pendingPolls_.empty() || pendingPolls_.back().first != polledMs_) pendingPolls_.emplace_back(polledMs_, 0);
      ++pendingPolls_.back().second;
    }
  }
}

Status Runner::applyIsolating(std::span<const InputEvent> events, std::vector<Poison>& poison) {
  std::vector<Rejection> rejected;
  Status s = withRetry("apply", [&]() -> Status {
    rejected.clear();
    return handler_.apply(events, rejected);
  });
  if (s) {
    for (const auto& r : rejected) poison.push_back({events[r.index].record, r.reason, "rejected"});
    return {};
  }
  if (s.error().kind != ErrorKind::Poison) return s;
  if (events.size() == 1) {
    poison.push_back({events.front().record, s.error().message, "store"});
    return {};
  }
  // In order: the first half's events come before the second's in every partition.
  size_t half = events.size() / 2;
  if (auto first = applyIsolating(events.first(half), poison); !first) return first;
  return applyIsolating(events.subspan(half), poison);
}

Status Runner::commitPositions(bool force) {
  if (pending_.empty()) return {};
  bool durable = false;
  Status persisted = withRetry("persist", [&]() -> Status {
    auto d = handler_.persisted(force);
    if (!d) return fail(d.error());
    durable = *d;
    return {};
  });
  if (!persisted) return persisted;
  if (!durable) return {};  // later, with the handler's next save
  // Partitions another member took over: their positions are its to commit, and their records
  // are not fetched again until the group gives them back.
  if (auto fenced = handler_.fenced(); !fenced.empty()) {
    forgetPositions(fenced);
    source_.pause(fenced);
  }
  if (pending_.empty()) return {};
  const int64_t durableAtMs = now().micros / 1000;
  for (int64_t& ts : pendingTimestamps_) {
    ts = durableAtMs - ts;  // from now on the latency
    stats_.appendToDurable.add(ts);
  }
  for (const auto& [polledMs, count] : pendingPolls_) stats_.pollToDurable.add(durableAtMs - polledMs, count);
  if (options_.probe) options_.probe->durable(pendingTimestamps_);
  pendingTimestamps_.clear();
  pendingPolls_.clear();
  tracing::Span span;
  if (tracing::Span* parent = tracing::current(); parent && parent->recording()) {
    span = parent->child("commit", tracing::SpanKind::Client);
    span.set("messaging.system", "kafka").set("messaging.operation.type", "settle").set("messaging.operation.name", "commit");
    if (!options_.consumerGroup.empty()) span.set("messaging.consumer.group.name", std::string_view(options_.consumerGroup));
    span.set("cdc.partitions", static_cast<int64_t>(pending_.size()));
  }
  Status s = withRetry("commit", [&]() { return source_.commit(pending_); });
  if (!s) span.fail(s.error().kind == ErrorKind::Retry ? "retry" : "fatal", s.error().message);
  if (s) pending_.clear();
  return s;
}

RunCounts::Topic& Runner::topicCounts(std::string_view topic) {
  // Records carry interned names: one name, one address.
  for (const auto& [name, counts] : topicCounts_) {
    if (name.data() == topic.data() && name.size() == topic.size()) return *counts;
  }
  RunCounts::Topic& counts = counts_.topic(topic);
  topicCounts_.emplace_back(topic, &counts);
  return counts;
}

void Runner::countConsumed(const std::vector<Record>& records) {
  // By runs of one topic (a fetch's records come partition by partition).
  for (size_t i = 0; i < records.size();) {
    size_t j = i + 1;
    while (j < records.size() && records[j].topic.data() == records[i].topic.data()) ++j;
    topicCounts(records[i].topic).consumed += j - i;
    i = j;
  }
}

void Runner::countApplied(const std::vector<Poison>& poison) {
  // The part's events by topic and op; the events that became dead letters are counted there
  // instead.
  RunCounts::Topic* counts = nullptr;
  std::string_view topic;
  for (const InputEvent& e : events_) {
    if (!poison.empty() && std::any_of(poison.begin(), poison.end(), [&](const Poison& p) { return p.record == e.record; }))
      continue;
    if (counts == nullptr || e.record->topic.data() != topic.data()) {
      topic = e.record->topic;
      counts = &topicCounts(topic);
    }
    ++counts->applied[e.change.tombstone ? RunCounts::kTombstone : RunCounts::opIndex(debezium::opCode(e.change.op))];
  }
}

Runner::~Runner() { source_.setRebalanceListener(nullptr); }

bool Runner::revoked(const Record& r) const {
  if (revokedDuringBatch_.empty()) return false;
  for (const auto& tp : revokedDuringBatch_) {
    if (tp.partition == r.partition && tp.topic == r.topic) return true;
  }
  return false;
}

void Runner::onAssigned(std::span<const TopicPartition> partitions) {
  noteRebalance("assigned", partitions.size());
  handler_.onAssigned(partitions);
}

void Runner::onRevoked(std::span<const TopicPartition> partitions) {
  noteRebalance("revoked", partitions.size());
  revokedDuringBatch_.insert(revokedDuringBatch_.end(), partitions.begin(), partitions.end());
  tracing::Span span = sideSpan("revoke");
  tracing::Scope scope(span);
  span.set("cdc.partitions", static_cast<int64_t>(partitions.size()));
  // Everything polled so far has been applied (batches are processed before the next poll),
  // so the handler persists its partition state and the positions go out before the move.
  Status s = withRetry("revoke", [&]() { return handler_.onRevoked(partitions); });
  if (s) s = commitPositions(true);
  if (!s) revokeStatus_ = s;
}

void Runner::onLost(std::span<const TopicPartition> partitions) {
  noteRebalance("lost", partitions.size());
  revokedDuringBatch_.insert(revokedDuringBatch_.end(), partitions.begin(), partitions.end());
  handler_.onLost(partitions);
  forgetPositions(partitions);
}

void Runner::onRewound(std::span<const TopicPartition> partitions) {
  // The rest of the batch in hand of these partitions is skipped: it is read again, in order,
  // after the records before it. (The positions noted so far went with the aborted commit.)
  revokedDuringBatch_.insert(revokedDuringBatch_.end(), partitions.begin(), partitions.end());
}

void Runner::forgetPositions(std::span<const TopicPartition> partitions) {
  std::erase_if(pending_, [&](const Position& p) {
    return std::any_of(partitions.begin(), partitions.end(),
                       [&](const TopicPartition& tp) { return tp.partition == p.partition && tp.topic == p.topic; });
  });
}

void Runner::logStats(std::chrono::steady_clock::time_point now) {
  double secs = std::chrono::duration<double>(now - lastStats_).count();
  const uint64_t total = counts_.records();
  uint64_t records = total - statsRecords_;
  auto lag = source_.lag();
  std::string lagText = lag ? std::to_string(*lag) : "null";
  log::event(spdlog::level::info, "stats",
             {{"records", std::to_string(records), true},
              {"records_total", std::to_string(total), true},
              {"rate", fmt::format("{:.1f}", secs > 0 ? records / secs : 0.0), true},
              {"dead_letters_total", std::to_string(counts_.deadLetters()), true},
              {"lag", lagText, true},
              {"position", stats_.lastPosition}});
  lastStats_ = now;
  statsRecords_ = total;
}

namespace {

std::string humanBytes(double b) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (b >= 1000 && u < 4) {
    b /= 1000;
    ++u;
  }
  return u == 0 ? fmt::format("{:.0f} B", b) : fmt::format("{:.1f} {}", b, units[u]);
}

std::string clock(double seconds) {
  auto s = std::llround(seconds);
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

}  // namespace

// "37% of 1.2 GB, ETA 0:42 | 123456 records, 45678/s, 0 dead letters, at topic[0]@12".
std::string progressLine(const RunStats& stats, double rate, double seconds, std::optional<Source::Progress> progress,
                         std::optional<int64_t> lag) {
  std::string line;
  if (progress && progress->total > 0) {
    double fraction = std::min(1.0, static_cast<double>(progress->done) / static_cast<double>(progress->total));
    line = fmt::format(
        "{:.0f}% of {}", fraction * 100,
        progress->bytes ? humanBytes(static_cast<double>(progress->total)) : fmt::format("{} records", progress->total));
    line += fraction > 0.001 && seconds > 0.5 ? ", ETA " + clock(seconds * (1 - fraction) / fraction) : ", ETA -";
    line += " | ";
  }
  line += fmt::format("{} records, {:.0f}/s, {} dead letters", stats.records, rate, stats.deadLetters);
  if (lag) line += fmt::format(", lag {}", *lag);
  if (!stats.lastPosition.empty()) line += ", at " + stats.lastPosition;
  return line;
}

void Runner::reportProgress(bool final) {
  auto t = options_.time->steady();
  if (!final && options_.statsInterval.count() > 0 && t - lastStats_ >= options_.statsInterval) logStats(t);
  if (!final && (!options_.progress || t - lastProgress_ < std::chrono::seconds(1))) return;
  lastProgress_ = t;
  double secs = std::chrono::duration<double>(t - started_).count();
  stats_.seconds = secs;
  RunStats now = stats();
  double rate = secs > 0 ? static_cast<double>(now.records) / secs : 0;
  if (final) {
    if (options_.progress) log::status("");
    return;
  }
  log::status(progressLine(now, rate, secs, source_.progress(), source_.lag()));
}

bool Runner::stoppedWhileRetrying(const Status& s) const { return s.error().kind == ErrorKind::Retry && stop_.load(); }

Result<RunStats> Runner::stoppedUncommitted(const Status& s) {
  // Stopped (SIGTERM) while a store cannot be reached: what was not committed is delivered
  // again to whoever reads the partitions next; the stop itself is clean.
  log::event(spdlog::level::warn, "stopped_uncommitted",
             {{"error", s.error().message},
              {"detail", "stopped while a store could not be reached; what was not committed will be delivered again"}});
  if (auto closed = source_.close(); !closed) return fail(closed.error());
  stats_.seconds = std::chrono::duration<double>(options_.time->steady() - started_).count();
  return stats();
}

Result<RunStats> Runner::run() {
  started_ = options_.time->steady();
  lastProgress_ = started_;
  lastStats_ = started_;
  if (auto s = withRetry("start", [&]() { return handler_.start(); }); !s) {
    return stoppedWhileRetrying(s) ? stoppedUncommitted(s) : fail(s.error());
  }
  std::vector<Record> records;
  records.reserve(options_.batchSize);
  auto lastTick = options_.time->steady();
  while (!stop_.load(std::memory_order_relaxed)) {
    auto next = turn(records, lastTick);
    if (!next) return fail(next.error());
    if (*next == Turn::Done) break;
  }
  return finishRun();
}

Result<Runner::Turn> Runner::turn(std::vector<Record>& records, std::chrono::steady_clock::time_point& lastTick) {
  records.clear();
  revokedDuringBatch_.clear();
  size_t most = options_.batchSize;
  if (options_.maxRecordsPerSecond > 0) {
    waitForPace();
    if (stop_.load(std::memory_order_relaxed)) return Turn::Done;
    most = std::clamp<size_t>(options_.maxRecordsPerSecond, 1, options_.batchSize);
  }
  auto polled = source_.poll(records, most, options_.pollTimeout);
  lastServed_ = options_.time->steady();
  if (options_.health) options_.health->beat();
  if (!revokeStatus_) return fail(revokeStatus_.error());
  // The source dropped what it had polled of a partition before the partition was revoked,
  // lost or rewound during this poll (Source::poll); what it returned after that comes from the
  // new assignment or position, and is this batch's.
  revokedDuringBatch_.clear();
  if (!polled) {
    if (polled.error().kind != ErrorKind::Retry) return fail(polled.error());
    ++counts_.retried("poll");
    std::this_thread::sleep_for(options_.retryInitial);
    return Turn::Go;
  }
  if (!records.empty()) {
    if (options_.maxRecordsPerSecond > 0) {
      auto seconds =
          std::chrono::duration<double>(static_cast<double>(records.size()) / static_cast<double>(options_.maxRecordsPerSecond));
      // The batches keep to a schedule that starts at the first: a wait that overran (a sleep
      // ends late, a poll takes a millisecond) is made up by the next ones instead of being lost
      // at every batch (5 ms batches reached 0.83 of the cap so). A schedule more than
      // kPaceCatchUp behind (after a stall, or a service slower than its cap) starts again from
      // now less that.
      auto from = paceNext_ ? std::max(*paceNext_, lastServed_ - kPaceCatchUp) : lastServed_;
      paceNext_ = from + std::chrono::duration_cast<std::chrono::steady_clock::duration>(seconds);
    }
    // Stopped while retrying: what is uncommitted is delivered again.
    if (auto s = processBatch(records); !s) return stoppedWhileRetrying(s) ? Result<Turn>(Turn::Done) : fail(s.error());
  } else if (source_.awaitsDurable()) {
    // At the end but for the last positions: saved now, not at the handler's next save.
    if (auto s = commitPositions(true); !s) return stoppedWhileRetrying(s) ? Result<Turn>(Turn::Done) : fail(s.error());
  }
  if (auto s = tickIfDue(lastTick); !s) return stoppedWhileRetrying(s) ? Result<Turn>(Turn::Done) : fail(s.error());
  reportProgress(false);
  return *polled == PollStatus::End ? Turn::Done : Turn::Go;
}

Status Runner::tickIfDue(std::chrono::steady_clock::time_point& lastTick) {
  auto t = options_.time->steady();
  if (t - lastTick < options_.tickInterval) return {};
  lastTick = t;
  tracing::Span span = sideSpan("tick");
  tracing::Scope scope(span);
  if (auto s = withRetry("tick", [&]() { return handler_.tick(now()); }); !s) return s;
  // A handler that persists on a timer may be due while no batch comes.
  return commitPositions();
}

Result<RunStats> Runner::finishRun() {
  tracing::Span finishing = sideSpan("finish");
  tracing::Scope finishingScope(finishing);
  if (auto s = withRetry("finish", [&]() { return handler_.finish(); }); !s) {
    return stoppedWhileRetrying(s) ? stoppedUncommitted(s) : fail(s.error());
  }
  if (auto s = commitPositions(true); !s) return stoppedWhileRetrying(s) ? stoppedUncommitted(s) : fail(s.error());
  if (auto s = source_.close(); !s) return fail(s.error());
  reportProgress(true);
  stats_.seconds = std::chrono::duration<double>(options_.time->steady() - started_).count();
  return stats();
}

}  // namespace cdc::runtime
