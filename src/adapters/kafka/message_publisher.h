#pragma once

#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "adapters/kafka/kafka_producer.h"
#include "core/result.h"

namespace cdc::kafka {

// A message for one topic, with the id it is acknowledged by (and, within a transaction, told
// apart from a second copy by).
struct Publication {
  std::string id;
  std::string key;
  std::string value;
  std::vector<std::pair<std::string, std::string>> headers;  // a "traceparent" one is logged with failures
};

// Messages that must be on their topic before the positions of the records that raised them
// are committed. One thread (the runner's).
class MessagePublisher {
 public:
  virtual ~MessagePublisher() = default;
  // Hands the messages over without waiting for a broker.
  virtual Status publish(std::span<const Publication> messages) = 0;
  // Whether every message published so far is delivered (or given up on, and logged);
  // `force`: wait for that now (a bounded wait, then give up on what is left).
  virtual bool settled(bool force) = 0;
  // The ids of the messages known to be on the topic since the last call.
  virtual std::vector<std::string> takeAcknowledged() = 0;
};

// Publishes with an idempotent producer and checks the delivery reports: a refused or
// undelivered message is logged and counted, and the caller goes on. `what` names the messages
// in the log's events ("alert": alert_not_published, alerts_not_delivered).
class KafkaPublisher final : public MessagePublisher {
 public:
  KafkaPublisher(std::unique_ptr<KafkaProducer> producer, std::string topic, std::string what,
                 std::chrono::milliseconds deliveryTimeout = std::chrono::seconds(10));
  // Queues the messages: the pipeline does not wait for the brokers.
  Status publish(std::span<const Publication> messages) override;
  // Delivered when nothing is queued; `force` flushes for up to the delivery timeout.
  bool settled(bool force) override;
  // The messages delivered since the last call (every one queued before a flush that succeeded).
  std::vector<std::string> takeAcknowledged() override { return std::exchange(acknowledged_, {}); }

  uint64_t published() const { return producer_->delivered(); }
  // Refused when queued or reported failed by the brokers.
  uint64_t failed() const { return rejected_ + producer_->failed(); }

 private:
  std::unique_ptr<KafkaProducer> producer_;
  std::string topic_;
  std::string what_;
  std::chrono::milliseconds deliveryTimeout_;
  uint64_t rejected_ = 0;
  std::vector<std::string> sent_;  // queued since the last flush
  std::vector<std::string> acknowledged_;
};

// The message's W3C trace context, when it carries one, for the log line of a failure.
std::string traceparentOf(const Publication& p);

}  // namespace cdc::kafka
