#include "adapters/kafka/transactional_publisher.h"

#include "adapters/kafka/rdkafka_handles.h"
#include "core/log.h"

namespace cdc::kafka {
namespace {

// What to do after a transactional call failed: retry it, abort the transaction, or stop.
enum class Next { Retry, Abort, Fatal };

Next classify(const rd_kafka_error_t* e) {
  if (rd_kafka_error_is_fatal(e)) return Next::Fatal;
  if (rd_kafka_error_txn_requires_abort(e)) return Next::Abort;
  if (rd_kafka_error_is_retriable(e)) return Next::Retry;
  return Next::Abort;
}

// A fatal error a new producer of the same transactional.id would meet again: another producer
// took the id over (this one is a zombie), or the brokers refuse the id or the operation.
bool terminal(rd_kafka_resp_err_t code) {
  switch (code) {
    case RD_KAFKA_RESP_ERR__FENCED:
    case RD_KAFKA_RESP_ERR_PRODUCER_FENCED:
    case RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH:
    case RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION:
    case RD_KAFKA_RESP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT:
      return true;
    default:
      return false;
  }
}

// Producers replaced one after another without a transaction committed in between: past this
// the fault is not passing and the service stops.
constexpr int kMaxReopensInARow = 5;

}  // namespace

Result<std::unique_ptr<TransactionalPublisher>> TransactionalPublisher::open(Properties properties, std::string topic,
                                                                             std::string what,
                                                                             std::chrono::milliseconds timeout) {
  auto producer = KafkaProducer::open(properties);
  if (!producer) return fail(producer.error());
  return std::unique_ptr<TransactionalPublisher>(
      new TransactionalPublisher(std::move(properties), std::move(*producer), std::move(topic), std::move(what), timeout));
}

TransactionalPublisher::TransactionalPublisher(Properties properties, std::unique_ptr<KafkaProducer> producer, std::string topic,
                                               std::string what, std::chrono::milliseconds timeout)
    : properties_(std::move(properties)),
      producer_(std::move(producer)),
      topic_(std::move(topic)),
      what_(std::move(what)),
      timeout_(timeout) {
  producer_->prepare(topic_);
}

TransactionalPublisher::~TransactionalPublisher() = default;

Status TransactionalPublisher::publish(std::span<const Publication> messages) {
  for (const auto& p : messages) {
    if (queuedIds_.insert(p.id).second) queued_.push_back(p);
  }
  return {};
}

void TransactionalPublisher::forgetQueued() {
  queued_.clear();
  queuedIds_.clear();
}

TransactionalCommitter::Outcome TransactionalPublisher::dropBatch(std::string_view event, const std::string& why,
                                                                  std::string_view detail) {
  log::event(spdlog::level::warn, what_ + std::string(event),
             {{"topic", topic_}, {"messages", std::to_string(queued_.size()), true}, {"error", why}, {"detail", detail}});
  forgetQueued();
  return Outcome::Aborted;
}

Result<TransactionalCommitter::Outcome> TransactionalPublisher::abort(const std::string& why) {
  ErrorPtr e(rd_kafka_abort_transaction(producer_->handle(), static_cast<int>(timeout_.count())));
  if (e && rd_kafka_error_is_fatal(e.get())) {
    return replaceProducer("the " + what_ + "s' transaction could not be aborted: " + rd_kafka_error_string(e.get()));
  }
  ++aborted_;
  return dropBatch("s_transaction_aborted", why,
                   "neither the messages nor the positions were committed; the records are read again and their "
                   "messages published again");
}

Result<TransactionalCommitter::Outcome> TransactionalPublisher::replaceProducer(const std::string& why) {
  char detail[512] = "";
  rd_kafka_resp_err_t code = rd_kafka_fatal_error(producer_->handle(), detail, sizeof detail);
  if (terminal(code)) return fail(Error::fatal(why));
  if (reopenedInARow_ >= kMaxReopensInARow) {
    return fail(Error::fatal(why + " (the producer was replaced " + std::to_string(reopenedInARow_) +
                             " times in a row without a committed transaction)"));
  }
  // What the old producer still holds is not delivered: its transaction is aborted below.
  rd_kafka_purge(producer_->handle(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  producer_.reset();
  auto fresh = KafkaProducer::open(properties_);
  if (!fresh) return fail(Error::fatal(why + "; a new producer could not be opened: " + fresh.error().message));
  producer_ = std::move(*fresh);
  producer_->prepare(topic_);
  // Starting the new producer's transactions aborts what the old one left open now, so that
  // the group's offsets it may have sent are settled before the records are read again (else
  // the next commit does it).
  ErrorPtr started(rd_kafka_init_transactions(producer_->handle(), static_cast<int>(timeout_.count())));
  if (started && rd_kafka_error_is_fatal(started.get())) {
    return fail(
        Error::fatal(why + "; the new producer could not start its transactions: " + rd_kafka_error_string(started.get())));
  }
  initialized_ = !started;
  ++reopened_;
  ++reopenedInARow_;
  return dropBatch("s_producer_replaced", why,
                   "the producer met a fatal error and was replaced by a new one of the same transactional.id, which "
                   "aborts the open transaction; the records are read again and their messages published again");
}

Result<TransactionalCommitter::Outcome> TransactionalPublisher::commitTransaction(const rd_kafka_topic_partition_list_s* offsets,
                                                                                  rd_kafka_consumer_group_metadata_s* group) {
  const int timeoutMs = static_cast<int>(timeout_.count());
  if (!initialized_) {
    // Fences an earlier producer of the same transactional.id and aborts what it left open.
    ErrorPtr e(rd_kafka_init_transactions(producer_->handle(), timeoutMs));
    if (e) {
      std::string why = "the " + what_ + "s' producer could not start its transactions: " + rd_kafka_error_string(e.get());
      // Retry: nothing was produced yet and the queued messages wait for the next try.
      if (classify(e.get()) != Next::Fatal) return fail(Error::retry(why));
      return replaceProducer(why);
    }
    initialized_ = true;
  }
  // Runs a transactional call again while it fails with a retriable error (a coordinator that
  // moved), at most a few times.
  auto attempt = [&](const char* step, auto&& call) -> std::optional<Result<Outcome>> {
    for (int tries = 0;; ++tries) {
      ErrorPtr e(call(producer_->handle()));
      if (!e) return std::nullopt;
      std::string why = std::string(step) + ": " + rd_kafka_error_string(e.get());
      Next next = classify(e.get());
      if (next == Next::Fatal) return replaceProducer("the " + what_ + "s' producer: " + why);
      if (next == Next::Retry && tries < 3) continue;
      return abort(why);
    }
  };
  if (auto r = attempt("begin", [](rd_kafka_t* rk) { return rd_kafka_begin_transaction(rk); })) return *r;
  for (const auto& p : queued_) {
    OutgoingMessage m{.topic = topic_, .key = p.key, .value = p.value, .headers = p.headers};
    if (auto s = producer_->produce(m); !s) return abort(s.error().message);
  }
  if (auto r = attempt("send_offsets_to_transaction",
                       [&](rd_kafka_t* rk) { return rd_kafka_send_offsets_to_transaction(rk, offsets, group, timeoutMs); })) {
    return *r;
  }
  if (auto r = attempt("commit", [&](rd_kafka_t* rk) { return rd_kafka_commit_transaction(rk, timeoutMs); })) return *r;
  if (spdlog::should_log(spdlog::level::debug)) {
    log::event(spdlog::level::debug, what_ + "s_transaction_committed",
               {{"topic", topic_}, {"messages", std::to_string(queued_.size()), true}, {"offsets", describeOffsets(offsets)}});
  }
  committed_ += queued_.size();
  reopenedInARow_ = 0;
  for (const auto& p : queued_) acknowledged_.push_back(p.id);
  forgetQueued();
  return Outcome::Committed;
}

}  // namespace cdc::kafka
