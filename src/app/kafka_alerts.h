#pragma once

#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "adapters/kafka/message_publisher.h"
#include "services/inventory/alerts.h"

namespace cdc::app {

// The inventory's low-stock alerts as Kafka messages: keyed by product id (one product's
// alerts stay in order in one partition), the alert's JSON as the value, its id in an
// `alert_id` header and its change's trace context in `traceparent` (W3C Trace Context over
// Kafka headers). Delivery, transactions and acknowledgements are the publisher's.
class KafkaAlertSink final : public inventory::AlertSink {
 public:
  explicit KafkaAlertSink(std::shared_ptr<kafka::MessagePublisher> publisher) : publisher_(std::move(publisher)) {}
  Status publish(std::span<const inventory::LowStockAlert> alerts) override;
  bool settled(bool force) override { return publisher_->settled(force); }
  std::vector<std::pair<int64_t, int64_t>> takeAcknowledged() override;

 private:
  std::shared_ptr<kafka::MessagePublisher> publisher_;
};

kafka::Publication alertMessage(const inventory::LowStockAlert& alert);

}  // namespace cdc::app
