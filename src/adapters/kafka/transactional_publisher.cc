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

}  // namespace

TransactionalPublisher::TransactionalPublisher(std::unique_ptr<KafkaProducer> producer, std::string topic, std::string what,
                                               std::chrono::milliseconds timeout)
    : producer_(std::move(producer)), topic_(std::move(topic)), what_(std::move(what)), timeout_(timeout) {
  producer_->prepare(topic_);
}

TransactionalPublisher::~TransactionalPublisher() = default;

Status TransactionalPublisher::publish(std::span<const Publication> messages) {
  for (const auto& p : messages) {
    if (queuedIds_.insert(p.id).second) queued_.push_back(p);
  }
  return {};
}

Result<TransactionalCommitter::Outcome> TransactionalPublisher::commitTransaction(const rd_kafka_topic_partition_list_s* offsets,
                                                                                  rd_kafka_consumer_group_metadata_s* group) {
  rd_kafka_t* rk = producer_->handle();
  const int timeoutMs = static_cast<int>(timeout_.count());
  if (!initialized_) {
    // Fences an earlier producer of the same transactional.id and aborts what it left open.
    ErrorPtr e(rd_kafka_init_transactions(rk, timeoutMs));
    if (e) {
      std::string why =
          std::string("the " + what_ + "s' producer could not start its transactions: ") + rd_kafka_error_string(e.get());
      return fail(classify(e.get()) == Next::Fatal ? Error::fatal(why) : Error::retry(why));
    }
    initialized_ = true;
  }
  auto abort = [&](const std::string& why) -> Result<Outcome> {
    ErrorPtr e(rd_kafka_abort_transaction(rk, timeoutMs));
    if (e && rd_kafka_error_is_fatal(e.get())) {
      return fail(Error::fatal("the " + what_ + "s' transaction could not be aborted: " + rd_kafka_error_string(e.get())));
    }
    ++aborted_;
    log::event(spdlog::level::warn, what_ + "s_transaction_aborted",
               {{"topic", topic_},
                {"messages", std::to_string(queued_.size()), true},
                {"error", why},
                {"detail",
                 "neither the messages nor the positions were committed; the records are read again and their "
                 "messages published again"}});
    queued_.clear();
    queuedIds_.clear();
    return Outcome::Aborted;
  };
  // Runs a transactional call again while it fails with a retriable error (a coordinator that
  // moved), at most a few times.
  auto attempt = [&](const char* what, auto&& call) -> std::optional<Result<Outcome>> {
    for (int tries = 0;; ++tries) {
      ErrorPtr e(call());
      if (!e) return std::nullopt;
      std::string why = std::string(what) + ": " + rd_kafka_error_string(e.get());
      Next next = classify(e.get());
      if (next == Next::Fatal) return Result<Outcome>(fail(Error::fatal("the " + what_ + "s' producer: " + why)));
      if (next == Next::Retry && tries < 3) continue;
      return abort(why);
    }
  };
  if (auto r = attempt("begin", [&] { return rd_kafka_begin_transaction(rk); })) return *r;
  for (const auto& p : queued_) {
    OutgoingMessage m{.topic = topic_, .key = p.key, .value = p.value, .headers = p.headers};
    if (auto s = producer_->produce(m); !s) return abort(s.error().message);
  }
  if (auto r = attempt("send_offsets_to_transaction",
                       [&] { return rd_kafka_send_offsets_to_transaction(rk, offsets, group, timeoutMs); })) {
    return *r;
  }
  if (auto r = attempt("commit", [&] { return rd_kafka_commit_transaction(rk, timeoutMs); })) return *r;
  committed_ += queued_.size();
  for (const auto& p : queued_) acknowledged_.push_back(p.id);
  queued_.clear();
  queuedIds_.clear();
  return Outcome::Committed;
}

}  // namespace cdc::kafka
