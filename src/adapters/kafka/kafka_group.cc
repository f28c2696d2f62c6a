// The member's partitions in its group: rebalances (assigned, revoked, lost), the start point of
// a partition the group has not committed (START_FROM), and when --until-caught-up is done.

#include <fmt/format.h>

#include "adapters/kafka/kafka_source.h"
#include "core/log.h"

namespace cdc::kafka {

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
  inGroup_ = true;
  noteAssignment();
  log::event(spdlog::level::info, "partitions_assigned",
             {{"partitions", describePartitions(tps)}, {"assigned", std::to_string(assigned_.size()), true}});
  if (listener_) listener_->onAssigned(tps);
}

void KafkaSource::noteAssignment() {
  probe_.setAssignment({assigned_.begin(), assigned_.end()});
  if (!assigned_.empty() || !inGroup_) {
    idleSince_.reset();
    probe_.idle = false;
  } else if (!idleSince_) {
    idleSince_ = options_.time->steady();
  }
}

void KafkaSource::checkIdle() {
  // A cooperative rebalance takes a moved partition away in one round and gives it in the next:
  // an empty assignment is idleness only once the group has settled.
  static constexpr auto kSettled = std::chrono::seconds(5);
  auto now = options_.time->steady();
  // A member that was not polling (stopped, or busy) does not know what the group did meanwhile:
  // the settling starts again.
  if (idleSince_ && now - lastIdleCheck_ > std::chrono::seconds(2)) idleSince_ = now;
  lastIdleCheck_ = now;
  if (!idleSince_ || probe_.idle || now - *idleSince_ < kSettled) return;
  probe_.idle = true;
  reportIdle();
}

void KafkaSource::reportIdle() {
  const auto* group = findProperty(options_.properties, "group.id");
  uint64_t partitions = 0;
  for (const auto& name : options_.topics) {
    if (!name.starts_with('^')) partitions += partitionsOf(name, 5'000).size();
  }
  probe_.subscribedPartitions = partitions;
  log::event(
      spdlog::level::info, "member_idle",
      {{"group", group ? group->value : ""},
       {"topic_partitions", std::to_string(partitions), true},
       {"detail", partitions == 0 ? std::string("its topics have no partitions yet (a table's topic appears with its first "
                                                "change): the member waits, not ready")
                                  : fmt::format("the group gave this member none of the {} partitions of its topics: the "
                                                "group has more members than partitions (replicas beyond {} stand by, "
                                                "ready, and take over when a member leaves)",
                                                partitions, partitions)}});
}

void KafkaSource::groupError(rd_kafka_resp_err_t err, const char* message) {
  const auto* group = findProperty(options_.properties, "group.id");
  probe_.countGroupError(rd_kafka_err2name(err));
  std::string detail;
  if (err == RD_KAFKA_RESP_ERR_INCONSISTENT_GROUP_PROTOCOL || err == RD_KAFKA_RESP_ERR_UNSUPPORTED_ASSIGNOR ||
      err == RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND) {
    detail = fmt::format(
        "the group's members speak another protocol or assignor than this one ({} protocol, {}): every member of a "
        "group needs the same GROUP_PROTOCOL and KAFKA_PARTITION_ASSIGNMENT_STRATEGY",
        probe_.protocol, probe_.assignor);
  }
  // The coordinator refuses each join (every couple of seconds): logged once a minute, counted always.
  auto now = options_.time->steady();
  if (lastGroupErrorLog_ && now - *lastGroupErrorLog_ < std::chrono::minutes(1)) return;
  lastGroupErrorLog_ = now;
  log::event(spdlog::level::err, "group_error",
             {{"group", group ? group->value : ""}, {"error", message}, {"protocol", probe_.protocol}, {"detail", detail}});
}

void KafkaSource::revoke(rd_kafka_topic_partition_list_t* partitions) {
  auto tps = toVector(partitions);
  std::set<TopicPartition> gone(tps.begin(), tps.end());
  bool lost = rd_kafka_assignment_lost(rk_);
  if (!lost) {
    // The runner finishes and commits the work of these partitions before they move.
    if (listener_) listener_->onRevoked(tps);
    (void)commitSync(gone);
  } else {
    // Another member owns them already (our session expired): their work in hand is dropped
    // unwritten and uncommitted; the new owner reads them again from the committed offsets.
    log::event(spdlog::level::warn, "partitions_lost",
               {{"partitions", describePartitions(tps)},
                {"detail", "the group moved on without us; their work in hand dropped, nothing written or committed"}});
    inGroup_ = false;
    if (listener_) listener_->onLost(tps);
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
    delivered_.erase(tp);
    synced_.erase(tp);
    pausedByCaller_.erase(tp);
  }
  dropPolled(gone);
  noteAssignment();
  log::event(spdlog::level::info, "partitions_revoked",
             {{"partitions", describePartitions(tps)}, {"assigned", std::to_string(assigned_.size()), true}});
}

bool KafkaSource::finished() {
  awaitsDurable_ = false;
  if (!joined_ || !buffered_.empty()) return false;
  if (!std::all_of(assigned_.begin(), assigned_.end(), [&](const auto& tp) { return reachedEnd_.contains(tp); })) {
    return false;
  }
  // Every record delivered so far has been processed (the runner polls again only then), but
  // its effects may not be durable yet: a handler that saves on a timer (the analytics
  // checkpoints) reports its positions with its next save. Until then the end is not committed:
  // the group would count as caught up, and its other members would leave with reports merged
  // from checkpoints older than the records (a crash meanwhile would lose them for good). The
  // runner, told by awaitsDurable(), has the handler save at once.
  awaitsDurable_ = std::any_of(assigned_.begin(), assigned_.end(), [&](const auto& tp) {
    auto got = delivered_.find(tp);
    if (got == delivered_.end()) return false;
    auto d = durable_.find(tp);
    return d == durable_.end() || d->second < got->second;
  });
  if (awaitsDurable_) return false;
  // Then the end-of-partition position is durable too: it lies past control records
  // (transaction markers) that no record's position covers.
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
  auto now = options_.time->steady();
  if (now - lastOwnCommit_ < std::chrono::milliseconds(200)) return false;
  lastOwnCommit_ = now;
  if (!commitSync(stale)) return false;
  for (const auto& tp : stale) synced_[tp] = durable_[tp];
  return true;
}

std::vector<int32_t> KafkaSource::partitionsOf(const std::string& name, int timeoutMs) {
  std::vector<int32_t> ids;
  rd_kafka_topic_t* topic = rd_kafka_topic_new(rk_, name.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  auto e = rd_kafka_metadata(rk_, 0, topic, &md, timeoutMs);
  if (e == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    for (int i = 0; i < md->topics[0].partition_cnt; ++i) ids.push_back(md->topics[0].partitions[i].id);
  }
  if (md) rd_kafka_metadata_destroy(md);
  rd_kafka_topic_destroy(topic);
  return ids;
}

void KafkaSource::loadGroupEnds() {
  for (const auto& name : options_.topics) {
    if (name.starts_with('^')) continue;
    for (int32_t partition : partitionsOf(name, 10'000)) {
      int64_t low = 0, high = 0;
      if (rd_kafka_query_watermark_offsets(rk_, name.c_str(), partition, &low, &high, 10'000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        groupEnds_[{name, partition}] = high > low ? high : -1;  // -1: empty, nothing to commit
      }
    }
  }
}

bool KafkaSource::groupCaughtUp() {
  auto now = options_.time->steady();
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

}  // namespace cdc::kafka
