#pragma once

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
  std::string objectKey;  // where it lies (filled in when read back)
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

// The header a replayed dead letter carries so that a second failure counts attempts.
inline constexpr std::string_view kAttemptsHeader = "cdc-dlq-attempts";
// The headers a replayed dead letter carries so that a second failure keeps the first one's error.
inline constexpr std::string_view kFirstErrorHeader = "cdc-dlq-first-error";
inline constexpr std::string_view kFirstDeadLetteredAtHeader = "cdc-dlq-first-dead-lettered-at";

// Writes dead letters to an object store under
// dlq/<service>/<topic>/date=YYYY-MM-DD/<partition>-<offset>.json, the date being the record's
// own (so that writing the same dead letter again lands on the same key: idempotent).
// The body keeps the Python services' fields (topic, message, error, timestamp, service)
// and adds partition, offset, key, attempts, traceparent (the record's W3C trace context,
// carried again by a replay) and, once a replay failed again, first_error and
// first_dead_lettered_at (the failure that made it a dead letter); a value that is not UTF-8 is kept in
// `message_base64` instead of `message`. Not thread-safe.
class DeadLetterQueue {
 public:
  DeadLetterQueue(store::ObjectStore& objects, std::string service) : objects_(objects), service_(std::move(service)) {}

  // Durable when it returns Ok.
  Status write(const Record& record, std::string_view error, Timestamp now);
  uint64_t written() const { return written_; }

  static std::string objectKey(std::string_view service, std::string_view topic, int32_t partition, int64_t offset,
                               int64_t timestampMs, Timestamp now);
  static std::string encode(const DeadLetter& letter);
  static Result<DeadLetter> decode(std::string_view json);

 private:
  store::ObjectStore& objects_;
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
  DeadLetterSource(store::ObjectStore& objects, std::vector<DeadLetter> letters);
  Result<PollStatus> poll(std::vector<Record>& out, size_t max, std::chrono::milliseconds timeout) override;
  Status commit(std::span<const Position> positions) override;
  std::string describe() const override { return "dlq"; }
  std::optional<Progress> progress() const override { return Progress{next_, letters_.size(), false}; }

 private:
  store::ObjectStore& objects_;
  std::vector<DeadLetter> letters_;
  size_t next_ = 0;
  size_t removed_ = 0;
  TopicInterner topics_;
};

}  // namespace cdc::runtime
