#include "adapters/kafka/kafka_source.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <thread>
#include <utility>

#include "adapters/kafka/consumer_metrics.h"
#include "core/log.h"

namespace cdc::kafka {

namespace {

// What the source refuses to run with, and the properties it sets: no auto-commit (offsets are
// committed once their effects are durable), end-of-partition events (--until-caught-up's end),
// the earliest offsets by default, statistics every 15 s.
Status checkAndComplete(Properties& props, const std::vector<std::string>& topics) {
  if (!findProperty(props, "bootstrap.servers")) {
    return fail(Error::fatal("KAFKA_BOOTSTRAP_SERVERS: not set (the Kafka source needs the brokers' addresses)"));
  }
  if (!findProperty(props, "group.id")) return fail(Error::fatal("KAFKA_GROUP_ID: not set"));
  if (const auto* p = findProperty(props, "enable.auto.commit"); p && p->value != "false") {
    return fail(Error::fatal(p->origin + ": offsets are committed once their effects are durable; "
                                         "enable.auto.commit cannot be turned on"));
  }
  if (topics.empty()) return fail(Error::fatal("no topics to consume"));
  setProperty(props, "enable.auto.commit", "false", "the Kafka source");
  // End-of-partition events tell --until-caught-up where the end is, control records included.
  setProperty(props, "enable.partition.eof", "true", "the Kafka source");
  setDefault(props, "auto.offset.reset", "earliest");
  setDefault(props, "statistics.interval.ms", "15000");
  // The prefetch queue (queued.max.messages.kbytes, librdkafka's 64 MiB by default for the
  // whole consumer) is the only buffer between the broker and a batch. Smaller queues cost
  // throughput: at 16 MiB the fetcher idles between refills (measured: 3.5x slower analytics).
  return {};
}

// KIP-848's protocol: the broker assigns (always incrementally) and keeps the session; the
// member's own assignor and timeouts are refused by librdkafka, here by the name the user set.
// The classic protocol assigns cooperative-sticky by default. True under the consumer protocol.
Result<bool> checkGroupProtocol(Properties& props) {
  const auto* protocol = findProperty(props, "group.protocol");
  if (!protocol || protocol->value != "consumer") {
    setDefault(props, "partition.assignment.strategy", "cooperative-sticky");
    return false;
  }
  for (std::string_view classicOnly :
       {"partition.assignment.strategy", "session.timeout.ms", "heartbeat.interval.ms", "group.protocol.type"}) {
    if (const auto* p = findProperty(props, classicOnly)) {
      return fail(
          Error::fatal(fmt::format("{}: {} belongs to the classic group protocol; under {}=consumer the "
                                   "broker decides it (group.consumer.* broker settings, "
                                   "group.remote.assignor for the assignor)",
                                   p->origin, classicOnly, protocol->origin)));
    }
  }
  return true;
}

std::chrono::milliseconds millisOf(const Properties& props, std::string_view name, std::chrono::milliseconds otherwise) {
  const auto* p = findProperty(props, name);
  return p ? std::chrono::milliseconds(std::strtoll(p->value.c_str(), nullptr, 10)) : otherwise;
}

}  // namespace

Result<std::unique_ptr<KafkaSource>> KafkaSource::open(KafkaSourceOptions options) {
  Properties& props = options.properties;
  if (auto s = checkAndComplete(props, options.topics); !s) return fail(s.error());
  auto consumerProtocol = checkGroupProtocol(props);
  if (!consumerProtocol) return fail(consumerProtocol.error());
  auto conf = makeConf(props);
  if (!conf) return fail(conf.error());
  std::unique_ptr<KafkaSource> self(new KafkaSource(std::move(options), nullptr));
  // librdkafka does not mix eager and cooperative assignors, so the configured strategy names
  // the group's protocol; asking librdkafka instead answers NULL or "NONE" once the member is out
  // of the group (at close, or fenced), when the revocation still has to use the right unassign.
  const Properties& set = self->options_.properties;
  self->cooperative_ =
      *consumerProtocol || findProperty(set, "partition.assignment.strategy")->value.find("cooperative") != std::string::npos;
  self->maxPollInterval_ = millisOf(set, "max.poll.interval.ms", std::chrono::milliseconds(300'000));  // librdkafka's default
  // enable.auto.commit is off; its interval paces the asynchronous commits of what the runner
  // reports durable (a commit per batch would queue thousands a second at the coordinator).
  self->commitInterval_ = millisOf(set, "auto.commit.interval.ms", std::chrono::milliseconds(1000));
  self->probe_.protocol = *consumerProtocol ? "consumer" : "classic";
  const auto* assignor = findProperty(set, *consumerProtocol ? "group.remote.assignor" : "partition.assignment.strategy");
  self->probe_.assignor = assignor ? assignor->value : "broker default";
  if (auto s = self->start(std::move(*conf)); !s) return fail(s.error());
  return self;
}

Status KafkaSource::start(ConfPtr conf) {
  rd_kafka_conf_set_opaque(conf.get(), this);
  rd_kafka_conf_set_rebalance_cb(conf.get(), onRebalance);
  rd_kafka_conf_set_offset_commit_cb(conf.get(), onCommit);
  rd_kafka_conf_set_stats_cb(conf.get(), onStatistics);
  rd_kafka_conf_set_error_cb(conf.get(), onError);
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), err, sizeof err);
  if (!rk) return fail(Error::fatal(std::string("cannot create the Kafka consumer: ") + err));
  (void)conf.release();  // owned by rk from here on
  rk_ = rk;
  // Statistics, errors and logs go through the consumer queue, served by poll().
  rd_kafka_poll_set_consumer(rk);
  PartitionListPtr topics(rd_kafka_topic_partition_list_new(static_cast<int>(options_.topics.size())));
  for (const auto& t : options_.topics) rd_kafka_topic_partition_list_add(topics.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
  if (auto e = rd_kafka_subscribe(rk, topics.get()); e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return fail(Error::fatal(std::string("cannot subscribe: ") + rd_kafka_err2str(e)));
  }
  log::event(spdlog::level::info, "kafka_consumer_started",
             {{"properties", kafka::describe(options_.properties)}, {"librdkafka", rd_kafka_version_str()}});
  return {};
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

void KafkaSource::onCommit(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* offsets, void* opaque) {
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
      fatal_ =
          Error::fatal(fmt::format("topic {} does not exist on the brokers at {}: --until-caught-up cannot reach its end "
                                   "(check KAFKA_TOPICS, --topic-prefix)",
                                   m->rkt ? rd_kafka_topic_name(m->rkt) : "?", servers ? servers->value : ""));
      return;
    }
    if (!m->rkt) {
      groupError(m->err, rd_kafka_message_errstr(m));
      return;
    }
    log::event(spdlog::level::warn, "consumer_error",
               {{"topic", rd_kafka_topic_name(m->rkt)}, {"error", rd_kafka_message_errstr(m)}});
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
  appendHeaders(m, r.headers);
  ++probe_.records;
  if (options_.untilCaughtUp) {
    TopicPartition tp{std::string(r.topic), r.partition};
    if (auto end = endOffsets_.find(tp); end != endOffsets_.end() && r.offset + 1 >= end->second) reachedEnd_.insert(tp);
    delivered_[std::move(tp)] = r.offset + 1;
  }
}

Result<runtime::PollStatus> KafkaSource::poll(std::vector<runtime::Record>& out, size_t max, std::chrono::milliseconds timeout) {
  if (!fatal_ && options_.untilCaughtUp && !joined_ && options_.joinTimeout.count() > 0 &&
      options_.time->steady() - openedAt_ > options_.joinTimeout) {
    const auto* servers = findProperty(options_.properties, "bootstrap.servers");
    fatal_ = Error::fatal(fmt::format(
        "no partition assigned within {} s (KAFKA_BROKER_TIMEOUT): {}",
        std::chrono::duration_cast<std::chrono::seconds>(options_.joinTimeout).count(),
        lastError_.empty() ? "the group did not form (brokers at " + (servers ? servers->value : std::string()) + ")"
                           : "the brokers at " + (servers ? servers->value : std::string()) + " did not answer: " + lastError_));
  }
  if (fatal_) return fail(*fatal_);
  if (closed_) return runtime::PollStatus::End;
  struct Polling {
    KafkaSource& self;
    ~Polling() { self.polling_ = nullptr; }
  } polling{*this};
  polling_ = &out;
  pollStart_ = out.size();
  idleFrom_.reset();
  resumeAfterIdle();
  sendCommits();
  checkIdle();
  size_t before = out.size();
  while (!buffered_.empty() && out.size() - before < max) {
    out.push_back(std::move(buffered_.front()));
    buffered_.pop_front();
  }
  auto deadline = options_.time->steady() + timeout;
  bool done = false;
  while (out.size() - before < max) {
    int waitMs = 0;
    if (out.size() == before) {
      if (options_.untilCaughtUp && finished()) {
        done = true;
        break;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - options_.time->steady()).count();
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
  auto now = options_.time->steady();
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
  if (transactions_) {
    (void)commitInTransaction(list.get());  // a failure is logged; a fatal one ends the next poll
    return;
  }
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
  if (transactions_) {
    if (auto s = commitInTransaction(list.get()); !s) return s;
    for (const auto& tp : partitions) unsent_.erase(tp);
    return {};
  }
  if (auto e = rd_kafka_commit(rk_, list.get(), 0); e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    ++probe_.commitFailures;
    log::event(spdlog::level::warn, "offset_commit_failed", {{"error", rd_kafka_err2str(e)}, {"sync", "true", true}});
    return fail(Error::retry(std::string("offset commit failed: ") + rd_kafka_err2str(e)));
  }
  for (const auto& tp : partitions) unsent_.erase(tp);
  return {};
}

void KafkaSource::dropPolled(const std::set<TopicPartition>& partitions) {
  auto dropped = [&](const runtime::Record& r) {
    return std::any_of(partitions.begin(), partitions.end(),
                       [&](const TopicPartition& tp) { return tp.partition == r.partition && tp.topic == r.topic; });
  };
  std::erase_if(buffered_, dropped);
  if (polling_ && polling_->size() > pollStart_) {
    polling_->erase(std::remove_if(polling_->begin() + static_cast<std::ptrdiff_t>(pollStart_), polling_->end(), dropped),
                    polling_->end());
  }
}

rd_kafka_resp_err_t KafkaSource::committedOffsets(rd_kafka_topic_partition_list_t* list) {
  // A transaction aborted because the brokers went away is often followed by a coordinator that
  // is not back yet: asked again for up to a minute before the offsets count as unknown.
  rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
  for (int tries = 0; tries < 6; ++tries) {
    e = rd_kafka_committed(rk_, list, 10'000);
    switch (e) {
      case RD_KAFKA_RESP_ERR__TIMED_OUT:
      case RD_KAFKA_RESP_ERR__TRANSPORT:
      case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
      case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
      case RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS:
      case RD_KAFKA_RESP_ERR_NOT_COORDINATOR:
        log::event(spdlog::level::warn, "committed_offsets_unanswered",
                   {{"error", rd_kafka_err2str(e)}, {"detail", "asking the group coordinator again"}});
        continue;
      default:
        return e;
    }
  }
  return e;
}

Status KafkaSource::commitInTransaction(rd_kafka_topic_partition_list_t* list) {
  std::unique_ptr<rd_kafka_consumer_group_metadata_t, void (*)(rd_kafka_consumer_group_metadata_t*)> group(
      rd_kafka_consumer_group_metadata(rk_), rd_kafka_consumer_group_metadata_destroy);
  auto outcome = transactions_->commitTransaction(list, group.get());
  if (!outcome) {
    ++probe_.commitFailures;
    log::event(spdlog::level::warn, "offset_commit_failed",
               {{"error", outcome.error().message}, {"transactional", "true", true}});
    if (outcome.error().kind == ErrorKind::Fatal) fatal_ = outcome.error();
    // Sent again with the next commit (what was queued with it is published again from the outbox).
    for (int i = 0; i < list->cnt; ++i) unsent_.insert({list->elems[i].topic, list->elems[i].partition});
    return fail(outcome.error());
  }
  if (*outcome == TransactionalCommitter::Outcome::Committed) {
    ++probe_.commits;
    return {};
  }
  return rewind(list);
}

Status KafkaSource::rewind(const rd_kafka_topic_partition_list_t* list) {
  // Aborted: neither the positions nor what was produced with them happened. The partitions
  // still assigned are read again from the group's committed offsets (the work since is applied
  // again, idempotently, and its alerts published again); the others belong to another member.
  PartitionListPtr back(rd_kafka_topic_partition_list_new(list->cnt));
  for (int i = 0; i < list->cnt; ++i) {
    if (assigned_.contains({list->elems[i].topic, list->elems[i].partition})) {
      rd_kafka_topic_partition_list_add(back.get(), list->elems[i].topic, list->elems[i].partition);
    }
  }
  if (back->cnt == 0) return {};
  auto rewound = toVector(back.get());
  // Nothing polled of them before now is applied: it comes again, after the records before it.
  dropPolled({rewound.begin(), rewound.end()});
  if (listener_) listener_->onRewound(rewound);
  if (rd_kafka_assignment_lost(rk_)) {
    // The group took them away already (the session expired while the brokers were away): the
    // revocation the next poll serves drops them, and whoever owns them next reads them from the
    // committed offsets. (librdkafka answers no offset query until that revocation is served.)
    for (const auto& tp : rewound) {
      durable_.erase(tp);
      unsent_.erase(tp);
    }
    log::event(spdlog::level::warn, "partitions_rewound",
               {{"partitions", std::to_string(back->cnt), true},
                {"detail", "the assignment is lost: their next owner reads them from the committed offsets"}});
    return {};
  }
  if (auto e = committedOffsets(back.get()); e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    fatal_ = Error::fatal(std::string("after an aborted transaction, the committed offsets are unknown: ") + rd_kafka_err2str(e));
    return fail(*fatal_);
  }
  for (int i = 0; i < back->cnt; ++i) {
    auto& el = back->elems[i];
    if (el.offset < 0) el.offset = RD_KAFKA_OFFSET_BEGINNING;  // nothing committed yet: from the start
    TopicPartition tp{el.topic, el.partition};
    durable_[tp] = std::max<int64_t>(el.offset, 0);
    unsent_.erase(tp);
  }
  ErrorPtr e(rd_kafka_seek_partitions(rk_, back.get(), 10'000));
  if (e) {
    fatal_ = Error::fatal(std::string("after an aborted transaction, cannot read again from the committed offsets: ") +
                          rd_kafka_error_string(e.get()));
    return fail(*fatal_);
  }
  log::event(spdlog::level::warn, "partitions_rewound",
             {{"partitions", std::to_string(back->cnt), true},
              {"offsets", describeOffsets(back.get())},
              {"detail", "reading again from the committed offsets"}});
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
  auto now = options_.time->steady();
  if (!idleFrom_) idleFrom_ = now;
  if (!idlePaused_) {
    // Within idleFetchingFor of the last poll the fetch goes on and the group waits for the
    // next poll: nothing is polled here, so nothing is buffered.
    auto left = std::chrono::ceil<std::chrono::milliseconds>(*idleFrom_ + options_.idleFetchingFor - now);
    auto fetching = std::clamp(left, std::chrono::milliseconds(0), duration);
    std::this_thread::sleep_for(fetching);
    duration -= fetching;
    if (duration.count() <= 0) return;
  }
  if (!idlePaused_ || quietPause_) {
    idlePaused_ = true;
    quietPause_ = false;
    ++probe_.pauses;
    probe_.paused = true;
    pauseForIdle(assigned_);
    log::event(spdlog::level::info, "consumer_paused",
               {{"partitions", std::to_string(assigned_.size()), true},
                {"reason", "the next batch waits (a retry's back-off, the rate cap); fetching stops until it is taken"}});
  }
  auto deadline = options_.time->steady() + duration;
  std::vector<runtime::Record> early;
  while (!fatal_) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - options_.time->steady()).count();
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
    auto deadline = options_.time->steady() + std::chrono::seconds(10);
    while (!commitSync(assigned_) && options_.time->steady() < deadline && !fatal_) {
      auto until = options_.time->steady() + std::chrono::milliseconds(500);
      while (options_.time->steady() < until) {
        if (rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, 100)) rd_kafka_message_destroy(m);
      }
      // Partitions assigned meanwhile are not ours to process any more: stop them too.
      pauseForIdle(assigned_);
    }
  }
  // A rebalance event still queued (partitions given while the last batch was being written) is
  // served before leaving: librdkafka 2.14 with group.protocol=consumer, closing with an
  // assignment pending, turns it into an unassign and leaves, then waits for ever on the
  // revocation it hands us after that (seen in the fleet suite).
  for (int i = 0; i < 10; ++i) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, 0);
    if (!m) break;
    rd_kafka_message_destroy(m);  // a record of a paused partition: its next owner reads it again
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
  // A member the settled group left without any of its topics' partitions is a standby, ready
  // to take some over.
  if (probe_.idle.load() && probe_.subscribedPartitions.load() > 0) return std::nullopt;
  return "no partitions assigned: not in the consumer group yet, or its topics have none";
}

}  // namespace cdc::kafka
