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

  uint64_t published() const { return producer_->delivered(); }
  // Refused when queued or reported failed by the brokers.
  uint64_t failed() const { return rejected_ + producer_->failed(); }

 private:
  std::unique_ptr<KafkaProducer> producer_;
  std::string topic_;
  std::chrono::milliseconds deliveryTimeout_;
  uint64_t rejected_ = 0;
};

// Sends each alert to every sink in turn (the log, then Kafka).
class FanoutAlertSink final : public inventory::AlertSink {
 public:
  explicit FanoutAlertSink(std::vector<inventory::AlertSink*> sinks) : sinks_(std::move(sinks)) {}
  Status publish(std::span<const inventory::LowStockAlert> alerts) override;
  bool settled(bool force) override;

 private:
  std::vector<inventory::AlertSink*> sinks_;
};

}  // namespace cdc::kafka
