// The service commands (cdc inventory, …), on one runner (also for `cdc dlq replay`).

#include "app/services.h"
#include "app/tracing_setup.h"

#include <unistd.h>
#include <cerrno>
#include <cstring>
#include <fstream>

#include <thread>

#include <fmt/format.h>

#include "adapters/kafka/kafka_dead_letters.h"
#include "adapters/kafka/kafka_source.h"
#include "adapters/registry/schema_registry.h"
#include "adapters/replay/replay_source.h"
#include "app/analytics_definition.h"
#include "app/inventory_definition.h"
#include "app/search_definition.h"
#include "core/json_writer.h"
#include "core/log.h"
#include "core/time.h"
#include "metrics/registry.h"
#include "runtime/dead_letter.h"
#include "runtime/shutdown.h"
#include "services/search/search_api.h"
#include "services/search/searcher.h"
#include "store/timed_store.h"
#include "workload/generator_source.h"

namespace cdc::app {

workload::WorkloadOptions workloadOptions(const config::Config& c);

namespace {

// Bounds a graceful stop: once SIGTERM/SIGINT has asked for one, the runner finishes and
// commits the batch in hand; if that takes longer than the grace period (a store that does
// not answer), the process exits with status 1 and the uncommitted batch is delivered again
// to whoever owns its partitions next. Kubernetes sends SIGKILL after its own grace period.
class ShutdownWatchdog {
 public:
  explicit ShutdownWatchdog(std::chrono::seconds grace)
      : thread_([grace](const std::stop_token& stop) {
          while (!stop.stop_requested() && !runtime::Shutdown::requested()) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
          }
          auto deadline = systemTime().steady() + grace;
          while (!stop.stop_requested()) {
            if (systemTime().steady() >= deadline) {
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

std::vector<int32_t> replayPartitions(const config::SourceSettings& s) {
  std::vector<int32_t> out;
  if (!s.replayPartitions) return out;
  std::string_view list = *s.replayPartitions;
  while (!list.empty()) {
    auto comma = list.find(',');
    std::string part(list.substr(0, comma));
    try {
      size_t used = 0;
      int v = std::stoi(part, &used);
      if (used != part.size() || v < 0) throw std::invalid_argument(part);
      out.push_back(v);
    } catch (const std::exception&) {
      throw config::ConfigError(s.origin(&config::SourceSettings::replayPartitions) + ": expected partition numbers, got '" +
                                part + "'");
    }
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace

const std::vector<const ServiceDefinition*>& serviceDefinitions() {
  static const std::vector<const ServiceDefinition*> services = {&inventoryService(), &analyticsService(),
                                                                 &searchIndexerService()};
  return services;
}

const ServiceDefinition* findService(std::string_view nameOrCommand) {
  for (const auto* s : serviceDefinitions()) {
    if (s->name == nameOrCommand || s->command == nameOrCommand) return s;
  }
  return nullptr;
}

std::vector<std::string> serviceTopics(const ServiceDefinition& service, const config::Config& c) {
  const auto s = c.get<config::SourceSettings>();
  std::vector<std::string> topics;
  if (s.topics) {
    std::string_view list = *s.topics;
    while (!list.empty()) {
      auto comma = list.find(',');
      std::string_view t = list.substr(0, comma);
      while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
      while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
      if (!t.empty()) topics.emplace_back(t);
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
    if (topics.empty()) throw config::ConfigError(s.origin(&config::SourceSettings::topics) + ": no topic given");
    return topics;
  }
  if (s.topic) return {*s.topic};
  for (const auto& table : service.tables) topics.push_back(s.topicPrefix + ".public." + table);
  return topics;
}

StoreChoice deadLetterChoice(const config::Config& c, const ServiceDefinition* service) {
  const auto s = c.get<config::DeadLetterSettings>();
  if (!s.has(&config::DeadLetterSettings::dlq)) return {"objects", "default"};
  const std::string& origin = s.origin(&config::DeadLetterSettings::dlq);
  if (s.dlq != "auto") return {s.dlq, origin};
  // A dead-letter bucket given says where they go.
  const auto bucket = c.get<config::StoreSettings>().dlqBucket;
  if (service && c.get<config::KafkaSettings>().bootstrapServers && service->deadLetters == "kafka" &&
      !(bucket && !bucket->empty())) {
    return {"kafka", "DLQ (kafka by default for " + service->name + " with Kafka and no DLQ_S3_BUCKET)"};
  }
  return {"objects", origin};
}

std::unique_ptr<runtime::DeadLetterStore> openKafkaDeadLetters(const config::Config& c, std::string_view service, bool create,
                                                               const std::string& origin) {
  if (!c.get<config::KafkaSettings>().bootstrapServers) {
    throw config::ConfigError(origin + ": kafka needs KAFKA_BOOTSTRAP_SERVERS (or --bootstrap-servers)");
  }
  const auto s = c.get<config::DeadLetterSettings>();
  kafka::KafkaDeadLetterOptions o;
  o.properties = app::kafkaProperties(c);
  if (s.dlqTopic && !s.dlqTopic->empty()) {
    o.topic = *s.dlqTopic;
    o.origin = s.origin(&config::DeadLetterSettings::dlqTopic);
  } else if (!service.empty()) {
    o.topic = std::string(service) + "-dlq";
    o.origin = "DLQ_TOPIC (default)";
  } else {
    throw config::ConfigError(origin + ": kafka needs --service or DLQ_TOPIC to name the dead-letter topic");
  }
  o.create = create;
  auto store = kafka::KafkaDeadLetterStore::open(std::move(o));
  if (!store) throw config::ConfigError(store.error().message);
  return std::move(*store);
}

Wiring wiringOf(const config::Config& c, const ServiceDefinition& service) {
  using S = config::StoreSettings;
  const auto s = c.get<S>();
  const auto source = c.get<config::SourceSettings>().source;
  const bool brokers = c.get<config::KafkaSettings>().bootstrapServers.has_value();
  Wiring w;
  w.service = service.name;
  const bool configured = source || brokers;
  w.source = source ? *source : (brokers ? "kafka" : "generate");
  auto choose = [&](std::string S::* setting, const char* aws) -> StoreChoice {
    if (!s.has(setting)) return {};  // a service without tables (analytics) takes no --store
    if (s.origin(setting) != "default" || w.source != "kafka") return {s.*setting, s.origin(setting)};
    return {aws, std::string(S::declaration(setting).env) + " (" + aws + " by default with Kafka)"};
  };
  w.tables = choose(&S::store, "dynamodb");
  w.objects = choose(&S::objects, "s3");
  w.deadLetters = deadLetterChoice(c, &service);
  if (!configured) {
    for (const StoreChoice* s : {&w.tables, &w.objects}) {
      if (s->uri == "dynamodb" || s->uri == "s3") {
        throw config::ConfigError(s->origin + ": " + s->uri +
                                  " with no source configured: set KAFKA_BOOTSTRAP_SERVERS (or --source file:PATH); "
                                  "the built-in generator writes to AWS only when asked for with --source generate");
      }
    }
  }
  return w;
}

void openSchemas(const config::Config& c, ServiceContext& ctx) {
  using S = config::DecodingSettings;
  const auto s = c.get<S>();
  if (!s.schemaRegistryUrl || s.schemaRegistryUrl->empty()) return;
  const std::string& url = *s.schemaRegistryUrl;
  std::string userInfo = s.schemaRegistryUserInfo.value_or("");
  std::shared_ptr<debezium::SchemaFetcher> fetcher;
  try {
    fetcher = registry::openFetcher(url, userInfo);
  } catch (const std::invalid_argument& e) {
    throw config::ConfigError(s.origin(&S::schemaRegistryUrl) + ": " + e.what());
  }
  if (auto* web = dynamic_cast<registry::RegistryFetcher*>(fetcher.get())) {
    ctx.schemaRegistryProblem = [web] { return web->problem(); };
  }
  ctx.schemas = std::make_shared<debezium::SchemaCache>(*fetcher, static_cast<size_t>(s.schemaCacheSize));
  ctx.resources.push_back(fetcher);
  log::event(spdlog::level::info, "schema_registry", {{"schemas", fetcher->describe()}});
}

ServiceContext openContext(const config::Config& c, const Wiring& w, bool tables, bool ownObjects) {
  // Each store timed for cdc_store_request_duration_seconds, labelled with its backend.
  ServiceContext ctx;
  openSchemas(c, ctx);
  // The dead-letter topic first: a missing broker setting is named before any store is made.
  std::unique_ptr<runtime::DeadLetterStore> deadLetterTopic;
  if (w.deadLetters.uri == "kafka") deadLetterTopic = openKafkaDeadLetters(c, w.service, true, w.deadLetters.origin);
  if (tables) {
    ctx.tables = store::timed(openTableStore(c, w.tables), w.tables.uri == "dynamodb" ? "dynamodb" : "sqlite");
    ctx.openTables = [&c, choice = w.tables] { return openTableStore(c, choice); };
  }
  const std::string backend = w.objects.uri == "s3" ? "s3" : "directory";
  if (deadLetterTopic) {
    if (ownObjects) ctx.objects = store::timed(openObjectStore(c, w.objects, false), backend);
    ctx.deadLetterStore = std::move(deadLetterTopic);
    return ctx;
  }
  if (!ownObjects) {
    // Dead letters are all it writes there: DLQ_S3_BUCKET (S3_BUCKET when unset).
    ctx.objects = store::timed(openObjectStore(c, w.objects, true), backend);
  } else {
    ctx.objects = store::timed(openObjectStore(c, w.objects, false), backend);
    const auto s = c.get<config::StoreSettings>();
    if (backend == "s3" && s.dlqBucket && !s.dlqBucket->empty() && s.dlqBucket != s.s3Bucket) {
      ctx.deadLetterObjects = store::timed(openObjectStore(c, w.objects, true), backend);
    }
  }
  ctx.deadLetterStore =
      std::make_unique<runtime::ObjectDeadLetterStore>(ctx.deadLetterObjects ? *ctx.deadLetterObjects : *ctx.objects);
  return ctx;
}

namespace {

// The context's stores that the run summary reports, each with the role it is named by.
std::vector<std::pair<const store::Instrumented*, std::string>> reportedStores(const ServiceContext& ctx) {
  std::vector<std::pair<const store::Instrumented*, std::string>> out;
  if (ctx.tables) out.emplace_back(ctx.tables.get(), "");
  if (ctx.objects) out.emplace_back(ctx.objects.get(), "");
  if (ctx.deadLetterObjects) out.emplace_back(ctx.deadLetterObjects.get(), "dead-letters");
  return out;
}

// run_summary's "stats": the runner's counts, the handler's and each remote store's requests.
std::string statsJson(const runtime::RunStats& stats, const runtime::Handler& handler, const ServiceContext& ctx) {
  std::string out;
  JsonWriter w(out);
  w.beginObject().key("runner");
  writeStats(w, stats.counts());
  w.key("handler");
  writeStats(w, handler.counts());
  w.key("stores").beginObject();
  for (const auto& [store, role] : reportedStores(ctx)) {
    if (auto counts = store->requestCounts(role)) {
      w.key(counts->backend);
      writeStats(w, counts->counts);
    }
  }
  w.endObject().endObject();
  return out;
}

// "; dynamodb: 812 requests (3 retried, 1 throttled …); s3: 40 requests (…)" for stores on AWS.
std::string requestSummaries(const ServiceContext& ctx) {
  std::string out;
  for (const auto& [store, role] : reportedStores(ctx)) {
    if (std::string part = store->requestSummary(role); !part.empty()) out += "; " + part;
  }
  return out;
}

// The end of a run: one run_summary line (its text for people, its fields and counts for
// programs) and, with SUMMARY_JSON, the same fields in a file of their own.
void reportRun(const ServiceDefinition& service, const runtime::RunStats& stats, const runtime::Handler& handler,
               ServiceContext& context, const config::Config& c) {
  std::string cuts = stats.cuts ? fmt::format(", {} batches committed in parts (slow stores)", stats.cuts) : "";
  const auto& latency = stats.appendToDurable;
  std::string durable =
      latency.count() == 0
          ? ""
          : fmt::format(", Kafka append to durable effect p50 {} ms, p99 {} ms, max {} ms (from the poll: p99 {} ms, max {} ms)",
                        latency.quantile(0.5), latency.quantile(0.99), latency.max(), stats.pollToDurable.quantile(0.99),
                        stats.pollToDurable.max());
  const double rate = stats.records / std::max(stats.seconds, 1e-9);
  const bool stopped = runtime::Shutdown::requested();
  const std::string text = fmt::format("{}: {} records in {:.2f} s ({:.0f}/s), {} dead letters{}{}{}; {}", service.name,
                                       stats.records, stats.seconds, rate, stats.deadLetters, cuts, durable,
                                       stopped ? ", stopped by signal" : "", handler.summary() + requestSummaries(context));
  const std::string counts = statsJson(stats, handler, context);
  const std::string seconds = fmt::format("{:.3f}", stats.seconds), rateText = fmt::format("{:.1f}", rate);
  log::report(spdlog::level::info, "run_summary", text,
              {{"records", std::to_string(stats.records), true},
               {"seconds", seconds, true},
               {"rate", rateText, true},
               {"dead_letters", std::to_string(stats.deadLetters), true},
               {"stopped_by_signal", stopped ? "true" : "false", true},
               {"stats", counts, true}});
  const auto summary = c.get<config::RunnerSettings>().summaryJson;
  if (!summary || summary->empty()) return;
  std::string out;
  JsonWriter w(out);
  w.beginObject()
      .field("service", service.name)
      .field("records", static_cast<int64_t>(stats.records))
      .key("seconds")
      .raw(seconds)
      .key("rate")
      .raw(rateText)
      .field("dead_letters", static_cast<int64_t>(stats.deadLetters))
      .field("stopped_by_signal", stopped)
      .key("stats")
      .raw(counts)
      .field("text", text)
      .endObject();
  const std::string& path = *summary;
  std::ofstream file(path, std::ios::trunc);
  file << out << '\n';
  if (!file.flush()) {
    log::event(spdlog::level::err, "summary_not_written", {{"path", path}, {"error", std::strerror(errno)}});
  }
}

}  // namespace

int runService(const ServiceDefinition& service, runtime::Source& source, runtime::Handler& handler, ServiceContext& context,
               const config::Config& c, Observability* observability) {
  runtime::DeadLetterStore& deadLetters = context.deadLetters();
  const auto s = c.get<config::RunnerSettings>();
  runtime::RunnerOptions ro;
  ro.batchSize = static_cast<size_t>(s.batchSize);
  ro.maxRecordsPerSecond = static_cast<uint64_t>(s.maxRecordsPerSecond);
  ro.progress = ::isatty(STDERR_FILENO) && !log::json();
  if (log::json()) ro.statsInterval = std::chrono::seconds(s.statsInterval);
  if (observability) {
    ro.probe = observability->probe();
    ro.health = observability->health();
    if (context.schemaRegistryProblem && ro.health) {
      ro.health->addReadinessCheck("schema_registry", context.schemaRegistryProblem);
    }
  }
  ro.schemas = context.schemas.get();
  // Spans over OTLP when an endpoint is set; it outlives the runner (declared before it).
  std::unique_ptr<Tracing> tracing = Tracing::open(c, service.name);
  if (tracing) {
    ro.tracer = &tracing->tracer();
    if (observability && observability->registry()) tracing->instrument(*observability->registry(), service.name);
  }
  if (dynamic_cast<kafka::KafkaSource*>(&source)) {
    ro.consumerGroup = c.get<config::KafkaSettings>().groupId.value_or(service.name + "-group");
  }
  runtime::Shutdown::install();
  // The service is named by every line (log::setService at start-up).
  log::event(spdlog::level::info, "service_start", {{"source", source.describe()}, {"version", metrics::buildVersion()}});
  ShutdownWatchdog watchdog(std::chrono::seconds(s.shutdownGrace));
  runtime::Runner runner(source, handler, deadLetters, ro, runtime::Shutdown::flag());
  auto stats = runner.run();
  if (!stats) {
    log::event(spdlog::level::err, "service_failed", {{"error", stats.error().message}});
    return kExitFailure;
  }
  reportRun(service, *stats, handler, context, c);
  return kExitOk;
}

namespace {

// START_FROM: earliest and latest as auto.offset.reset (which must not say otherwise), a time
// as the offsets at that time.
void startFrom(const config::SourceSettings& s, kafka::KafkaSourceOptions& o) {
  if (!s.startFrom) return;
  const std::string& from = *s.startFrom;
  const std::string& origin = s.origin(&config::SourceSettings::startFrom);
  if (from == "earliest" || from == "latest") {
    const auto* reset = kafka::findProperty(o.properties, "auto.offset.reset");
    if (reset && reset->value != from) {
      throw config::ConfigError(origin + ": " + from + " contradicts " + reset->origin + "=" + reset->value);
    }
    kafka::setProperty(o.properties, "auto.offset.reset", from, origin);
  } else if (auto at = parseIsoTimestamp(from)) {
    o.startAtMs = at->millis();
  } else {
    throw config::ConfigError(origin + ": expected earliest, latest or a time (2026-12-01T00:00:00Z), got '" + from + "'");
  }
}

std::unique_ptr<runtime::Source> openKafkaSource(const ServiceDefinition& service, const config::Config& c,
                                                 std::vector<std::string> topics) {
  using K = config::KafkaSettings;
  const auto k = c.get<K>();
  const auto s = c.get<config::SourceSettings>();
  if (!k.bootstrapServers) {
    throw config::ConfigError("--source kafka: KAFKA_BOOTSTRAP_SERVERS (or --bootstrap-servers) is not set");
  }
  kafka::KafkaSourceOptions o;
  o.properties = app::kafkaProperties(c);
  if (k.groupId) {
    kafka::setProperty(o.properties, "group.id", *k.groupId, k.origin(&K::groupId));
  } else {
    kafka::setProperty(o.properties, "group.id", service.name + "-group", "default");
  }
  kafka::setDefault(o.properties, "client.id", service.name);
  const std::string& protocolOrigin = k.origin(&K::groupProtocol);
  if (const auto* passed = kafka::findProperty(o.properties, "group.protocol");
      passed && passed->value != k.groupProtocol && protocolOrigin != "default") {
    throw config::ConfigError(protocolOrigin + "=" + k.groupProtocol + " contradicts " + passed->origin + "=" + passed->value);
  } else if (!passed) {
    kafka::setProperty(o.properties, "group.protocol", k.groupProtocol, protocolOrigin);
  }
  o.topics = std::move(topics);
  o.untilCaughtUp = s.untilCaughtUp;
  if (o.untilCaughtUp) o.joinTimeout = std::chrono::seconds(k.brokerTimeout);
  startFrom(s, o);
  auto source = kafka::KafkaSource::open(std::move(o));
  if (!source) throw config::ConfigError(source.error().message);
  return std::move(*source);
}

}  // namespace

void addServices(CLI::App& app, std::vector<std::unique_ptr<Command>>& commands) {
  for (const auto* def : serviceDefinitions()) {
    auto cmd = std::make_unique<Command>();
    cmd->name = def->command;
    cmd->app = app.add_subcommand(def->command, "Run " + def->name);
    bindSettings(*cmd);
    cmd->run = [def](const config::Config& c) {
      const auto topics = serviceTopics(*def, c);
      const Wiring wiring = wiringOf(c, *def);
      const std::string& source = wiring.source;
      const auto settings = c.get<config::SourceSettings>();
      std::unique_ptr<runtime::Source> src;
      if (settings.startFrom && source != "kafka") {
        throw config::ConfigError(settings.origin(&config::SourceSettings::startFrom) +
                                  ": where a Kafka consumer group starts; the source is " + source);
      }
      if (source.starts_with("file:")) {
        auto r = replay::ReplaySource::open(source.substr(5), topics, replayPartitions(settings));
        if (!r) throw config::ConfigError("--source: " + r.error().message);
        src = std::move(*r);
      } else if (source == "generate") {
        src = std::make_unique<workload::GeneratorSource>(workloadOptions(c), topics);
      } else if (source == "kafka") {
        src = openKafkaSource(*def, c, topics);
      } else {
        throw config::ConfigError("--source: expected kafka, file:PATH or generate, got '" + source + "'");
      }
      ServiceContext ctx = openContext(c, wiring, def->usesTableStore, def->writesObjects);
      auto handler = def->makeHandler(c, ctx);
      if (ctx.attachSource) ctx.attachSource(*src);
      // After the stores it watches (destroyed before them).
      Observability observability(
          def->name, c, source == "kafka" ? Observability::PortDefaults::Declared : Observability::PortDefaults::FreePort);
      if (observability.probe()) observability.probe()->expectTopics(topics);
      observability.watch(*src, ctx, *handler);
      std::shared_ptr<void> sidecar = def->sidecar ? def->sidecar(c, ctx, observability.apiServer()) : nullptr;
      observability.start();
      int status = runService(*def, *src, *handler, ctx, c, &observability);
      if (status == kExitOk && c.get<config::SearchIndexerSettings>().keepServing && !runtime::Shutdown::requested()) {
        // The source has ended (a replay file, --until-caught-up): the API goes on answering.
        log::event(spdlog::level::info, "serving_until_stopped",
                   {{"detail", "the source has ended; GET /search answers until SIGTERM or SIGINT"}});
        while (!runtime::Shutdown::requested()) {
          if (observability.health()) observability.health()->beat();
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
      }
      return status;
    };
    commands.push_back(std::move(cmd));
  }
}

void addSearch(CLI::App& app, std::vector<std::unique_ptr<Command>>& commands) {
  auto cmd = std::make_unique<Command>();
  cmd->name = "search";
  cmd->app =
      app.add_subcommand("search", "Search the product index: all words must match, the last one as a prefix; JSON results");
  bindSettings(*cmd);
  Command* raw = cmd.get();
  cmd->app->add_option_function<std::string>(
      "QUERY", [raw](const std::string& v) { raw->flags.insert_or_assign("query", v); }, "Search words");
  cmd->run = [](const config::Config& c) {
    using Q = config::SearchQuerySettings;
    const auto q = c.get<Q>();
    std::map<std::string, std::string, std::less<>> params;
    for (auto [member, param] : {std::pair{&Q::query, "q"}, std::pair{&Q::minPrice, "min_price"},
                                 std::pair{&Q::maxPrice, "max_price"}, std::pair{&Q::cursor, "cursor"}}) {
      if (q.*member) params[param] = *(q.*member);
    }
    params["limit"] = std::to_string(q.limit);
    auto request = search::parseSearchParams(params, {"QUERY", "--min-price", "--max-price", "--limit"});
    if (!request) throw config::ConfigError(request.error());
    auto tables = openTableStore(c, /*existing=*/true);
    search::Searcher searcher(*tables, searchTables(c));
    auto page = searcher.search(*request);
    if (!page) {
      if (page.error().kind == ErrorKind::NotFound) {
        throw config::ConfigError("--store: " + tableStoreChoice(c).uri +
                                  " holds no search index (the search indexer has not written there)");
      }
      if (page.error().kind == ErrorKind::Poison) {
        throw config::ConfigError("--cursor: not the next_cursor of an earlier page of this search");
      }
      reportError("search", page.error().message, kExitFailure);
      return kExitFailure;
    }
    fmt::print("{}\n", search::searchResponseJson(*request, *page));
    return kExitOk;
  };
  commands.push_back(std::move(cmd));
}

}  // namespace cdc::app
