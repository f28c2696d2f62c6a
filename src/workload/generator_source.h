#pragma once

#include <string>
#include <vector>

#include "runtime/source.h"
#include "workload/generator.h"

namespace cdc::workload {

// The built-in workload as a source, so that a service runs with no input file at all.
// Delivers only the subscribed topics; ends with the workload.
class GeneratorSource final : public runtime::Source {
 public:
  GeneratorSource(WorkloadOptions options, std::vector<std::string> topics);
  Result<runtime::PollStatus> poll(std::vector<runtime::Record>& out, size_t max, std::chrono::milliseconds timeout) override;
  Status commit(std::span<const runtime::Position>) override { return {}; }
  std::string describe() const override { return "generate"; }

 private:
  WorkloadGenerator generator_;
  std::vector<std::string> topics_;
  runtime::TopicInterner interner_;
};

}  // namespace cdc::workload
