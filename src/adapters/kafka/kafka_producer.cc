#include "adapters/kafka/kafka_producer.h"

#include "core/log.h"

namespace cdc::kafka {

Result<std::unique_ptr<KafkaProducer>> KafkaProducer::open(Properties props) {
  if (!findProperty(props, "bootstrap.servers")) {
    return fail(Error::fatal("KAFKA_BOOTSTRAP_SERVERS: not set (the Kafka producer needs the brokers' addresses)"));
  }
  props = producerProperties(std::move(props));
  setDefault(props, "enable.idempotence", "true");
  setDefault(props, "linger.ms", "5");
  auto conf = makeConf(props);
  if (!conf) return fail(conf.error());
  std::unique_ptr<KafkaProducer> self(new KafkaProducer(nullptr));
  rd_kafka_conf_set_opaque(conf->get(), self.get());
  rd_kafka_conf_set_dr_msg_cb(conf->get(), onDelivery);
  rd_kafka_conf_set_error_cb(conf->get(), onError);
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf->get(), err, sizeof err);
  if (!rk) return fail(Error::fatal(std::string("cannot create the Kafka producer: ") + err));
  (void)conf->release();
  self->rk_ = rk;
  return self;
}

KafkaProducer::~KafkaProducer() {
  if (!rk_) return;
  rd_kafka_flush(rk_, 5000);
  if (int left = rd_kafka_outq_len(rk_); left > 0) {
    log::event(spdlog::level::warn, "kafka_producer_closed_with_undelivered", {{"messages", std::to_string(left), true}});
  }
  for (rd_kafka_topic_t* t : prepared_) rd_kafka_topic_destroy(t);
  rd_kafka_destroy(rk_);
}

namespace {

// Delivery failures that another try may not meet: the brokers were unreachable for
// message.timeout.ms, or a partition had no leader or too few replicas at the time.
bool passing(rd_kafka_resp_err_t e) {
  switch (e) {
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE:
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
      return true;
    default:
      return false;
  }
}

}  // namespace

void KafkaProducer::onDelivery(rd_kafka_t* rk, const rd_kafka_message_t* m, void* opaque) {
  (void)rk;
  auto* self = static_cast<KafkaProducer*>(opaque);
  if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    ++self->delivered_;
    return;
  }
  if (self->failed_++ == self->failedAtFlush_) {
    self->firstError_ = std::string(rd_kafka_topic_name(m->rkt)) + ": " + rd_kafka_err2str(m->err);
    self->firstErrorPasses_ = passing(m->err);
  }
  log::event(spdlog::level::err, "kafka_delivery_failed",
             {{"topic", rd_kafka_topic_name(m->rkt)}, {"error", rd_kafka_err2str(m->err)}});
}

void KafkaProducer::onError(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  (void)rk;
  auto* self = static_cast<KafkaProducer*>(opaque);
  {
    std::lock_guard lock(self->errorMutex_);
    self->lastError_ = reason;
  }
  // Brokers going away and coming back are reported here; librdkafka reconnects by itself.
  log::event(
      spdlog::level::warn, "kafka_error",
      {{"client", rd_kafka_name(rk)}, {"error", rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err))}, {"reason", reason}});
}

std::string KafkaProducer::lastError() const {
  std::lock_guard lock(errorMutex_);
  return lastError_;
}

Status KafkaProducer::produce(const OutgoingMessage& msg) {
  rd_kafka_headers_t* headers = nullptr;
  if (!msg.headers.empty()) {
    headers = rd_kafka_headers_new(msg.headers.size());
    for (const auto& [k, v] : msg.headers) {
      rd_kafka_header_add(headers, k.data(), static_cast<ssize_t>(k.size()), v.data(), static_cast<ssize_t>(v.size()));
    }
  }
  std::string topic(msg.topic);
  const void* key = msg.key ? msg.key->data() : nullptr;
  size_t keySize = msg.key ? msg.key->size() : 0;
  void* value = msg.value ? const_cast<char*>(msg.value->data()) : nullptr;  // copied (F_COPY), never written
  size_t valueSize = msg.value ? msg.value->size() : 0;
  int32_t partition = msg.partition < 0 ? RD_KAFKA_PARTITION_UA : msg.partition;
  while (true) {
    rd_kafka_resp_err_t e = rd_kafka_producev(rk_, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(partition),
                                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key, keySize),
                                              RD_KAFKA_V_VALUE(value, valueSize), RD_KAFKA_V_HEADERS(headers),
                                              RD_KAFKA_V_TIMESTAMP(msg.timestampMs), RD_KAFKA_V_END);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) return {};  // the headers belong to the message now
    if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_poll(rk_, 100);  // deliveries make room
      continue;
    }
    if (headers) rd_kafka_headers_destroy(headers);
    return fail(Error::fatal("cannot produce to " + topic + ": " + rd_kafka_err2str(e)));
  }
}

void KafkaProducer::prepare(const std::string& topic) {
  // A new topic handle starts an asynchronous metadata request for it.
  if (rd_kafka_topic_t* t = rd_kafka_topic_new(rk_, topic.c_str(), nullptr)) prepared_.push_back(t);
}

bool KafkaProducer::connected(std::chrono::milliseconds timeout) {
  const rd_kafka_metadata_t* md = nullptr;
  if (rd_kafka_metadata(rk_, 0, nullptr, &md, static_cast<int>(timeout.count())) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_poll(rk_, 0);  // serves the errors that say why (onError)
    return false;
  }
  rd_kafka_metadata_destroy(md);
  return true;
}

size_t KafkaProducer::outstanding() {
  rd_kafka_poll(rk_, 0);
  return static_cast<size_t>(rd_kafka_outq_len(rk_));
}

Status KafkaProducer::flush(std::chrono::milliseconds timeout) {
  rd_kafka_resp_err_t e = rd_kafka_flush(rk_, static_cast<int>(timeout.count()));
  uint64_t failed = failed_.load();
  if (failed > failedAtFlush_) {
    std::string message = std::to_string(failed - failedAtFlush_) + " messages not delivered (first: " + firstError_ + ")";
    failedAtFlush_ = failed;
    return fail(firstErrorPasses_ ? Error::retry(message) : Error::fatal(message));
  }
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return fail(Error::retry(std::to_string(rd_kafka_outq_len(rk_)) + " messages still undelivered: " + rd_kafka_err2str(e)));
  }
  return {};
}

}  // namespace cdc::kafka
