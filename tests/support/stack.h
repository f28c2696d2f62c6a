#pragma once

#include <cstdlib>
#include <string>

#include "support/run.h"

namespace cdc::test {

// The Kafka broker that scripts/stack started (CTest's fixture runs `scripts/stack up kafka`):
// KAFKA_BOOTSTRAP_SERVERS when set, otherwise what `scripts/stack env` prints. Empty when no
// broker is running.
inline std::string kafkaBootstrap() {
  if (const char* env = std::getenv("KAFKA_BOOTSTRAP_SERVERS"); env && *env) return env;
  auto r = run(std::string(CDC_SOURCE_DIR) + "/scripts/stack env", false);
  const std::string key = "KAFKA_BOOTSTRAP_SERVERS=";
  auto at = r.out.find(key);
  if (at == std::string::npos) return {};
  auto end = r.out.find('\n', at);
  return r.out.substr(at + key.size(), end == std::string::npos ? std::string::npos : end - at - key.size());
}

}  // namespace cdc::test
