#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <list>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/time.h"
#include "debezium/avro.h"

namespace cdc::debezium {

struct SchemaFetchError {
  bool notFound = false;  // the registry answered that it has no such id (else: it did not answer)
  std::string message;
};

// Where schemas come from by id: a schema registry's Confluent-compatible API, or a file of
// captured schemas.
class SchemaFetcher {
 public:
  virtual ~SchemaFetcher() = default;
  // The schema's JSON text (Avro), or why not.
  virtual std::expected<std::string, SchemaFetchError> fetch(int32_t id) = 0;
  // Where the schemas come from, for logs ("registry http://…", "file …").
  virtual std::string describe() const = 0;
};

// The writer schemas of the Confluent wire format by id, each fetched once and parsed once,
// the least recently used dropped past `capacity`. Thread-safe.
class SchemaCache {
 public:
  struct Entry {
    int32_t id = 0;
    std::shared_ptr<const avro::Schema> schema;  // null when the id is unknown or unusable
    std::string problem;                         // why there is no schema
  };

  explicit SchemaCache(SchemaFetcher& fetcher, size_t capacity = 1000,
                       std::chrono::seconds unknownRetry = std::chrono::seconds(60), const TimeSource& time = systemTime());

  // Fetches the schemas of `ids` that are not cached. An id the registry does not have is
  // remembered as unknown (asked again after `unknownRetry`: a registry restored from a backup
  // may know it later); a registry that does not answer is an error, and nothing is cached for
  // the ids it did not answer.
  std::expected<void, SchemaFetchError> load(std::span<const int32_t> ids);
  // The entry of a loaded id, or nullopt when it was never loaded (or was dropped).
  std::optional<Entry> find(int32_t id);

  bool contains(int32_t id);
  size_t size() const;
  size_t capacity() const { return capacity_; }
  uint64_t fetches() const;
  const SchemaFetcher& fetcher() const { return fetcher_; }

 private:
  struct Slot {
    Entry entry;
    TimeSource::Steady unknownSince{};
    std::list<int32_t>::iterator lru;
  };
  bool fresh(const Slot& slot, TimeSource::Steady now) const;
  void store(int32_t id, Entry entry, TimeSource::Steady now);

  SchemaFetcher& fetcher_;
  size_t capacity_;
  std::chrono::seconds unknownRetry_;
  const TimeSource& time_;
  mutable std::mutex mutex_;
  std::unordered_map<int32_t, Slot> slots_;
  std::list<int32_t> lru_;  // most recently used first
  uint64_t fetches_ = 0;
};

}  // namespace cdc::debezium
