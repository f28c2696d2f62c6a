#pragma once

#include <filesystem>
#include <string>

#include "store/object_store.h"

namespace cdc::localfs {

// The embedded object store: object key K lies at ROOT/K. A put writes a temporary file in
// the target directory, fsyncs it and renames it over the key, so a reader sees the old or the
// new object, never a partial one, and a completed put survives a crash. Listing walks the
// tree and returns keys in byte order, as S3 does. Safe for concurrent use by several
// processes (each put is one rename); not internally synchronised for threads.
class DirObjectStore final : public store::ObjectStore {
 public:
  explicit DirObjectStore(std::filesystem::path root);

  Status put(std::string_view key, std::string_view body, std::string_view contentType) override;
  Result<std::optional<std::string>> get(std::string_view key) override;
  Result<store::ObjectPage> list(std::string_view prefix, const std::optional<std::string>& continuationToken,
                                 int maxKeys) override;
  Status remove(std::string_view key) override;
  // The entity tag is a hash of the body; conditional writes of one directory take turns on a
  // lock of it (flock), so they are atomic across processes too.
  Result<std::optional<store::TaggedObject>> getTagged(std::string_view key) override;
  Result<std::optional<std::string>> putIf(std::string_view key, std::string_view body, const std::optional<std::string>& ifMatch,
                                           std::string_view contentType) override;

  const std::filesystem::path& root() const { return root_; }

 private:
  std::filesystem::path root_;
};

}  // namespace cdc::localfs
