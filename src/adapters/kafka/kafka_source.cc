#include "adapters/kafka/kafka_source.h"

#include <algorithm>
#include <cstdlib>
#include <thread>
#include <utility>

#include "adapters/kafka/consumer_metrics.h"
#include "core/log.h"

namespace cdc::kafka {
namespace {

using Clock = std::chrono::steady_clock;

std::vector<TopicPartition> toVector(const rd_kafka_topic_partition_list_t* list) {
  std::vector<TopicPartition> out;
  out.reserve(static_cast<size_t>(list->cnt));
  for (int i = 0; i < list->cnt; ++i) out.push_back({list->elems[i].topic, list->elems[i].partition});
  return out;
}

PartitionListPtr toList(const std::set<TopicPartition>& partitions) {
  PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
  for (const auto& tp : partitions) rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition);
  return list;
}

std::string describePartitions(std::span<const TopicPartition> partitions) {
  std::string out;
  for (const auto& tp : partitions) {
    if (!out.empty()) out += ',';
    out += tp.topic + '[' + std::to_string(tp.partition) + ']';
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<KafkaSource>> KafkaSource::open(KafkaSourceOptions options) {
  Properties& props = options.properties;
  if (!findProperty(props, "bootstrap.servers")) {
    return fail(Error::fatal("KAFKA_BOOTSTRAP_SERVERS: not set (the Kafka source needs the brokers' addresses)"));
  }
  if (!findProperty(props, "group.id")) return fail(Error::fatal("KAFKA_GROUP_ID: not set"));
  if (const auto* p = findProperty(props, "enable.auto.commit"); p && p->value != "false") {
    return fail(Error::fatal(p->origin + ": offsets are committed once their effects are durable; "
                                         "enable.auto.commit cannot be turned on"));
  }
  if (options.topics.empty()) return fail(Error::fatal("no topics to consume"));
  setProperty(props, "enable.auto.commit", "false", "the Kafka source");
  // End-of-partition events tell --until-caught-up where the end is, control records included.
  setProperty(props, "enable.partition.eof", "true", "the Kafka source");
  setDefault(props, "auto.offset.reset", "earliest");
  setDefault(props, "partition.assignment.strategy", "cooperative-sticky");
  setDefault(props, "statistics.interval.ms", "15000");
  // The prefetch queue (queued.max.messages.kbytes, librdkafka's 64 MiB by default for the
  // whole consumer) is the only buffer between the broker and a batch. Smaller queues cost
  // throughput: at 16 MiB the fetcher idles between refills (measured: 3.5x slower analytics).

  auto conf = makeConf(props);
  if (!conf) return fail(conf.error());
  // librdkafka does not mix eager and cooperative assignors, so the configured strategy names
  // the group's protocol; asking librdkafka instead answers NULL or "NONE" once the member is out
  // of the group (at close, or fenced), when the revocation still has to use the right unassign.
  bool cooperative = findProperty(props, "partition.assignment.strategy")->value.find("cooperative") != std::string::npos;
  std::chrono::milliseconds maxPollInterval{300'000};  // librdkafka's default
  if (const auto* p = findProperty(props, "max.poll.interval.ms")) {
    maxPollInterval = std::chrono::milliseconds(std::strtoll(p->value.c_str(), nullptr, 10));
  }
  // enable.auto.commit is off; its interval paces the asynchronous commits of what the runner
  // reports durable (a commit per batch would queue thousands a second at the coordinator).
  std::chrono::milliseconds commitInterval{1000};
  if (const auto* p = findProperty(props, "auto.commit.interval.ms")) {
    commitInterval = std::chrono::milliseconds(std::strtoll(p->value.c_str(), nullptr, 10));
  }
  std::unique_ptr<KafkaSource> self(new KafkaSource(std::move(options), nullptr));
  self->maxPollInterval_ = maxPollInterval;
  self->commitInterval_ = commitInterval;
  self->cooperative_ = cooperative;

  rd_kafka_conf_set_opaque(conf->get(), self.get());
  rd_kafka_conf_set_rebalance_cb(conf->get(), onRebalance);
  rd_kafka_conf_set_offset_commit_cb(conf->get(), onCommit);
  rd_kafka_conf_set_stats_cb(conf->get(), onStatistics);
  rd_kafka_conf_set_error_cb(conf->get(), onError);
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf->get(), err, sizeof err);
  if (!rk) return fail(Error::fatal(std::string("cannot create the Kafka consumer: ") + err));
  (void)conf->release();  // owned by rk from here on
  self->rk_ = rk;
  // Statistics, errors and logs go through the consumer queue, served by poll().
  rd_kafka_poll_set_consumer(rk);

  PartitionListPtr topics(rd_kafka_topic_partition_list_new(static_cast<int>(self->options_.topics.size())));
  for (const auto& t : self->options_.topics) rd_kafka_topic_partition_list_add(topics.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
  if (auto e = rd_kafka_subscribe(rk, topics.get()); e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return fail(Error::fatal(std::string("cannot subscribe: ") + rd_kafka_err2str(e)));
  }
  log::event(spdlog::level::info, "kafka_consumer_started",
             {{"properties", kafka::describe(self->options_.properties)}, {"librdkafka", rd_kafka_version_str()}});
  return self;
}

KafkaSource::KafkaSource(KafkaSourceOptions options, rd_kafka_t* rk) : options_(std::move(options)), rk_(rk) {}

KafkaSource::~KafkaSource() {
  if (!rk_) return;
  (void)close();
  rd_kafka_destroy(rk_);
}

std::string KafkaSource::describe() const {
  const auto* servers = findProperty(options_.properties, "bootstrap.servers");
  const auto* group = findProperty(options_.properties, "group.id");
  return "kafka:" + (servers ? servers->value : std::string()) + " group " + (group ? group->value : std::string());
}

void KafkaSource::onRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* partitions,
                              void* opaque) {
  auto* self = static_cast<KafkaSource*>(opaque);
  self->inCallback_ = true;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    self->assign(partitions);
  } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
    self->revoke(partitions);
  } else {
    log::event(spdlog::level::err, "rebalance_failed", {{"error", rd_kafka_err2str(err)}});
    self->revoke(partitions);
  }
  (void)rk;
  self->joined_ = true;
  ++self->probe_.rebalances;
  self->inCallback_ = false;
}

bool KafkaSource::startAtTime(rd_kafka_topic_partition_list_t* partitions) {
  PartitionListPtr committed(rd_kafka_topic_partition_list_copy(partitions));
  if (auto e = rd_kafka_committed(rk_, committed.get(), 10'000); e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    fatal_ = Error::fatal(std::string("START_FROM: cannot read the group's committed offsets: ") + rd_kafka_err2str(e));
    return false;
  }
  PartitionListPtr times(rd_kafka_topic_partition_list_new(committed->cnt));
  for (int i = 0; i < committed->cnt; ++i) {
    const auto& p = committed->elems[i];
    if (p.offset >= 0) continue;  // committed: it resumes there
    rd_kafka_topic_partition_list_add(times.get(), p.topic, p.partition)->offset = *options_.startAtMs;
  }
  if (times->cnt == 0) return true;
  if (auto e = rd_kafka_offsets_for_times(rk_, times.get(), 10'000); e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    fatal_ = Error::fatal(std::string("START_FROM: cannot look up the offsets for the time: ") + rd_kafka_err2str(e));
    return false;
  }
  std::string chosen;
  for (int i = 0; i < times->cnt; ++i) {
    const auto& t = times->elems[i];
    if (t.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      fatal_ = Error::fatal(std::string("START_FROM: cannot look up the offset for the time in ") + t.topic + "[" +
                            std::to_string(t.partition) + "]: " + rd_kafka_err2str(t.err));
      return false;
    }
    // -1: no record at or after the time; the partition starts at its end.
    int64_t offset = t.offset < 0 ? RD_KAFKA_OFFSET_END : t.offset;
    rd_kafka_topic_partition_list_find(partitions, t.topic, t.partition)->offset = offset;
    chosen += fmt::format("{}{}[{}]@{}", chosen.empty() ? "" : ",", t.topic, t.partition,
                          t.offset < 0 ? std::string("end") : std::to_string(t.offset));
  }
  log::event(spdlog::level::info, "start_from_time",
             {{"start_ms", std::to_string(*options_.startAtMs), true},
              {"partitions", chosen},
              {"detail", "partitions without a committed offset start at the first record at or after the time"}});
  return true;
}

void KafkaSource::assign(rd_kafka_topic_partition_list_t* partitions) {
  auto tps = toVector(partitions);
  if (options_.startAtMs && !startAtTime(partitions)) return;
  if (cooperative_) {
    if (ErrorPtr e{rd_kafka_incremental_assign(rk_, partitions)}) {
      fatal_ = Error::fatal(std::string("incremental assign failed: ") + rd_kafka_error_string(e.get()));
      return;
    }
  } else if (auto e = rd_kafka_assign(rk_, partitions); e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    fatal_ = Error::fatal(std::string("assign failed: ") + rd_kafka_err2str(e));
    return;
  }
  std::set<TopicPartition> added(tps.begin(), tps.end());
  assigned_.insert(added.begin(), added.end());
  if (options_.untilCaughtUp) {
    for (const auto& tp : added) {
      int64_t low = 0, high = 0;
      auto e = rd_kafka_query_watermark_offsets(rk_, tp.topic.c_str(), tp.partition, &low, &high, 10'000);
      if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        // Without the end offset the end-of-partition event alone decides.
        log::event(spdlog::level::warn, "end_offset_unknown",
                   {{"partition", describePartitions(std::span(&tp, 1))}, {"error", rd_kafka_err2str(e)}});
        continue;
      }
      endOffsets_[tp] = high;
      if (high <= low) reachedEnd_.insert(tp);
    }
  }
  // The ends of every partition of the topics, as of the member's first assignment: asked now,
  // before fetching starts (later the queries wait behind the fetches' long polls).
  if (options_.untilCaughtUp && groupEnds_.empty()) loadGroupEnds();
  if (idlePaused_) pauseForIdle(added);
  probe_.setAssignment({assigned_.begin(), assigned_.end()});
  log::event(spdlog::level::info, "partitions_assigned",
             {{"partitions", describePartitions(tps)}, {"assigned", std::to_string(assigned_.size()), true}});
  if (listener_) listener_->onAssigned(tps);
}

void KafkaSource::revoke(rd_kafka_topic_partition_list_t* partitions) {
  auto tps = toVector(partitions);
  std::set<TopicPartition> gone(tps.begin(), tps.end());
  bool lost = rd_kafka_assignment_lost(rk_);
  // The runner finishes and commits the work of these partitions before they move.
  if (listener_) listener_->onRevoked(tps);
  if (!lost) {
    (void)commitSync(gone);
  } else {
    log::event(spdlog::level::warn, "partitions_lost",
               {{"partitions", describePartitions(tps)}, {"detail", "the group moved on without us; nothing committed"}});
  }
  // librdkafka keeps a partition's pause flag after it is taken away: were it given back to us
  // later, it would stay paused for good. Resume what we paused before letting it go.
  std::set<TopicPartition> pausedHere;
  for (const auto& tp : gone) {
    if (idlePaused_ || pausedByCaller_.contains(tp)) pausedHere.insert(tp);
  }
  if (!pausedHere.empty()) {
    auto list = toList(pausedHere);
    rd_kafka_resume_partitions(rk_, list.get());
  }
  if (cooperative_) {
    if (ErrorPtr e{rd_kafka_incremental_unassign(rk_, partitions)}) {
      log::event(spdlog::level::err, "unassign_failed", {{"error", rd_kafka_error_string(e.get())}});
    }
  } else {
    rd_kafka_assign(rk_, nullptr);
  }
  for (const auto& tp : gone) {
    assigned_.erase(tp);
    durable_.erase(tp);
    unsent_.erase(tp);
    endOffsets_.erase(tp);
    reachedEnd_.erase(tp);
    eofOffsets_.erase(tp);
    synced_.erase(tp);
    pausedByCaller_.erase(tp);
  }
  std::erase_if(buffered_, [&](const runtime::Record& r) { return gone.contains({std::string(r.topic), r.partition}); });
  probe_.setAssignment({assigned_.begin(), assigned_.end()});
  log::event(spdlog::level::info, "partitions_revoked",
             {{"partitions", describePartitions(tps)}, {"assigned", std::to_string(assigned_.size()), true}});
}

void KafkaSource::onCommit(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* offsets,
                           void* opaque) {
  (void)rk;
  auto* self = static_cast<KafkaSource*>(opaque);
  std::string failed;
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR && offsets) {
    for (int i = 0; i < offsets->cnt; ++i) {
      if (offsets->elems[i].err == RD_KAFKA_RESP_ERR_NO_ERROR) continue;
      failed += std::string(failed.empty() ? "" : ", ") + offsets->elems[i].topic + '[' +
                std::to_string(offsets->elems[i].partition) + "]: " + rd_kafka_err2str(offsets->elems[i].err);
    }
  } else if (err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
    failed = rd_kafka_err2str(err);
  }
  if (failed.empty()) {
    ++self->probe_.commits;
    return;
  }
  // A later commit carries the same positions or newer ones: nothing to redo here.
  ++self->probe_.commitFailures;
  log::event(spdlog::level::warn, "offset_commit_failed", {{"error", failed}});
}

int KafkaSource::onStatistics(rd_kafka_t* rk, char* json, size_t len, void* opaque) {
  (void)rk;
  auto* self = static_cast<KafkaSource*>(opaque);
  std::string raw(json, len);
  if (auto s = parseStatistics(raw)) {
    int64_t lag = 0;
    for (const auto& p : s->partitions) lag += std::max<int64_t>(p.consumerLag, 0);
    log::event(spdlog::level::debug, "consumer_statistics",
               {{"partitions", std::to_string(s->partitions.size()), true}, {"lag", std::to_string(lag), true}});
    self->probe_.setStatistics(std::move(*s), std::move(raw));
  } else {
    log::event(spdlog::level::warn, "consumer_statistics_unreadable", {{"error", s.error().message}});
  }
  return 0;  // librdkafka frees `json`
}

void KafkaSource::onError(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  auto* self = static_cast<KafkaSource*>(opaque);
  ++self->probe_.errors;
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    char detail[512];
    rd_kafka_fatal_error(rk, detail, sizeof detail);
    self->fatal_ = Error::fatal(std::string("Kafka consumer fatal error: ") + detail);
    return;
  }
  // Brokers going away and coming back are reported here; librdkafka reconnects by itself.
  self->lastError_ = reason;
  log::event(spdlog::level::warn, "kafka_error",
             {{"error", rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err))}, {"reason", reason}});
}

void KafkaSource::handle(rd_kafka_message_t* m, std::vector<runtime::Record>& out) {
  if (m->err) {
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      TopicPartition tp{rd_kafka_topic_name(m->rkt), m->partition};
      auto end = endOffsets_.find(tp);
      eofOffsets_[tp] = m->offset;
      if (end == endOffsets_.end() || m->offset >= end->second) reachedEnd_.insert(std::move(tp));
      return;
    }
    ++probe_.errors;
    if (m->err == RD_KAFKA_RESP_ERR__FATAL) {
      char detail[512];
      rd_kafka_fatal_error(rk_, detail, sizeof detail);
      fatal_ = Error::fatal(std::string("Kafka consumer fatal error: ") + detail);
      return;
    }
    if (options_.untilCaughtUp &&
        (m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || m->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC)) {
      // A service that runs until stopped waits for the topic (Debezium creates a table's topic
      // with its first change); a run that must end would wait for ever.
      const auto* servers = findProperty(options_.properties, "bootstrap.servers");
      fatal_ = Error::fatal(fmt::format("topic {} does not exist on the brokers at {}: --until-caught-up cannot reach its end "
                                        "(check KAFKA_TOPICS, --topic-prefix)",
                                        m->rkt ? rd_kafka_topic_name(m->rkt) : "?", servers ? servers->value : ""));
      return;
    }
    log::event(spdlog::level::warn, "consumer_error",
               {{"topic", m->rkt ? rd_kafka_topic_name(m->rkt) : ""}, {"error", rd_kafka_message_errstr(m)}});
    return;
  }
  runtime::Record& r = out.emplace_back();
  r.topic = topics_.intern(rd_kafka_topic_name(m->rkt));
  r.partition = m->partition;
  r.offset = m->offset;
  rd_kafka_timestamp_type_t type;
  r.timestampMs = rd_kafka_message_timestamp(m, &type);
  if (m->key) r.key.emplace(static_cast<const char*>(m->key), m->key_len);
  if (m->payload) r.value.emplace(static_cast<const char*>(m->payload), m->len);
  rd_kafka_headers_t* headers = nullptr;
  if (rd_kafka_message_headers(m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR && headers) {
    const char* name;
    const void* value;
    size_t size;
    for (size_t i = 0; rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i) {
      r.headers.emplace_back(name, value ? std::string(static_cast<const char*>(value), size) : std::string());
    }
  }
  ++probe_.records;
  if (options_.untilCaughtUp) {
    TopicPartition tp{std::string(r.topic), r.partition};
    if (auto end = endOffsets_.find(tp); end != endOffsets_.end() && r.offset + 1 >= end->second) {
      reachedEnd_.insert(std::move(tp));
    }
  }
}

bool KafkaSource::finished() {
  if (!joined_ || !buffered_.empty()) return false;
  if (!std::all_of(assigned_.begin(), assigned_.end(), [&](const auto& tp) { return reachedEnd_.contains(tp); })) {
    return false;
  }
  // Every record delivered so far has been processed (the runner polls again only then), so
  // the end-of-partition position is durable too: it lies past control records (transaction
  // markers) that no record's position covers.
  for (const auto& tp : assigned_) {
    auto eof = eofOffsets_.find(tp);
    if (eof == eofOffsets_.end()) continue;
    auto [it, added] = durable_.try_emplace(tp, eof->second);
    if (!added) it->second = std::max(it->second, eof->second);
  }
  if (!ownPositionsCommitted()) return false;
  return groupCaughtUp();
}

bool KafkaSource::ownPositionsCommitted() {
  std::set<TopicPartition> stale;
  for (const auto& tp : assigned_) {
    auto d = durable_.find(tp);
    if (d == durable_.end()) continue;
    auto s = synced_.find(tp);
    if (s == synced_.end() || s->second < d->second) stale.insert(tp);
  }
  if (stale.empty()) return true;
  auto now = Clock::now();
  if (now - lastOwnCommit_ < std::chrono::milliseconds(200)) return false;
  lastOwnCommit_ = now;
  if (!commitSync(stale)) return false;
  for (const auto& tp : stale) synced_[tp] = durable_[tp];
  return true;
}

void KafkaSource::loadGroupEnds() {
  for (const auto& name : options_.topics) {
    if (name.starts_with('^')) continue;
    rd_kafka_topic_t* topic = rd_kafka_topic_new(rk_, name.c_str(), nullptr);
    const rd_kafka_metadata_t* md = nullptr;
    auto e = rd_kafka_metadata(rk_, 0, topic, &md, 10'000);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      for (int i = 0; i < md->topics[0].partition_cnt; ++i) {
        int32_t partition = md->topics[0].partitions[i].id;
        int64_t low = 0, high = 0;
        if (rd_kafka_query_watermark_offsets(rk_, name.c_str(), partition, &low, &high, 10'000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
          groupEnds_[{name, partition}] = high > low ? high : -1;  // -1: empty, nothing to commit
        }
      }
    }
    if (md) rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(topic);
  }
}

bool KafkaSource::groupCaughtUp() {
  auto now = Clock::now();
  if (now - lastGroupCheck_ < std::chrono::seconds(1)) return false;
  lastGroupCheck_ = now;
  // Topics named by a pattern cannot be listed here: their own partitions decide alone.
  if (std::all_of(options_.topics.begin(), options_.topics.end(), [](const auto& t) { return t.starts_with('^'); })) {
    return true;
  }
  if (groupEnds_.empty()) {
    loadGroupEnds();
    if (groupEnds_.empty()) return false;
  }
  std::set<TopicPartition> all;
  for (const auto& [tp, end] : groupEnds_) all.insert(tp);
  PartitionListPtr list = toList(all);
  if (rd_kafka_committed(rk_, list.get(), 10'000) != RD_KAFKA_RESP_ERR_NO_ERROR) return false;
  for (int i = 0; i < list->cnt; ++i) {
    int64_t end = groupEnds_[{list->elems[i].topic, list->elems[i].partition}];
    if (end >= 0 && list->elems[i].offset < end) return false;
  }
  log::event(spdlog::level::info, "group_caught_up",
             {{"partitions", std::to_string(list->cnt), true},
              {"detail", "the group has committed every partition of the topics up to its end"}});
  return true;
}

Result<runtime::PollStatus> KafkaSource::poll(std::vector<runtime::Record>& out, size_t max,
                                             std::chrono::milliseconds timeout) {
  if (!fatal_ && options_.untilCaughtUp && !joined_ && options_.joinTimeout.count() > 0 &&
      Clock::now() - openedAt_ > options_.joinTimeout) {
    const auto* servers = findProperty(options_.properties, "bootstrap.servers");
    fatal_ = Error::fatal(fmt::format(
        "no partition assigned within {} s (KAFKA_BROKER_TIMEOUT): {}",
        std::chrono::duration_cast<std::chrono::seconds>(options_.joinTimeout).count(),
        lastError_.empty() ? "the group did not form (brokers at " + (servers ? servers->value : std::string()) + ")"
                           : "the brokers at " + (servers ? servers->value : std::string()) + " did not answer: " + lastError_));
  }
  if (fatal_) return fail(*fatal_);
  if (closed_) return runtime::PollStatus::End;
  resumeAfterIdle();
  sendCommits();
  size_t before = out.size();
  while (!buffered_.empty() && out.size() - before < max) {
    out.push_back(std::move(buffered_.front()));
    buffered_.pop_front();
  }
  auto deadline = Clock::now() + timeout;
  bool done = false;
  while (out.size() - before < max) {
    int waitMs = 0;
    if (out.size() == before) {
      if (options_.untilCaughtUp && finished()) {
        done = true;
        break;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) break;
      waitMs = static_cast<int>(left);
    }
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, waitMs);
    if (fatal_) {
      if (m) rd_kafka_message_destroy(m);
      return fail(*fatal_);
    }
    if (!m) {
      if (waitMs == 0) break;
      continue;
    }
    MessagePtr owned(m);
    handle(m, out);
  }
  if (fatal_) return fail(*fatal_);
  if (done && out.size() == before) return runtime::PollStatus::End;
  return runtime::PollStatus::Ok;
}

Status KafkaSource::commit(std::span<const runtime::Position> positions) {
  for (const auto& p : positions) {
    TopicPartition tp{p.topic, p.partition};
    // A partition that has moved on is committed by its new owner.
    if (!assigned_.contains(tp)) continue;
    int64_t& next = durable_[tp];
    if (p.nextOffset > next) {
      next = p.nextOffset;
      unsent_.insert(std::move(tp));
    }
  }
  sendCommits();
  return {};
}

void KafkaSource::sendCommits() {
  if (unsent_.empty()) return;
  auto now = Clock::now();
  if (now - lastAsyncCommit_ < commitInterval_) return;  // the next poll sends them
  lastAsyncCommit_ = now;
  PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(unsent_.size())));
  for (const auto& tp : unsent_) {
    auto d = durable_.find(tp);
    if (d == durable_.end() || !assigned_.contains(tp)) continue;
    rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition)->offset = d->second;
  }
  unsent_.clear();
  if (list->cnt == 0) return;
  // Asynchronous: a failure is reported to onCommit and made good by the next commit; the
  // commits before a revocation and at close wait for the answer.
  if (auto e = rd_kafka_commit(rk_, list.get(), 1); e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    ++probe_.commitFailures;
    log::event(spdlog::level::warn, "offset_commit_failed", {{"error", rd_kafka_err2str(e)}});
  }
}

Status KafkaSource::commitSync(const std::set<TopicPartition>& partitions) {
  PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
  for (const auto& tp : partitions) {
    auto it = durable_.find(tp);
    if (it == durable_.end()) continue;
    rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition)->offset = it->second;
  }
  if (list->cnt == 0) return {};
  if (auto e = rd_kafka_commit(rk_, list.get(), 0); e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    ++probe_.commitFailures;
    log::event(spdlog::level::warn, "offset_commit_failed", {{"error", rd_kafka_err2str(e)}, {"sync", "true", true}});
    return fail(Error::retry(std::string("offset commit failed: ") + rd_kafka_err2str(e)));
  }
  for (const auto& tp : partitions) unsent_.erase(tp);
  return {};
}

void KafkaSource::pause(std::span<const TopicPartition> partitions) {
  std::set<TopicPartition> now;
  for (const auto& tp : partitions) {
    if (assigned_.contains(tp) && pausedByCaller_.insert(tp).second && !idlePaused_) now.insert(tp);
  }
  if (now.empty()) return;
  auto list = toList(now);
  rd_kafka_pause_partitions(rk_, list.get());
}

void KafkaSource::resume(std::span<const TopicPartition> partitions) {
  std::set<TopicPartition> now;
  for (const auto& tp : partitions) {
    if (pausedByCaller_.erase(tp) && assigned_.contains(tp) && !idlePaused_) now.insert(tp);
  }
  if (now.empty()) return;
  auto list = toList(now);
  rd_kafka_resume_partitions(rk_, list.get());
}

void KafkaSource::pauseForIdle(const std::set<TopicPartition>& partitions) {
  std::set<TopicPartition> now;
  for (const auto& tp : partitions) {
    if (!pausedByCaller_.contains(tp)) now.insert(tp);
  }
  if (now.empty()) return;
  auto list = toList(now);
  rd_kafka_pause_partitions(rk_, list.get());
}

void KafkaSource::resumeAfterIdle() {
  if (!idlePaused_) return;
  idlePaused_ = false;
  bool quiet = std::exchange(quietPause_, false);
  probe_.paused = false;
  std::set<TopicPartition> now;
  for (const auto& tp : assigned_) {
    if (!pausedByCaller_.contains(tp)) now.insert(tp);
  }
  if (!now.empty()) {
    auto list = toList(now);
    rd_kafka_resume_partitions(rk_, list.get());
  }
  if (!quiet) log::event(spdlog::level::info, "consumer_resumed", {{"partitions", std::to_string(now.size()), true}});
}

void KafkaSource::keepAlive() {
  if (inCallback_ || closed_ || fatal_) return;
  if (!idlePaused_) {
    idlePaused_ = true;
    quietPause_ = true;
    pauseForIdle(assigned_);
  }
  std::vector<runtime::Record> early;
  if (rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, 0)) {
    MessagePtr owned(m);
    handle(m, early);
  }
  for (auto& r : early) buffered_.push_back(std::move(r));
}

void KafkaSource::idle(std::chrono::milliseconds duration) {
  // Inside a rebalance callback (a revocation whose commit is being retried) the consumer
  // must not be polled again.
  if (inCallback_ || closed_ || fatal_) {
    std::this_thread::sleep_for(duration);
    return;
  }
  if (!idlePaused_ || quietPause_) {
    idlePaused_ = true;
    quietPause_ = false;
    ++probe_.pauses;
    probe_.paused = true;
    pauseForIdle(assigned_);
    log::event(spdlog::level::info, "consumer_paused",
               {{"partitions", std::to_string(assigned_.size()), true},
                {"reason", "the batch in hand cannot be completed yet; fetching stops until it is"}});
  }
  auto deadline = Clock::now() + duration;
  std::vector<runtime::Record> early;
  while (!fatal_) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) break;
    if (rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, static_cast<int>(left))) {
      MessagePtr owned(m);
      handle(m, early);
    }
  }
  // Fetched before the pause took effect: delivered by the next poll, in order.
  for (auto& r : early) buffered_.push_back(std::move(r));
}

Status KafkaSource::close() {
  if (closed_ || !rk_) return {};
  // Another member joining or leaving at this moment makes the group refuse commits until its
  // rebalance is through: serve the group (fetching nothing) and try again for a while. What
  // still cannot be committed is applied again, idempotently, by the partition's next owner.
  if (!fatal_ && !assigned_.empty()) {
    pauseForIdle(assigned_);
    auto deadline = Clock::now() + std::chrono::seconds(10);
    while (!commitSync(assigned_) && Clock::now() < deadline && !fatal_) {
      auto until = Clock::now() + std::chrono::milliseconds(500);
      while (Clock::now() < until) {
        if (rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, 100)) rd_kafka_message_destroy(m);
      }
      // Partitions assigned meanwhile are not ours to process any more: stop them too.
      pauseForIdle(assigned_);
    }
  }
  // Leaving the group revokes what is left through onRebalance (the listener commits first).
  if (auto e = rd_kafka_consumer_close(rk_); e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    log::event(spdlog::level::warn, "consumer_close_failed", {{"error", rd_kafka_err2str(e)}});
  }
  closed_ = true;
  log::event(spdlog::level::info, "kafka_consumer_closed",
             {{"records", std::to_string(probe_.records.load()), true},
              {"commits", std::to_string(probe_.commits.load()), true},
              {"commit_failures", std::to_string(probe_.commitFailures.load()), true},
              {"rebalances", std::to_string(probe_.rebalances.load()), true}});
  return {};
}

std::shared_ptr<void> KafkaSource::instrument(metrics::Registry& registry, const std::string& service) {
  return addConsumerCollector(registry, probe_, service);
}

std::optional<std::string> KafkaSource::notReady() const {
  if (probe_.assignedPartitions.load() > 0) return std::nullopt;
  return "no partitions assigned: not yet in the consumer group, or more members than partitions";
}

}  // namespace cdc::kafka
