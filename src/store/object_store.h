#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace cdc::metrics {
class Registry;
class Health;
}  // namespace cdc::metrics

namespace cdc::store {

struct ObjectInfo {
  std::string key;
  uint64_t size = 0;
  int64_t lastModifiedMs = 0;
};

// One page of ListObjectsV2: keys in ascending byte order.
struct ObjectPage {
  std::vector<ObjectInfo> objects;
  std::optional<std::string> continuationToken;  // set when more keys follow
};

// An object store with the semantics S3 offers and nothing more: whole-object put (atomic
// for readers: a get sees the old or the new body, never a mix), get, paginated list by
// prefix, delete. Keys are '/'-separated paths without a leading '/'.
class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  // Adds the store's series and readiness check to a service's metrics (a remote store: its
  // requests, retries, throttles and circuit) until the returned handle goes; `role` tells two
  // stores of one kind apart ("dead-letters"). Local stores add none.
  virtual std::shared_ptr<void> instrument(metrics::Registry& registry, metrics::Health& health, const std::string& service,
                                           const std::string& role = "") {
    (void)registry, (void)health, (void)service, (void)role;
    return nullptr;
  }
  // For the line at the end of a run ("dynamodb: 812 requests (3 retried …)"); empty for local stores.
  virtual std::string requestSummary(const std::string& role = "") const {
    (void)role;
    return {};
  }

  virtual Status put(std::string_view key, std::string_view body, std::string_view contentType = "application/json") = 0;
  // The body, or nullopt when the key does not exist.
  virtual Result<std::optional<std::string>> get(std::string_view key) = 0;
  virtual Result<ObjectPage> list(std::string_view prefix, const std::optional<std::string>& continuationToken,
                                  int maxKeys = 1000) = 0;
  // Deleting a missing key succeeds, as in S3.
  virtual Status remove(std::string_view key) = 0;

  // Every key under `prefix`, following continuation tokens.
  Result<std::vector<ObjectInfo>> listAll(std::string_view prefix);
};

// Rejects keys S3 would refuse or that could escape a directory ("..", empty segments).
bool isValidObjectKey(std::string_view key);

}  // namespace cdc::store
