#include "adapters/kafka/alert_publisher.h"

#include "core/log.h"

namespace cdc::kafka {

KafkaAlertSink::KafkaAlertSink(std::unique_ptr<KafkaProducer> producer, std::string topic,
                               std::chrono::milliseconds deliveryTimeout)
    : producer_(std::move(producer)), topic_(std::move(topic)), deliveryTimeout_(deliveryTimeout) {
  // The first alert of a run is then not held up by the topic's look-up (or creation): the
  // inventory's positions wait for its delivery.
  producer_->prepare(topic_);
}

Status KafkaAlertSink::publish(std::span<const inventory::LowStockAlert> alerts) {
  size_t queued = 0;
  for (const auto& a : alerts) {
    std::string key = std::to_string(a.productId), value = a.toJson();
    OutgoingMessage m{.topic = topic_, .key = key, .value = value};
    m.headers.emplace_back("alert_id", a.id());
    // The change's trace goes on with the alert (W3C Trace Context over Kafka headers).
    if (!a.traceparent.empty()) m.headers.emplace_back("traceparent", a.traceparent);
    auto s = producer_->produce(m);
    if (!s) {
      log::event(spdlog::level::err, "alert_not_published", {{"topic", topic_}, {"error", s.error().message}},
                 parseTraceParent(a.traceparent));
      continue;
    }
    ++queued;
    sent_.emplace_back(a.productId, a.crossing);
  }
  rejected_ += alerts.size() - queued;
  return {};
}

bool KafkaAlertSink::settled(bool force) {
  if (!force && producer_->outstanding() > 0) return false;
  // Nothing queued (a flush returns at once) or forced: what failed is reported once.
  auto flushed = producer_->flush(force ? deliveryTimeout_ : std::chrono::milliseconds(0));
  if (flushed) acknowledged_.insert(acknowledged_.end(), sent_.begin(), sent_.end());
  sent_.clear();  // what failed keeps its outbox entry
  if (auto s = flushed; !s) {
    // Fatal: the brokers refused some (already logged one by one); Retry: still queued at the
    // timeout, and librdkafka keeps trying until message.timeout.ms.
    log::event(spdlog::level::err, "alerts_not_delivered", {{"topic", topic_}, {"error", s.error().message}});
  }
  return true;
}

bool FanoutAlertSink::settled(bool force) {
  bool all = true;
  for (auto* sink : sinks_) all = sink->settled(force) && all;
  return all;
}

std::vector<std::pair<int64_t, int64_t>> FanoutAlertSink::takeAcknowledged() {
  std::vector<std::pair<int64_t, int64_t>> last;
  for (auto* sink : sinks_) last = sink->takeAcknowledged();
  return last;
}

Status FanoutAlertSink::publish(std::span<const inventory::LowStockAlert> alerts) {
  for (auto* sink : sinks_) {
    if (auto s = sink->publish(alerts); !s) return s;
  }
  return {};
}

}  // namespace cdc::kafka
