#pragma once

#include <memory>
#include <string>
#include <vector>

#include "adapters/http/http_server.h"
#include "adapters/kafka/kafka_config.h"
#include "cli/observability.h"
#include "cli/command.h"
#include "runtime/handler.h"
#include "runtime/runner.h"
#include "runtime/source.h"
#include "services/analytics/analytics_service.h"
#include "services/inventory/inventory_service.h"
#include "services/search/layout.h"

namespace cdc::cli {

// What a service needs from the outside world, opened from the configuration.
struct ServiceContext {
  std::unique_ptr<store::TableStore> tables;
  std::unique_ptr<store::ObjectStore> objects;
  std::unique_ptr<store::ObjectStore> deadLetterObjects;  // a bucket of their own (DLQ_S3_BUCKET), or none
  store::ObjectStore& deadLetters() { return deadLetterObjects ? *deadLetterObjects : *objects; }
  // Whatever else a handler refers to (alert sinks, producers), kept as long as the context.
  std::vector<std::shared_ptr<void>> resources;
};

// A service: its default topics and how to build its handler.
struct ServiceDefinition {
  std::string name;     // "inventory-service"
  std::string command;  // "inventory"
  std::vector<std::string> tables;  // source tables it consumes ("products", "order_items")
  // Builds the handler; it may keep references into `context`.
  std::function<std::unique_ptr<runtime::Handler>(const config::Config&, ServiceContext&)> makeHandler;
  // A line or two for the end of a run (alerts raised, reports written …).
  std::function<std::string(const runtime::Handler&)> summary;
  // Started beside the consumer on the service's HTTP server and stopped when the returned
  // object goes (the search API).
  std::function<std::shared_ptr<void>(const config::Config&, http::HttpServer&)> sidecar;
};

const std::vector<ServiceDefinition>& serviceDefinitions();
const ServiceDefinition* findService(std::string_view nameOrCommand);

// The topics a service consumes: KAFKA_TOPICS, or its tables under TOPIC_PREFIX.
std::vector<std::string> serviceTopics(const ServiceDefinition& service, const config::Config& c);
ServiceContext openContext(const config::Config& c);
// librdkafka properties: every KAFKA_* passthrough variable and --bootstrap-servers.
kafka::Properties kafkaProperties(const config::Config& c);
// The decoding rules for messages without a schema (SCHEMALESS_DECIMALS, DECIMAL_SCALE, …).
debezium::DecoderOptions decoderOptions(const config::Config& c);
inventory::InventoryOptions inventoryOptions(const config::Config& c);
search::IndexTables searchTables(const config::Config& c);
analytics::AnalyticsOptions analyticsOptions(const config::Config& c);

// Runs a handler over a service context's stores until the source ends or SIGINT/SIGTERM;
// prints the summary line (with the AWS requests it took, on AWS). `observability` (none for
// `cdc dlq replay`) gets the runner's series and liveness. Returns the exit status.
int runService(const ServiceDefinition& service, runtime::Source& source, runtime::Handler& handler,
               ServiceContext& context, const config::Config& c, Observability* observability = nullptr);

}  // namespace cdc::cli
