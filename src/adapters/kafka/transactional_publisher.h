#pragma once

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "adapters/kafka/kafka_producer.h"
#include "adapters/kafka/message_publisher.h"

struct rd_kafka_topic_partition_list_s;
struct rd_kafka_consumer_group_metadata_s;

namespace cdc::kafka {

// Commits a consumer's positions inside a Kafka transaction of a producer (KafkaSource then
// commits through it instead of committing offsets itself): what the transaction produced and
// the positions become visible together, or neither does.
class TransactionalCommitter {
 public:
  enum class Outcome { Committed, Aborted };
  virtual ~TransactionalCommitter() = default;
  // Aborted: nothing of the transaction happened (the caller reads again from the group's
  // committed offsets). Retry: try again; Fatal: the producer was fenced or broke.
  virtual Result<Outcome> commitTransaction(const rd_kafka_topic_partition_list_s* offsets,
                                            rd_kafka_consumer_group_metadata_s* group) = 0;
};

// Messages exactly once: each goes to its topic in the Kafka transaction that commits the
// position of the record that raised it (KIP-447: the consumer group's generation fences a
// member that lost its partitions), so a consumer with isolation.level=read_committed sees a
// message once its record's position is committed, and a position committed has its message.
// What a crash or an aborted transaction loses, the caller publishes again when the record is
// read again (the inventory's outbox); a message queued twice before a commit (a retried
// batch) goes once. One thread (the runner's). `what` names the messages in the log's events
// ("alert": alerts_transaction_aborted).
//
// A producer that meets a fatal error (librdkafka's word for a producer that cannot go on: a
// transaction coordinator that lost the transaction's state when its broker was killed answers
// INVALID_TXN_STATE) is replaced by a new one of the same transactional.id: starting its
// transactions aborts what the old one left open, and the batch is read again as after an
// abort. Only a producer that was fenced (another producer of its transactional.id started: a
// zombie) or refused (not authorized) stops the service.
class TransactionalPublisher final : public MessagePublisher, public TransactionalCommitter {
 public:
  // Opens the producer; `properties` give it a transactional.id of its own.
  static Result<std::unique_ptr<TransactionalPublisher>> open(Properties properties, std::string topic, std::string what,
                                                              std::chrono::milliseconds timeout = std::chrono::seconds(30));
  ~TransactionalPublisher() override;

  // Held for the transaction of the next commit.
  Status publish(std::span<const Publication> messages) override;
  // Published with their positions: nothing to wait for before a commit.
  bool settled(bool force) override {
    (void)force;
    return true;
  }
  std::vector<std::string> takeAcknowledged() override { return std::exchange(acknowledged_, {}); }
  Result<Outcome> commitTransaction(const rd_kafka_topic_partition_list_s* offsets,
                                    rd_kafka_consumer_group_metadata_s* group) override;

  uint64_t committed() const { return committed_; }  // messages in committed transactions
  uint64_t aborted() const { return aborted_; }      // transactions aborted
  uint64_t reopened() const { return reopened_; }    // producers replaced after a fatal error

 private:
  TransactionalPublisher(Properties properties, std::unique_ptr<KafkaProducer> producer, std::string topic, std::string what,
                         std::chrono::milliseconds timeout);
  Result<Outcome> abort(const std::string& why);
  // After a fatal error: Fatal if the producer was fenced or refused, else a new producer and
  // Aborted (what the old one left open is aborted when the new one starts its transactions).
  Result<Outcome> replaceProducer(const std::string& why);
  void forgetQueued();
  // Logs `what_` + `event` (the messages dropped, why, what follows) and drops the batch's
  // messages: Aborted.
  Outcome dropBatch(std::string_view event, const std::string& why, std::string_view detail);

  Properties properties_;
  std::unique_ptr<KafkaProducer> producer_;
  std::string topic_;
  std::string what_;
  std::chrono::milliseconds timeout_;
  bool initialized_ = false;
  std::vector<Publication> queued_;
  std::set<std::string> queuedIds_;
  std::vector<std::string> acknowledged_;
  uint64_t committed_ = 0;
  uint64_t aborted_ = 0;
  uint64_t reopened_ = 0;
  int reopenedInARow_ = 0;  // since the last committed transaction
};

}  // namespace cdc::kafka
