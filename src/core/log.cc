#include "core/log.h"

#include <chrono>
#include <string>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include "core/json_writer.h"
#include "core/time.h"

namespace cdc::log {
namespace {

// Formats spdlog records as one JSON object per line. A message produced by event() is already
// a JSON fragment of fields and is spliced in; any other message becomes "msg".
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    std::string line;
    line.reserve(128 + msg.payload.size());
    auto micros = std::chrono::duration_cast<std::chrono::microseconds>(msg.time.time_since_epoch()).count();
    line += "{\"ts\":";
    appendJsonString(line, formatIsoTimestamp(Timestamp{micros}));
    line += ",\"level\":";
    auto level = spdlog::level::to_string_view(msg.level);
    appendJsonString(line, std::string_view(level.data(), level.size()));
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
  auto logger = std::make_shared<spdlog::logger>("cdc", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  if (format == Format::Json) {
    logger->set_formatter(std::make_unique<JsonFormatter>());
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
  }
  logger->set_level(level);
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(std::move(logger));
}

void event(spdlog::level::level_enum level, std::string_view name, std::initializer_list<Field> fields) {
  if (!spdlog::should_log(level)) return;
  std::string out;
  if (gFormat == Format::Json) {
    out += "\x1f\"msg\":";
    appendJsonString(out, name);
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
  } else {
    out += name;
    for (const auto& f : fields) {
      out.push_back(' ');
      out += f.key;
      out.push_back('=');
      out += f.value;
    }
  }
  spdlog::log(level, "{}", out);
}

}  // namespace cdc::log
