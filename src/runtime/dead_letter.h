#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/time.h"
#include "runtime/record.h"
#include "runtime/source.h"
#include "store/object_store.h"

namespace cdc::runtime {

// A message that could not be processed, as stored in the dead-letter queue (SPEC §6).
struct DeadLetter {
  std::string service;
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestampMs = -1;  // the record's own timestamp
  std::optional<std::string> key;
  std::optional<std::string> value;  // the raw message
  std::string error;
  int attempts = 1;
  std::string deadLetteredAt;              // ISO-8601, when it was written
  std::optional<std::string> traceparent;  // the record's W3C trace context, when it had one
  // A replay that failed again keeps the first failure: its error and when it happened.
  std::optional<std::string> firstError;
  std::optional<std::string> firstDeadLetteredAt;
  // What refused it: decode (not a change event), rejected (the service's rules), store (the
  // store refused the write as invalid). Kafka Connect's __connect.errors.stage.
  std::string stage;
  // The record's own headers, without those a dead-letter queue adds (a Kafka dead-letter topic
  // keeps them; an object keeps the trace context only).
  std::vector<std::pair<std::string, std::string>> headers;
  // Where it lies (filled in when read back): its object key, or topic/partition@offset.
  std::string location;
};

// Which dead letters an operator means (cdc dlq list|replay|purge|export). Every part given
// must hold.
struct DeadLetterFilter {
  std::optional<std::string> service;    // "inventory-service"
  std::optional<std::string> topic;      // a topic, or its table ("products" for dbserver1.public.products)
  std::optional<std::string> errorText;  // a part of the error (the latest or the first)
  std::optional<Timestamp> since;        // dead-lettered at or after
  std::optional<Timestamp> before;       // dead-lettered before
  bool matches(const DeadLetter& letter) const;
  bool empty() const { return !service && !topic && !errorText && !since && !before; }
};

// Why a dead letter leaves the queue.
enum class Resolution { Replayed, Purged };

// Where dead letters are kept: objects (a directory or S3, DeadLetterQueue's layout) or a Kafka
// topic (adapters/kafka/kafka_dead_letters.h). One thread uses it at a time.
class DeadLetterStore {
 public:
  virtual ~DeadLetterStore() = default;
  // Durable when it returns Ok; writing the same letter again is harmless (the later one wins).
  virtual Status write(const DeadLetter& letter) = 0;
  // The letters waiting, those that match `filter`, in a stable order; each read once even when
  // it was written more than once.
  virtual Result<std::vector<DeadLetter>> list(const DeadLetterFilter& filter) = 0;
  // Takes `letter` (as `list` gave it) out of the queue. A replayed letter that failed again has
  // been written again meanwhile: that newer one stays.
  virtual Status remove(const DeadLetter& letter, Resolution why) = 0;
  // After removals: gives back the space of what was removed, where that is a separate step
  // (a Kafka topic's records before its first waiting letter); a message saying what it did.
  virtual Result<std::string> reclaim() { return std::string(); }
  // "objects under dlq/", "Kafka topic search-indexer-dlq" for logs and reports.
  virtual std::string describe() const = 0;
  // What a letter's location is: "object" (a key), "record" (topic/partition@offset).
  virtual std::string_view locationName() const { return "object"; }
};

// The dead letter a record that failed makes (attempts and first failure carried over from a
// replay's headers; the headers of the dead-letter queue itself are not kept as the record's).
DeadLetter deadLetterOf(const Record& record, std::string_view service, std::string_view error, std::string_view stage,
                        Timestamp now);
// Whether `name` is a header a dead-letter queue adds (ours, or Kafka Connect's __connect.errors.*).
bool deadLetterHeader(std::string_view name);

// The header a replayed dead letter carries so that a second failure counts attempts.
inline constexpr std::string_view kAttemptsHeader = "cdc-dlq-attempts";
// The headers a replayed dead letter carries so that a second failure keeps the first one's error.
inline constexpr std::string_view kFirstErrorHeader = "cdc-dlq-first-error";
inline constexpr std::string_view kFirstDeadLetteredAtHeader = "cdc-dlq-first-dead-lettered-at";

// Dead letters as objects under
// dlq/<service>/<topic>/date=YYYY-MM-DD/<partition>-<offset>.json, the date being the record's
// own (so that writing the same dead letter again lands on the same key: idempotent).
// The body keeps the Python services' fields (topic, message, error, timestamp, service)
// and adds partition, offset, key, attempts, traceparent (the record's W3C trace context,
// carried again by a replay) and, once a replay failed again, first_error and
// first_dead_lettered_at (the failure that made it a dead letter); a value that is not UTF-8 is kept in
// `message_base64` instead of `message`.
class ObjectDeadLetterStore final : public DeadLetterStore {
 public:
  explicit ObjectDeadLetterStore(store::ObjectStore& objects) : objects_(objects) {}
  Status write(const DeadLetter& letter) override;
  Result<std::vector<DeadLetter>> list(const DeadLetterFilter& filter) override;
  Status remove(const DeadLetter& letter, Resolution why) override;
  std::string describe() const override { return "objects under dlq/"; }

  static std::string objectKey(std::string_view service, std::string_view topic, int32_t partition, int64_t offset,
                               int64_t timestampMs, Timestamp now);
  static std::string encode(const DeadLetter& letter);
  static Result<DeadLetter> decode(std::string_view json);

 private:
  store::ObjectStore& objects_;
};

// Writes the runner's dead letters to a store. Not thread-safe.
class DeadLetterQueue {
 public:
  DeadLetterQueue(DeadLetterStore& store, std::string service) : store_(store), service_(std::move(service)) {}
  // On objects (a directory or S3).
  DeadLetterQueue(store::ObjectStore& objects, std::string service)
      : owned_(std::make_unique<ObjectDeadLetterStore>(objects)), store_(*owned_), service_(std::move(service)) {}

  // Durable when it returns Ok. `stage`: what refused it (decode, rejected, store).
  Status write(const Record& record, std::string_view error, Timestamp now, std::string_view stage = {});
  uint64_t written() const { return written_; }

  static std::string objectKey(std::string_view service, std::string_view topic, int32_t partition, int64_t offset,
                               int64_t timestampMs, Timestamp now) {
    return ObjectDeadLetterStore::objectKey(service, topic, partition, offset, timestampMs, now);
  }
  static std::string encode(const DeadLetter& letter) { return ObjectDeadLetterStore::encode(letter); }
  static Result<DeadLetter> decode(std::string_view json) { return ObjectDeadLetterStore::decode(json); }

 private:
  std::unique_ptr<DeadLetterStore> owned_;
  DeadLetterStore& store_;
  std::string service_;
  uint64_t written_ = 0;
};

// The dead letters under dlq/ that match `filter`, in key order.
Result<std::vector<DeadLetter>> listDeadLetters(store::ObjectStore& objects, const DeadLetterFilter& filter = {});
// Every dead letter of one service.
inline Result<std::vector<DeadLetter>> listDeadLetters(store::ObjectStore& objects, std::string_view service) {
  return listDeadLetters(objects, DeadLetterFilter{.service = std::string(service)});
}

// The letter as a `kcat -J` line (the form --source file: and cdc produce read), with its
// attempts, first error and trace context as headers; nullopt when its key or value is not
// UTF-8 (a JSON line cannot hold it).
std::optional<std::string> kcatLine(const DeadLetter& letter);

// The Record a dead letter replays as (its headers say it is a replay: attempts, first error).
Record replayRecord(const DeadLetter& letter, TopicInterner& topics);

// A source that replays dead letters of one service as records. Each dead letter is removed
// from the queue once its position is committed (a failure writes it again, attempts + 1).
class DeadLetterSource final : public Source {
 public:
  DeadLetterSource(DeadLetterStore& store, std::vector<DeadLetter> letters);
  // On objects (a directory or S3).
  DeadLetterSource(store::ObjectStore& objects, std::vector<DeadLetter> letters);
  Result<PollStatus> poll(std::vector<Record>& out, size_t max, std::chrono::milliseconds timeout) override;
  Status commit(std::span<const Position> positions) override;
  std::string describe() const override { return "dlq"; }
  std::optional<Progress> progress() const override { return Progress{next_, letters_.size(), false}; }

 private:
  void sortLetters();

  std::unique_ptr<DeadLetterStore> owned_;
  DeadLetterStore& store_;
  std::vector<DeadLetter> letters_;
  size_t next_ = 0;
  size_t removed_ = 0;
  TopicInterner topics_;
};

}  // namespace cdc::runtime
