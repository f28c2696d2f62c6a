// cdc generate: a deterministic workload as kcat -J lines on standard output.

#include <unistd.h>

#include <chrono>
#include <cstdio>

#include <fmt/format.h>

#include "app/command.h"
#include "core/log.h"
#include "core/time.h"
#include "workload/generator.h"

namespace cdc::app {

workload::WorkloadOptions workloadOptions(const config::Config& c) {
  const auto s = c.get<config::WorkloadSettings>();
  workload::WorkloadOptions o;
  o.seed = static_cast<uint64_t>(s.seed);
  o.products = s.products;
  o.customers = s.customers;
  o.orders = s.orders;
  o.events = s.events;
  o.partitions = static_cast<int32_t>(s.partitions);
  using Deletes = workload::WorkloadOptions::Deletes;
  o.deletes = s.deletes == "rewrite"     ? Deletes::Rewrite
              : s.deletes == "tombstone" ? Deletes::Tombstone
                                         : Deletes::RewriteWithTombstone;
  o.encoder.topicPrefix = c.get<config::SourceSettings>().topicPrefix;
  o.encoder.shape = s.shape == "envelope" ? workload::MessageShape::Envelope : workload::MessageShape::Unwrap;
  o.encoder.schemas = s.schemas;
  o.encoder.decimals = s.decimal == "string"   ? workload::DecimalMode::String
                       : s.decimal == "double" ? workload::DecimalMode::Double
                                               : workload::DecimalMode::Precise;
  o.encoder.times = s.timestamps == "milli"   ? workload::TimeMode::Milli
                    : s.timestamps == "nano"  ? workload::TimeMode::Nano
                    : s.timestamps == "zoned" ? workload::TimeMode::Zoned
                                              : workload::TimeMode::Micro;
  o.encoder.before = s.before == "key" ? workload::BeforeImage::Key : workload::BeforeImage::Full;
  return o;
}

// Writes the workload to `out`; returns the records written.
int64_t writeWorkload(const workload::WorkloadOptions& options, FILE* out, bool progress) {
  workload::WorkloadGenerator gen(options);
  workload::GeneratedRecord rec;
  std::string buffer;
  buffer.reserve(1 << 21);
  auto start = systemTime().steady();
  auto lastReport = start;
  while (gen.next(rec)) {
    workload::WorkloadGenerator::appendKcatLine(rec, buffer);
    if (buffer.size() >= (1 << 20)) {
      if (std::fwrite(buffer.data(), 1, buffer.size(), out) != buffer.size()) {
        throw std::runtime_error("writing the workload failed (disk full or closed pipe)");
      }
      buffer.clear();
      auto now = systemTime().steady();
      if (progress && now - lastReport > std::chrono::seconds(1)) {
        lastReport = now;
        fmt::print(stderr, "\r\033[K{} records, {} orders", gen.recordsEmitted(), gen.ordersCreated());
      }
    }
  }
  if (!buffer.empty() && std::fwrite(buffer.data(), 1, buffer.size(), out) != buffer.size()) {
    throw std::runtime_error("writing the workload failed (disk full or closed pipe)");
  }
  std::fflush(out);
  if (progress) fmt::print(stderr, "\r\033[K");
  return gen.recordsEmitted();
}

void addGenerate(CLI::App& app, std::vector<std::unique_ptr<Command>>& commands) {
  auto cmd = std::make_unique<Command>();
  cmd->name = "generate";
  cmd->app = app.add_subcommand("generate",
                                "Write a deterministic e-commerce workload as kcat -J lines to stdout "
                                "(the production Debezium shape unless told otherwise)");
  bindSettings(*cmd);
  cmd->run = [](const config::Config& c) {
    auto options = workloadOptions(c);
    auto start = systemTime().steady();
    int64_t n = writeWorkload(options, stdout, ::isatty(STDERR_FILENO) && !log::json());
    double secs = std::chrono::duration<double>(systemTime().steady() - start).count();
    log::report(spdlog::level::info, "generate_summary", fmt::format("generated {} records in {:.2f} s", n, secs),
                {{"records", std::to_string(n), true}});
    return kExitOk;
  };
  commands.push_back(std::move(cmd));
}

}  // namespace cdc::app
