#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/time.h"

namespace cdc::metrics {

class Registry;

// What the Kubernetes probes are told. Liveness: the processing loop beats at every turn
// (polling, waiting for input, backing off between retries), and the process is wedged when
// no beat has come for `stallAfter`. Readiness: every check registered passes (the consumer
// is in its group with partitions, the sinks answered their last request); each failing
// check gives its reason. Thread-safe: the loop beats, the HTTP server asks.
class Health {
 public:
  explicit Health(std::chrono::milliseconds stallAfter, const TimeSource& time = systemTime());

  void beat();
  // A readiness check: nullopt when ready, else why not.
  using Check = std::function<std::optional<std::string>()>;
  void addReadinessCheck(std::string name, Check check);

  // (status, JSON body): 200 {"status":"alive"} or 503 {"status":"wedged","reason":…}.
  std::pair<int, std::string> liveness() const;
  // (status, JSON body): 200 {"status":"ready"} or 503 {"status":"not ready","reasons":{…}}.
  std::pair<int, std::string> readiness() const;

  // The probes' answers as series, for alerts (Prometheus cannot read /readyz):
  // cdc_ready{service} and cdc_live{service} (1 or 0), cdc_readiness_check{service,check} (1
  // passing, 0 failing), computed at each scrape until the handle goes.
  [[nodiscard]] std::shared_ptr<void> instrument(Registry& registry, const std::string& service) const;

 private:
  int64_t nowNs() const;
  const TimeSource& time_;

  std::chrono::milliseconds stallAfter_;
  std::atomic<int64_t> lastBeatNs_;
  mutable std::mutex mutex_;
  std::vector<std::pair<std::string, Check>> checks_;
};

}  // namespace cdc::metrics
