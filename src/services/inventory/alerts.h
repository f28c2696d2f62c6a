#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace cdc::inventory {

// Available stock of a product fell below the threshold (once per downward crossing). Its id,
// "<product>-<crossing>", is stable: the crossing's number is counted in the product's item, in
// the same write as the stock change, so a redelivery or a replay that publishes it again
// publishes the same id.
struct LowStockAlert {
  int64_t productId = 0;
  int64_t crossing = 0;  // 1 for the product's first downward crossing, then 2 …
  std::string name;
  int64_t stock = 0;
  int64_t threshold = 0;
  int64_t sourceTsMs = 0;   // when the change that crossed the threshold was committed
  std::string traceparent;  // the W3C trace context of that change's record, when it had one
  // Where that change's record is (its topic, partition, offset): the publication of the alert
  // is part of the commit of that position.
  std::string sourceTopic;
  int32_t sourcePartition = -1;
  int64_t sourceOffset = -1;

  // "<product>-<crossing>".
  std::string id() const;
  // The product and crossing an id names; nullopt when it is not one.
  static std::optional<std::pair<int64_t, int64_t>> parseId(std::string_view id);
  // {"type":"low_stock","alert_id":…,"product_id":…,"crossing":…,"name":…,"stock_quantity":…,
  //  "threshold":…,"timestamp":…}
  std::string toJson() const;
  // The pending alert as its product's item keeps it until it is published (its outbox entry),
  // and back.
  std::string toOutbox() const;
  static std::optional<LowStockAlert> fromOutbox(int64_t productId, int64_t crossing, std::string_view text);
};

// Where alerts go once the change that raised them is durable. Implementations: the
// structured log (always) and the Kafka topic ALERTS_TOPIC (with the Kafka adapter).
class AlertSink {
 public:
  virtual ~AlertSink() = default;
  // Hands the alerts over without waiting for a broker.
  virtual Status publish(std::span<const LowStockAlert> alerts) = 0;
  // Whether every alert published so far is delivered (or given up on, and logged), so that
  // the positions of the changes that raised them may be committed; `force`: wait for that now
  // (a bounded wait, then give up on what is left).
  virtual bool settled(bool force) {
    (void)force;
    return true;
  }
  // The alerts (by product and crossing) known to be on their destination since the last call:
  // their outbox entries may go.
  virtual std::vector<std::pair<int64_t, int64_t>> takeAcknowledged() { return {}; }
};

// Logs each alert as one structured line and counts them.
class LogAlertSink final : public AlertSink {
 public:
  Status publish(std::span<const LowStockAlert> alerts) override;
  // What it logged (a log line is its destination).
  std::vector<std::pair<int64_t, int64_t>> takeAcknowledged() override { return std::exchange(logged_, {}); }
  uint64_t count() const { return count_.load(); }

 private:
  std::atomic<uint64_t> count_{0};
  std::vector<std::pair<int64_t, int64_t>> logged_;
};

// Sends each alert to every sink in turn (the log, then Kafka).
class FanoutAlertSink final : public AlertSink {
 public:
  explicit FanoutAlertSink(std::vector<AlertSink*> sinks) : sinks_(std::move(sinks)) {}
  Status publish(std::span<const LowStockAlert> alerts) override;
  bool settled(bool force) override;
  // The last sink's (the topic's): the outbox entries go once the alerts are there.
  std::vector<std::pair<int64_t, int64_t>> takeAcknowledged() override;

 private:
  std::vector<AlertSink*> sinks_;
};

}  // namespace cdc::inventory
