#pragma once

#include <cstdlib>
#include <string>

#include "support/paths.h"
#include "support/run.h"

namespace cdc::test {

// One `export NAME=value` of `scripts/stack env`, or the environment's NAME when set.
inline std::string stackVariable(const std::string& name) {
  if (const char* env = std::getenv(name.c_str()); env && *env) return env;
  auto r = run(sourceDir() + "/scripts/stack env", false);
  const std::string key = name + "=";
  for (size_t at = r.out.find(key); at != std::string::npos; at = r.out.find(key, at + 1)) {
    if (at > 0 && r.out[at - 1] != ' ') continue;
    auto end = r.out.find_first_of(" \n", at);
    return r.out.substr(at + key.size(), end == std::string::npos ? std::string::npos : end - at - key.size());
  }
  return {};
}

// moto's endpoint (AWS_ENDPOINT_URL) that `scripts/stack up aws` started; empty when none.
inline std::string awsEndpoint() { return stackVariable("AWS_ENDPOINT_URL"); }

// The Kafka broker that scripts/stack started (CTest's fixture runs `scripts/stack up kafka`):
// KAFKA_BOOTSTRAP_SERVERS when set, otherwise what `scripts/stack env` prints. Empty when no
// broker is running.
inline std::string kafkaBootstrap() {
  if (const char* env = std::getenv("KAFKA_BOOTSTRAP_SERVERS"); env && *env) return env;
  auto r = run(sourceDir() + "/scripts/stack env", false);
  const std::string key = "KAFKA_BOOTSTRAP_SERVERS=";
  auto at = r.out.find(key);
  if (at == std::string::npos) return {};
  auto end = r.out.find('\n', at);
  return r.out.substr(at + key.size(), end == std::string::npos ? std::string::npos : end - at - key.size());
}

}  // namespace cdc::test
