#pragma once

#include <cstdint>

namespace cdc::runtime {

// Where a change of one key sits in its Kafka partition; orders the changes of that key (one
// key always lands in one partition). Across partitions (after a topic was repartitioned) the
// source commit time decides.
struct SourcePos {
  int32_t partition = -1;
  int64_t offset = -1;
  int64_t tsMs = 0;

  bool known() const { return offset >= 0; }
  // True when a change at `incoming` comes after one at this position.
  bool before(const SourcePos& incoming) const {
    if (!known()) return true;
    if (incoming.partition == partition) return incoming.offset > offset;
    return incoming.tsMs >= tsMs;
  }
};

}  // namespace cdc::runtime
