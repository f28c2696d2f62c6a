#include "adapters/kafka/kafka_config.h"

#include <algorithm>

#include "core/log.h"

namespace cdc::kafka {
namespace {

bool secret(std::string_view name) {
  for (std::string_view word : {"password", "secret", "key", "token", "jaas"}) {
    if (name.find(word) != std::string_view::npos) return true;
  }
  return false;
}

// librdkafka logs from its own threads: spdlog's logger is thread-safe.
void onLog(const rd_kafka_t* rk, int level, const char* facility, const char* message) {
  // syslog levels: 0-3 error, 4 warning, 5-6 notice/info, 7 debug.
  auto lvl = level <= 3 ? spdlog::level::err
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
