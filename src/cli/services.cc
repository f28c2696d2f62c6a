// The service commands (cdc inventory, …) and `cdc dlq replay`, on one runner.

#include "cli/services.h"

#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "adapters/kafka/alert_publisher.h"
#include "adapters/kafka/kafka_source.h"
#include "adapters/replay/replay_source.h"
#include "core/log.h"
#include "runtime/dead_letter.h"
#include "runtime/shutdown.h"
#include "services/analytics/analytics_service.h"
#include "adapters/http/http_server.h"
#include "services/inventory/inventory_service.h"
#include "services/search/indexer.h"
#include "services/search/search_api.h"
#include "services/search/searcher.h"
#include "store/timed_store.h"
#include "workload/generator_source.h"

namespace cdc::cli {

workload::WorkloadOptions workloadOptions(const config::Config& c);

namespace {

std::unique_ptr<runtime::Handler> makeInventory(const config::Config& c, ServiceContext& ctx) {
  auto logAlerts = std::make_shared<inventory::LogAlertSink>();
  ctx.resources.push_back(logAlerts);
  inventory::AlertSink* sink = logAlerts.get();
  // With a Kafka producer configured, alerts also go to ALERTS_TOPIC (empty disables).
  if (c.has("bootstrap-servers") && c.has("alerts-topic") && !c.str("alerts-topic").empty()) {
    kafka::Properties props = kafkaProperties(c);
    kafka::setDefault(props, "client.id", "inventory-service-alerts");
    auto producer = kafka::KafkaProducer::open(std::move(props));
    if (!producer) throw config::ConfigError(producer.error().message);
    auto kafkaAlerts = std::make_shared<kafka::KafkaAlertSink>(std::move(*producer), c.str("alerts-topic"));
    auto both = std::make_shared<kafka::FanoutAlertSink>(std::vector<inventory::AlertSink*>{logAlerts.get(), kafkaAlerts.get()});
    ctx.resources.push_back(kafkaAlerts);
    ctx.resources.push_back(both);
    sink = both.get();
  }
  return std::make_unique<inventory::InventoryHandler>(*ctx.tables, *sink, inventoryOptions(c));
}

std::string inventorySummary(const runtime::Handler& h) {
  const auto& s = static_cast<const inventory::InventoryHandler&>(h).stats();
  return fmt::format(
      "{} product changes, {} order-item changes, {} already applied, {} store transactions ({} items, {} write units), "
      "{} low-stock alerts",
      s.productChanges, s.itemChanges, s.duplicates, s.transactions, s.itemsWritten, s.writeUnits, s.alerts);
}

std::unique_ptr<runtime::Handler> makeAnalytics(const config::Config& c, ServiceContext& ctx) {
  return std::make_unique<analytics::AnalyticsHandler>(*ctx.objects, analyticsOptions(c));
}

std::string analyticsSummary(const runtime::Handler& h) {
  const auto& a = static_cast<const analytics::AnalyticsHandler&>(h);
  const auto& s = a.stats();
  return fmt::format("{} changes, {} already applied, {} checkpoints, {} report flushes, {} rows of keyed state",
                     s.changes, s.alreadyApplied, s.checkpoints, s.flushes, a.rowsInMemory());
}

std::unique_ptr<runtime::Handler> makeIndexer(const config::Config& c, ServiceContext& ctx) {
  search::IndexerOptions o;
  o.tables = searchTables(c);
  o.createTables = c.boolean("create-tables");
  o.tombstoneRetentionSeconds = c.integer("ledger-retention");
  o.decoding = decoderOptions(c);
  return std::make_unique<search::IndexerHandler>(*ctx.tables, o);
}

std::string indexerSummary(const runtime::Handler& h) {
  const auto& s = static_cast<const search::IndexerHandler&>(h).stats();
  return fmt::format(
      "{} product changes, {} stale or repeated, {} item writes, {} posting writes, {} new tokens, {} store transactions",
      s.changes, s.stale + s.repeatedDeletes, s.itemWrites, s.postingWrites, s.tokenWrites, s.transactions);
}

// GET /search on the service's HTTP server, answered on the server's workers, each with a
// store connection of its own (the consumer's is not shared across threads).
std::shared_ptr<void> searchApi(const config::Config& c, http::HttpServer& server) {
  struct Api {
    struct Lane {
      std::unique_ptr<store::TableStore> tables;
      std::unique_ptr<search::Searcher> searcher;
    };
    std::mutex mutex;
    std::condition_variable freed;
    std::vector<Lane*> idle;  // guarded by mutex
    std::vector<std::unique_ptr<Lane>> all;
  };
  http::HttpServerOptions options;
  auto api = std::make_shared<Api>();
  for (size_t i = 0; i < options.workers; ++i) {
    auto lane = std::make_unique<Api::Lane>();
    lane->tables = openTableStore(c);
    lane->searcher = std::make_unique<search::Searcher>(*lane->tables, searchTables(c));
    api->idle.push_back(lane.get());
    api->all.push_back(std::move(lane));
  }
  Api* raw = api.get();
  server.get("/search", [raw](const http::Params& params) {
    Api::Lane* lane = nullptr;
    {
      std::unique_lock lock(raw->mutex);
      raw->freed.wait(lock, [raw] { return !raw->idle.empty(); });
      lane = raw->idle.back();
      raw->idle.pop_back();
    }
    auto [status, body] = search::handleSearch(*lane->searcher, params);
    {
      std::lock_guard lock(raw->mutex);
      raw->idle.push_back(lane);
    }
    raw->freed.notify_one();
    return http::Response{status, std::move(body)};
  });
  return api;
}

// Bounds a graceful stop: once SIGTERM/SIGINT has asked for one, the runner finishes and
// commits the batch in hand; if that takes longer than the grace period (a store that does
// not answer), the process exits with status 1 and the uncommitted batch is delivered again
// to whoever owns its partitions next. Kubernetes sends SIGKILL after its own grace period.
class ShutdownWatchdog {
 public:
  explicit ShutdownWatchdog(std::chrono::seconds grace)
      : thread_([this, grace](std::stop_token stop) {
          while (!stop.stop_requested() && !runtime::Shutdown::requested()) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
          }
          auto deadline = std::chrono::steady_clock::now() + grace;
          while (!stop.stop_requested()) {
            if (std::chrono::steady_clock::now() >= deadline) {
              log::event(spdlog::level::err, "shutdown_grace_exceeded",
                         {{"grace_seconds", std::to_string(grace.count()), true},
                          {"detail", "exiting without committing the batch in hand; it will be delivered again"}});
              std::fflush(stderr);
              ::_exit(kExitFailure);
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
          }
        }) {}

 private:
  std::jthread thread_;
};

std::vector<int32_t> replayPartitions(const config::Config& c) {
  std::vector<int32_t> out;
  if (!c.has("replay-partitions")) return out;
  std::string_view list = c.str("replay-partitions");
  while (!list.empty()) {
    auto comma = list.find(',');
    std::string part(list.substr(0, comma));
    try {
      size_t used = 0;
      int v = std::stoi(part, &used);
      if (used != part.size() || v < 0) throw std::invalid_argument(part);
      out.push_back(v);
    } catch (const std::exception&) {
      throw config::ConfigError(c.origin("replay-partitions") + ": expected partition numbers, got '" + part + "'");
    }
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace

debezium::DecoderOptions decoderOptions(const config::Config& c) {
  debezium::DecoderOptions d;
  const auto& dec = c.str("schemaless-decimals");
  d.schemalessDecimals = dec == "precise"  ? debezium::SchemalessDecimals::Precise
                         : dec == "string" ? debezium::SchemalessDecimals::String
                                           : debezium::SchemalessDecimals::Auto;
  int64_t scale = c.integer("decimal-scale");
  if (scale < 0 || scale > 18) throw config::ConfigError(c.origin("decimal-scale") + ": expected 0 to 18");
  d.defaultDecimalScale = static_cast<int32_t>(scale);
  const auto& ts = c.str("schemaless-timestamps");
  d.schemalessTimestamps = ts == "micro"   ? debezium::SchemalessTimestamps::Micro
                           : ts == "milli" ? debezium::SchemalessTimestamps::Milli
                           : ts == "nano"  ? debezium::SchemalessTimestamps::Nano
                                           : debezium::SchemalessTimestamps::Auto;
  return d;
}

analytics::AnalyticsOptions analyticsOptions(const config::Config& c) {
  analytics::AnalyticsOptions o;
  o.topN = static_cast<int>(c.integer("top-n"));
  o.flushIntervalSeconds = c.integer("flush-interval");
  o.checkpointIntervalMs = c.integer("checkpoint-interval-ms");
  o.decoding = decoderOptions(c);
  return o;
}

search::IndexTables searchTables(const config::Config& c) {
  search::IndexTables t;
  if (c.has("table-name")) t.items = c.str("table-name");
  t.postings = t.items + "-postings";
  t.tokens = t.items + "-tokens";
  return t;
}

inventory::InventoryOptions inventoryOptions(const config::Config& c) {
  inventory::InventoryOptions o;
  if (c.has("table-name")) o.table = c.str("table-name");
  o.ledgerTable = c.has("ledger-table") ? c.str("ledger-table") : o.table + "-ledger";
  o.lowStockThreshold = c.integer("low-stock-threshold");
  o.tombstoneRetentionSeconds = c.integer("ledger-retention");
  o.createTables = c.boolean("create-tables");
  o.decoding = decoderOptions(c);
  return o;
}

const std::vector<ServiceDefinition>& serviceDefinitions() {
  static const std::vector<ServiceDefinition> services = {
      {"inventory-service", "inventory", {"products", "order_items"}, makeInventory, inventorySummary},
      {"analytics-service", "analytics", {"orders", "order_items"}, makeAnalytics, analyticsSummary},
      {"search-indexer", "search-indexer", {"products"}, makeIndexer, indexerSummary, searchApi},
  };
  return services;
}

const ServiceDefinition* findService(std::string_view nameOrCommand) {
  for (const auto& s : serviceDefinitions()) {
    if (s.name == nameOrCommand || s.command == nameOrCommand) return &s;
  }
  return nullptr;
}

std::vector<std::string> serviceTopics(const ServiceDefinition& service, const config::Config& c) {
  std::vector<std::string> topics;
  if (c.has("topics")) {
    std::string_view list = c.str("topics");
    while (!list.empty()) {
      auto comma = list.find(',');
      std::string_view t = list.substr(0, comma);
      while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
      while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
      if (!t.empty()) topics.emplace_back(t);
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
    if (topics.empty()) throw config::ConfigError(c.origin("topics") + ": no topic given");
    return topics;
  }
  if (c.has("topic")) return {c.str("topic")};
  for (const auto& table : service.tables) topics.push_back(c.str("topic-prefix") + ".public." + table);
  return topics;
}

kafka::Properties kafkaProperties(const config::Config& c) {
  kafka::Properties props;
  for (const auto& [name, value] : c.kafkaPassthrough()) props.push_back({name, value, kafka::environmentName(name)});
  if (c.has("bootstrap-servers")) {
    kafka::setProperty(props, "bootstrap.servers", c.str("bootstrap-servers"), c.origin("bootstrap-servers"));
  }
  return props;
}

ServiceContext openContext(const config::Config& c) {
  // Each store timed for cdc_store_request_duration_seconds, labelled with its backend.
  ServiceContext ctx;
  ctx.tables = store::timed(openTableStore(c), c.str("store") == "dynamodb" ? "dynamodb" : "sqlite");
  const std::string objects = c.str("objects") == "s3" ? "s3" : "directory";
  ctx.objects = store::timed(openObjectStore(c), objects);
  if (objects == "s3" && c.has("dlq-bucket") && !c.str("dlq-bucket").empty() &&
      (!c.has("s3-bucket") || c.str("dlq-bucket") != c.str("s3-bucket"))) {
    ctx.deadLetterObjects = store::timed(openObjectStore(c, true), objects);
  }
  return ctx;
}

namespace {

// "; dynamodb: 812 requests (3 retried, 1 throttled …); s3: 40 requests (…)" for stores on AWS.
std::string requestSummaries(ServiceContext& ctx) {
  std::string out;
  for (std::string part : {ctx.tables->requestSummary(), ctx.objects->requestSummary(),
                           ctx.deadLetterObjects ? ctx.deadLetterObjects->requestSummary("dead-letters") : std::string()}) {
    if (!part.empty()) out += "; " + part;
  }
  return out;
}

}  // namespace

int runService(const ServiceDefinition& service, runtime::Source& source, runtime::Handler& handler,
               ServiceContext& context, const config::Config& c, Observability* observability) {
  store::ObjectStore& deadLetters = context.deadLetters();
  runtime::RunnerOptions ro;
  ro.batchSize = static_cast<size_t>(c.integer("batch-size"));
  ro.progress = ::isatty(STDERR_FILENO);
  if (observability) {
    ro.probe = observability->probe();
    ro.health = observability->health();
  }
  runtime::Shutdown::install();
  log::event(spdlog::level::info, "service_start", {{"service", service.name}, {"source", source.describe()}});
  ShutdownWatchdog watchdog(std::chrono::seconds(c.has("shutdown-grace") ? c.integer("shutdown-grace") : 25));
  runtime::Runner runner(source, handler, deadLetters, ro, runtime::Shutdown::flag());
  auto stats = runner.run();
  if (!stats) {
    log::event(spdlog::level::err, "service_failed", {{"service", service.name}, {"error", stats.error().message}});
    return kExitFailure;
  }
  std::string cuts = stats->cuts ? fmt::format(", {} batches committed in parts (slow stores)", stats->cuts) : "";
  const auto& latency = stats->appendToDurable;
  std::string durable = latency.count() == 0 ? ""
                        : fmt::format(", Kafka append to durable effect p50 {} ms, p99 {} ms, max {} ms", latency.quantile(0.5),
                                      latency.quantile(0.99), latency.max());
  fmt::print(stderr, "{}: {} records in {:.2f} s ({:.0f}/s), {} dead letters{}{}{}; {}\n", service.name, stats->records,
             stats->seconds, stats->records / std::max(stats->seconds, 1e-9), stats->deadLetters, cuts, durable,
             runtime::Shutdown::requested() ? ", stopped by signal" : "", service.summary(handler) + requestSummaries(context));
  return kExitOk;
}

namespace {

std::unique_ptr<runtime::Source> openKafkaSource(const ServiceDefinition& service, const config::Config& c,
                                                 std::vector<std::string> topics) {
  if (!c.has("bootstrap-servers")) {
    throw config::ConfigError("--source kafka: KAFKA_BOOTSTRAP_SERVERS (or --bootstrap-servers) is not set");
  }
  kafka::KafkaSourceOptions o;
  o.properties = kafkaProperties(c);
  if (c.has("group-id")) {
    kafka::setProperty(o.properties, "group.id", c.str("group-id"), c.origin("group-id"));
  } else {
    kafka::setProperty(o.properties, "group.id", service.name + "-group", "default");
  }
  kafka::setDefault(o.properties, "client.id", service.name);
  o.topics = std::move(topics);
  o.untilCaughtUp = c.has("until-caught-up") && c.boolean("until-caught-up");
  auto source = kafka::KafkaSource::open(std::move(o));
  if (!source) throw config::ConfigError(source.error().message);
  return std::move(*source);
}

}  // namespace

void addServices(CLI::App& app, std::vector<std::unique_ptr<Command>>& commands) {
  for (const auto& service : serviceDefinitions()) {
    auto cmd = std::make_unique<Command>();
    cmd->name = service.command;
    cmd->app = app.add_subcommand(service.command, "Run " + service.name);
    bindSettings(*cmd);
    const ServiceDefinition* def = &service;
    cmd->run = [def](const config::Config& c) {
      const auto topics = serviceTopics(*def, c);
      std::string source = c.has("source") ? c.str("source") : (c.has("bootstrap-servers") ? "kafka" : "generate");
      std::unique_ptr<runtime::Source> src;
      if (source.starts_with("file:")) {
        auto r = replay::ReplaySource::open(source.substr(5), topics, replayPartitions(c));
        if (!r) throw config::ConfigError("--source: " + r.error().message);
        src = std::move(*r);
      } else if (source == "generate") {
        src = std::make_unique<workload::GeneratorSource>(workloadOptions(c), topics);
      } else if (source == "kafka") {
        src = openKafkaSource(*def, c, topics);
      } else {
        throw config::ConfigError("--source: expected kafka, file:PATH or generate, got '" + source + "'");
      }
      ServiceContext ctx = openContext(c);
      auto handler = def->makeHandler(c, ctx);
      // After the stores it watches (destroyed before them).
      Observability observability(def->name, c);
      if (observability.probe()) observability.probe()->expectTopics(topics);
      observability.watch(*src, ctx, *handler);
      std::shared_ptr<void> sidecar = def->sidecar ? def->sidecar(c, observability.apiServer()) : nullptr;
      observability.start();
      return runService(*def, *src, *handler, ctx, c, &observability);
    };
    commands.push_back(std::move(cmd));
  }
}

void addSearch(CLI::App& app, std::vector<std::unique_ptr<Command>>& commands) {
  auto cmd = std::make_unique<Command>();
  cmd->name = "search";
  cmd->app = app.add_subcommand("search", "Search the product index: all words must match, the last one as a prefix; JSON results");
  bindSettings(*cmd);
  Command* raw = cmd.get();
  cmd->app->add_option_function<std::string>(
      "QUERY", [raw](const std::string& v) { raw->flags.insert_or_assign("query", v); }, "Search words");
  cmd->run = [](const config::Config& c) {
    std::map<std::string, std::string, std::less<>> params;
    for (auto [setting, param] : {std::pair{"query", "q"}, std::pair{"min-price", "min_price"},
                                  std::pair{"max-price", "max_price"}, std::pair{"limit", "limit"},
                                  std::pair{"cursor", "cursor"}}) {
      if (c.has(setting)) params[param] = c.str(setting);
    }
    auto request = search::parseSearchParams(params);
    if (!request) throw config::ConfigError(request.error());
    auto tables = openTableStore(c);
    search::Searcher searcher(*tables, searchTables(c));
    auto page = searcher.search(*request);
    if (!page) {
      if (page.error().kind == ErrorKind::NotFound) throw config::ConfigError("--store: " + page.error().message);
      fmt::print(stderr, "cdc search: {}\n", page.error().message);
      return kExitFailure;
    }
    fmt::print("{}\n", search::searchResponseJson(*request, *page));
    return kExitOk;
  };
  commands.push_back(std::move(cmd));
}

void addDlqReplay(CLI::App& dlq, std::vector<std::unique_ptr<Command>>& commands) {
  auto cmd = std::make_unique<Command>();
  cmd->name = "dlq replay";
  cmd->app = dlq.add_subcommand("replay", "Re-process the dead letters of a service; those that succeed are removed");
  bindSettings(*cmd);
  cmd->run = [](const config::Config& c) {
    if (!c.has("service")) throw config::ConfigError("--service is required");
    const ServiceDefinition* def = findService(c.str("service"));
    if (!def) throw config::ConfigError("--service: unknown service '" + c.str("service") + "'");
    ServiceContext ctx = openContext(c);
    auto letters = runtime::listDeadLetters(ctx.deadLetters(), def->name);
    if (!letters) {
      fmt::print(stderr, "cdc dlq replay: {}\n", letters.error().message);
      return kExitFailure;
    }
    runtime::DeadLetterSource source(ctx.deadLetters(), std::move(*letters));
    auto handler = def->makeHandler(c, ctx);
    return runService(*def, source, *handler, ctx, c);
  };
  commands.push_back(std::move(cmd));
}

}  // namespace cdc::cli
