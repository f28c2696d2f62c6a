#include "workload/generator_source.h"

#include <algorithm>

#include "debezium/decoder.h"

namespace cdc::workload {

GeneratorSource::GeneratorSource(WorkloadOptions options, std::vector<std::string> topics)
    : generator_(std::move(options)), topics_(std::move(topics)) {}

Result<runtime::PollStatus> GeneratorSource::poll(std::vector<runtime::Record>& out, size_t max, std::chrono::milliseconds) {
  GeneratedRecord g;
  size_t n = 0;
  while (n < max) {
    if (!generator_.next(g)) return runtime::PollStatus::End;
    if (!topics_.empty() && std::find(topics_.begin(), topics_.end(), g.topic) == topics_.end()) continue;
    runtime::Record& r = out.emplace_back();
    r.topic = interner_.intern(g.topic);
    r.partition = g.partition;
    r.offset = g.offset;
    r.timestampMs = g.timestampMs;
    r.key = std::move(g.key);
    if (g.value) {
      r.value.emplace();
      r.value->reserve(g.value->size() + debezium::kDecoderPadding);
      r.value->assign(*g.value);
    }
    ++n;
  }
  return runtime::PollStatus::Ok;
}

}  // namespace cdc::workload
