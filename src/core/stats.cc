#include "core/stats.h"

#include "core/json_writer.h"

namespace cdc {

void writeStats(JsonWriter& w, std::span<const Stat> stats) {
  w.beginObject();
  for (const auto& s : stats) w.key(s.name).integer(static_cast<int64_t>(s.value));
  w.endObject();
}

}  // namespace cdc
