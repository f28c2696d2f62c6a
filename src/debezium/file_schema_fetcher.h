#pragma once

#include <cstdint>
#include <expected>
#include <map>
#include <string>
#include <vector>

#include "debezium/schema_cache.h"

namespace cdc::debezium {

// Schemas from a JSON file, {"<id>": "<schema JSON>" or {schema object}, …}: what a capture
// keeps of its registry, for offline replays (SCHEMA_REGISTRY_URL=file:PATH), the benches and
// the decoder's fuzz target. An id not in the file is unknown.
class FileSchemaFetcher final : public SchemaFetcher {
 public:
  // Throws std::invalid_argument when the file cannot be read or is not such an object.
  explicit FileSchemaFetcher(const std::string& path);
  std::expected<std::string, SchemaFetchError> fetch(int32_t id) override;
  std::string describe() const override { return "the schema file " + path_; }
  // The ids the file holds, ascending.
  std::vector<int32_t> ids() const;

 private:
  std::string path_;
  std::map<int32_t, std::string> schemas_;
};

}  // namespace cdc::debezium
