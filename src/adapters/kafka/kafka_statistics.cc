#include "adapters/kafka/kafka_statistics.h"

#include <algorithm>

#include <simdjson.h>

namespace cdc::kafka {
namespace {

int64_t intOr(simdjson::dom::element e, std::string_view key, int64_t otherwise) {
  int64_t v = 0;
  return e[key].get_int64().get(v) == simdjson::SUCCESS ? v : otherwise;
}

std::string stringOr(simdjson::dom::element e, std::string_view key) {
  std::string_view v;
  return e[key].get_string().get(v) == simdjson::SUCCESS ? std::string(v) : std::string();
}

}  // namespace

Result<ConsumerStatistics> parseStatistics(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto err = parser.parse(json.data(), json.size()).get(root); err) {
    return fail(Error::poison(std::string("librdkafka statistics: ") + simdjson::error_message(err)));
  }
  ConsumerStatistics s;
  s.timestampMicros = intOr(root, "time", 0) * 1'000'000;
  s.receivedMessages = intOr(root, "rxmsgs", 0);
  s.receivedBytes = intOr(root, "rxmsg_bytes", 0);
  simdjson::dom::element cgrp;
  if (root["cgrp"].get(cgrp) == simdjson::SUCCESS) {
    s.rebalances = intOr(cgrp, "rebalance_cnt", 0);
    s.groupState = stringOr(cgrp, "state");
  }
  simdjson::dom::object topics;
  if (root["topics"].get_object().get(topics) != simdjson::SUCCESS) return s;
  for (auto [topicName, topic] : topics) {
    simdjson::dom::object partitions;
    if (topic["partitions"].get_object().get(partitions) != simdjson::SUCCESS) continue;
    for (auto [key, p] : partitions) {
      int64_t id = intOr(p, "partition", -1);
      if (id < 0) continue;  // the internal unassigned partition
      std::string state = stringOr(p, "fetch_state");
      bool desired = false;
      if (p["desired"].get_bool().get(desired) != simdjson::SUCCESS) desired = false;
      if (!desired && (state.empty() || state == "none")) continue;
      PartitionStatistics ps;
      ps.topic = std::string(topicName);
      ps.partition = static_cast<int32_t>(id);
      // From the committed offset; with positions committed in a producer's transactions (the
      // inventory's exactly-once alerts) the consumer has none of its own: from the position of
      // the last record it handed over (stored automatically) instead.
      ps.consumerLag = intOr(p, "consumer_lag", -1);
      if (ps.consumerLag < 0) ps.consumerLag = intOr(p, "consumer_lag_stored", -1);
      ps.highWatermark = intOr(p, "hi_offset", -1);
      ps.committedOffset = intOr(p, "committed_offset", -1);
      ps.position = intOr(p, "app_offset", -1);
      ps.fetchQueueMessages = intOr(p, "fetchq_cnt", 0);
      ps.fetchQueueBytes = intOr(p, "fetchq_size", 0);
      ps.fetchState = std::move(state);
      s.partitions.push_back(std::move(ps));
    }
  }
  std::sort(s.partitions.begin(), s.partitions.end(),
            [](const auto& a, const auto& b) { return std::tie(a.topic, a.partition) < std::tie(b.topic, b.partition); });
  return s;
}

}  // namespace cdc::kafka
