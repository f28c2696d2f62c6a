#include "adapters/replay/replay_source.h"

#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <utility>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <simdjson.h>

#include "core/base64.h"
#include "debezium/decoder.h"

namespace cdc::replay {

struct ReplaySource::Parser {
  simdjson::ondemand::parser parser;
};

namespace {
constexpr size_t kPadding = simdjson::SIMDJSON_PADDING;
}  // namespace

ReplaySource::ReplaySource(std::string path, FILE* file, bool owned, std::vector<std::string> topics)
    : path_(std::move(path)), file_(file), owned_(owned), buffer_(1 << 20), parser_(std::make_unique<Parser>()) {
  subscription_ = std::move(topics);
}

bool ReplaySource::subscribed(std::string_view line) const {
  // A cheap look at the line before parsing it: kcat writes the topic first, so the name after
  // the first `"topic":"` is compared with the subscription. A line whose topic cannot be seen
  // this way (spaced, escaped) is parsed, and the topic checked then.
  if (subscription_.empty()) return true;
  static constexpr std::string_view kTopic = "\"topic\":\"";
  size_t at = line.substr(0, 512).find(kTopic);
  if (at == std::string_view::npos) return true;
  std::string_view rest = line.substr(at + kTopic.size());
  size_t end = rest.find_first_of("\"\\");
  if (end == std::string_view::npos || rest[end] != '"') return true;
  std::string_view topic = rest.substr(0, end);
  for (const auto& t : subscription_) {
    if (t == topic) return true;
  }
  return false;
}

ReplaySource::~ReplaySource() {
  if (owned_ && file_) std::fclose(file_);
}

Result<std::unique_ptr<ReplaySource>> ReplaySource::open(const std::string& path, std::vector<std::string> topics,
                                                         std::vector<int32_t> partitions, bool offsets) {
  std::unique_ptr<ReplaySource> source;
  if (path == "-") {
    source.reset(new ReplaySource("-", stdin, false, std::move(topics)));
  } else {
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return fail(Error::fatal("cannot open replay file " + path + ": " + std::strerror(errno)));
    source.reset(new ReplaySource(path, f, true, std::move(topics)));
  }
  struct stat st{};
  const bool known = ::fstat(::fileno(source->file_), &st) == 0;
  source->stream_ = known && !S_ISREG(st.st_mode);
  if (known && S_ISREG(st.st_mode)) source->size_ = static_cast<uint64_t>(st.st_size);
  source->partitions_ = std::move(partitions);
  source->checkOffsets_ = offsets;
  return source;
}

bool ReplaySource::nextLine(std::string_view& line) {
  while (true) {
    const char* start = buffer_.data() + begin_;
    const void* nl = std::memchr(start, '\n', end_ - begin_);
    if (nl) {
      size_t len = static_cast<const char*>(nl) - start;
      line = std::string_view(start, len);
      begin_ += len + 1;
      ++lineNumber_;
      return true;
    }
    if (eof_) {
      if (begin_ == end_) return false;
      line = std::string_view(start, end_ - begin_);
      begin_ = end_;
      ++lineNumber_;
      return true;
    }
    // Move the partial line to the front, grow when one line fills the buffer, read more.
    std::memmove(buffer_.data(), start, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
    // The last kPadding bytes are never filled: every line has them after it, so that the
    // parser reads it in place.
    if (end_ == buffer_.size() - kPadding) buffer_.resize(buffer_.size() * 2);
    const int fd = ::fileno(file_);
    if (stream_) {
      pollfd ready{fd, POLLIN, 0};
      if (::poll(&ready, 1, waitMs_) <= 0) return false;  // nothing yet, or a signal: come back
    }
    ssize_t n = ::read(fd, buffer_.data() + end_, buffer_.size() - kPadding - end_);
    if (n < 0) {
      if (errno == EINTR) {
        if (stream_) return false;
        continue;
      }
      readError_ = errno;
      return false;
    }
    bytesRead_ += static_cast<uint64_t>(n);
    end_ += static_cast<size_t>(n);
    if (n == 0) eof_ = true;
  }
}

namespace {

// Which of the fields a record needs a line had.
struct FieldsSeen {
  bool topic = false;
  bool partition = false;
  bool offset = false;
};

// False, with why.
bool refuse(std::string& why, std::string text) {
  why = std::move(text);
  return false;
}

// A value the decoder parses in place: with room for its padding.
void assignPadded(std::optional<std::string>& target, std::string_view bytes) {
  target.emplace();
  target->reserve(bytes.size() + debezium::kDecoderPadding);
  target->assign(bytes);
}

// Each reader below takes one field's value into the record; false, with `why`, when the value
// is not what kcat -J (or `cdc dlq export`) writes. (No string is made on the way of a good
// line: this runs for every field of every record of a replay.)

// "key" or "payload": a string or null (a tombstone's payload).
bool readText(simdjson::ondemand::value v, std::string_view k, std::optional<std::string>& target, std::string& why) {
  bool null = false;
  if (v.is_null().get(null)) return refuse(why, std::string(k) + " is not a string or null");
  if (null) {
    target.reset();
    return true;
  }
  std::string_view s;
  if (v.get_string().get(s)) return refuse(why, std::string(k) + " is not a string or null");
  assignPadded(target, s);
  return true;
}

// "key_base64" or "payload_base64": bytes that are not text (Avro), as `cdc dlq export` writes them.
bool readBase64(simdjson::ondemand::value v, std::string_view k, std::optional<std::string>& target, std::string& why) {
  bool null = false;
  if (v.is_null().get(null)) return refuse(why, std::string(k) + " is not a base64 string or null");
  if (null) {
    target.reset();
    return true;
  }
  std::string_view s;
  if (v.get_string().get(s)) return refuse(why, std::string(k) + " is not a base64 string");
  std::string raw;
  if (!base64Decode(s, raw)) return refuse(why, std::string(k) + " is not base64");
  assignPadded(target, raw);
  return true;
}

// "headers": kcat prints them as an array of alternating names and values (a value may be null).
bool readHeaders(simdjson::ondemand::value v, std::vector<std::pair<std::string, std::string>>& headers, std::string& why) {
  simdjson::ondemand::array a;
  if (v.get_array().get(a)) return true;  // not an array: no headers
  std::string name;
  bool expectName = true;
  for (auto h : a) {
    std::string_view s;
    bool null = false;
    if (h.is_null().get(null) == simdjson::SUCCESS && null) {
      s = {};
    } else if (h.get_string().get(s)) {
      return refuse(why, "headers are not strings");
    }
    if (expectName) {
      name = std::string(s);
    } else {
      headers.emplace_back(std::exchange(name, {}), std::string(s));
    }
    expectName = !expectName;
  }
  return true;
}

}  // namespace

bool ReplaySource::readFields(std::string_view line, runtime::Record& out, bool& haveTopic, std::string& why) {
  Parser& p = *parser_;
  simdjson::ondemand::document doc;
  simdjson::ondemand::object obj;
  // In place: the line lies in buffer_, followed by at least kPadding readable bytes.
  if (auto e = p.parser.iterate(line.data(), line.size(), line.size() + kPadding).get(doc))
    return refuse(why, simdjson::error_message(e));
  if (doc.get_object().get(obj) != simdjson::SUCCESS) return refuse(why, "the line is not a kcat -J record (a JSON object)");
  FieldsSeen seen;
  for (auto field : obj) {
    std::string_view k;
    if (auto e = field.unescaped_key().get(k)) return refuse(why, simdjson::error_message(e));
    simdjson::ondemand::value v;
    if (auto e = field.value().get(v)) return refuse(why, simdjson::error_message(e));
    // The fields in the order kcat writes them; a field of another name is ignored.
    if (k == "topic") {
      std::string_view t;
      if (v.get_string().get(t)) return refuse(why, "topic is not a string");
      out.topic = topics_.intern(t);
      haveTopic = seen.topic = true;
    } else if (k == "partition") {
      int64_t n;
      if (v.get_int64().get(n)) return refuse(why, "partition is not an integer");
      if (n < 0 || n > INT32_MAX) return refuse(why, "partition " + std::to_string(n) + " is not a Kafka partition number");
      out.partition = static_cast<int32_t>(n);
      seen.partition = true;
    } else if (k == "offset") {
      if (v.get_int64().get(out.offset)) return refuse(why, "offset is not an integer");
      if (out.offset < 0 && checkOffsets_) return refuse(why, "offset " + std::to_string(out.offset) + " is negative");
      seen.offset = true;
    } else if (k == "ts") {
      if (v.get_int64().get(out.timestampMs)) return refuse(why, "ts is not an integer");
    } else if (k == "key" || k == "payload") {
      if (!readText(v, k, k == "key" ? out.key : out.value, why)) return false;
    } else if (k == "key_base64" || k == "payload_base64") {
      if (!readBase64(v, k, k == "key_base64" ? out.key : out.value, why)) return false;
    } else if (k == "headers") {
      if (!readHeaders(v, out.headers, why)) return false;
    }
  }
  if (!seen.topic || !seen.partition || !seen.offset) return refuse(why, "needs topic, partition and offset");
  return true;
}

bool ReplaySource::checkOrder(const runtime::Record& out, std::string& why) {
  // Kafka's offsets increase within a partition: a line that goes back would be taken as an
  // already applied change (or overwrite another record's dead letter).
  auto it = std::find_if(seen_.begin(), seen_.end(),
                         [&](const runtime::Position& p) { return p.partition == out.partition && p.topic == out.topic; });
  if (it == seen_.end()) {
    seen_.push_back(runtime::Position{std::string(out.topic), out.partition, out.offset + 1});
  } else if (out.offset < it->nextOffset) {
    return refuse(why, "offset " + std::to_string(out.offset) + " of " + std::string(out.topic) + "[" +
                           std::to_string(out.partition) + "] does not follow offset " + std::to_string(it->nextOffset - 1) +
                           " (offsets increase within a partition)");
  } else {
    it->nextOffset = out.offset + 1;
  }
  return true;
}

bool ReplaySource::parseLine(std::string_view line, runtime::Record& out) {
  bool haveTopic = false;
  auto ours = [&] {
    return subscription_.empty() || std::find(subscription_.begin(), subscription_.end(), out.topic) != subscription_.end();
  };
  std::string why;
  bool ok = readFields(line, out, haveTopic, why);
  // A record of a topic the consumer does not subscribe to is skipped, however the line is
  // spaced (json.dumps and jq write `"topic": "…"`, which the quick look before cannot see), and
  // a broken line of such a topic is not its concern.
  if (haveTopic && !ours()) return false;
  if (ok && checkOffsets_) ok = checkOrder(out, why);
  if (ok) return true;
  out = runtime::Record{};
  out.topic = topics_.intern("_replay");
  out.partition = 0;
  out.offset = static_cast<int64_t>(lineNumber_);
  out.value = std::string(line);
  out.sourceError = "malformed replay line " + std::to_string(lineNumber_) + ": " + why;
  return true;
}

Result<runtime::PollStatus> ReplaySource::poll(std::vector<runtime::Record>& out, size_t max, std::chrono::milliseconds timeout) {
  std::string_view line;
  size_t n = 0;
  waitMs_ = static_cast<int>(std::clamp<int64_t>(timeout.count(), 0, 60'000));
  while (n < max && nextLine(line)) {
    waitMs_ = 0;  // a line is here: what follows is read only if it is there already
    if (line.empty() || line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    if (!subscribed(line)) continue;
    runtime::Record& r = out.emplace_back();
    if (!parseLine(line, r)) {
      out.pop_back();
      continue;
    }
    if (!r.sourceError && !partitions_.empty() &&
        std::find(partitions_.begin(), partitions_.end(), r.partition) == partitions_.end()) {
      out.pop_back();
      continue;
    }
    ++n;
  }
  if (readError_ != 0) return fail(Error::fatal("reading " + path_ + ": " + std::strerror(readError_)));
  return (eof_ && begin_ == end_) ? runtime::PollStatus::End : runtime::PollStatus::Ok;
}

Status ReplaySource::commit(std::span<const runtime::Position> positions) {
  for (const auto& p : positions) {
    bool found = false;
    for (auto& c : committed_) {
      if (c.topic == p.topic && c.partition == p.partition) {
        c.nextOffset = std::max(c.nextOffset, p.nextOffset);
        found = true;
      }
    }
    if (!found) committed_.push_back(p);
  }
  return {};
}

std::optional<runtime::Source::Progress> ReplaySource::progress() const {
  if (stream_ || size_ == 0) return std::nullopt;
  return Progress{bytesRead_ - (end_ - begin_), std::max(size_, bytesRead_), true};
}

}  // namespace cdc::replay
