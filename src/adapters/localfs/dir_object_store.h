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

  const std::filesystem::path& root() const { return root_; }

 private:
  std::filesystem::path root_;
};

}  // namespace cdc::localfs
