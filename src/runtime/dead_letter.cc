#include "runtime/dead_letter.h"

#include <algorithm>

#include <simdjson.h>

#include "core/base64.h"
#include "core/json_writer.h"

namespace cdc::runtime {

std::string ObjectDeadLetterStore::objectKey(std::string_view service, std::string_view topic, int32_t partition, int64_t offset,
                                             int64_t timestampMs, Timestamp now) {
  int64_t day = timestampMs >= 0 ? Timestamp::fromMillis(timestampMs).epochDay() : now.epochDay();
  std::string key = "dlq/";
  key += service;
  key += '/';
  key += topic;
  key += "/date=";
  key += formatIsoDate(day);
  key += '/';
  key += std::to_string(partition);
  key += '-';
  key += std::to_string(offset);
  key += ".json";
  return key;
}

std::string ObjectDeadLetterStore::encode(const DeadLetter& d) {
  std::string out;
  JsonWriter w(out);
  w.beginObject();
  w.field("service", d.service).field("topic", d.topic).field("partition", d.partition).field("offset", d.offset);
  w.key("timestamp");
  if (d.timestampMs >= 0) {
    w.string(formatIsoTimestamp(Timestamp::fromMillis(d.timestampMs)));
  } else {
    w.null();
  }
  w.field("timestamp_ms", d.timestampMs);
  auto text = [&](std::string_view name, const std::optional<std::string>& v) {
    if (!v) {
      w.key(name).null();
    } else if (simdjson::validate_utf8(v->data(), v->size())) {
      w.field(name, *v);
    } else {
      w.key(name).null();
      w.field(std::string(name) + "_base64", base64Encode(*v));
    }
  };
  text("key", d.key);
  text("message", d.value);
  w.field("error", d.error).field("attempts", d.attempts).field("dead_lettered_at", d.deadLetteredAt);
  if (d.traceparent) w.field("traceparent", *d.traceparent);
  if (d.firstError) w.field("first_error", *d.firstError);
  if (d.firstDeadLetteredAt) w.field("first_dead_lettered_at", *d.firstDeadLetteredAt);
  if (!d.stage.empty()) w.field("stage", d.stage);
  w.endObject();
  return out;
}

Result<DeadLetter> ObjectDeadLetterStore::decode(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto e = parser.parse(json.data(), json.size()).get(root)) {
    return fail(Error::poison(std::string("dead letter is not JSON: ") + simdjson::error_message(e)));
  }
  DeadLetter d;
  std::string_view s;
  auto str = [&](const char* name, std::string& out) {
    if (!root[name].get_string().get(s)) out = std::string(s);
  };
  str("service", d.service);
  str("topic", d.topic);
  str("error", d.error);
  str("dead_lettered_at", d.deadLetteredAt);
  if (!root["traceparent"].get_string().get(s) && parseTraceParent(s)) d.traceparent = std::string(s);
  if (!root["first_error"].get_string().get(s)) d.firstError = std::string(s);
  if (!root["first_dead_lettered_at"].get_string().get(s)) d.firstDeadLetteredAt = std::string(s);
  str("stage", d.stage);
  int64_t n = 0;
  if (!root["partition"].get_int64().get(n)) d.partition = static_cast<int32_t>(n);
  if (!root["offset"].get_int64().get(n)) d.offset = n;
  if (!root["timestamp_ms"].get_int64().get(n)) d.timestampMs = n;
  if (!root["attempts"].get_int64().get(n)) d.attempts = static_cast<int>(n);
  auto bytes = [&](const char* name, std::optional<std::string>& out) -> Status {
    if (!root[name].get_string().get(s)) {
      out = std::string(s);
      return {};
    }
    std::string b64name = std::string(name) + "_base64";
    if (!root[b64name].get_string().get(s)) {
      std::string raw;
      if (!base64Decode(s, raw)) return fail(Error::poison(b64name + " is not base64"));
      out = std::move(raw);
    }
    return {};
  };
  if (auto st = bytes("key", d.key); !st) return fail(st.error());
  if (auto st = bytes("message", d.value); !st) return fail(st.error());
  if (d.topic.empty()) return fail(Error::poison("dead letter without topic"));
  return d;
}

bool deadLetterHeader(std::string_view name) {
  return name == kAttemptsHeader || name == kFirstErrorHeader || name == kFirstDeadLetteredAtHeader ||
         name.starts_with("cdc-dlq-") || name.starts_with("__connect.errors.");
}

DeadLetter deadLetterOf(const Record& record, std::string_view service, std::string_view error, std::string_view stage,
                        Timestamp now) {
  DeadLetter d;
  d.service = std::string(service);
  d.topic = std::string(record.topic);
  d.partition = record.partition;
  d.offset = record.offset;
  d.timestampMs = record.timestampMs;
  d.key = record.key;
  d.value = record.value;
  d.error = std::string(error);
  d.stage = std::string(stage);
  d.attempts = 1;
  if (const std::string* a = record.header(kAttemptsHeader)) d.attempts = std::max(1, std::atoi(a->c_str()) + 1);
  d.deadLetteredAt = formatIsoTimestamp(now);
  if (auto trace = record.trace()) d.traceparent = std::string(trace->value);
  if (const std::string* first = record.header(kFirstErrorHeader)) d.firstError = *first;
  if (const std::string* at = record.header(kFirstDeadLetteredAtHeader)) d.firstDeadLetteredAt = *at;
  for (const auto& [name, value] : record.headers) {
    if (!deadLetterHeader(name)) d.headers.emplace_back(name, value);
  }
  return d;
}

Status DeadLetterQueue::write(const Record& record, std::string_view error, Timestamp now, std::string_view stage) {
  if (auto s = store_.write(deadLetterOf(record, service_, error, stage, now)); !s) return s;
  ++written_;
  return {};
}

Status ObjectDeadLetterStore::write(const DeadLetter& d) {
  std::string key = objectKey(d.service, d.topic, d.partition, d.offset, d.timestampMs,
                              parseIsoTimestamp(d.deadLetteredAt).value_or(Timestamp{}));
  return objects_.put(key, encode(d));
}

Result<std::vector<DeadLetter>> ObjectDeadLetterStore::list(const DeadLetterFilter& filter) {
  return listDeadLetters(objects_, filter);
}

Status ObjectDeadLetterStore::remove(const DeadLetter& d, Resolution why) {
  if (why == Resolution::Replayed) {
    // A failed replay has just rewritten the letter under the same key with attempts + 1:
    // keep that one.
    auto body = objects_.get(d.location);
    if (!body) return fail(body.error());
    if (!*body) return {};
    auto current = decode(**body);
    if (current && current->attempts > d.attempts) return {};
  }
  return objects_.remove(d.location);
}

bool DeadLetterFilter::matches(const DeadLetter& d) const {
  if (service && d.service != *service) return false;
  if (topic && d.topic != *topic &&
      !(d.topic.size() > topic->size() && d.topic.ends_with(*topic) && d.topic[d.topic.size() - topic->size() - 1] == '.')) {
    return false;
  }
  if (errorText && d.error.find(*errorText) == std::string::npos &&
      (!d.firstError || d.firstError->find(*errorText) == std::string::npos)) {
    return false;
  }
  if (since || before) {
    auto at = parseIsoTimestamp(d.deadLetteredAt);
    if (!at) return false;
    if (since && at->micros < since->micros) return false;
    if (before && at->micros >= before->micros) return false;
  }
  return true;
}

Result<std::vector<DeadLetter>> listDeadLetters(store::ObjectStore& objects, const DeadLetterFilter& filter) {
  std::string prefix = "dlq/";
  if (filter.service) {
    prefix += *filter.service;
    prefix += '/';
    // A full topic name narrows the listing to its folder.
    if (filter.topic && filter.topic->find('.') != std::string::npos) {
      prefix += *filter.topic;
      prefix += '/';
    }
  }
  auto infos = objects.listAll(prefix);
  if (!infos) return fail(infos.error());
  std::vector<DeadLetter> letters;
  for (const auto& info : *infos) {
    if (!info.key.ends_with(".json")) continue;
    auto body = objects.get(info.key);
    if (!body) return fail(body.error());
    if (!*body) continue;  // removed meanwhile
    auto d = ObjectDeadLetterStore::decode(**body);
    if (!d) return fail(Error::poison(info.key + ": " + d.error().message));
    d->location = info.key;
    if (filter.matches(*d)) letters.push_back(std::move(*d));
  }
  return letters;
}

Record replayRecord(const DeadLetter& d, TopicInterner& topics) {
  Record r;
  r.topic = topics.intern(d.topic);
  r.partition = d.partition;
  r.offset = d.offset;
  r.timestampMs = d.timestampMs;
  r.key = d.key;
  r.value = d.value;
  r.headers = d.headers;
  r.headers.emplace_back(std::string(kAttemptsHeader), std::to_string(d.attempts));
  r.headers.emplace_back(std::string(kFirstErrorHeader), d.firstError.value_or(d.error));
  r.headers.emplace_back(std::string(kFirstDeadLetteredAtHeader), d.firstDeadLetteredAt.value_or(d.deadLetteredAt));
  if (d.traceparent && !r.header("traceparent")) r.headers.emplace_back("traceparent", *d.traceparent);
  return r;
}

std::optional<std::string> kcatLine(const DeadLetter& d) {
  auto utf8 = [](const std::optional<std::string>& v) { return !v || simdjson::validate_utf8(v->data(), v->size()); };
  if (!utf8(d.key) || !utf8(d.value)) return std::nullopt;
  TopicInterner topics;
  Record r = replayRecord(d, topics);
  std::string out;
  JsonWriter w(out);
  w.beginObject().field("topic", d.topic).field("partition", d.partition).field("offset", d.offset);
  if (d.timestampMs >= 0) w.field("tstype", "create").field("ts", d.timestampMs);
  w.key("headers").beginArray();
  for (const auto& [name, value] : r.headers) w.string(name).string(value);
  w.endArray();
  w.key("key");
  d.key ? w.string(*d.key) : w.null();
  w.key("payload");
  d.value ? w.string(*d.value) : w.null();
  w.endObject();
  return out;
}

DeadLetterSource::DeadLetterSource(DeadLetterStore& store, std::vector<DeadLetter> letters)
    : store_(store), letters_(std::move(letters)) {
  sortLetters();
}

DeadLetterSource::DeadLetterSource(store::ObjectStore& objects, std::vector<DeadLetter> letters)
    : owned_(std::make_unique<ObjectDeadLetterStore>(objects)), store_(*owned_), letters_(std::move(letters)) {
  sortLetters();
}

void DeadLetterSource::sortLetters() {
  // Replay in each partition's offset order.
  std::stable_sort(letters_.begin(), letters_.end(), [](const DeadLetter& a, const DeadLetter& b) {
    return std::tie(a.topic, a.partition, a.offset) < std::tie(b.topic, b.partition, b.offset);
  });
}

Result<PollStatus> DeadLetterSource::poll(std::vector<Record>& out, size_t max, std::chrono::milliseconds) {
  size_t n = 0;
  while (next_ < letters_.size() && n < max) {
    out.push_back(replayRecord(letters_[next_++], topics_));
    ++n;
  }
  return next_ == letters_.size() ? PollStatus::End : PollStatus::Ok;
}

Status DeadLetterSource::commit(std::span<const Position> positions) {
  // Letters are sorted by partition and offset: remove those now below their partition's position.
  for (size_t i = removed_; i < next_; ++i) {
    const DeadLetter& d = letters_[i];
    bool done = std::any_of(positions.begin(), positions.end(), [&](const Position& p) {
      return p.topic == d.topic && p.partition == d.partition && d.offset < p.nextOffset;
    });
    if (!done) continue;
    if (auto s = store_.remove(d, Resolution::Replayed); !s) return s;
  }
  removed_ = next_;
  return {};
}

}  // namespace cdc::runtime
