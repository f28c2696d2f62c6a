// cdc generate: a deterministic workload as kcat -J lines on standard output.

#include <unistd.h>

#include <chrono>
#include <cstdio>

#include <fmt/format.h>

#include "app/command.h"
#include "core/log.h"
#include "workload/generator.h"

namespace cdc::app {

workload::WorkloadOptions workloadOptions(const config::Config& c) {
  workload::WorkloadOptions o;
  o.seed = static_cast<uint64_t>(c.integer("seed"));
  o.products = c.integer("products");
  o.customers = c.integer("customers");
  o.orders = c.integer("orders");
  if (c.has("events")) o.events = c.integer("events");
  if (c.has("partitions")) o.partitions = static_cast<int32_t>(c.integer("partitions"));
  if (c.has("deletes")) {
    const auto& d = c.str("deletes");
    using Deletes = workload::WorkloadOptions::Deletes;
    o.deletes = d == "rewrite" ? Deletes::Rewrite : d == "tombstone" ? Deletes::Tombstone : Deletes::RewriteWithTombstone;
  }
  o.encoder.topicPrefix = c.str("topic-prefix");
  if (c.has("shape")) {
    o.encoder.shape = c.str("shape") == "envelope" ? workload::MessageShape::Envelope : workload::MessageShape::Unwrap;
  }
  if (c.has("schemas")) o.encoder.schemas = c.boolean("schemas");
  if (c.has("decimal")) {
    const auto& d = c.str("decimal");
    o.encoder.decimals = d == "string"   ? workload::DecimalMode::String
                         : d == "double" ? workload::DecimalMode::Double
                                         : workload::DecimalMode::Precise;
  }
  if (c.has("timestamps")) {
    const auto& t = c.str("timestamps");
    o.encoder.times = t == "milli"   ? workload::TimeMode::Milli
                      : t == "nano"  ? workload::TimeMode::Nano
                      : t == "zoned" ? workload::TimeMode::Zoned
                                     : workload::TimeMode::Micro;
  }
  if (c.has("before")) o.encoder.before = c.str("before") == "key" ? workload::BeforeImage::Key : workload::BeforeImage::Full;
  return o;
}

// Writes the workload to `out`; returns the records written.
int64_t writeWorkload(const workload::WorkloadOptions& options, FILE* out, bool progress) {
  workload::WorkloadGenerator gen(options);
  workload::GeneratedRecord rec;
  std::string buffer;
  buffer.reserve(1 << 21);
  auto start = std::chrono::steady_clock::now();
  auto lastReport = start;
  while (gen.next(rec)) {
    workload::WorkloadGenerator::appendKcatLine(rec, buffer);
    if (buffer.size() >= (1 << 20)) {
      if (std::fwrite(buffer.data(), 1, buffer.size(), out) != buffer.size()) {
        throw std::runtime_error("writing the workload failed (disk full or closed pipe)");
      }
      buffer.clear();
      auto now = std::chrono::steady_clock::now();
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
    auto start = std::chrono::steady_clock::now();
    int64_t n = writeWorkload(options, stdout, ::isatty(STDERR_FILENO) && !log::json());
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    log::report(spdlog::level::info, "generate_summary", fmt::format("generated {} records in {:.2f} s", n, secs),
                {{"records", std::to_string(n), true}});
    return kExitOk;
  };
  commands.push_back(std::move(cmd));
}

}  // namespace cdc::app
