#include "adapters/kafka/kafka_config.h"

#include <algorithm>

#include "core/log.h"

namespace cdc::kafka {

bool secret(std::string_view name) {
  for (std::string_view word : {"password", "secret", "key", "token", "jaas"}) {
    if (name.find(word) != std::string_view::npos) return true;
  }
  return false;
}

namespace {

// librdkafka logs from its own threads: spdlog's logger is thread-safe.
void onLog(const rd_kafka_t* rk, int level, const char* facility, const char* message) {
  // syslog levels: 0-3 error, 4 warning, 5-6 notice/info, 7 debug.
  // A broker connection failing ("FAIL") is reported again, once, by the client's error callback
  // (kafka_error): here it is detail.
  if (std::string_view(facility) == "FAIL") level = 7;
  auto lvl = level <= 3   ? spdlog::level::err
             : level == 4 ? spdlog::level::warn
             : level <= 6 ? spdlog::level::info
                          : spdlog::level::debug;
  log::event(lvl, "librdkafka", {{"client", rd_kafka_name(rk)}, {"facility", facility}, {"message", message}});
}

}  // namespace

void setDefault(Properties& props, std::string_view name, std::string_view value) {
  if (!findProperty(props, name)) props.push_back({std::string(name), std::string(value), "default"});
}

void setProperty(Properties& props, std::string_view name, std::string_view value, std::string_view origin) {
  for (auto& p : props) {
    if (p.name == name) {
      p.value = value;
      p.origin = origin;
      return;
    }
  }
  props.push_back({std::string(name), std::string(value), std::string(origin)});
}

const Property* findProperty(const Properties& props, std::string_view name) {
  for (const auto& p : props) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

Properties producerProperties(Properties props) {
  // librdkafka's CONFIGURATION.md marks these "C" (consumer only).
  static constexpr std::string_view kConsumerOnly[] = {"group.id",
                                                       "group.instance.id",
                                                       "partition.assignment.strategy",
                                                       "session.timeout.ms",
                                                       "heartbeat.interval.ms",
                                                       "group.protocol.type",
                                                       "coordinator.query.interval.ms",
                                                       "max.poll.interval.ms",
                                                       "enable.auto.commit",
                                                       "auto.commit.interval.ms",
                                                       "enable.auto.offset.store",
                                                       "queued.min.messages",
                                                       "queued.max.messages.kbytes",
                                                       "fetch.wait.max.ms",
                                                       "fetch.message.max.bytes",
                                                       "max.partition.fetch.bytes",
                                                       "fetch.max.bytes",
                                                       "fetch.min.bytes",
                                                       "fetch.error.backoff.ms",
                                                       "offset.store.method",
                                                       "isolation.level",
                                                       "consume.callback.max.messages",
                                                       "enable.partition.eof",
                                                       "check.crcs",
                                                       "auto.offset.reset"};
  std::erase_if(props, [](const Property& p) {
    return std::find(std::begin(kConsumerOnly), std::end(kConsumerOnly), p.name) != std::end(kConsumerOnly);
  });
  return props;
}

std::string_view clientVersion() { return rd_kafka_version_str(); }

std::string environmentName(std::string_view property) {
  std::string out = "KAFKA_";
  for (char c : property) out += c == '.' ? '_' : static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
  return out;
}

Result<ConfPtr> makeConf(const Properties& props) {
  ConfPtr conf(rd_kafka_conf_new());
  char err[512];
  for (const auto& p : props) {
    if (rd_kafka_conf_set(conf.get(), p.name.c_str(), p.value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      return fail(Error::fatal(p.origin + ": " + err));
    }
  }
  rd_kafka_conf_set_log_cb(conf.get(), onLog);
  return conf;
}

std::string describe(const Properties& props) {
  std::string out;
  for (const auto& p : props) {
    if (!out.empty()) out += ' ';
    out += p.name + '=' + (secret(p.name) ? std::string("***") : p.value);
  }
  return out;
}

}  // namespace cdc::kafka
