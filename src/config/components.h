#pragma once

// Each component's settings, as one struct: the members it reads, each bound in components.cc to
// the one declaration of its flag, environment variable, default, help and check. A command's
// code reads them with Config::get<KafkaSettings>() and the like, never a setting by its name;
// --help, `cdc config` and the README tables come from the same declarations.

#include <cstdint>
#include <optional>
#include <string>

#include "config/settings.h"

namespace cdc::config {

// The workload generator's (cdc generate, and --source generate of the services and the demo): SPEC §11.
struct WorkloadSettings : Settings<WorkloadSettings> {
  int64_t seed = 0;
  int64_t products = 0;
  int64_t customers = 0;
  int64_t orders = 0;
  std::optional<int64_t> events;
  std::string shape;
  bool schemas = false;
  std::string decimal;
  std::string timestamps;
  std::string before;
  std::string deletes;
  int64_t partitions = 0;

  static const Fields<WorkloadSettings>& fields();
};

// Where a service's records come from and which topics they are.
struct SourceSettings : Settings<SourceSettings> {
  std::string topicPrefix;
  std::optional<std::string> source;
  std::optional<std::string> replayPartitions;
  std::optional<std::string> topics;
  std::optional<std::string> topic;
  bool untilCaughtUp = false;
  std::optional<std::string> startFrom;

  static const Fields<SourceSettings>& fields();
};

// The Kafka client's: brokers and the consumer group (any other KAFKA_* variable passes to librdkafka: Config::kafkaPassthrough).
struct KafkaSettings : Settings<KafkaSettings> {
  std::optional<std::string> bootstrapServers;
  std::optional<std::string> groupId;
  std::string groupProtocol;
  int64_t brokerTimeout = 0;

  static const Fields<KafkaSettings>& fields();
};

// The runner's: batches, pacing, the stats line, the run summary and the stop.
struct RunnerSettings : Settings<RunnerSettings> {
  int64_t batchSize = 0;
  int64_t maxRecordsPerSecond = 0;
  int64_t statsInterval = 0;
  std::optional<std::string> summaryJson;
  int64_t shutdownGrace = 0;

  static const Fields<RunnerSettings>& fields();
};

// The inventory service's: its ledger and low-stock alerts.
struct InventorySettings : Settings<InventorySettings> {
  std::string alertsTopic;
  bool alertsExactlyOnce = false;
  std::optional<std::string> ledgerTable;
  int64_t lowStockThreshold = 0;

  static const Fields<InventorySettings>& fields();
};

// The analytics service's: rankings, report flushes and checkpoints.
struct AnalyticsSettings : Settings<AnalyticsSettings> {
  int64_t topN = 0;
  int64_t flushInterval = 0;
  int64_t checkpointIntervalMs = 0;

  static const Fields<AnalyticsSettings>& fields();
};

// The search indexer's own.
struct SearchIndexerSettings : Settings<SearchIndexerSettings> {
  bool keepServing = false;

  static const Fields<SearchIndexerSettings>& fields();
};

// The tables of the services that keep them (inventory, search indexer) and of cdc search.
struct TableSettings : Settings<TableSettings> {
  std::optional<std::string> tableName;
  int64_t ledgerRetention = 0;

  static const Fields<TableSettings>& fields();
};

// Which table and object stores, and the buckets on S3.
struct StoreSettings : Settings<StoreSettings> {
  std::string store;
  std::string objects;
  bool createTables = false;
  std::optional<std::string> s3Bucket;
  int64_t s3MultipartThreshold = 0;
  std::optional<std::string> dlqBucket;

  static const Fields<StoreSettings>& fields();
};

// The AWS client's: region, endpoints and request timeout (credentials come from the standard chain).
struct AwsSettings : Settings<AwsSettings> {
  std::optional<std::string> awsRegion;
  int64_t awsRequestTimeout = 0;
  std::optional<std::string> endpointUrl;
  std::optional<std::string> endpointUrlDynamodb;
  std::optional<std::string> endpointUrlS3;

  static const Fields<AwsSettings>& fields();
};

// Where dead letters go.
struct DeadLetterSettings : Settings<DeadLetterSettings> {
  std::string dlq;
  std::optional<std::string> dlqTopic;

  static const Fields<DeadLetterSettings>& fields();
};

// The Debezium decoder's: messages without a schema, and Avro's schema registry.
struct DecodingSettings : Settings<DecodingSettings> {
  std::string schemalessDecimals;
  int64_t decimalScale = 0;
  std::string schemalessTimestamps;
  std::optional<std::string> schemaRegistryUrl;
  std::optional<std::string> schemaRegistryUserInfo;
  int64_t schemaCacheSize = 0;

  static const Fields<DecodingSettings>& fields();
};

// The service's HTTP ports: /metrics, /healthz, /readyz and the search API.
struct HttpSettings : Settings<HttpSettings> {
  std::string httpHost;
  bool metricsEnabled = false;
  int64_t metricsPort = 0;
  int64_t httpPort = 0;
  int64_t livenessTimeout = 0;

  static const Fields<HttpSettings>& fields();
};

// OpenTelemetry tracing (the standard OTEL_* variables).
struct TracingSettings : Settings<TracingSettings> {
  std::optional<std::string> otlpEndpoint;
  std::optional<std::string> otlpTracesEndpoint;
  std::string otlpProtocol;
  std::optional<std::string> otlpHeaders;
  int64_t otlpTimeout = 0;
  std::string otlpCompression;
  std::optional<std::string> otelServiceName;
  std::optional<std::string> otelResourceAttributes;
  std::string tracesSampler;
  std::optional<std::string> tracesSamplerArg;
  std::string tracesExporter;
  bool otelSdkDisabled = false;
  int64_t bspMaxQueueSize = 0;
  int64_t bspScheduleDelay = 0;
  int64_t bspMaxExportBatchSize = 0;
  int64_t bspExportTimeout = 0;

  static const Fields<TracingSettings>& fields();
};

// cdc produce's.
struct ProduceSettings : Settings<ProduceSettings> {
  std::string input;
  int64_t rate = 0;

  static const Fields<ProduceSettings>& fields();
};

// cdc search's query.
struct SearchQuerySettings : Settings<SearchQuerySettings> {
  std::optional<std::string> query;
  std::optional<std::string> minPrice;
  std::optional<std::string> maxPrice;
  int64_t limit = 0;
  std::optional<std::string> cursor;

  static const Fields<SearchQuerySettings>& fields();
};

// cdc dump's.
struct DumpSettings : Settings<DumpSettings> {
  std::optional<std::string> table;
  std::optional<std::string> key;
  std::optional<int64_t> limit;
  bool checkpoints = false;

  static const Fields<DumpSettings>& fields();
};

// The cdc dlq commands' filters and switches.
struct DlqSettings : Settings<DlqSettings> {
  std::optional<std::string> service;
  std::optional<std::string> topic;
  std::optional<std::string> error;
  std::optional<std::string> since;  // checked as a time; the text for messages
  std::optional<std::string> before;
  bool dryRun = false;
  bool all = false;

  static const Fields<DlqSettings>& fields();
};

// cdc demo's.
struct DemoSettings : Settings<DemoSettings> {
  std::string dataDir;

  static const Fields<DemoSettings>& fields();
};

// Logging (every command).
struct LogSettings : Settings<LogSettings> {
  std::string logLevel;
  std::string logFormat;

  static const Fields<LogSettings>& fields();
};

}  // namespace cdc::config
