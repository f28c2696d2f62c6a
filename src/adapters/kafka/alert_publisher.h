#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "adapters/kafka/kafka_producer.h"
#include "services/inventory/alerts.h"

namespace cdc::kafka {

// Low-stock alerts as JSON messages on ALERTS_TOPIC, keyed by product id (one product's
// alerts stay in order in one partition). Each publish waits for the delivery reports: a
// refused or undelivered alert is logged and counted, and the inventory goes on (stock
// updates never wait on the alert topic).
class KafkaAlertSink final : public inventory::AlertSink {
 public:
  KafkaAlertSink(std::unique_ptr<KafkaProducer> producer, std::string topic,
                 std::chrono::milliseconds deliveryTimeout = std::chrono::seconds(10));
  // Queues the alerts: the pipeline does not wait for the brokers.
  Status publish(std::span<const inventory::LowStockAlert> alerts) override;
  // Delivered when nothing is queued; `force` flushes for up to the delivery timeout.
  bool settled(bool force) override;

  // The alerts delivered since the last call (every one queued before a flush that succeeded).
  std::vector<std::pair<int64_t, int64_t>> takeAcknowledged() override { return std::exchange(acknowledged_, {}); }
  uint64_t published() const { return producer_->delivered(); }
  // Refused when queued or reported failed by the brokers.
  uint64_t failed() const { return rejected_ + producer_->failed(); }

 private:
  std::unique_ptr<KafkaProducer> producer_;
  std::string topic_;
  std::chrono::milliseconds deliveryTimeout_;
  uint64_t rejected_ = 0;
  std::vector<std::pair<int64_t, int64_t>> sent_;  // queued since the last flush
  std::vector<std::pair<int64_t, int64_t>> acknowledged_;
};

// Sends each alert to every sink in turn (the log, then Kafka).
class FanoutAlertSink final : public inventory::AlertSink {
 public:
  explicit FanoutAlertSink(std::vector<inventory::AlertSink*> sinks) : sinks_(std::move(sinks)) {}
  Status publish(std::span<const inventory::LowStockAlert> alerts) override;
  bool settled(bool force) override;
  // The last sink's (the topic's): the outbox entries go once the alerts are there.
  std::vector<std::pair<int64_t, int64_t>> takeAcknowledged() override;

 private:
  std::vector<inventory::AlertSink*> sinks_;
};

}  // namespace cdc::kafka
