#include "core/log.h"

#include <array>
#include <chrono>
#include <cstdio>
#include <span>
#include <string>

#include <mutex>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>

#include "core/json_writer.h"
#include "core/time.h"

namespace cdc::log {
namespace {

std::string gService;  // set before other threads log

// The status line (progress) and everything written to stderr, so that a line never lands
// after the status text: the status is cleared, the line written, the status drawn again.
std::mutex gStderr;
std::string gStatus;  // guarded by gStderr

void writeAboveStatus(std::string_view text) {
  std::lock_guard lock(gStderr);
  std::string out;
  if (!gStatus.empty()) out += "\r\033[K";
  out += text;
  out += gStatus;
  std::fwrite(out.data(), 1, out.size(), stderr);
  if (!gStatus.empty()) std::fflush(stderr);
}

class StderrSink final : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    writeAboveStatus(std::string_view(formatted.data(), formatted.size()));
  }
  void flush_() override {
    std::lock_guard lock(gStderr);
    std::fflush(stderr);
  }
};

// {"ts":…,"level":…,"service":… of a line (without the closing brace).
void appendJsonHead(std::string& line, std::chrono::system_clock::time_point time, spdlog::level::level_enum level) {
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(time.time_since_epoch()).count();
  line += "{\"ts\":";
  appendJsonString(line, formatIsoTimestamp(Timestamp{micros}));
  line += ",\"level\":";
  auto name = spdlog::level::to_string_view(level);
  appendJsonString(line, std::string_view(name.data(), name.size()));
  if (!gService.empty()) {
    line += ",\"service\":";
    appendJsonString(line, gService);
  }
}

void appendFields(std::string& out, std::span<const Field> fields) {
  for (const auto& f : fields) {
    out.push_back(',');
    appendJsonString(out, f.key);
    out.push_back(':');
    if (f.raw) {
      out += f.value;
    } else {
      appendJsonString(out, f.value);
    }
  }
}

// Formats spdlog records as one JSON object per line. A message produced by event() is already
// a JSON fragment of fields and is spliced in; any other message becomes "msg".
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    std::string line;
    line.reserve(128 + msg.payload.size());
    appendJsonHead(line, msg.time, msg.level);
    std::string_view payload(msg.payload.data(), msg.payload.size());
    if (payload.starts_with("\x1f")) {
      line += ',';
      line.append(payload.substr(1));
    } else {
      line += ",\"msg\":";
      appendJsonString(line, payload);
    }
    line += "}\n";
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonFormatter>(); }
};

Format gFormat = Format::Text;

}  // namespace

void configure(spdlog::level::level_enum level, Format format) {
  gFormat = format;
  auto logger = std::make_shared<spdlog::logger>("cdc", std::make_shared<StderrSink>());
  if (format == Format::Json) {
    logger->set_formatter(std::make_unique<JsonFormatter>());
  } else {
    std::string service = gService.empty() ? "" : gService + " ";
    for (auto at = service.find('%'); at != std::string::npos; at = service.find('%', at + 2)) service.insert(at, "%");
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ " + service + "%v", spdlog::pattern_time_type::utc);
  }
  logger->set_level(level);
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(std::move(logger));
}

void event(spdlog::level::level_enum level, std::string_view name, std::initializer_list<Field> fields) {
  event(level, name, fields, std::nullopt);
}

void event(spdlog::level::level_enum level, std::string_view name, std::initializer_list<Field> fields,
           const std::optional<TraceParent>& trace) {
  if (!spdlog::should_log(level)) return;
  std::array<Field, 3> traceArray{};
  std::span<const Field> traceFields;
  if (trace) {
    traceArray = {Field{"traceparent", trace->value}, Field{"trace_id", trace->traceId}, Field{"span_id", trace->parentId}};
    traceFields = traceArray;
  }
  std::string out;
  if (gFormat == Format::Json) {
    out += "\x1f\"msg\":";
    appendJsonString(out, name);
    appendFields(out, {fields.begin(), fields.size()});
    appendFields(out, traceFields);
  } else {
    out += name;
    for (std::span<const Field> list : {std::span<const Field>(fields.begin(), fields.size()), traceFields}) {
      for (const auto& f : list) {
        out.push_back(' ');
        out += f.key;
        out.push_back('=');
        out += f.value;
      }
    }
  }
  spdlog::log(level, "{}", out);
}

void setService(std::string_view service) {
  gService = service;
  if (auto logger = spdlog::default_logger(); logger && gFormat == Format::Text) configure(logger->level(), gFormat);
}

bool json() { return gFormat == Format::Json; }

void report(spdlog::level::level_enum level, std::string_view name, std::string_view text, std::initializer_list<Field> fields) {
  std::string line;
  if (gFormat == Format::Json) {
    appendJsonHead(line, toSystemClock(systemNow()), level);
    line += ",\"msg\":";
    appendJsonString(line, name);
    appendFields(line, {fields.begin(), fields.size()});
    line += ",\"text\":";
    appendJsonString(line, text);
    line += "}\n";
  } else {
    line.assign(text);
    line.push_back('\n');
  }
  // After whatever the logger holds, in one write.
  if (auto logger = spdlog::default_logger()) logger->flush();
  writeAboveStatus(line);
  std::fflush(stderr);
}

void status(std::string_view line) {
  std::lock_guard lock(gStderr);
  std::string out = "\r\033[K";
  if (line.empty() && gStatus.empty()) return;
  out += line;
  gStatus.assign(line);
  std::fwrite(out.data(), 1, out.size(), stderr);
  std::fflush(stderr);
}

}  // namespace cdc::log
