#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/trace_context.h"

namespace cdc::runtime {

// One Kafka record as a source delivers it.
struct Record {
  std::string_view topic;  // interned by the source: valid as long as the source lives
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestampMs = -1;  // -1 when the record has none
  std::optional<std::string> key;
  std::optional<std::string> value;  // nullopt: a tombstone
  std::vector<std::pair<std::string, std::string>> headers;
  // Set when the source could not even build the record (a malformed replay line): the
  // runtime sends it to the dead-letter queue with this reason and the raw bytes in `value`.
  std::optional<std::string> sourceError;

  const std::string* header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
      if (k == name) return &v;
    }
    return nullptr;
  }
  // The W3C trace context of its `traceparent` header, when it has a valid one.
  std::optional<TraceParent> trace() const {
    const std::string* h = header("traceparent");
    return h ? parseTraceParent(*h) : std::nullopt;
  }
};

// Stable storage for topic names so that records can carry string_views.
// Not thread-safe.
class TopicInterner {
 public:
  std::string_view intern(std::string_view topic) {
    if (auto it = index_.find(topic); it != index_.end()) return *it;
    const std::string& stored = storage_.emplace_back(topic);
    return *index_.insert(std::string_view(stored)).first;
  }

 private:
  std::deque<std::string> storage_;
  std::unordered_set<std::string_view> index_;
};

// How far a partition has been durably processed: the next offset to read.
struct Position {
  std::string topic;
  int32_t partition = 0;
  int64_t nextOffset = 0;
  friend bool operator==(const Position&, const Position&) = default;
};

}  // namespace cdc::runtime
