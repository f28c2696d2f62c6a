#include "app/kafka_alerts.h"

namespace cdc::app {

kafka::Publication alertMessage(const inventory::LowStockAlert& alert) {
  kafka::Publication p{.id = alert.id(), .key = std::to_string(alert.productId), .value = alert.toJson()};
  p.headers.emplace_back("alert_id", p.id);
  if (!alert.traceparent.empty()) p.headers.emplace_back("traceparent", alert.traceparent);
  return p;
}

Status KafkaAlertSink::publish(std::span<const inventory::LowStockAlert> alerts) {
  std::vector<kafka::Publication> messages;
  messages.reserve(alerts.size());
  for (const auto& a : alerts) messages.push_back(alertMessage(a));
  return publisher_->publish(messages);
}

std::vector<std::pair<int64_t, int64_t>> KafkaAlertSink::takeAcknowledged() {
  std::vector<std::pair<int64_t, int64_t>> out;
  for (const auto& id : publisher_->takeAcknowledged()) {
    if (auto ack = inventory::LowStockAlert::parseId(id)) out.push_back(*ack);
  }
  return out;
}

}  // namespace cdc::app
