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

// An object's body and its entity tag (S3's ETag): the tag changes whenever the object is
// written with another body.
struct TaggedObject {
  std::string body;
  std::string etag;
};

// An object store with the semantics S3 offers and nothing more: whole-object put (atomic
// for readers: a get sees the old or the new body, never a mix), get, paginated list by
// prefix, delete, and S3's conditional writes (a put that happens only if the object is still
// the one its caller read, or does not exist yet). Keys are '/'-separated paths without a
// leading '/'.
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
  // The body with its entity tag, or nullopt when the key does not exist.
  virtual Result<std::optional<TaggedObject>> getTagged(std::string_view key) = 0;
  // Writes the object only if its entity tag is still `ifMatch` or, with nullopt, if the key
  // does not exist (S3's If-Match and If-None-Match: *), atomically with respect to every other
  // conditional write of the key. The new entity tag, or nullopt when the condition failed
  // (the object was written or created by someone else since): nothing was written then.
  virtual Result<std::optional<std::string>> putIf(std::string_view key, std::string_view body,
                                                   const std::optional<std::string>& ifMatch,
                                                   std::string_view contentType = "application/json") = 0;

  // Every key under `prefix`, following continuation tokens.
  Result<std::vector<ObjectInfo>> listAll(std::string_view prefix);
};

// Rejects keys S3 would refuse or that could escape a directory ("..", empty segments).
bool isValidObjectKey(std::string_view key);

}  // namespace cdc::store
