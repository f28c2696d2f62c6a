#pragma once

#include <memory>
#include <optional>
#include <string>

#include "core/stats.h"

namespace cdc::metrics {
class Registry;
class Health;
}  // namespace cdc::metrics

namespace cdc::store {

// What a store adds to a service's observability: its series and readiness check (a remote
// store: its requests, retries, throttles and circuit) and a line for the end of a run. Local
// stores add nothing. Shared by the table and object store interfaces.
class Instrumented {
 public:
  virtual ~Instrumented() = default;

  // Adds the series and readiness check until the returned handle goes; `role` tells two
  // stores of one kind apart ("dead-letters").
  virtual std::shared_ptr<void> instrument(metrics::Registry& registry, metrics::Health& health, const std::string& service,
                                           const std::string& role = "") {
    (void)registry, (void)health, (void)service, (void)role;
    return nullptr;
  }
  // "dynamodb: 812 requests (3 retried …)"; empty for local stores.
  virtual std::string requestSummary(const std::string& role = "") const {
    (void)role;
    return {};
  }
  // The same counts by name for the run summary's JSON, under `backend` ("dynamodb",
  // "s3-dead-letters"); empty for local stores.
  struct RequestCounts {
    std::string backend;
    Stats counts;
  };
  virtual std::optional<RequestCounts> requestCounts(const std::string& role = "") const {
    (void)role;
    return std::nullopt;
  }
};

}  // namespace cdc::store
