#include "adapters/kafka/transactional_alerts.h"

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

TransactionalAlertSink::TransactionalAlertSink(std::unique_ptr<KafkaProducer> producer, std::string topic,
                                               std::chrono::milliseconds timeout)
    : producer_(std::move(producer)), topic_(std::move(topic)), timeout_(timeout) {
  producer_->prepare(topic_);
}

TransactionalAlertSink::~TransactionalAlertSink() = default;

Status TransactionalAlertSink::publish(std::span<const inventory::LowStockAlert> alerts) {
  for (const auto& a : alerts) {
    if (queuedIds_.emplace(a.productId, a.crossing).second) queued_.push_back(a);
  }
  return {};
}

Result<TransactionalCommitter::Outcome> TransactionalAlertSink::commitTransaction(const rd_kafka_topic_partition_list_s* offsets,
                                                                                  rd_kafka_consumer_group_metadata_s* group) {
  rd_kafka_t* rk = producer_->handle();
  const int timeoutMs = static_cast<int>(timeout_.count());
  if (!initialized_) {
    // Fences an earlier producer of the same transactional.id and aborts what it left open.
    ErrorPtr e(rd_kafka_init_transactions(rk, timeoutMs));
    if (e) {
      std::string why = std::string("the alerts' producer could not start its transactions: ") + rd_kafka_error_string(e.get());
      return fail(classify(e.get()) == Next::Fatal ? Error::fatal(why) : Error::retry(why));
    }
    initialized_ = true;
  }
  auto abort = [&](const std::string& why) -> Result<Outcome> {
    ErrorPtr e(rd_kafka_abort_transaction(rk, timeoutMs));
    if (e && rd_kafka_error_is_fatal(e.get())) {
      return fail(Error::fatal(std::string("the alerts' transaction could not be aborted: ") + rd_kafka_error_string(e.get())));
    }
    ++aborted_;
    log::event(spdlog::level::warn, "alerts_transaction_aborted",
               {{"topic", topic_},
                {"alerts", std::to_string(queued_.size()), true},
                {"error", why},
                {"detail",
                 "neither the alerts nor the positions were committed; the changes are read again and their "
                 "alerts published from the outbox"}});
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
      if (next == Next::Fatal) return Result<Outcome>(fail(Error::fatal("the alerts' producer: " + why)));
      if (next == Next::Retry && tries < 3) continue;
      return abort(why);
    }
  };
  if (auto r = attempt("begin", [&] { return rd_kafka_begin_transaction(rk); })) return *r;
  for (const auto& a : queued_) {
    std::string key = std::to_string(a.productId), value = a.toJson();
    OutgoingMessage m{.topic = topic_, .key = key, .value = value};
    m.headers.emplace_back("alert_id", a.id());
    if (!a.traceparent.empty()) m.headers.emplace_back("traceparent", a.traceparent);
    if (auto s = producer_->produce(m); !s) return abort(s.error().message);
  }
  if (auto r = attempt("send_offsets_to_transaction",
                       [&] { return rd_kafka_send_offsets_to_transaction(rk, offsets, group, timeoutMs); })) {
    return *r;
  }
  if (auto r = attempt("commit", [&] { return rd_kafka_commit_transaction(rk, timeoutMs); })) return *r;
  committed_ += queued_.size();
  for (const auto& a : queued_) acknowledged_.emplace_back(a.productId, a.crossing);
  queued_.clear();
  queuedIds_.clear();
  return Outcome::Committed;
}

}  // namespace cdc::kafka
