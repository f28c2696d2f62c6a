#include "adapters/kafka/message_publisher.h"

#include "core/log.h"

namespace cdc::kafka {

std::string traceparentOf(const Publication& p) {
  for (const auto& [name, value] : p.headers) {
    if (name == "traceparent") return value;
  }
  return {};
}

KafkaPublisher::KafkaPublisher(std::unique_ptr<KafkaProducer> producer, std::string topic, std::string what,
                               std::chrono::milliseconds deliveryTimeout)
    : producer_(std::move(producer)), topic_(std::move(topic)), what_(std::move(what)), deliveryTimeout_(deliveryTimeout) {
  // The first message of a run is then not held up by the topic's look-up (or creation): the
  // caller's positions wait for its delivery.
  producer_->prepare(topic_);
}

Status KafkaPublisher::publish(std::span<const Publication> messages) {
  size_t queued = 0;
  for (const auto& p : messages) {
    OutgoingMessage m{.topic = topic_, .key = p.key, .value = p.value, .headers = p.headers};
    auto s = producer_->produce(m);
    if (!s) {
      log::event(spdlog::level::err, what_ + "_not_published", {{"topic", topic_}, {"error", s.error().message}},
                 parseTraceParent(traceparentOf(p)));
      continue;
    }
    ++queued;
    sent_.push_back(p.id);
  }
  rejected_ += messages.size() - queued;
  return {};
}

bool KafkaPublisher::settled(bool force) {
  if (!force && producer_->outstanding() > 0) return false;
  // Nothing queued (a flush returns at once) or forced: what failed is reported once.
  auto flushed = producer_->flush(force ? deliveryTimeout_ : std::chrono::milliseconds(0));
  if (flushed) acknowledged_.insert(acknowledged_.end(), sent_.begin(), sent_.end());
  sent_.clear();  // what failed is not acknowledged: its sender keeps it
  if (auto s = flushed; !s) {
    // Fatal: the brokers refused some (already logged one by one); Retry: still queued at the
    // timeout, and librdkafka keeps trying until message.timeout.ms.
    log::event(spdlog::level::err, what_ + "s_not_delivered", {{"topic", topic_}, {"error", s.error().message}});
  }
  return true;
}

}  // namespace cdc::kafka
