#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "adapters/kafka/kafka_config.h"
#include "adapters/kafka/kafka_producer.h"
#include "core/time.h"
#include "runtime/dead_letter.h"

namespace cdc::kafka {

// Kafka Connect's dead-letter context headers (errors.deadletterqueue.context.headers.enable).
inline constexpr std::string_view kConnectTopicHeader = "__connect.errors.topic";
inline constexpr std::string_view kConnectPartitionHeader = "__connect.errors.partition";
inline constexpr std::string_view kConnectOffsetHeader = "__connect.errors.offset";
inline constexpr std::string_view kConnectNameHeader = "__connect.errors.connector.name";
inline constexpr std::string_view kConnectStageHeader = "__connect.errors.stage";
inline constexpr std::string_view kConnectClassHeader = "__connect.errors.exception.class.name";
inline constexpr std::string_view kConnectMessageHeader = "__connect.errors.exception.message";
// Ours, beside the replay headers of runtime/dead_letter.h.
inline constexpr std::string_view kDeadLetteredAtHeader = "cdc-dlq-dead-lettered-at";
inline constexpr std::string_view kTimestampHeader = "cdc-dlq-timestamp-ms";
// A resolution marker: no key, no value, and these two headers.
inline constexpr std::string_view kResolvesHeader = "cdc-dlq-resolves";      // "<partition>@<offset>" of the letter
inline constexpr std::string_view kResolutionHeader = "cdc-dlq-resolution";  // replayed | purged

using Headers = std::vector<std::pair<std::string, std::string>>;

// One record of a dead-letter topic as read back.
struct DeadLetterRecord {
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestampMs = -1;
  std::optional<std::string> key;
  std::optional<std::string> value;
  Headers headers;
};

// A letter as the record a dead-letter topic holds: the original key and value, the original
// headers, then Kafka Connect's context headers and ours (attempts, first failure, when).
Headers deadLetterHeaders(const runtime::DeadLetter& letter);

// What a dead-letter topic holds, sorted out: the letters waiting (the latest of each original
// record, unless a marker resolved it), in topic order, and per partition of the topic the
// first offset still needed (everything before it may be deleted).
struct DeadLetterScan {
  std::vector<runtime::DeadLetter> waiting;
  std::map<int32_t, int64_t> keepFrom;
  std::map<int32_t, int64_t> starts;  // each partition's first offset when read (KafkaDeadLetterStore::scan)
  size_t foreign = 0;                 // records that are neither our letters nor markers (left alone)
};
DeadLetterScan sortOut(std::string_view dlqTopic, const std::vector<DeadLetterRecord>& records,
                       const std::map<int32_t, int64_t>& ends);

struct KafkaDeadLetterOptions {
  Properties properties;  // bootstrap.servers and the KAFKA_* passthrough (security …)
  std::string topic;      // DLQ_TOPIC
  std::string origin;     // where the topic's name came from, for errors
  // Create the topic when it is missing (a service at start-up; the dlq commands only read).
  bool create = true;
  std::chrono::milliseconds timeout{30'000};  // one write's delivery, one admin request
  const TimeSource* time = &systemTime();     // the reads' deadline
};

// Dead letters in a Kafka topic (DLQ=kafka), as Kafka Connect writes them: each letter is the
// failed record's key, value and headers with the error context in headers, its timestamp the
// record's. Taking a letter out (replayed, purged) appends a marker naming it; the letters
// waiting are the latest of each original record that no marker names. reclaim() deletes the
// records before the first letter still waiting (DeleteRecords). A letter is written by an
// idempotent producer and waited for (durable when write returns Ok).
class KafkaDeadLetterStore final : public runtime::DeadLetterStore {
 public:
  // Connects, and with `create` makes the topic when it does not exist (one partition, the
  // brokers' replication factor, as Kafka Connect does): Fatal naming the topic otherwise.
  static Result<std::unique_ptr<KafkaDeadLetterStore>> open(KafkaDeadLetterOptions options);

  Status write(const runtime::DeadLetter& letter) override;
  Result<std::vector<runtime::DeadLetter>> list(const runtime::DeadLetterFilter& filter) override;
  Status remove(const runtime::DeadLetter& letter, runtime::Resolution why) override;
  Result<std::string> reclaim() override;
  std::string describe() const override { return "Kafka topic " + options_.topic; }
  std::string_view locationName() const override { return "record"; }

  uint64_t written() const { return written_; }

 private:
  KafkaDeadLetterStore(KafkaDeadLetterOptions options, std::unique_ptr<KafkaProducer> producer)
      : options_(std::move(options)), producer_(std::move(producer)) {}
  // The topic's partitions, or nullopt when the topic does not exist.
  Result<std::optional<std::vector<int32_t>>> partitions(std::chrono::milliseconds timeout);
  // Creates the topic when it is missing; with brokers that do not answer yet, leaves it to
  // the first write.
  Status ensureTopic(std::chrono::milliseconds timeout);
  Result<DeadLetterScan> scan();
  Status send(const OutgoingMessage& message);

  KafkaDeadLetterOptions options_;
  std::unique_ptr<KafkaProducer> producer_;
  uint64_t written_ = 0;
  bool checked_ = false;  // the topic is known to exist
};

}  // namespace cdc::kafka
