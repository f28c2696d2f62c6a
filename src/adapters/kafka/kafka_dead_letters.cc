#include "adapters/kafka/kafka_dead_letters.h"

#include <algorithm>
#include <charconv>
#include <set>
#include <tuple>

#include <fmt/format.h>

#include "core/log.h"
#include "core/trace_context.h"

namespace cdc::kafka {
namespace {

const std::string* findHeader(const Headers& headers, std::string_view name) {
  // The last one wins, as for Kafka Connect's lastWithName.
  const std::string* found = nullptr;
  for (const auto& [n, value] : headers) {
    if (n == name) found = &value;
  }
  return found;
}

template <typename T>
bool parseNumber(std::string_view text, T& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

// "search-indexer-dlq/0@17": the letter's own record in the dead-letter topic.
std::string locationOf(std::string_view topic, int32_t partition, int64_t offset) {
  return std::string(topic) + "/" + std::to_string(partition) + "@" + std::to_string(offset);
}

bool parseLocation(std::string_view location, int32_t& partition, int64_t& offset) {
  auto slash = location.rfind('/');
  auto at = location.rfind('@');
  if (slash == std::string_view::npos || at == std::string_view::npos || at < slash) return false;
  return parseNumber(location.substr(slash + 1, at - slash - 1), partition) && parseNumber(location.substr(at + 1), offset);
}

// The letter a record of the topic holds, or nullopt for a record that is not one of ours.
std::optional<runtime::DeadLetter> letterOf(std::string_view dlqTopic, const DeadLetterRecord& r) {
  const std::string* topic = findHeader(r.headers, kConnectTopicHeader);
  const std::string* service = findHeader(r.headers, kConnectNameHeader);
  const std::string* partition = findHeader(r.headers, kConnectPartitionHeader);
  const std::string* offset = findHeader(r.headers, kConnectOffsetHeader);
  if (!topic || !service || !partition || !offset || topic->empty()) return std::nullopt;
  runtime::DeadLetter d;
  d.topic = *topic;
  d.service = *service;
  if (!parseNumber(*partition, d.partition) || !parseNumber(*offset, d.offset)) return std::nullopt;
  if (const std::string* e = findHeader(r.headers, kConnectMessageHeader)) d.error = *e;
  if (const std::string* s = findHeader(r.headers, kConnectStageHeader)) d.stage = *s;
  if (const std::string* a = findHeader(r.headers, runtime::kAttemptsHeader); !a || !parseNumber(*a, d.attempts)) {
    d.attempts = 1;
  }
  if (const std::string* at = findHeader(r.headers, kDeadLetteredAtHeader)) d.deadLetteredAt = *at;
  if (const std::string* f = findHeader(r.headers, runtime::kFirstErrorHeader)) d.firstError = *f;
  if (const std::string* f = findHeader(r.headers, runtime::kFirstDeadLetteredAtHeader)) d.firstDeadLetteredAt = *f;
  d.timestampMs = r.timestampMs;
  if (const std::string* ts = findHeader(r.headers, kTimestampHeader)) parseNumber(*ts, d.timestampMs);
  for (const auto& [name, value] : r.headers) {
    if (!runtime::deadLetterHeader(name)) d.headers.emplace_back(name, value);
  }
  if (const std::string* tp = findHeader(d.headers, "traceparent"); tp && parseTraceParent(*tp)) d.traceparent = *tp;
  d.key = r.key;
  d.value = r.value;
  d.location = locationOf(dlqTopic, r.partition, r.offset);
  return d;
}

// Waits for an admin request's result on `queue`.
EventPtr awaitResult(rd_kafka_queue_t* queue, std::chrono::milliseconds timeout) {
  return EventPtr(rd_kafka_queue_poll(queue, static_cast<int>(timeout.count()) + 5'000));
}

AdminOptionsPtr adminOptions(rd_kafka_t* rk, rd_kafka_admin_op_t op, std::chrono::milliseconds timeout) {
  AdminOptionsPtr o(rd_kafka_AdminOptions_new(rk, op));
  char err[256];
  rd_kafka_AdminOptions_set_request_timeout(o.get(), static_cast<int>(timeout.count()), err, sizeof err);
  rd_kafka_AdminOptions_set_operation_timeout(o.get(), static_cast<int>(timeout.count()), err, sizeof err);
  return o;
}

// A record of the dead-letter topic as read: position, time, key, value and headers.
DeadLetterRecord recordOf(const rd_kafka_message_t* m) {
  DeadLetterRecord r;
  r.partition = m->partition;
  r.offset = m->offset;
  rd_kafka_timestamp_type_t type;
  r.timestampMs = rd_kafka_message_timestamp(m, &type);
  if (m->key) r.key = std::string(static_cast<const char*>(m->key), m->key_len);
  if (m->payload) r.value = std::string(static_cast<const char*>(m->payload), m->len);
  appendHeaders(m, r.headers);
  return r;
}

// The partitions of `topic` read from their start on one queue of a consumer without a group
// (the legacy per-partition consumer: no group ACL needed); stopped when it goes.
class TopicReader {
 public:
  static Result<std::unique_ptr<TopicReader>> open(const Properties& properties, const std::string& topic,
                                                   const std::set<int32_t>& partitions) {
    Properties props = producerProperties(properties);
    setProperty(props, "enable.partition.eof", "true", "default");
    setDefault(props, "client.id", "cdc-dlq-reader");
    auto conf = makeConf(props);
    if (!conf) return fail(conf.error());
    char err[512];
    ClientPtr rk(rd_kafka_new(RD_KAFKA_CONSUMER, conf->get(), err, sizeof err));
    if (!rk) return fail(Error::fatal(std::string("cannot create the Kafka reader of the dead-letter topic: ") + err));
    (void)conf->release();
    std::unique_ptr<TopicReader> self(new TopicReader(std::move(rk), topic));
    for (int32_t p : partitions) {
      if (rd_kafka_consume_start_queue(self->rkt_.get(), p, RD_KAFKA_OFFSET_BEGINNING, self->queue_.get()) == -1) {
        return fail(
            Error::retry("cannot read " + topic + "[" + std::to_string(p) + "]: " + rd_kafka_err2str(rd_kafka_last_error())));
      }
      self->started_.push_back(p);
    }
    return self;
  }
  ~TopicReader() {
    for (int32_t p : started_) rd_kafka_consume_stop(rkt_.get(), p);
  }
  MessagePtr next(std::chrono::milliseconds wait) {
    return MessagePtr(rd_kafka_consume_queue(queue_.get(), static_cast<int>(wait.count())));
  }

 private:
  TopicReader(ClientPtr rk, const std::string& topic)
      : rk_(std::move(rk)), queue_(rd_kafka_queue_new(rk_.get())), rkt_(rd_kafka_topic_new(rk_.get(), topic.c_str(), nullptr)) {}
  ClientPtr rk_;  // destroyed after the queue and topic handles
  QueuePtr queue_;
  TopicPtr rkt_;
  std::vector<int32_t> started_;
};

// Records of `topic` from each partition's start up to the end it had when asked.
Result<std::vector<DeadLetterRecord>> readTopic(const Properties& properties, const std::string& topic,
                                                const std::map<int32_t, std::pair<int64_t, int64_t>>& ranges,
                                                std::chrono::milliseconds timeout, const TimeSource& time) {
  std::vector<DeadLetterRecord> out;
  std::set<int32_t> open;
  for (const auto& [p, range] : ranges) {
    if (range.second > range.first) open.insert(p);
  }
  if (open.empty()) return out;
  auto reader = TopicReader::open(properties, topic, open);
  if (!reader) return fail(reader.error());
  auto deadline = time.steady() + timeout;
  std::string lastError;
  while (!open.empty()) {
    if (time.steady() > deadline) {
      return fail(Error::retry("reading the dead-letter topic " + topic + " took over " + std::to_string(timeout.count() / 1000) +
                               " s" + (lastError.empty() ? std::string() : " (" + lastError + ")")));
    }
    MessagePtr m = (*reader)->next(std::chrono::milliseconds(200));
    if (!m) continue;
    const int32_t p = m->partition;
    const int64_t end = ranges.at(p).second;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      if (m->offset >= end) open.erase(p);
      continue;
    }
    if (m->err) {
      lastError = rd_kafka_message_errstr(m.get());
      if (m->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED || m->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
          m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
        return fail(Error::fatal(fmt::format("cannot read the dead-letter topic {}: {}", topic, lastError)));
      }
      continue;
    }
    out.push_back(recordOf(m.get()));
    if (m->offset + 1 >= end) open.erase(p);
  }
  return out;
}

}  // namespace

Headers deadLetterHeaders(const runtime::DeadLetter& d) {
  Headers h = d.headers;
  if (d.traceparent && !findHeader(h, "traceparent")) h.emplace_back("traceparent", *d.traceparent);
  h.emplace_back(kConnectTopicHeader, d.topic);
  h.emplace_back(kConnectPartitionHeader, std::to_string(d.partition));
  h.emplace_back(kConnectOffsetHeader, std::to_string(d.offset));
  h.emplace_back(kConnectNameHeader, d.service);
  if (!d.stage.empty()) h.emplace_back(kConnectStageHeader, d.stage);
  h.emplace_back(kConnectMessageHeader, d.error);
  h.emplace_back(runtime::kAttemptsHeader, std::to_string(d.attempts));
  h.emplace_back(kDeadLetteredAtHeader, d.deadLetteredAt);
  h.emplace_back(kTimestampHeader, std::to_string(d.timestampMs));
  if (d.firstError) h.emplace_back(runtime::kFirstErrorHeader, *d.firstError);
  if (d.firstDeadLetteredAt) h.emplace_back(runtime::kFirstDeadLetteredAtHeader, *d.firstDeadLetteredAt);
  return h;
}

DeadLetterScan sortOut(std::string_view dlqTopic, const std::vector<DeadLetterRecord>& records,
                       const std::map<int32_t, int64_t>& ends) {
  DeadLetterScan scan;
  std::set<std::pair<int32_t, int64_t>> resolved;
  struct Latest {
    runtime::DeadLetter letter;
    int32_t partition;
    int64_t offset;
  };
  // The latest letter of each original record (a crash between writing a letter and committing
  // its batch writes it again; a failed replay writes it with attempts + 1).
  std::map<std::tuple<std::string, std::string, int32_t, int64_t>, Latest> latest;
  for (const auto& r : records) {
    if (const std::string* target = findHeader(r.headers, kResolvesHeader)) {
      auto at = target->find('@');
      int32_t p = 0;
      int64_t o = 0;
      if (at != std::string::npos && parseNumber(std::string_view(*target).substr(0, at), p) &&
          parseNumber(std::string_view(*target).substr(at + 1), o)) {
        resolved.insert({p, o});
      }
      continue;
    }
    auto letter = letterOf(dlqTopic, r);
    if (!letter) {
      ++scan.foreign;
      continue;
    }
    auto id = std::make_tuple(letter->service, letter->topic, letter->partition, letter->offset);
    auto it = latest.find(id);
    if (it == latest.end() || std::tie(letter->deadLetteredAt, r.partition, r.offset) >=
                                  std::tie(it->second.letter.deadLetteredAt, it->second.partition, it->second.offset)) {
      latest.insert_or_assign(id, Latest{std::move(*letter), r.partition, r.offset});
    }
  }
  std::vector<Latest> waiting;
  for (auto& [id, l] : latest) {
    if (!resolved.contains({l.partition, l.offset})) waiting.push_back(std::move(l));
  }
  std::sort(waiting.begin(), waiting.end(),
            [](const Latest& a, const Latest& b) { return std::tie(a.partition, a.offset) < std::tie(b.partition, b.offset); });
  scan.keepFrom = ends;
  for (auto& l : waiting) {
    auto& from = scan.keepFrom[l.partition];
    from = std::min(from, l.offset);
    scan.waiting.push_back(std::move(l.letter));
  }
  return scan;
}

Result<std::unique_ptr<KafkaDeadLetterStore>> KafkaDeadLetterStore::open(KafkaDeadLetterOptions options) {
  if (options.topic.empty()) return fail(Error::fatal(options.origin + ": the dead-letter topic's name is empty"));
  Properties props = producerProperties(options.properties);
  setDefault(props, "client.id", "cdc-dead-letters");
  setDefault(props, "acks", "all");
  setDefault(props, "message.timeout.ms", std::to_string(options.timeout.count()));
  auto producer = KafkaProducer::open(std::move(props));
  if (!producer) return fail(producer.error());
  std::unique_ptr<KafkaDeadLetterStore> self(new KafkaDeadLetterStore(std::move(options), std::move(*producer)));
  // At start-up the brokers get a few seconds (a service must not hang before serving its probes).
  if (auto s = self->ensureTopic(std::min<std::chrono::milliseconds>(self->options_.timeout, std::chrono::seconds(5))); !s) {
    if (s.error().kind != ErrorKind::Retry) return fail(s.error());
    // Brokers not answering yet: the consumer waits for them too; the first letter checks again.
    log::event(spdlog::level::warn, "dead_letter_topic_unchecked",
               {{"topic", self->options_.topic}, {"error", s.error().message}});
  }
  return self;
}

Result<std::optional<std::vector<int32_t>>> KafkaDeadLetterStore::partitions(std::chrono::milliseconds timeout) {
  // Every topic the brokers let us see: asking for this one by name would have brokers that
  // auto-create topics make it with their defaults.
  rd_kafka_t* rk = producer_->handle();
  const rd_kafka_metadata_t* md = nullptr;
  auto e = rd_kafka_metadata(rk, 1, nullptr, &md, static_cast<int>(timeout.count()));
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    std::string why = producer_->lastError();
    return fail(Error::retry("the Kafka brokers did not answer for the dead-letter topic " + options_.topic + ": " +
                             rd_kafka_err2str(e) + (why.empty() ? "" : " (" + why + ")")));
  }
  std::unique_ptr<const rd_kafka_metadata_t, void (*)(const rd_kafka_metadata_t*)> owned(md, rd_kafka_metadata_destroy);
  for (int i = 0; i < md->topic_cnt; ++i) {
    const auto& t = md->topics[i];
    if (options_.topic != t.topic) continue;
    if (t.err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED) {
      return fail(Error::fatal(options_.origin + "=" + options_.topic + ": " + rd_kafka_err2str(t.err)));
    }
    std::vector<int32_t> ids;
    ids.reserve(static_cast<size_t>(t.partition_cnt));
    for (int j = 0; j < t.partition_cnt; ++j) ids.push_back(t.partitions[j].id);
    return std::optional<std::vector<int32_t>>(std::move(ids));
  }
  return std::optional<std::vector<int32_t>>();
}

Status KafkaDeadLetterStore::ensureTopic(std::chrono::milliseconds timeout) {
  if (checked_) return {};
  auto found = partitions(timeout);
  if (!found) return fail(found.error());
  if (*found || !options_.create) {
    checked_ = found->has_value();
    return {};
  }
  rd_kafka_t* rk = producer_->handle();
  char err[512];
  rd_kafka_NewTopic_t* topic = rd_kafka_NewTopic_new(options_.topic.c_str(), 1, -1, err, sizeof err);
  if (!topic) return fail(Error::fatal(options_.origin + "=" + options_.topic + ": " + err));
  QueuePtr queue(rd_kafka_queue_new(rk));
  auto opts = adminOptions(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS, options_.timeout);
  rd_kafka_CreateTopics(rk, &topic, 1, opts.get(), queue.get());
  rd_kafka_NewTopic_destroy(topic);
  EventPtr ev = awaitResult(queue.get(), options_.timeout);
  std::string why = "no answer";
  rd_kafka_resp_err_t code = RD_KAFKA_RESP_ERR__TIMED_OUT;
  if (ev) {
    code = rd_kafka_event_error(ev.get());
    why = code ? rd_kafka_event_error_string(ev.get()) : "";
    if (const auto* result = rd_kafka_event_CreateTopics_result(ev.get()); result && !code) {
      size_t n = 0;
      const rd_kafka_topic_result_t** topics = rd_kafka_CreateTopics_result_topics(result, &n);
      for (size_t i = 0; i < n; ++i) {
        code = rd_kafka_topic_result_error(topics[i]);
        const char* message = rd_kafka_topic_result_error_string(topics[i]);
        why = message ? message : rd_kafka_err2str(code);
      }
    }
  }
  if (code == RD_KAFKA_RESP_ERR_NO_ERROR || code == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
    checked_ = true;
    log::event(spdlog::level::info, "dead_letter_topic_created",
               {{"topic", options_.topic}, {"partitions", "1", true}, {"replication_factor", "the brokers' default"}});
    return {};
  }
  return fail(Error::fatal(options_.origin + "=" + options_.topic +
                           ": the dead-letter topic does not exist and could not be created (" + why +
                           "); create it, or grant this service CREATE on it"));
}

Status KafkaDeadLetterStore::send(const OutgoingMessage& message) {
  if (auto s = producer_->produce(message); !s) return s;
  if (auto s = producer_->flush(options_.timeout); !s) {
    return fail(Error{s.error().kind, options_.origin + "=" + options_.topic + ": " + s.error().message});
  }
  return {};
}

Status KafkaDeadLetterStore::write(const runtime::DeadLetter& letter) {
  if (auto s = ensureTopic(options_.timeout); !s) return s;
  OutgoingMessage m;
  m.topic = options_.topic;
  if (letter.key) m.key = *letter.key;
  if (letter.value) m.value = *letter.value;
  m.headers = deadLetterHeaders(letter);
  m.timestampMs = letter.timestampMs > 0 ? letter.timestampMs : 0;
  if (auto s = send(m); !s) return s;
  ++written_;
  return {};
}

Result<DeadLetterScan> KafkaDeadLetterStore::scan() {
  auto found = partitions(options_.timeout);
  if (!found) return fail(found.error());
  if (!*found) return DeadLetterScan{};
  std::map<int32_t, std::pair<int64_t, int64_t>> ranges;
  std::map<int32_t, int64_t> starts, ends;
  for (int32_t p : **found) {
    int64_t low = 0, high = 0;
    auto e = rd_kafka_query_watermark_offsets(producer_->handle(), options_.topic.c_str(), p, &low, &high,
                                              static_cast<int>(options_.timeout.count()));
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return fail(Error::retry("the offsets of " + options_.topic + "[" + std::to_string(p) + "]: " + rd_kafka_err2str(e)));
    }
    ranges[p] = {low, high};
    starts[p] = low;
    ends[p] = high;
  }
  auto records =
      readTopic(options_.properties, options_.topic, ranges, std::chrono::milliseconds(options_.timeout * 4), *options_.time);
  if (!records) return fail(records.error());
  DeadLetterScan scan = sortOut(options_.topic, *records, ends);
  scan.starts = std::move(starts);
  return scan;
}

Result<std::vector<runtime::DeadLetter>> KafkaDeadLetterStore::list(const runtime::DeadLetterFilter& filter) {
  auto s = scan();
  if (!s) return fail(s.error());
  if (s->foreign > 0) {
    log::event(spdlog::level::warn, "dead_letter_topic_foreign_records",
               {{"topic", options_.topic},
                {"records", std::to_string(s->foreign), true},
                {"detail", "records without the __connect.errors.* context headers are not dead letters of ours: left alone"}});
  }
  std::vector<runtime::DeadLetter> out;
  for (auto& d : s->waiting) {
    if (filter.matches(d)) out.push_back(std::move(d));
  }
  return out;
}

Status KafkaDeadLetterStore::remove(const runtime::DeadLetter& letter, runtime::Resolution why) {
  int32_t partition = 0;
  int64_t offset = 0;
  if (!parseLocation(letter.location, partition, offset)) {
    return fail(Error::fatal("not a record of the dead-letter topic " + options_.topic + ": " + letter.location));
  }
  OutgoingMessage m;
  m.topic = options_.topic;
  m.partition = partition;  // beside the letter: everything before the first waiting letter may go
  m.headers = {{std::string(kResolvesHeader), std::to_string(partition) + "@" + std::to_string(offset)},
               {std::string(kResolutionHeader), why == runtime::Resolution::Replayed ? "replayed" : "purged"}};
  return send(m);
}

Result<std::string> KafkaDeadLetterStore::reclaim() {
  auto s = scan();
  if (!s) return fail(s.error());
  rd_kafka_t* rk = producer_->handle();
  PartitionListPtr before(rd_kafka_topic_partition_list_new(static_cast<int>(s->keepFrom.size())));
  int64_t total = 0;
  for (const auto& [p, from] : s->keepFrom) {
    const int64_t low = s->starts[p];
    if (from <= low) continue;
    rd_kafka_topic_partition_list_add(before.get(), options_.topic.c_str(), p)->offset = from;
    total += from - low;
  }
  if (before->cnt == 0) return std::string("nothing to delete from " + options_.topic);
  rd_kafka_DeleteRecords_t* request = rd_kafka_DeleteRecords_new(before.get());
  QueuePtr queue(rd_kafka_queue_new(rk));
  auto opts = adminOptions(rk, RD_KAFKA_ADMIN_OP_DELETERECORDS, options_.timeout);
  rd_kafka_DeleteRecords(rk, &request, 1, opts.get(), queue.get());
  rd_kafka_DeleteRecords_destroy(request);
  EventPtr ev = awaitResult(queue.get(), options_.timeout);
  if (!ev) return fail(Error::retry("deleting records of " + options_.topic + ": no answer"));
  if (auto code = rd_kafka_event_error(ev.get())) {
    return fail(Error::fatal("deleting records of " + options_.topic + ": " + rd_kafka_event_error_string(ev.get()) +
                             (code == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ? " (needs DELETE on the topic)" : "")));
  }
  if (const auto* result = rd_kafka_event_DeleteRecords_result(ev.get())) {
    const rd_kafka_topic_partition_list_t* offsets = rd_kafka_DeleteRecords_result_offsets(result);
    for (int i = 0; offsets && i < offsets->cnt; ++i) {
      if (offsets->elems[i].err) {
        return fail(Error::fatal("deleting records of " + options_.topic + "[" + std::to_string(offsets->elems[i].partition) +
                                 "]: " + rd_kafka_err2str(offsets->elems[i].err)));
      }
    }
  }
  return "deleted " + std::to_string(total) + " records of " + options_.topic +
         " (letters taken out and their markers) before the first letter still waiting";
}

}  // namespace cdc::kafka
