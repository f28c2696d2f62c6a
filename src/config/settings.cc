#include "config/settings.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>

#include "core/time.h"

extern char** environ;

namespace cdc::config {
namespace {

using C = std::vector<std::string_view>;

const C kGenerate{"generate"};
const C kServices{"inventory", "analytics", "search-indexer", "dlq replay"};
const C kAllServices{"inventory", "analytics", "search-indexer", "dlq replay", "demo"};
// Settings of one service (and of the commands that run it: dlq replay, demo).
const C kAnalytics{"analytics", "dlq replay", "demo"};
const C kInventory{"inventory", "dlq replay", "demo"};
const C kTables{"inventory", "search-indexer", "dlq replay", "demo"};  // the services with tables
const C kAwsTables{"dump", "demo", "inventory", "search-indexer", "dlq replay", "search"};
const C kDemo{"demo"};
const C kStores{"dump"};
const C kObjects{"dlq list", "dlq replay", "dlq purge", "dlq export", "dump", "demo", "inventory", "analytics", "search-indexer"};
const C kDlq{"dlq list", "dlq replay", "dlq purge", "dlq export"};
// The commands that decode records: Avro's schemas.
const C kSchemas{"inventory", "analytics", "search-indexer", "dlq replay"};
// Where dead letters go: the services and the dlq commands.
const C kDeadLetters{"inventory", "analytics", "search-indexer", "dlq list", "dlq replay", "dlq purge", "dlq export"};
const C kAws{"dump",     "demo",       "inventory", "analytics",  "search-indexer",
             "dlq list", "dlq replay", "dlq purge", "dlq export", "search"};

// Data: one entry per setting (the function only holds the table).
const std::vector<Setting>& table() {  // NOLINT(readability-function-size)
  static const std::vector<Setting> settings = {
      // Workload generator (SPEC §11).
      {"seed",
       "",
       "42",
       "Seed of the deterministic workload (also for --source generate)",
       Kind::Int,
       {},
       {"generate", "demo", "inventory", "analytics", "search-indexer"}},
      {"products",
       "",
       "1000",
       "Products in the initial catalogue snapshot",
       Kind::PositiveInt,
       {},
       {"generate", "demo", "inventory", "analytics", "search-indexer"}},
      {"customers",
       "",
       "5000",
       "Distinct customers placing orders",
       Kind::PositiveInt,
       {},
       {"generate", "demo", "inventory", "analytics", "search-indexer"}},
      {"orders",
       "",
       "10000",
       "Orders to create (the stream ends after the last)",
       Kind::PositiveInt,
       {},
       {"generate", "demo", "inventory", "analytics", "search-indexer"}},
      {"events",
       "",
       "",
       "Stop after this many records instead of --orders",
       Kind::PositiveInt,
       {},
       {"generate", "inventory", "analytics", "search-indexer"}},
      {"shape",
       "",
       "unwrap",
       "Message shape: the production flattened form or the plain Debezium envelope",
       Kind::Choice,
       {"unwrap", "envelope"},
       kGenerate},
      {"schemas", "", "true", "Embed the JsonConverter schema in keys and values", Kind::Bool, {}, kGenerate},
      {"decimal",
       "",
       "precise",
       "decimal.handling.mode of the connector",
       Kind::Choice,
       {"precise", "string", "double"},
       kGenerate},
      {"timestamps",
       "",
       "micro",
       "How timestamps are sent: MicroTimestamp, connect Timestamp (ms), NanoTimestamp or ZonedTimestamp",
       Kind::Choice,
       {"micro", "milli", "nano", "zoned"},
       kGenerate},
      {"before",
       "",
       "full",
       "Envelope `before` image: REPLICA IDENTITY FULL or DEFAULT (key only)",
       Kind::Choice,
       {"full", "key"},
       kGenerate},
      {"deletes",
       "",
       "rewrite-with-tombstone",
       "How deletes are sent (delete.tombstone.handling.mode): the old row then a tombstone, the old row only, or only a "
       "tombstone (Debezium 3.x's default)",
       Kind::Choice,
       {"rewrite-with-tombstone", "rewrite", "tombstone"},
       kGenerate},
      {"partitions",
       "",
       "3",
       "Partitions per topic (records are placed by Kafka's murmur2 partitioner)",
       Kind::PositiveInt,
       {},
       kGenerate},
      {"topic-prefix",
       "TOPIC_PREFIX",
       "dbserver1",
       "Debezium topic.prefix: topics are <prefix>.public.<table>",
       Kind::String,
       {},
       {"generate", "demo", "inventory", "analytics", "search-indexer", "dlq replay"}},
      // Services (SPEC §5, §9).
      {"source",
       "",
       "",
       "Where records come from: kafka (the default when KAFKA_BOOTSTRAP_SERVERS is set), "
       "file:PATH (kcat -J lines, - for stdin) or generate (the built-in workload)",
       Kind::Uri,
       {},
       {"inventory", "analytics", "search-indexer"}},
      {"replay-partitions",
       "REPLAY_PARTITIONS",
       "",
       "With --source file: only these partitions, comma-separated (split a replay between processes)",
       Kind::String,
       {},
       {"inventory", "analytics", "search-indexer"}},
      {"top-n", "TOP_N", "100", "Products and customers in the analytics rankings", Kind::PositiveInt, {}, kAnalytics},
      {"flush-interval",
       "FLUSH_INTERVAL",
       "300",
       "Seconds between analytics report flushes (and one at shutdown)",
       Kind::PositiveInt,
       {},
       kAnalytics},
      {"checkpoint-interval-ms",
       "CHECKPOINT_INTERVAL_MS",
       "1000",
       "Milliseconds between analytics checkpoints; positions are committed with them (0: after every batch)",
       Kind::NonNegativeInt,
       {},
       kAnalytics},
      {"topics",
       "KAFKA_TOPICS",
       "",
       "Topics to consume, comma-separated (default: the service's tables under --topic-prefix)",
       Kind::String,
       {},
       kServices},
      {"bootstrap-servers",
       "KAFKA_BOOTSTRAP_SERVERS",
       "",
       "Kafka brokers (host:port,…); any other KAFKA_* variable passes to librdkafka (KAFKA_SECURITY_PROTOCOL -> "
       "security.protocol)",
       Kind::Brokers,
       {},
       {"inventory", "analytics", "search-indexer", "produce", "dlq list", "dlq replay", "dlq purge", "dlq export"}},
      {"group-id",
       "KAFKA_GROUP_ID",
       "",
       "Consumer group (default: <service>-group, e.g. inventory-service-group)",
       Kind::String,
       {},
       {"inventory", "analytics", "search-indexer"}},
      {"group-protocol",
       "GROUP_PROTOCOL",
       "classic",
       "The consumer group protocol: classic (JoinGroup/SyncGroup, the member assigns cooperative-sticky) or consumer "
       "(KIP-848, Kafka 4.x: the broker assigns and keeps the sessions; session.timeout.ms and "
       "partition.assignment.strategy are then the broker's). Every member of a group speaks the same one",
       Kind::Choice,
       {"classic", "consumer"},
       {"inventory", "analytics", "search-indexer"}},
      {"until-caught-up",
       "",
       "",
       "With --source kafka: stop once the group has read and committed every partition up to the end offset it had at start",
       Kind::Switch,
       {},
       {"inventory", "analytics", "search-indexer"}},
      {"start-from",
       "START_FROM",
       "",
       "Where a consumer group starts a partition it has no committed offset for: earliest, latest, or a time "
       "(2026-12-01T00:00:00Z: the first record written at or after it); committed offsets always win "
       "(default: KAFKA_AUTO_OFFSET_RESET, else earliest)",
       Kind::String,
       {},
       {"inventory", "analytics", "search-indexer"}},
      {"max-records-per-second",
       "MAX_RECORDS_PER_SECOND",
       "0",
       "Cap on the records applied per second (a backfill that must not throttle the tables: their writes follow the "
       "records); batches then hold at most one second's records. 0: no cap",
       Kind::NonNegativeInt,
       {},
       {"inventory", "analytics", "search-indexer", "dlq replay"}},
      {"keep-serving",
       "",
       "",
       "When the source ends (a replay file, --until-caught-up), keep answering GET /search until SIGTERM or SIGINT",
       Kind::Switch,
       {},
       {"search-indexer"}},
      {"broker-timeout",
       "KAFKA_BROKER_TIMEOUT",
       "60",
       "Seconds a run that must end (--until-caught-up, cdc produce) waits for the Kafka brokers to answer before it fails "
       "naming the last connection error (a service that runs until stopped keeps retrying, not ready meanwhile)",
       Kind::PositiveInt,
       {},
       {"inventory", "analytics", "search-indexer", "produce"}},
      {"stats-interval",
       "STATS_INTERVAL",
       "30",
       "Seconds between the \"stats\" log lines of JSON logs (records, rate, lag, dead letters); 0 turns them off",
       Kind::NonNegativeInt,
       {},
       {"inventory", "analytics", "search-indexer", "dlq replay"}},
      {"summary-json",
       "SUMMARY_JSON",
       "",
       "Write the run's summary to this file as one JSON object when the run ends (run_summary's fields: records, seconds, "
       "rate, dead_letters, stopped_by_signal, and stats: the runner's, the service's and each AWS store's counts by name)",
       Kind::String,
       {},
       {"inventory", "analytics", "search-indexer", "dlq replay"}},
      {"shutdown-grace",
       "SHUTDOWN_GRACE",
       "25",
       "Seconds a SIGTERM/SIGINT stop may take to finish and commit in-flight work before the process exits anyway",
       Kind::PositiveInt,
       {},
       {"inventory", "analytics", "search-indexer"}},
      {"alerts-topic",
       "ALERTS_TOPIC",
       "inventory.low-stock-alerts",
       "Kafka topic for low-stock alerts (JSON, keyed by product id) when KAFKA_BOOTSTRAP_SERVERS is set; empty disables",
       Kind::String,
       {},
       {"inventory", "dlq replay"}},
      {"alerts-exactly-once",
       "ALERTS_EXACTLY_ONCE",
       "true",
       "Reading Kafka: each alert goes to ALERTS_TOPIC in the Kafka transaction that commits its change's position "
       "(consumers with isolation.level=read_committed see every crossing once, through crashes); false: an "
       "idempotent producer, at least once",
       Kind::Bool,
       {},
       {"inventory"}},
      {"input", "", "-", "kcat -J lines to produce (a file, or - for standard input)", Kind::String, {}, {"produce"}},
      {"rate",
       "",
       "0",
       "Records per second at most, evenly paced (0: as fast as the broker takes them)",
       Kind::NonNegativeInt,
       {},
       {"produce"}},
      {"topic",
       "KAFKA_TOPIC",
       "",
       "The search indexer's topic (the Python service's variable; KAFKA_TOPICS wins)",
       Kind::String,
       {},
       {"search-indexer"}},
      {"table-name",
       "DYNAMODB_TABLE",
       "",
       "The service's table (inventory-realtime; product-search-index for the search indexer and cdc search)",
       Kind::TableName,
       {},
       {"inventory", "search-indexer", "dlq replay", "demo", "search"}},
      {"http-port",
       "HTTP_PORT",
       "8080",
       "The search indexer's port for GET /search; unless set, the search API shares METRICS_PORT (or, with "
       "METRICS_ENABLED=false, takes 8080, a free port when the source is not Kafka); 0 picks a free port",
       Kind::Port,
       {},
       {"search-indexer"}},
      {"http-host",
       "HTTP_HOST",
       "0.0.0.0",
       "Address the service's HTTP port(s) bind to",
       Kind::String,
       {},
       {"inventory", "analytics", "search-indexer"}},
      {"metrics",
       "METRICS_ENABLED",
       "true",
       "Serve /metrics (Prometheus), /healthz and /readyz on METRICS_PORT",
       Kind::Bool,
       {},
       {"inventory", "analytics", "search-indexer"}},
      {"metrics-port",
       "METRICS_PORT",
       "8080",
       "Port of /metrics, /healthz and /readyz (the Python services' metrics port); 0 picks a free port, as does leaving it "
       "unset when the source is a file or the generator (the http_listening line names the port)",
       Kind::Port,
       {},
       {"inventory", "analytics", "search-indexer"}},
      {"liveness-timeout",
       "LIVENESS_TIMEOUT",
       "120",
       "Seconds without a turn of the processing loop after which /healthz answers 503 (the loop turns at least every poll "
       "and every round of store requests; keep it above the 30 s request timeout)",
       Kind::PositiveInt,
       {},
       {"inventory", "analytics", "search-indexer"}},
      {"query", "", "", "Search words: all must match, the last one as a prefix", Kind::String, {}, {"search"}},
      {"min-price", "", "", "Lowest price, in dollars (12.50)", Kind::String, {}, {"search"}},
      {"max-price", "", "", "Highest price, in dollars", Kind::String, {}, {"search"}},
      {"limit", "", "20", "Results per page (1-100)", Kind::PositiveInt, {}, {"search"}},
      {"cursor", "", "", "The next_cursor of the previous page", Kind::String, {}, {"search"}},
      {"ledger-table",
       "LEDGER_TABLE",
       "",
       "Inventory's ledger table: order items' holdings and deleted products (default: <table>-ledger)",
       Kind::TableName,
       {},
       kInventory},
      {"ledger-retention",
       "LEDGER_RETENTION",
       "604800",
       "Seconds the ledger keeps a deleted order item or product (DynamoDB TTL) to recognise late and redelivered changes",
       Kind::PositiveInt,
       {},
       kTables},
      {"low-stock-threshold",
       "LOW_STOCK_THRESHOLD",
       "10",
       "Alert when available stock falls below this",
       Kind::NonNegativeInt,
       {},
       kInventory},
      {"schemaless-decimals",
       "SCHEMALESS_DECIMALS",
       "auto",
       "How to read numeric columns of messages without a schema: auto (a string with a '.' is decimal.handling.mode=string, "
       "any other string precise base64), precise or string",
       Kind::Choice,
       {"auto", "precise", "string"},
       kAllServices},
      {"decimal-scale",
       "DECIMAL_SCALE",
       "2",
       "Scale of precise (base64) decimals in messages without a schema",
       Kind::NonNegativeInt,
       {},
       kAllServices},
      {"schemaless-timestamps",
       "SCHEMALESS_TIMESTAMPS",
       "auto",
       "How to read integer timestamps without a schema: auto (by magnitude), micro, milli or nano",
       Kind::Choice,
       {"auto", "micro", "milli", "nano"},
       kAllServices},
      {"create-tables", "CREATE_TABLES", "true", "Create missing tables at start-up", Kind::Bool, {}, kAllServices},
      // Stores.
      {"store",
       "CDC_STORE",
       "sqlite:./data/cdc.db",
       "Table store: sqlite:PATH or dynamodb (a service reading Kafka defaults to dynamodb)",
       Kind::Uri,
       {},
       kAwsTables},
      {"objects",
       "CDC_OBJECTS",
       "dir:./data/lake",
       "Object store: dir:PATH (object key K lies at PATH/K) or s3 (reports in S3_BUCKET, dead letters in DLQ_S3_BUCKET); "
       "a service reading Kafka defaults to s3",
       Kind::Uri,
       {},
       kObjects},
      // AWS (SPEC §5): used by --store dynamodb and --objects s3; credentials come from the standard chain.
      {"aws-region", "AWS_REGION", "", "AWS region (AWS_DEFAULT_REGION when unset)", Kind::String, {}, kAws},
      {"aws-request-timeout",
       "AWS_REQUEST_TIMEOUT",
       "30",
       "Seconds one AWS request may take before it counts as failed and is retried (4 tries per call, then the circuit "
       "breaker)",
       Kind::PositiveInt,
       {},
       kAws},
      {"endpoint-url",
       "AWS_ENDPOINT_URL",
       "",
       "Endpoint for every AWS service (local emulators); path-style S3 addressing",
       Kind::String,
       {},
       kAws},
      {"endpoint-url-dynamodb",
       "AWS_ENDPOINT_URL_DYNAMODB",
       "",
       "DynamoDB endpoint (wins over AWS_ENDPOINT_URL)",
       Kind::String,
       {},
       kAwsTables},
      {"endpoint-url-s3", "AWS_ENDPOINT_URL_S3", "", "S3 endpoint (wins over AWS_ENDPOINT_URL)", Kind::String, {}, kAws},
      {"s3-bucket",
       "S3_BUCKET",
       "",
       "The data lake bucket with --objects s3 (cdc-platform-data-lake-<account-id>)",
       Kind::String,
       {},
       kObjects},
      {"s3-multipart-threshold",
       "S3_MULTIPART_THRESHOLD_MB",
       "16",
       "Objects of at least this many MiB go to S3 as a multipart upload (8 MiB parts, sent concurrently)",
       Kind::PositiveInt,
       {},
       kObjects},
      {"dlq-bucket",
       "DLQ_S3_BUCKET",
       "",
       "The dead-letter bucket with --objects s3 (cdc-platform-dlq-<account-id>; S3_BUCKET when unset)",
       Kind::String,
       {},
       kObjects},
      {"dlq",
       "DLQ",
       "auto",
       "Where dead letters go: objects (under dlq/ of the object store: DLQ_S3_BUCKET with --objects s3, else the "
       "directory) or kafka (the topic DLQ_TOPIC, as Kafka Connect writes them: the record's key, value and headers, "
       "the error in __connect.errors.* headers). auto: kafka for the search indexer when KAFKA_BOOTSTRAP_SERVERS is "
       "set and DLQ_S3_BUCKET is not (the seed grants it no bucket), objects otherwise",
       Kind::Choice,
       {"auto", "objects", "kafka"},
       kDeadLetters},
      {"dlq-topic",
       "DLQ_TOPIC",
       "",
       "The dead-letter topic with DLQ=kafka (default: <service>-dlq, e.g. search-indexer-dlq); a service creates it "
       "when missing (one partition, the brokers' replication factor)",
       Kind::String,
       {},
       kDeadLetters},
      // Avro with a schema registry.
      {"schema-registry-url",
       "SCHEMA_REGISTRY_URL",
       "",
       "The schema registry's Confluent-compatible API, for records in Avro (Confluent's wire format: a zero byte "
       "and a 4-byte schema id): http://registry:8080/apis/ccompat/v7 for Apicurio Registry, http://registry:8081 for "
       "Confluent's; or file:PATH, a JSON object of schemas by id (a capture's, for offline replays). Unset: Avro "
       "records are dead letters (unknown_schema)",
       Kind::Url,
       {},
       kSchemas},
      {"schema-registry-user-info",
       "SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO",
       "",
       "user:password for the registry's basic auth (as Confluent's basic.auth.user.info); sent, never logged or shown",
       Kind::Secret,
       {},
       kSchemas},
      {"schema-cache-size",
       "SCHEMA_CACHE_SIZE",
       "1000",
       "Writer schemas kept in memory (each fetched once by id; the least recently used dropped past this many)",
       Kind::PositiveInt,
       {},
       kSchemas},
      // OpenTelemetry tracing (the standard OTEL_* variables).
      {"otlp-endpoint",
       "OTEL_EXPORTER_OTLP_ENDPOINT",
       "",
       "Export spans over OTLP/HTTP to this base URL (http://collector:4318: spans go to <URL>/v1/traces). Unset "
       "(and no OTEL_EXPORTER_OTLP_TRACES_ENDPOINT): no spans",
       Kind::Url,
       {},
       kServices},
      {"otlp-traces-endpoint",
       "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
       "",
       "The full URL spans are posted to (wins over OTEL_EXPORTER_OTLP_ENDPOINT)",
       Kind::Url,
       {},
       kServices},
      {"otlp-protocol",
       "OTEL_EXPORTER_OTLP_PROTOCOL",
       "http/protobuf",
       "OTLP's encoding over HTTP: binary protobuf or JSON (gRPC is not offered: point the endpoint at the receiver's "
       "HTTP port, 4318)",
       Kind::Choice,
       {"http/protobuf", "http/json"},
       kServices},
      {"otlp-headers",
       "OTEL_EXPORTER_OTLP_HEADERS",
       "",
       "Headers sent with each export, key=value,key=value with percent-encoded values (an API key); sent, never "
       "logged or shown",
       Kind::Secret,
       {},
       kServices},
      {"otlp-timeout",
       "OTEL_EXPORTER_OTLP_TIMEOUT",
       "10000",
       "Milliseconds one export may take, retries of 429/502/503/504 included, before its spans are dropped (counted)",
       Kind::PositiveInt,
       {},
       kServices},
      {"otlp-compression",
       "OTEL_EXPORTER_OTLP_COMPRESSION",
       "none",
       "Compression of exports (gzip|none)",
       Kind::Choice,
       {"none", "gzip"},
       kServices},
      {"otel-service-name",
       "OTEL_SERVICE_NAME",
       "",
       "service.name of the spans (default: the service's name, e.g. inventory-service)",
       Kind::String,
       {},
       kServices},
      {"otel-resource-attributes",
       "OTEL_RESOURCE_ATTRIBUTES",
       "",
       "More resource attributes of the spans, key=value,key=value with percent-encoded values "
       "(k8s.pod.name=…,deployment.environment.name=prod)",
       Kind::String,
       {},
       kServices},
      {"traces-sampler",
       "OTEL_TRACES_SAMPLER",
       "parentbased_always_on",
       "Which spans are recorded: a record's span follows its traceparent's sampled flag with parentbased_*; a root "
       "(a batch, a record without a parent) is decided by the rest of the name",
       Kind::Choice,
       {"always_on", "always_off", "traceidratio", "parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio"},
       kServices},
      {"traces-sampler-arg",
       "OTEL_TRACES_SAMPLER_ARG",
       "",
       "The share of trace ids the traceidratio samplers keep, from 0 to 1 (default 1)",
       Kind::String,
       {},
       kServices},
      {"traces-exporter",
       "OTEL_TRACES_EXPORTER",
       "otlp",
       "Where spans go once an endpoint is set: otlp, or none to record no spans (otlp|none)",
       Kind::Choice,
       {"otlp", "none"},
       kServices},
      {"otel-sdk-disabled",
       "OTEL_SDK_DISABLED",
       "false",
       "true: no tracing at all, whatever else is set",
       Kind::Bool,
       {},
       kServices},
      {"bsp-max-queue-size",
       "OTEL_BSP_MAX_QUEUE_SIZE",
       "2048",
       "Spans waiting for export; past it new spans are dropped and counted (the pipeline never waits for the "
       "collector)",
       Kind::PositiveInt,
       {},
       kServices},
      {"bsp-schedule-delay",
       "OTEL_BSP_SCHEDULE_DELAY",
       "5000",
       "Milliseconds between exports (a full batch goes at once)",
       Kind::PositiveInt,
       {},
       kServices},
      {"bsp-max-export-batch-size",
       "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
       "512",
       "Spans per export",
       Kind::PositiveInt,
       {},
       kServices},
      {"bsp-export-timeout",
       "OTEL_BSP_EXPORT_TIMEOUT",
       "30000",
       "Milliseconds the last exports may take when the service stops",
       Kind::PositiveInt,
       {},
       kServices},
      {"table", "", "", "Table to dump", Kind::String, {}, kStores},
      {"key",
       "",
       "",
       "Only the items of this partition key (inventory-realtime's product_id: 5, or product_id=5): one "
       "GetItem, or a Query when the table has a sort key",
       Kind::String,
       {},
       kStores},
      {"limit", "", "", "At most this many items (a Scan stops there)", Kind::PositiveInt, {}, kStores},
      {"checkpoints",
       "",
       "",
       "Instead of a table: the analytics checkpoints in --objects, one line per partition "
       "(position, rows, dead-lettered rows, the position the latest reports cover)",
       Kind::Switch,
       {},
       kStores},
      {"service",
       "",
       "",
       "Only the dead letters of this service (inventory-service, analytics-service, search-indexer)",
       Kind::String,
       {},
       kDlq},
      {"topic", "", "", "Only the dead letters of this topic (or of its table: products)", Kind::String, {}, kDlq},
      {"error", "", "", "Only the dead letters whose error (the latest or the first) contains this text", Kind::String, {}, kDlq},
      {"since",
       "",
       "",
       "Only the dead letters written at or after this time (2026-12-01 or 2026-12-01T12:00:00Z, UTC)",
       Kind::Time,
       {},
       kDlq},
      {"before",
       "",
       "",
       "Only the dead letters written before this time (a date or an ISO-8601 time, UTC)",
       Kind::Time,
       {},
       kDlq},
      {"dry-run",
       "",
       "",
       "Show what would be done and change nothing (replay: whether each letter decodes now)",
       Kind::Switch,
       {},
       {"dlq replay", "dlq purge"}},
      {"all",
       "",
       "",
       "Purge every dead letter (without it, purge needs --service, --topic, --error, --since or --before)",
       Kind::Switch,
       {},
       {"dlq purge"}},
      // Runtime.
      {"batch-size", "BATCH_SIZE", "2000", "Records per processing batch", Kind::PositiveInt, {}, kAllServices},
      {"data-dir", "CDC_DATA_DIR", "./data", "Where the demo writes its workload, tables and objects", Kind::String, {}, kDemo},
      // Logging (every command).
      {"log-level",
       "LOG_LEVEL",
       "info",
       "Log level (the names the logs print, and warn for warning)",
       Kind::Choice,
       {"trace", "debug", "info", "warning", "warn", "error", "critical", "off"},
       {"*"}},
      {"log-format",
       "LOG_FORMAT",
       "auto",
       "Log format: JSON lines, text, or text on a terminal and JSON otherwise",
       Kind::Choice,
       {"auto", "json", "text"},
       {"*"}},
  };
  return settings;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  return out;
}

}  // namespace

bool appliesTo(const Setting& s, std::string_view command) {
  return std::any_of(s.commands.begin(), s.commands.end(), [&](std::string_view c) { return c == "*" || c == command; });
}

std::span<const Setting> allSettings() { return table(); }

const Setting& setting(std::string_view name) {
  for (const auto& s : table()) {
    if (s.name == name) return s;
  }
  throw std::logic_error("undeclared setting " + std::string(name));
}

namespace {

using Why = std::optional<std::string>;  // why a value is refused, or nothing

Why checkUrl(std::string_view v) {
  auto scheme = v.find("://");
  bool web = scheme != std::string_view::npos && (v.substr(0, scheme) == "http" || v.substr(0, scheme) == "https") &&
             v.size() > scheme + 3 && v[scheme + 3] != '/' && v.find('@') == std::string_view::npos;
  if (v.empty() || web || (v.starts_with("file:") && v.size() > 5)) return std::nullopt;
  return "expected http://HOST[:PORT][/PATH], https://… (credentials in their own setting) or file:PATH, got '" +
         std::string(v.substr(0, 80)) + "'";
}

Why checkInteger(Kind kind, std::string_view v) {
  int64_t n = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  const bool parsed = ec == std::errc() && ptr == v.data() + v.size();
  switch (kind) {
    case Kind::PositiveInt:
      if (!parsed || n <= 0) return "expected a positive integer, got '" + std::string(v) + "'";
      break;
    case Kind::NonNegativeInt:
      if (!parsed || n < 0) return "expected an integer of 0 or more, got '" + std::string(v) + "'";
      break;
    case Kind::Port:
      if (!parsed || n < 0 || n > 65535) return "expected a port number (0 to 65535), got '" + std::string(v) + "'";
      break;
    default:
      if (!parsed) return "expected an integer, got '" + std::string(v) + "'";
  }
  return std::nullopt;
}

// host:port[,host:port…]: librdkafka takes an empty or comma-only list and then waits for
// brokers forever.
Why checkBrokers(std::string_view v) {
  std::string_view rest = v;
  bool any = false;
  while (true) {
    auto comma = rest.find(',');
    std::string_view one = rest.substr(0, comma);
    while (!one.empty() && one.front() == ' ') one.remove_prefix(1);
    while (!one.empty() && one.back() == ' ') one.remove_suffix(1);
    auto colon = one.rfind(':');
    if (!one.empty()) {
      std::string_view port = colon == std::string_view::npos ? std::string_view{} : one.substr(colon + 1);
      int n = 0;
      auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
      if (colon == 0 || port.empty() || ec != std::errc() || ptr != port.data() + port.size() || n <= 0 || n > 65535) {
        return "expected host:port[,host:port…], got '" + std::string(v) + "' ('" + std::string(one) + "' has no valid port)";
      }
      any = true;
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  if (!any) return "expected host:port[,host:port…], got '" + std::string(v) + "'";
  return std::nullopt;
}

// DynamoDB's rule (3 to 255 of [A-Za-z0-9_.-]), less the longest companion suffix.
Why checkTableName(std::string_view v) {
  constexpr size_t kMax = 255 - std::string_view("-postings").size();
  bool ok = v.size() >= 3 && v.size() <= kMax && std::all_of(v.begin(), v.end(), [](char ch) {
              return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' ||
                     ch == '.';
            });
  if (ok) return std::nullopt;
  return "expected a DynamoDB table name (3 to " + std::to_string(kMax) + " characters of A-Z, a-z, 0-9, '_', '-', '.'), got '" +
         std::string(v) + "'";
}

Why checkChoice(const Setting& s, std::string_view v) {
  if (std::find(s.choices.begin(), s.choices.end(), v) != s.choices.end()) return std::nullopt;
  std::string list;
  for (auto c : s.choices) list += (list.empty() ? "" : ", ") + std::string(c);
  return "expected one of " + list + ", got '" + std::string(v) + "'";
}

// SCHEME:PATH, or a remote store or source named alone; each URI setting's own forms named.
Why checkUri(const Setting& s, std::string_view v) {
  if (v.find(':') != std::string_view::npos || v == "dynamodb" || v == "s3" || v == "kafka" || v == "generate")
    return std::nullopt;
  if (s.name == "source") return "expected kafka, file:PATH (- for standard input) or generate, got '" + std::string(v) + "'";
  if (s.name == "objects") return "expected dir:PATH or s3, got '" + std::string(v) + "'";
  if (s.name == "store") return "expected sqlite:PATH or dynamodb, got '" + std::string(v) + "'";
  return "expected SCHEME:PATH (for example sqlite:./data/cdc.db), got '" + std::string(v) + "'";
}

}  // namespace

std::optional<std::string> validate(const Setting& s, std::string_view v) {
  switch (s.kind) {
    case Kind::String:
      return std::nullopt;
    case Kind::Secret:
      if (!v.empty() && v.find(':') == std::string_view::npos) return "expected user:password";
      return std::nullopt;
    case Kind::Url:
      return checkUrl(v);
    case Kind::Int:
    case Kind::PositiveInt:
    case Kind::NonNegativeInt:
    case Kind::Port:
      return checkInteger(s.kind, v);
    case Kind::Brokers:
      return checkBrokers(v);
    case Kind::TableName:
      return checkTableName(v);
    case Kind::Time:
      if (parseIsoTimestamp(v)) return std::nullopt;
      return "expected a date or an ISO-8601 time (2026-12-01, 2026-12-01T12:00:00Z), got '" + std::string(v) + "'";
    case Kind::Bool:
    case Kind::Switch:
      if (v == "true" || v == "false" || v == "1" || v == "0" || v == "yes" || v == "no") return std::nullopt;
      return "expected true or false, got '" + std::string(v) + "'";
    case Kind::Choice:
      return checkChoice(s, v);
    case Kind::Uri:
      return checkUri(s, v);
  }
  return std::nullopt;
}

Config Config::resolve(std::string_view command, const std::map<std::string, std::string, std::less<>>& flags,
                       const std::function<const char*(const char*)>& getenvFn) {
  auto getenv = getenvFn ? getenvFn : [](const char* n) -> const char* { return std::getenv(n); };
  Config c;
  for (const auto& s : table()) {
    if (!appliesTo(s, command)) continue;
    std::string value;
    std::string origin;
    if (auto it = flags.find(s.name); it != flags.end()) {
      value = it->second;
      origin = "--" + std::string(s.name);
    } else if (const char* e = s.env.empty() ? nullptr : getenv(std::string(s.env).c_str()); e != nullptr) {
      value = e;
      origin = std::string(s.env);
    } else if (!s.defaultValue.empty()) {
      value = std::string(s.defaultValue);
      origin = "default";
    } else {
      continue;
    }
    if (auto err = validate(s, value)) {
      throw ConfigError(origin == "default" ? "default of --" + std::string(s.name) + ": " + *err : origin + ": " + *err);
    }
    c.values_.emplace(std::string(s.name), std::move(value));
    c.origins_.emplace(std::string(s.name), std::move(origin));
  }
  // KAFKA_* variables that are not settings of their own go to librdkafka.
  if (!getenvFn) {
    for (char** e = environ; e && *e; ++e) {
      std::string_view kv(*e);
      if (!kv.starts_with("KAFKA_")) continue;
      auto eq = kv.find('=');
      if (eq == std::string_view::npos) continue;
      std::string_view name = kv.substr(0, eq);
      bool declared = std::any_of(table().begin(), table().end(), [&](const Setting& s) { return s.env == name; });
      static constexpr std::string_view kReserved[] = {"KAFKA_BOOTSTRAP_SERVERS", "KAFKA_GROUP_ID", "KAFKA_TOPICS",
                                                       "KAFKA_TOPIC"};
      if (declared || std::find(std::begin(kReserved), std::end(kReserved), name) != std::end(kReserved)) continue;
      std::string prop = lower(name.substr(6));
      std::replace(prop.begin(), prop.end(), '_', '.');
      c.kafka_.emplace(std::move(prop), std::string(kv.substr(eq + 1)));
    }
  }
  return c;
}

const std::string& Config::str(std::string_view name) const {
  auto it = values_.find(name);
  if (it == values_.end()) throw ConfigError("--" + std::string(name) + " is required");
  return it->second;
}

int64_t Config::integer(std::string_view name) const {
  const std::string& v = str(name);
  int64_t n = 0;
  std::from_chars(v.data(), v.data() + v.size(), n);
  return n;
}

bool Config::boolean(std::string_view name) const {
  const std::string& v = str(name);
  return v == "true" || v == "1" || v == "yes";
}

const std::string& Config::origin(std::string_view name) const {
  static const std::string kNone = "unset";
  auto it = origins_.find(name);
  return it == origins_.end() ? kNone : it->second;
}

namespace {

// One row: flag, variable, default, [commands,] description (with a Choice's values).
std::string markdownRow(const Setting& s, bool withCommands) {
  std::string desc(s.description);
  if (s.kind == Kind::Choice) {
    desc += " (";
    for (size_t i = 0; i < s.choices.size(); ++i) desc += (i ? "|" : "") + std::string(s.choices[i]);
    desc += ")";
  }
  std::string commands;
  for (auto c : s.commands) commands += (commands.empty() ? "" : ", ") + std::string(c == "*" ? "all" : c);
  return "| `--" + std::string(s.name) + "` | " + (s.env.empty() ? "" : "`" + std::string(s.env) + "`") + " | " +
         (s.defaultValue.empty() ? "" : "`" + std::string(s.defaultValue) + "`") + " | " +
         (withCommands ? commands + " | " : "") + desc + " |\n";
}

}  // namespace

std::string markdownTable() {
  std::string out = "| flag | environment | default | commands | description |\n| --- | --- | --- | --- | --- |\n";
  for (const auto& s : table()) out += markdownRow(s, true);
  return out;
}

std::string markdownTable(std::string_view command) {
  std::string rows;
  bool known = false;  // a setting names the command itself (not only "all")
  for (const auto& s : table()) {
    if (!appliesTo(s, command)) continue;
    rows += markdownRow(s, false);
    known = known || std::find(s.commands.begin(), s.commands.end(), command) != s.commands.end();
  }
  if (!known) return {};
  return "| flag | environment | default | description |\n| --- | --- | --- | --- |\n" + rows;
}

}  // namespace cdc::config
