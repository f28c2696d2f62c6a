#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "store/instrumented.h"

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
class ObjectStore : public Instrumented {
 public:
  ~ObjectStore() override = default;

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
