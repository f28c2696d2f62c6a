#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "adapters/kafka/kafka_config.h"
#include "core/result.h"

namespace cdc::kafka {

struct OutgoingMessage {
  std::string_view topic;
  int32_t partition = -1;  // -1: the partitioner picks (by key)
  std::optional<std::string_view> key;
  std::optional<std::string_view> value;  // nullopt: a tombstone
  std::vector<std::pair<std::string, std::string>> headers;
  int64_t timestampMs = 0;  // CreateTime; 0: now
};

// An idempotent Kafka producer whose delivery reports are checked: flush() waits for every
// queued message and says how many the brokers refused since the last flush.
// One thread produces and flushes; delivery reports are served inside produce() and flush().
class KafkaProducer {
 public:
  static Result<std::unique_ptr<KafkaProducer>> open(Properties properties);
  ~KafkaProducer();

  // Queues one message; waits for room when the local queue is full.
  Status produce(const OutgoingMessage& message);
  // Waits until every queued message is delivered or failed. Retry when some are still
  // undelivered at the timeout or failed for a passing reason (brokers unreachable until
  // message.timeout.ms, no leader); Fatal naming the first error when the brokers refused some
  // (not authorized, no such topic, too large).
  Status flush(std::chrono::milliseconds timeout);

  // Looks up `topic` now, in the background (the brokers create it if they auto-create topics),
  // so that the first message to it does not wait for the metadata round trips.
  void prepare(const std::string& topic);

  // Waits for a round trip to the brokers (a metadata request), up to `timeout`: false when none
  // answered. A producer that paces its messages starts its clock after it.
  bool connected(std::chrono::milliseconds timeout);
  // The latest error librdkafka reported (a broker not answering …), empty if none.
  std::string lastError() const;

  // Messages queued and not yet delivered or failed (serving the delivery reports first).
  size_t outstanding();

  // The client, for admin requests on the same connections (creating a topic …).
  rd_kafka_t* handle() const { return rk_; }

  uint64_t delivered() const { return delivered_.load(); }
  uint64_t failed() const { return failed_.load(); }

 private:
  explicit KafkaProducer(rd_kafka_t* rk) : rk_(rk) {}
  static void onDelivery(rd_kafka_t* rk, const rd_kafka_message_t* message, void* opaque);
  static void onError(rd_kafka_t* rk, int err, const char* reason, void* opaque);

  rd_kafka_t* rk_;                           // owned
  std::vector<rd_kafka_topic_t*> prepared_;  // owned, destroyed before rk_
  std::atomic<uint64_t> delivered_{0};
  std::atomic<uint64_t> failed_{0};
  uint64_t failedAtFlush_ = 0;
  std::string firstError_;
  bool firstErrorPasses_ = false;  // the first failure since the last flush was a passing one
  mutable std::mutex errorMutex_;  // the callbacks run on whichever thread serves the producer
  std::string lastError_;
};

}  // namespace cdc::kafka
