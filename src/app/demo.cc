// cdc demo: the main job on the embedded default, no servers. It generates a workload in the
// production message shape and runs the services over it on the embedded stores, then prints
// what they produced. Each service joins the demo as it lands.

#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "adapters/replay/replay_source.h"
#include "app/analytics_definition.h"
#include "app/command.h"
#include "app/inventory_definition.h"
#include "app/search_definition.h"
#include "app/services.h"
#include "core/log.h"
#include "runtime/runner.h"
#include "runtime/shutdown.h"
#include "services/analytics/reports.h"
#include "services/search/search_api.h"
#include "services/search/searcher.h"
#include "store/item_codec.h"
#include "workload/generator.h"

namespace cdc::app {

workload::WorkloadOptions workloadOptions(const config::Config& c);
int64_t writeWorkload(const workload::WorkloadOptions& options, FILE* out, bool progress);

namespace {

// Keeps the alerts for the summary instead of logging each one.
class CollectingAlerts final : public inventory::AlertSink {
 public:
  Status publish(std::span<const inventory::LowStockAlert> alerts) override {
    all.insert(all.end(), alerts.begin(), alerts.end());
    return {};
  }
  std::vector<inventory::LowStockAlert> all;
};

std::string text(const store::Item& item, std::string_view name) {
  const auto* v = store::find(item, name);
  return v ? v->text() : std::string();
}

// Runs one service over the demo's replay file; prints an error and returns nullopt on failure.
std::optional<runtime::RunStats> replayInto(const config::Config& c, const std::filesystem::path& events,
                                            const ServiceDefinition& def, runtime::Handler& handler, ServiceContext& ctx) {
  auto source = replay::ReplaySource::open(events.string(), serviceTopics(def, c));
  if (!source) throw std::runtime_error(source.error().message);
  runtime::RunnerOptions ro;
  ro.batchSize = static_cast<size_t>(c.get<config::RunnerSettings>().batchSize);
  ro.progress = ::isatty(STDERR_FILENO) && !log::json();
  runtime::Runner runner(**source, handler, *ctx.objects, ro, runtime::Shutdown::flag());
  auto stats = runner.run();
  if (!stats) {
    reportError("demo", def.name + ": " + stats.error().message, kExitFailure);
    return std::nullopt;
  }
  return *stats;
}

int runInventoryDemo(const config::Config& c, const std::filesystem::path& events, ServiceContext& ctx) {
  inventory::InventoryOptions o = inventoryOptions(c);
  CollectingAlerts alerts;
  inventory::InventoryHandler handler(*ctx.tables, alerts, o);
  auto stats = replayInto(c, events, *findService("inventory"), handler, ctx);
  if (!stats) return kExitFailure;
  const auto& s = handler.stats();
  fmt::print(
      "inventory-service: {} records in {:.2f} s ({:.0f}/s): {} product and {} order-item changes in {} "
      "store transactions, {} dead letters.\n",
      stats->records, stats->seconds, stats->records / std::max(stats->seconds, 1e-9), s.productChanges, s.itemChanges,
      s.transactions, stats->deadLetters);

  // The products with the least stock left, as the table holds them.
  std::vector<store::Item> items;
  store::ScanRequest scan{o.table, 0, std::nullopt};
  do {
    auto page = ctx.tables->scan(scan);
    if (!page) throw std::runtime_error(page.error().message);
    for (auto& i : page->items) {
      if (store::find(i, "name") && !store::find(i, "deleted")) items.push_back(std::move(i));
    }
    scan.exclusiveStartKey = std::move(page->lastEvaluatedKey);
  } while (scan.exclusiveStartKey);
  std::sort(items.begin(), items.end(), [](const store::Item& a, const store::Item& b) {
    return store::find(a, "stock_quantity")->asIntOr(0) < store::find(b, "stock_quantity")->asIntOr(0);
  });
  fmt::print("\nLeast stock of {} products (table {}):\n  {:>7}  {:<34}{:>10}{:>8}\n", items.size(), o.table, "id", "name",
             "price", "stock");
  for (size_t i = 0; i < std::min<size_t>(8, items.size()); ++i) {
    fmt::print("  {:>7}  {:<34}{:>10}{:>8}\n", store::find(items[i], "product_id")->text(), text(items[i], "name"),
               text(items[i], "price"), store::find(items[i], "stock_quantity")->text());
  }
  fmt::print("\n{} low-stock alerts (stock below {}), the last ones:\n", alerts.all.size(), o.lowStockThreshold);
  size_t from = alerts.all.size() > 5 ? alerts.all.size() - 5 : 0;
  for (size_t i = from; i < alerts.all.size(); ++i) fmt::print("  {}\n", alerts.all[i].toJson());
  return kExitOk;
}

int runAnalyticsDemo(const config::Config& c, const std::filesystem::path& events, ServiceContext& ctx) {
  analytics::AnalyticsHandler handler(*ctx.objects, analyticsOptions(c));
  auto stats = replayInto(c, events, *findService("analytics"), handler, ctx);
  if (!stats) return kExitFailure;
  fmt::print("\nanalytics-service: {} records in {:.2f} s ({:.0f}/s): {} changes, {} checkpoints, {} dead letters.\n",
             stats->records, stats->seconds, stats->records / std::max(stats->seconds, 1e-9), handler.stats().changes,
             handler.stats().checkpoints, stats->deadLetters);
  for (const char* report : {"summary", "product_sales", "customer_metrics"}) {
    auto body = ctx.objects->get(std::string("analytics/") + report + "/latest.json");
    if (!body || !*body) continue;
    std::string text = **body;
    if (text.size() > 330) text = text.substr(0, 330) + " …";
    fmt::print("  analytics/{}/latest.json\n    {}\n", report, text);
  }
  return kExitOk;
}

int runSearchDemo(const config::Config& c, const std::filesystem::path& events, ServiceContext& ctx) {
  search::IndexerOptions o;
  o.tables = searchTables(c);
  o.decoding = app::decoderOptions(c);
  search::IndexerHandler handler(*ctx.tables, o);
  auto stats = replayInto(c, events, *findService("search-indexer"), handler, ctx);
  if (!stats) return kExitFailure;
  const auto& s = handler.stats();
  fmt::print("\nsearch-indexer: {} records in {:.2f} s: {} product changes, {} posting writes, {} dead letters.\n",
             stats->records, stats->seconds, s.changes, s.postingWrites, stats->deadLetters);
  search::Searcher searcher(*ctx.tables, o.tables);
  for (const char* q : {"wireless head", "café"}) {
    search::SearchRequest r;
    r.query = q;
    r.limit = 3;
    auto page = searcher.search(r);
    if (!page) throw std::runtime_error(page.error().message);
    fmt::print("  cdc search '{}' --limit 3   ({} store Queries)\n", q, page->queries);
    for (const auto& h : page->hits) fmt::print("    {}\n", search::hitJson(h));
  }
  return kExitOk;
}

}  // namespace

void addDemo(CLI::App& app, std::vector<std::unique_ptr<Command>>& commands) {
  auto cmd = std::make_unique<Command>();
  cmd->name = "demo";
  cmd->app = app.add_subcommand("demo", "Generate a workload and run the services over it on the embedded stores (no servers)");
  bindSettings(*cmd);
  cmd->run = [](const config::Config& c) {
    namespace fs = std::filesystem;
    fs::path dir = fs::path(c.get<config::DemoSettings>().dataDir) / "demo";
    fs::create_directories(dir);
    fs::path events = dir / "events.jsonl";
    auto options = workloadOptions(c);
    FILE* f = std::fopen(events.c_str(), "wb");
    if (!f) throw std::runtime_error("cannot write " + events.string());
    int64_t written = writeWorkload(options, f, false);
    std::fclose(f);
    fmt::print("Generated {} Debezium records ({} products, {} orders, seed {}) in the production shape:\n  {}\n\n", written,
               options.products, options.orders, options.seed, events.string());

    // Fresh stores each time, so that the demo shows this workload only.
    const StoreChoice tables = tableStoreChoice(c), objects = objectStoreChoice(c);
    const std::string& store = tables.uri;
    if (store.starts_with("sqlite:")) {
      for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(store.substr(7) + suffix);
    }
    if (objects.uri.starts_with("dir:")) fs::remove_all(fs::path(objects.uri.substr(4)) / "analytics");
    runtime::Shutdown::install();
    ServiceContext ctx = openContext(c, {"file", tables, objects}, true, true);
    if (int rc = runInventoryDemo(c, events, ctx); rc != kExitOk) return rc;
    if (int rc = runAnalyticsDemo(c, events, ctx); rc != kExitOk) return rc;
    if (int rc = runSearchDemo(c, events, ctx); rc != kExitOk) return rc;

    fmt::print(
        "\nWhere the data lies:\n  tables   {}   (cdc dump --store {} --table inventory-realtime; "
        "cdc search QUERY --store {})\n"
        "  objects  {}   (reports under analytics/, dead letters under dlq/: cdc dlq list)\n",
        store, store, store, objects.uri);
    return kExitOk;
  };
  commands.push_back(std::move(cmd));
}

}  // namespace cdc::app
