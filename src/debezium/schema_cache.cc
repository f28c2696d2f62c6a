#include "debezium/schema_cache.h"

#include <algorithm>

namespace cdc::debezium {

SchemaCache::SchemaCache(SchemaFetcher& fetcher, size_t capacity, std::chrono::seconds unknownRetry, const TimeSource& time)
    : fetcher_(fetcher), capacity_(std::max<size_t>(capacity, 1)), unknownRetry_(unknownRetry), time_(time) {}

bool SchemaCache::fresh(const Slot& slot, TimeSource::Steady now) const {
  return slot.entry.schema || slot.entry.problem.empty() || now - slot.unknownSince < unknownRetry_;
}

void SchemaCache::store(int32_t id, Entry entry, TimeSource::Steady now) {
  auto it = slots_.find(id);
  if (it != slots_.end()) {
    lru_.erase(it->second.lru);
    slots_.erase(it);
  }
  while (slots_.size() >= capacity_ && !lru_.empty()) {
    slots_.erase(lru_.back());
    lru_.pop_back();
  }
  lru_.push_front(id);
  auto unknownSince = entry.schema ? TimeSource::Steady{} : now;
  Slot slot{std::move(entry), unknownSince, lru_.begin()};
  slots_.emplace(id, std::move(slot));
}

std::expected<void, SchemaFetchError> SchemaCache::load(std::span<const int32_t> ids) {
  auto now = time_.steady();
  for (int32_t id : ids) {
    {
      std::lock_guard lock(mutex_);
      auto it = slots_.find(id);
      if (it != slots_.end() && fresh(it->second, now)) continue;
    }
    // Fetched without the lock: a slow registry must not hold up readers of cached schemas.
    auto text = fetcher_.fetch(id);
    std::lock_guard lock(mutex_);
    ++fetches_;
    if (!text) {
      if (!text.error().notFound) return std::unexpected(text.error());
      store(id, Entry{id, nullptr, "schema id " + std::to_string(id) + " is unknown to " + fetcher_.describe()}, now);
      continue;
    }
    auto parsed = avro::Schema::parse(*text);
    if (!parsed) {
      store(id, Entry{id, nullptr, "schema id " + std::to_string(id) + " is not an Avro schema we can read: " + parsed.error()},
            now);
      continue;
    }
    store(id, Entry{id, std::make_shared<const avro::Schema>(std::move(*parsed)), {}}, now);
  }
  return {};
}

std::optional<SchemaCache::Entry> SchemaCache::find(int32_t id) {
  std::lock_guard lock(mutex_);
  auto it = slots_.find(id);
  if (it == slots_.end()) return std::nullopt;
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  return it->second.entry;
}

bool SchemaCache::contains(int32_t id) {
  std::lock_guard lock(mutex_);
  auto it = slots_.find(id);
  return it != slots_.end() && fresh(it->second, time_.steady());
}

size_t SchemaCache::size() const {
  std::lock_guard lock(mutex_);
  return slots_.size();
}

uint64_t SchemaCache::fetches() const {
  std::lock_guard lock(mutex_);
  return fetches_;
}

}  // namespace cdc::debezium
