#include "config/components.h"

#include <string_view>
#include <vector>

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

}  // namespace

const Fields<WorkloadSettings>& WorkloadSettings::fields() {  // NOLINT(readability-function-size): data
  using S = WorkloadSettings;
  static const Fields<S> fields = {
      {&S::seed,
       {"seed",
        "",
        "42",
        "Seed of the deterministic workload (also for --source generate)",
        Kind::Int,
        {},
        {"generate", "demo", "inventory", "analytics", "search-indexer"}}},
      {&S::products,
       {"products",
        "",
        "1000",
        "Products in the initial catalogue snapshot",
        Kind::PositiveInt,
        {},
        {"generate", "demo", "inventory", "analytics", "search-indexer"}}},
      {&S::customers,
       {"customers",
        "",
        "5000",
        "Distinct customers placing orders",
        Kind::PositiveInt,
        {},
        {"generate", "demo", "inventory", "analytics", "search-indexer"}}},
      {&S::orders,
       {"orders",
        "",
        "10000",
        "Orders to create (the stream ends after the last)",
        Kind::PositiveInt,
        {},
        {"generate", "demo", "inventory", "analytics", "search-indexer"}}},
      {&S::events,
       {"events",
        "",
        "",
        "Stop after this many records instead of --orders",
        Kind::PositiveInt,
        {},
        {"generate", "inventory", "analytics", "search-indexer"}}},
      {&S::shape,
       {"shape",
        "",
        "unwrap",
        "Message shape: the production flattened form or the plain Debezium envelope",
        Kind::Choice,
        {"unwrap", "envelope"},
        kGenerate}},
      {&S::schemas, {"schemas", "", "true", "Embed the JsonConverter schema in keys and values", Kind::Bool, {}, kGenerate}},
      {&S::decimal,
       {"decimal",
        "",
        "precise",
        "decimal.handling.mode of the connector",
        Kind::Choice,
        {"precise", "string", "double"},
        kGenerate}},
      {&S::timestamps,
       {"timestamps",
        "",
        "micro",
        "How timestamps are sent: MicroTimestamp, connect Timestamp (ms), NanoTimestamp or ZonedTimestamp",
        Kind::Choice,
        {"micro", "milli", "nano", "zoned"},
        kGenerate}},
      {&S::before,
       {"before",
        "",
        "full",
        "Envelope `before` image: REPLICA IDENTITY FULL or DEFAULT (key only)",
        Kind::Choice,
        {"full", "key"},
        kGenerate}},
      {&S::deletes,
       {"deletes",
        "",
        "rewrite-with-tombstone",
        "How deletes are sent (delete.tombstone.handling.mode): the old row then a tombstone, the old row only, or only a "
        "tombstone (Debezium 3.x's default)",
        Kind::Choice,
        {"rewrite-with-tombstone", "rewrite", "tombstone"},
        kGenerate}},
      {&S::partitions,
       {"partitions",
        "",
        "3",
        "Partitions per topic (records are placed by Kafka's murmur2 partitioner)",
        Kind::PositiveInt,
        {},
        kGenerate}},
  };
  return fields;
}

const Fields<SourceSettings>& SourceSettings::fields() {  // NOLINT(readability-function-size): data
  using S = SourceSettings;
  static const Fields<S> fields = {
      {&S::topicPrefix,
       {"topic-prefix",
        "TOPIC_PREFIX",
        "dbserver1",
        "Debezium topic.prefix: topics are <prefix>.public.<table>",
        Kind::String,
        {},
        {"generate", "demo", "inventory", "analytics", "search-indexer", "dlq replay"}}},
      {&S::source,
       {"source",
        "",
        "",
        "Where records come from: kafka (the default when KAFKA_BOOTSTRAP_SERVERS is set), "
        "file:PATH (kcat -J lines, - for stdin) or generate (the built-in workload)",
        Kind::Uri,
        {},
        {"inventory", "analytics", "search-indexer"}}},
      {&S::replayPartitions,
       {"replay-partitions",
        "REPLAY_PARTITIONS",
        "",
        "With --source file: only these partitions, comma-separated (split a replay between processes)",
        Kind::String,
        {},
        {"inventory", "analytics", "search-indexer"}}},
      {&S::topics,
       {"topics",
        "KAFKA_TOPICS",
        "",
        "Topics to consume, comma-separated (default: the service's tables under --topic-prefix)",
        Kind::String,
        {},
        kServices}},
      {&S::topic,
       {"topic",
        "KAFKA_TOPIC",
        "",
        "The search indexer's topic (the Python service's variable; KAFKA_TOPICS wins)",
        Kind::String,
        {},
        {"search-indexer"}}},
      {&S::untilCaughtUp,
       {"until-caught-up",
        "",
        "",
        "With --source kafka: stop once the group has read and committed every partition up to the end offset it had at start",
        Kind::Switch,
        {},
        {"inventory", "analytics", "search-indexer"}}},
      {&S::startFrom,
       {"start-from",
        "START_FROM",
        "",
        "Where a consumer group starts a partition it has no committed offset for: earliest, latest, or a time "
        "(2026-12-01T00:00:00Z: the first record written at or after it); committed offsets always win "
        "(default: KAFKA_AUTO_OFFSET_RESET, else earliest)",
        Kind::String,
        {},
        {"inventory", "analytics", "search-indexer"}}},
  };
  return fields;
}

const Fields<KafkaSettings>& KafkaSettings::fields() {  // NOLINT(readability-function-size): data
  using S = KafkaSettings;
  static const Fields<S> fields = {
      {&S::bootstrapServers,
       {"bootstrap-servers",
        "KAFKA_BOOTSTRAP_SERVERS",
        "",
        "Kafka brokers (host:port,…); any other KAFKA_* variable passes to librdkafka (KAFKA_SECURITY_PROTOCOL -> "
        "security.protocol)",
        Kind::Brokers,
        {},
        {"inventory", "analytics", "search-indexer", "produce", "dlq list", "dlq replay", "dlq purge", "dlq export"}}},
      {&S::groupId,
       {"group-id",
        "KAFKA_GROUP_ID",
        "",
        "Consumer group (default: <service>-group, e.g. inventory-service-group)",
        Kind::String,
        {},
        {"inventory", "analytics", "search-indexer"}}},
      {&S::groupProtocol,
       {"group-protocol",
        "GROUP_PROTOCOL",
        "classic",
        "The consumer group protocol: classic (JoinGroup/SyncGroup, the member assigns cooperative-sticky) or consumer "
        "(KIP-848, Kafka 4.x: the broker assigns and keeps the sessions; session.timeout.ms and "
        "partition.assignment.strategy are then the broker's). Every member of a group speaks the same one",
        Kind::Choice,
        {"classic", "consumer"},
        {"inventory", "analytics", "search-indexer"}}},
      {&S::brokerTimeout,
       {"broker-timeout",
        "KAFKA_BROKER_TIMEOUT",
        "60",
        "Seconds a run that must end (--until-caught-up, cdc produce) waits for the Kafka brokers to answer before it fails "
        "naming the last connection error (a service that runs until stopped keeps retrying, not ready meanwhile)",
        Kind::PositiveInt,
        {},
        {"inventory", "analytics", "search-indexer", "produce"}}},
  };
  return fields;
}

const Fields<RunnerSettings>& RunnerSettings::fields() {  // NOLINT(readability-function-size): data
  using S = RunnerSettings;
  static const Fields<S> fields = {
      {&S::batchSize, {"batch-size", "BATCH_SIZE", "2000", "Records per processing batch", Kind::PositiveInt, {}, kAllServices}},
      {&S::maxRecordsPerSecond,
       {"max-records-per-second",
        "MAX_RECORDS_PER_SECOND",
        "0",
        "Cap on the records applied per second (a backfill that must not throttle the tables: their writes follow the "
        "records); batches then hold at most one second's records. 0: no cap",
        Kind::NonNegativeInt,
        {},
        {"inventory", "analytics", "search-indexer", "dlq replay"}}},
      {&S::statsInterval,
       {"stats-interval",
        "STATS_INTERVAL",
        "30",
        "Seconds between the \"stats\" log lines of JSON logs (records, rate, lag, dead letters); 0 turns them off",
        Kind::NonNegativeInt,
        {},
        {"inventory", "analytics", "search-indexer", "dlq replay"}}},
      {&S::summaryJson,
       {"summary-json",
        "SUMMARY_JSON",
        "",
        "Write the run's summary to this file as one JSON object when the run ends (run_summary's fields: records, seconds, "
        "rate, dead_letters, stopped_by_signal, and stats: the runner's, the service's and each AWS store's counts by name)",
        Kind::String,
        {},
        {"inventory", "analytics", "search-indexer", "dlq replay"}}},
      {&S::shutdownGrace,
       {"shutdown-grace",
        "SHUTDOWN_GRACE",
        "25",
        "Seconds a SIGTERM/SIGINT stop may take to finish and commit in-flight work before the process exits anyway",
        Kind::PositiveInt,
        {},
        {"inventory", "analytics", "search-indexer"}}},
  };
  return fields;
}

const Fields<InventorySettings>& InventorySettings::fields() {  // NOLINT(readability-function-size): data
  using S = InventorySettings;
  static const Fields<S> fields = {
      {&S::alertsTopic,
       {"alerts-topic",
        "ALERTS_TOPIC",
        "inventory.low-stock-alerts",
        "Kafka topic for low-stock alerts (JSON, keyed by product id) when KAFKA_BOOTSTRAP_SERVERS is set; empty disables",
        Kind::String,
        {},
        {"inventory", "dlq replay"}}},
      {&S::alertsExactlyOnce,
       {"alerts-exactly-once",
        "ALERTS_EXACTLY_ONCE",
        "true",
        "Reading Kafka: each alert goes to ALERTS_TOPIC in the Kafka transaction that commits its change's position "
        "(consumers with isolation.level=read_committed see every crossing once, through crashes); false: an "
        "idempotent producer, at least once",
        Kind::Bool,
        {},
        {"inventory"}}},
      {&S::ledgerTable,
       {"ledger-table",
        "LEDGER_TABLE",
        "",
        "Inventory's ledger table: order items' holdings and deleted products (default: <table>-ledger)",
        Kind::TableName,
        {},
        kInventory}},
      {&S::lowStockThreshold,
       {"low-stock-threshold",
        "LOW_STOCK_THRESHOLD",
        "10",
        "Alert when available stock falls below this",
        Kind::NonNegativeInt,
        {},
        kInventory}},
  };
  return fields;
}

const Fields<AnalyticsSettings>& AnalyticsSettings::fields() {  // NOLINT(readability-function-size): data
  using S = AnalyticsSettings;
  static const Fields<S> fields = {
      {&S::topN,
       {"top-n", "TOP_N", "100", "Products and customers in the analytics rankings", Kind::PositiveInt, {}, kAnalytics}},
      {&S::flushInterval,
       {"flush-interval",
        "FLUSH_INTERVAL",
        "300",
        "Seconds between analytics report flushes (and one at shutdown)",
        Kind::PositiveInt,
        {},
        kAnalytics}},
      {&S::checkpointIntervalMs,
       {"checkpoint-interval-ms",
        "CHECKPOINT_INTERVAL_MS",
        "1000",
        "Milliseconds between analytics checkpoints; positions are committed with them (0: after every batch)",
        Kind::NonNegativeInt,
        {},
        kAnalytics}},
  };
  return fields;
}

const Fields<SearchIndexerSettings>& SearchIndexerSettings::fields() {  // NOLINT(readability-function-size): data
  using S = SearchIndexerSettings;
  static const Fields<S> fields = {
      {&S::keepServing,
       {"keep-serving",
        "",
        "",
        "When the source ends (a replay file, --until-caught-up), keep answering GET /search until SIGTERM or SIGINT",
        Kind::Switch,
        {},
        {"search-indexer"}}},
  };
  return fields;
}

const Fields<TableSettings>& TableSettings::fields() {  // NOLINT(readability-function-size): data
  using S = TableSettings;
  static const Fields<S> fields = {
      {&S::tableName,
       {"table-name",
        "DYNAMODB_TABLE",
        "",
        "The service's table (inventory-realtime; product-search-index for the search indexer and cdc search)",
        Kind::TableName,
        {},
        {"inventory", "search-indexer", "dlq replay", "demo", "search"}}},
      {&S::ledgerRetention,
       {"ledger-retention",
        "LEDGER_RETENTION",
        "604800",
        "Seconds the ledger keeps a deleted order item or product (DynamoDB TTL) to recognise late and redelivered changes",
        Kind::PositiveInt,
        {},
        kTables}},
  };
  return fields;
}

const Fields<StoreSettings>& StoreSettings::fields() {  // NOLINT(readability-function-size): data
  using S = StoreSettings;
  static const Fields<S> fields = {
      {&S::store,
       {"store",
        "CDC_STORE",
        "sqlite:./data/cdc.db",
        "Table store: sqlite:PATH or dynamodb (a service reading Kafka defaults to dynamodb)",
        Kind::Uri,
        {},
        kAwsTables}},
      {&S::objects,
       {"objects",
        "CDC_OBJECTS",
        "dir:./data/lake",
        "Object store: dir:PATH (object key K lies at PATH/K) or s3 (reports in S3_BUCKET, dead letters in DLQ_S3_BUCKET); "
        "a service reading Kafka defaults to s3",
        Kind::Uri,
        {},
        kObjects}},
      {&S::createTables,
       {"create-tables", "CREATE_TABLES", "true", "Create missing tables at start-up", Kind::Bool, {}, kAllServices}},
      {&S::s3Bucket,
       {"s3-bucket",
        "S3_BUCKET",
        "",
        "The data lake bucket with --objects s3 (cdc-platform-data-lake-<account-id>)",
        Kind::String,
        {},
        kObjects}},
      {&S::s3MultipartThreshold,
       {"s3-multipart-threshold",
        "S3_MULTIPART_THRESHOLD_MB",
        "16",
        "Objects of at least this many MiB go to S3 as a multipart upload (8 MiB parts, sent concurrently)",
        Kind::PositiveInt,
        {},
        kObjects}},
      {&S::dlqBucket,
       {"dlq-bucket",
        "DLQ_S3_BUCKET",
        "",
        "The dead-letter bucket with --objects s3 (cdc-platform-dlq-<account-id>; S3_BUCKET when unset)",
        Kind::String,
        {},
        kObjects}},
  };
  return fields;
}

const Fields<AwsSettings>& AwsSettings::fields() {  // NOLINT(readability-function-size): data
  using S = AwsSettings;
  static const Fields<S> fields = {
      {&S::awsRegion, {"aws-region", "AWS_REGION", "", "AWS region (AWS_DEFAULT_REGION when unset)", Kind::String, {}, kAws}},
      {&S::awsRequestTimeout,
       {"aws-request-timeout",
        "AWS_REQUEST_TIMEOUT",
        "30",
        "Seconds one AWS request may take before it counts as failed and is retried (4 tries per call, then the circuit "
        "breaker)",
        Kind::PositiveInt,
        {},
        kAws}},
      {&S::endpointUrl,
       {"endpoint-url",
        "AWS_ENDPOINT_URL",
        "",
        "Endpoint for every AWS service (local emulators); path-style S3 addressing",
        Kind::String,
        {},
        kAws}},
      {&S::endpointUrlDynamodb,
       {"endpoint-url-dynamodb",
        "AWS_ENDPOINT_URL_DYNAMODB",
        "",
        "DynamoDB endpoint (wins over AWS_ENDPOINT_URL)",
        Kind::String,
        {},
        kAwsTables}},
      {&S::endpointUrlS3,
       {"endpoint-url-s3", "AWS_ENDPOINT_URL_S3", "", "S3 endpoint (wins over AWS_ENDPOINT_URL)", Kind::String, {}, kAws}},
  };
  return fields;
}

const Fields<DeadLetterSettings>& DeadLetterSettings::fields() {  // NOLINT(readability-function-size): data
  using S = DeadLetterSettings;
  static const Fields<S> fields = {
      {&S::dlq,
       {"dlq",
        "DLQ",
        "auto",
        "Where dead letters go: objects (under dlq/ of the object store: DLQ_S3_BUCKET with --objects s3, else the "
        "directory) or kafka (the topic DLQ_TOPIC, as Kafka Connect writes them: the record's key, value and headers, "
        "the error in __connect.errors.* headers). auto: kafka for the search indexer when KAFKA_BOOTSTRAP_SERVERS is "
        "set and DLQ_S3_BUCKET is not (the seed grants it no bucket), objects otherwise",
        Kind::Choice,
        {"auto", "objects", "kafka"},
        kDeadLetters}},
      {&S::dlqTopic,
       {"dlq-topic",
        "DLQ_TOPIC",
        "",
        "The dead-letter topic with DLQ=kafka (default: <service>-dlq, e.g. search-indexer-dlq); a service creates it "
        "when missing (one partition, the brokers' replication factor)",
        Kind::String,
        {},
        kDeadLetters}},
  };
  return fields;
}

const Fields<DecodingSettings>& DecodingSettings::fields() {  // NOLINT(readability-function-size): data
  using S = DecodingSettings;
  static const Fields<S> fields = {
      {&S::schemalessDecimals,
       {"schemaless-decimals",
        "SCHEMALESS_DECIMALS",
        "auto",
        "How to read numeric columns of messages without a schema: auto (a string with a '.' is decimal.handling.mode=string, "
        "any other string precise base64), precise or string",
        Kind::Choice,
        {"auto", "precise", "string"},
        kAllServices}},
      {&S::decimalScale,
       {"decimal-scale",
        "DECIMAL_SCALE",
        "2",
        "Scale of precise (base64) decimals in messages without a schema",
        Kind::NonNegativeInt,
        {},
        kAllServices}},
      {&S::schemalessTimestamps,
       {"schemaless-timestamps",
        "SCHEMALESS_TIMESTAMPS",
        "auto",
        "How to read integer timestamps without a schema: auto (by magnitude), micro, milli or nano",
        Kind::Choice,
        {"auto", "micro", "milli", "nano"},
        kAllServices}},
      {&S::schemaRegistryUrl,
       {"schema-registry-url",
        "SCHEMA_REGISTRY_URL",
        "",
        "The schema registry's Confluent-compatible API, for records in Avro (Confluent's wire format: a zero byte "
        "and a 4-byte schema id): http://registry:8080/apis/ccompat/v7 for Apicurio Registry, http://registry:8081 for "
        "Confluent's; or file:PATH, a JSON object of schemas by id (a capture's, for offline replays). Unset: Avro "
        "records are dead letters (unknown_schema)",
        Kind::Url,
        {},
        kSchemas}},
      {&S::schemaRegistryUserInfo,
       {"schema-registry-user-info",
        "SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO",
        "",
        "user:password for the registry's basic auth (as Confluent's basic.auth.user.info); sent, never logged or shown",
        Kind::UserInfo,
        {},
        kSchemas}},
      {&S::schemaCacheSize,
       {"schema-cache-size",
        "SCHEMA_CACHE_SIZE",
        "1000",
        "Writer schemas kept in memory (each fetched once by id; the least recently used dropped past this many)",
        Kind::PositiveInt,
        {},
        kSchemas}},
  };
  return fields;
}

const Fields<HttpSettings>& HttpSettings::fields() {  // NOLINT(readability-function-size): data
  using S = HttpSettings;
  static const Fields<S> fields = {
      {&S::httpHost,
       {"http-host",
        "HTTP_HOST",
        "0.0.0.0",
        "Address the service's HTTP port(s) bind to",
        Kind::String,
        {},
        {"inventory", "analytics", "search-indexer"}}},
      {&S::metricsEnabled,
       {"metrics",
        "METRICS_ENABLED",
        "true",
        "Serve /metrics (Prometheus), /healthz and /readyz on METRICS_PORT",
        Kind::Bool,
        {},
        {"inventory", "analytics", "search-indexer"}}},
      {&S::metricsPort,
       {"metrics-port",
        "METRICS_PORT",
        "8080",
        "Port of /metrics, /healthz and /readyz (the Python services' metrics port); 0 picks a free port, as does leaving it "
        "unset when the source is a file or the generator (the http_listening line names the port)",
        Kind::Port,
        {},
        {"inventory", "analytics", "search-indexer"}}},
      {&S::httpPort,
       {"http-port",
        "HTTP_PORT",
        "8080",
        "The search indexer's port for GET /search; unless set, the search API shares METRICS_PORT (or, with "
        "METRICS_ENABLED=false, takes 8080, a free port when the source is not Kafka); 0 picks a free port",
        Kind::Port,
        {},
        {"search-indexer"}}},
      {&S::livenessTimeout,
       {"liveness-timeout",
        "LIVENESS_TIMEOUT",
        "120",
        "Seconds without a turn of the processing loop after which /healthz answers 503 (the loop turns at least every poll "
        "and every round of store requests; keep it above the 30 s request timeout)",
        Kind::PositiveInt,
        {},
        {"inventory", "analytics", "search-indexer"}}},
  };
  return fields;
}

const Fields<TracingSettings>& TracingSettings::fields() {  // NOLINT(readability-function-size): data
  using S = TracingSettings;
  static const Fields<S> fields = {
      {&S::otlpEndpoint,
       {"otlp-endpoint",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "",
        "Export spans over OTLP/HTTP to this base URL (http://collector:4318: spans go to <URL>/v1/traces). Unset "
        "(and no OTEL_EXPORTER_OTLP_TRACES_ENDPOINT): no spans",
        Kind::Url,
        {},
        kServices}},
      {&S::otlpTracesEndpoint,
       {"otlp-traces-endpoint",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "",
        "The full URL spans are posted to (wins over OTEL_EXPORTER_OTLP_ENDPOINT)",
        Kind::Url,
        {},
        kServices}},
      {&S::otlpProtocol,
       {"otlp-protocol",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "http/protobuf",
        "OTLP's encoding over HTTP: binary protobuf or JSON (gRPC is not offered: point the endpoint at the receiver's "
        "HTTP port, 4318)",
        Kind::Choice,
        {"http/protobuf", "http/json"},
        kServices}},
      {&S::otlpHeaders,
       {"otlp-headers",
        "OTEL_EXPORTER_OTLP_HEADERS",
        "",
        "Headers sent with each export, key=value,key=value with percent-encoded values (an API key); sent, never "
        "logged or shown",
        Kind::Secret,
        {},
        kServices}},
      {&S::otlpTimeout,
       {"otlp-timeout",
        "OTEL_EXPORTER_OTLP_TIMEOUT",
        "10000",
        "Milliseconds one export may take, retries of 429/502/503/504 included, before its spans are dropped (counted)",
        Kind::PositiveInt,
        {},
        kServices}},
      {&S::otlpCompression,
       {"otlp-compression",
        "OTEL_EXPORTER_OTLP_COMPRESSION",
        "none",
        "Compression of exports (gzip|none)",
        Kind::Choice,
        {"none", "gzip"},
        kServices}},
      {&S::otelServiceName,
       {"otel-service-name",
        "OTEL_SERVICE_NAME",
        "",
        "service.name of the spans (default: the service's name, e.g. inventory-service)",
        Kind::String,
        {},
        kServices}},
      {&S::otelResourceAttributes,
       {"otel-resource-attributes",
        "OTEL_RESOURCE_ATTRIBUTES",
        "",
        "More resource attributes of the spans, key=value,key=value with percent-encoded values "
        "(k8s.pod.name=…,deployment.environment.name=prod)",
        Kind::String,
        {},
        kServices}},
      {&S::tracesSampler,
       {"traces-sampler",
        "OTEL_TRACES_SAMPLER",
        "parentbased_always_on",
        "Which spans are recorded: a record's span follows its traceparent's sampled flag with parentbased_*; a root "
        "(a batch, a record without a parent) is decided by the rest of the name",
        Kind::Choice,
        {"always_on", "always_off", "traceidratio", "parentbased_always_on", "parentbased_always_off",
         "parentbased_traceidratio"},
        kServices}},
      {&S::tracesSamplerArg,
       {"traces-sampler-arg",
        "OTEL_TRACES_SAMPLER_ARG",
        "",
        "The share of trace ids the traceidratio samplers keep, from 0 to 1 (default 1)",
        Kind::String,
        {},
        kServices}},
      {&S::tracesExporter,
       {"traces-exporter",
        "OTEL_TRACES_EXPORTER",
        "otlp",
        "Where spans go once an endpoint is set: otlp, or none to record no spans (otlp|none)",
        Kind::Choice,
        {"otlp", "none"},
        kServices}},
      {&S::otelSdkDisabled,
       {"otel-sdk-disabled",
        "OTEL_SDK_DISABLED",
        "false",
        "true: no tracing at all, whatever else is set",
        Kind::Bool,
        {},
        kServices}},
      {&S::bspMaxQueueSize,
       {"bsp-max-queue-size",
        "OTEL_BSP_MAX_QUEUE_SIZE",
        "2048",
        "Spans waiting for export; past it new spans are dropped and counted (the pipeline never waits for the "
        "collector)",
        Kind::PositiveInt,
        {},
        kServices}},
      {&S::bspScheduleDelay,
       {"bsp-schedule-delay",
        "OTEL_BSP_SCHEDULE_DELAY",
        "5000",
        "Milliseconds between exports (a full batch goes at once)",
        Kind::PositiveInt,
        {},
        kServices}},
      {&S::bspMaxExportBatchSize,
       {"bsp-max-export-batch-size",
        "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
        "512",
        "Spans per export",
        Kind::PositiveInt,
        {},
        kServices}},
      {&S::bspExportTimeout,
       {"bsp-export-timeout",
        "OTEL_BSP_EXPORT_TIMEOUT",
        "30000",
        "Milliseconds the last exports may take when the service stops",
        Kind::PositiveInt,
        {},
        kServices}},
  };
  return fields;
}

const Fields<ProduceSettings>& ProduceSettings::fields() {  // NOLINT(readability-function-size): data
  using S = ProduceSettings;
  static const Fields<S> fields = {
      {&S::input,
       {"input", "", "-", "kcat -J lines to produce (a file, or - for standard input)", Kind::String, {}, {"produce"}}},
      {&S::rate,
       {"rate",
        "",
        "0",
        "Records per second at most, evenly paced (0: as fast as the broker takes them)",
        Kind::NonNegativeInt,
        {},
        {"produce"}}},
  };
  return fields;
}

const Fields<SearchQuerySettings>& SearchQuerySettings::fields() {  // NOLINT(readability-function-size): data
  using S = SearchQuerySettings;
  static const Fields<S> fields = {
      {&S::query, {"query", "", "", "Search words: all must match, the last one as a prefix", Kind::String, {}, {"search"}}},
      {&S::minPrice, {"min-price", "", "", "Lowest price, in dollars (12.50)", Kind::String, {}, {"search"}}},
      {&S::maxPrice, {"max-price", "", "", "Highest price, in dollars", Kind::String, {}, {"search"}}},
      {&S::limit, {"limit", "", "20", "Results per page (1-100)", Kind::PositiveInt, {}, {"search"}}},
      {&S::cursor, {"cursor", "", "", "The next_cursor of the previous page", Kind::String, {}, {"search"}}},
  };
  return fields;
}

const Fields<DumpSettings>& DumpSettings::fields() {  // NOLINT(readability-function-size): data
  using S = DumpSettings;
  static const Fields<S> fields = {
      {&S::table, {"table", "", "", "Table to dump", Kind::String, {}, kStores}},
      {&S::key,
       {"key",
        "",
        "",
        "Only the items of this partition key (inventory-realtime's product_id: 5, or product_id=5): one "
        "GetItem, or a Query when the table has a sort key",
        Kind::String,
        {},
        kStores}},
      {&S::limit, {"limit", "", "", "At most this many items (a Scan stops there)", Kind::PositiveInt, {}, kStores}},
      {&S::checkpoints,
       {"checkpoints",
        "",
        "",
        "Instead of a table: the analytics checkpoints in --objects, one line per partition "
        "(position, rows, dead-lettered rows, the position the latest reports cover)",
        Kind::Switch,
        {},
        kStores}},
  };
  return fields;
}

const Fields<DlqSettings>& DlqSettings::fields() {  // NOLINT(readability-function-size): data
  using S = DlqSettings;
  static const Fields<S> fields = {
      {&S::service,
       {"service",
        "",
        "",
        "Only the dead letters of this service (inventory-service, analytics-service, search-indexer)",
        Kind::String,
        {},
        kDlq}},
      {&S::topic, {"topic", "", "", "Only the dead letters of this topic (or of its table: products)", Kind::String, {}, kDlq}},
      {&S::error,
       {"error",
        "",
        "",
        "Only the dead letters whose error (the latest or the first) contains this text",
        Kind::String,
        {},
        kDlq}},
      {&S::since,
       {"since",
        "",
        "",
        "Only the dead letters written at or after this time (2026-12-01 or 2026-12-01T12:00:00Z, UTC)",
        Kind::Time,
        {},
        kDlq}},
      {&S::before,
       {"before",
        "",
        "",
        "Only the dead letters written before this time (a date or an ISO-8601 time, UTC)",
        Kind::Time,
        {},
        kDlq}},
      {&S::dryRun,
       {"dry-run",
        "",
        "",
        "Show what would be done and change nothing (replay: whether each letter decodes now)",
        Kind::Switch,
        {},
        {"dlq replay", "dlq purge"}}},
      {&S::all,
       {"all",
        "",
        "",
        "Purge every dead letter (without it, purge needs --service, --topic, --error, --since or --before)",
        Kind::Switch,
        {},
        {"dlq purge"}}},
  };
  return fields;
}

const Fields<DemoSettings>& DemoSettings::fields() {  // NOLINT(readability-function-size): data
  using S = DemoSettings;
  static const Fields<S> fields = {
      {&S::dataDir,
       {"data-dir", "CDC_DATA_DIR", "./data", "Where the demo writes its workload, tables and objects", Kind::String, {}, kDemo}},
  };
  return fields;
}

const Fields<LogSettings>& LogSettings::fields() {  // NOLINT(readability-function-size): data
  using S = LogSettings;
  static const Fields<S> fields = {
      {&S::logLevel,
       {"log-level",
        "LOG_LEVEL",
        "info",
        "Log level (the names the logs print, and warn for warning)",
        Kind::Choice,
        {"trace", "debug", "info", "warning", "warn", "error", "critical", "off"},
        {"*"}}},
      {&S::logFormat,
       {"log-format",
        "LOG_FORMAT",
        "auto",
        "Log format: JSON lines, text, or text on a terminal and JSON otherwise",
        Kind::Choice,
        {"auto", "json", "text"},
        {"*"}}},
  };
  return fields;
}

const std::vector<const Setting*>& allSettings() {
  static const std::vector<const Setting*> all = [] {
    std::vector<const Setting*> out;
    auto append = [&out](const auto& fields) {
      for (const auto& f : fields) out.push_back(&f.setting);
    };
    append(WorkloadSettings::fields());
    append(SourceSettings::fields());
    append(KafkaSettings::fields());
    append(RunnerSettings::fields());
    append(InventorySettings::fields());
    append(AnalyticsSettings::fields());
    append(SearchIndexerSettings::fields());
    append(TableSettings::fields());
    append(StoreSettings::fields());
    append(AwsSettings::fields());
    append(DeadLetterSettings::fields());
    append(DecodingSettings::fields());
    append(HttpSettings::fields());
    append(TracingSettings::fields());
    append(ProduceSettings::fields());
    append(SearchQuerySettings::fields());
    append(DumpSettings::fields());
    append(DlqSettings::fields());
    append(DemoSettings::fields());
    append(LogSettings::fields());
    return out;
  }();
  return all;
}

}  // namespace cdc::config
