// cdc demo: the main job on the embedded default, no servers. It generates a workload in the
// production message shape, replays it through the processing runtime and shows what the
// decoder made of it. Each service joins the demo as it lands.

#include <unistd.h>

#include <array>
#include <filesystem>
#include <map>
#include <set>

#include <fmt/format.h>

#include "adapters/replay/replay_source.h"
#include "cli/command.h"
#include "runtime/runner.h"
#include "runtime/shutdown.h"
#include "workload/generator.h"

namespace cdc::cli {

workload::WorkloadOptions workloadOptions(const config::Config& c);
int64_t writeWorkload(const workload::WorkloadOptions& options, FILE* out, bool progress);

namespace {

using debezium::Op;
using debezium::Table;

// Tallies what the decoder produced: changes per table and op, and the current orders' revenue
// (keyed by order id, so updates replace and deletes retract).
class DecodeTally final : public runtime::Handler {
 public:
  std::string_view serviceName() const override { return "demo"; }
  Status apply(std::span<const runtime::InputEvent> events, std::vector<runtime::Rejection>&) override {
    for (const auto& e : events) {
      const auto& c = e.change;
      ++counts[static_cast<int>(c.table)][static_cast<int>(c.op)];
      if (const auto* o = c.afterAs<debezium::OrderRow>()) {
        orders[o->id.value] = {o->totalAmount, o->status};
      } else if (const auto* gone = c.beforeAs<debezium::OrderRow>(); gone && c.op == Op::Delete) {
        orders.erase(gone->id.value);
      }
      if (!sample && c.table == Table::Products && c.op == Op::Read) sample = c;
    }
    return {};
  }

  std::array<std::array<uint64_t, 5>, debezium::kTableCount> counts{};
  std::map<int64_t, std::pair<Money, std::string>> orders;
  std::optional<debezium::ChangeEvent> sample;
};

}  // namespace

void addDemo(CLI::App& app, std::vector<std::unique_ptr<Command>>& commands) {
  auto cmd = std::make_unique<Command>();
  cmd->name = "demo";
  cmd->app = app.add_subcommand("demo", "Generate a workload and run it through the embedded runtime (no servers)");
  bindSettings(*cmd);
  cmd->run = [](const config::Config& c) {
    namespace fs = std::filesystem;
    fs::path dir = fs::path(c.str("data-dir")) / "demo";
    fs::create_directories(dir);
    fs::path events = dir / "events.jsonl";

    auto options = workloadOptions(c);
    FILE* f = std::fopen(events.c_str(), "wb");
    if (!f) throw std::runtime_error("cannot write " + events.string());
    int64_t written = writeWorkload(options, f, false);
    std::fclose(f);
    fmt::print("Generated {} Debezium records ({} products, {} orders, seed {}) in the production shape:\n  {}\n\n",
               written, options.products, options.orders, options.seed, events.string());

    auto source = replay::ReplaySource::open(events.string());
    if (!source) throw std::runtime_error(source.error().message);
    auto objects = openObjectStore(c.str("objects"), c.origin("objects"));
    DecodeTally tally;
    runtime::RunnerOptions ro;
    ro.batchSize = static_cast<size_t>(c.integer("batch-size"));
    ro.progress = ::isatty(STDERR_FILENO);
    runtime::Shutdown::install();
    runtime::Runner runner(**source, tally, *objects, ro, runtime::Shutdown::flag());
    auto stats = runner.run();
    if (!stats) {
      fmt::print(stderr, "cdc demo: {}\n", stats.error().message);
      return kExitFailure;
    }

    fmt::print("Decoded {} records in {:.2f} s ({:.0f} records/s): {} changes, {} tombstones, {} dead letters.\n\n",
               stats->records, stats->seconds, stats->records / std::max(stats->seconds, 1e-9), stats->events,
               stats->tombstones, stats->deadLetters);
    fmt::print("{:<13}{:>10}{:>10}{:>10}{:>10}\n", "table", "snapshot", "insert", "update", "delete");
    for (int t = 0; t < debezium::kTableCount; ++t) {
      const auto& n = tally.counts[t];
      fmt::print("{:<13}{:>10}{:>10}{:>10}{:>10}\n", debezium::tableName(static_cast<Table>(t)),
                 n[static_cast<int>(Op::Read)], n[static_cast<int>(Op::Create)], n[static_cast<int>(Op::Update)],
                 n[static_cast<int>(Op::Delete)]);
    }
    Money revenue;
    std::map<std::string, uint64_t> statuses;
    for (const auto& [id, o] : tally.orders) {
      revenue += o.first;
      ++statuses[o.second];
    }
    fmt::print("\n{} orders in the database now, worth {} in exact money; by status:\n", tally.orders.size(),
               revenue.toString());
    for (const auto& [s, n] : statuses) fmt::print("  {:<11}{:>8}\n", s, n);
    if (tally.sample) {
      const auto& p = *tally.sample->afterAs<debezium::ProductRow>();
      fmt::print("\nA decoded snapshot row (price from Debezium's base64 `precise` decimal):\n"
                 "  product {} \"{}\" price {} stock {}\n",
                 p.id.value, p.name, p.price.toString(), p.stockQuantity);
    }
    fmt::print("\nDead letters (if any) are under {}/dlq/.\n", c.str("objects").substr(4));
    return kExitOk;
  };
  commands.push_back(std::move(cmd));
}

}  // namespace cdc::cli
