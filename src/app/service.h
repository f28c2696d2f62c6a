#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "adapters/http/http_server.h"
#include "adapters/kafka/kafka_config.h"
#include "config/components.h"
#include "debezium/decoder.h"
#include "debezium/schema_cache.h"
#include "runtime/dead_letter.h"
#include "runtime/handler.h"
#include "store/object_store.h"
#include "store/table_store.h"

namespace cdc::app {

// What a service needs from the outside world, opened from the configuration by the CLI.
struct ServiceContext {
  std::unique_ptr<store::TableStore> tables;  // none for a service that has no table (analytics)
  // Its own objects (analytics' reports), the dead letters' with DLQ=objects; none for a service
  // that writes none of its own and keeps its dead letters in Kafka.
  std::unique_ptr<store::ObjectStore> objects;
  std::unique_ptr<store::ObjectStore> deadLetterObjects;  // a bucket of their own (DLQ_S3_BUCKET), or none
  // Where the runner writes dead letters and `cdc dlq` finds them: over deadLetterObjects
  // (else objects), or a Kafka topic.
  std::unique_ptr<runtime::DeadLetterStore> deadLetterStore;
  runtime::DeadLetterStore& deadLetters() { return *deadLetterStore; }
  // Opens another connection to the table store (a store is used by one thread at a time).
  std::function<std::unique_ptr<store::TableStore>()> openTables;
  // The writer schemas of records in Avro (SCHEMA_REGISTRY_URL), or none; and why the registry
  // did not answer its last request (the readiness probe's reason), when there is one.
  std::shared_ptr<debezium::SchemaCache> schemas;
  std::function<std::optional<std::string>()> schemaRegistryProblem;
  // Called with the source once it and the handler exist (the inventory's exactly-once alerts
  // commit the Kafka source's positions in their transactions).
  std::function<void(runtime::Source&)> attachSource;
  // Whatever else a handler refers to (alert sinks, producers), kept as long as the context.
  std::vector<std::shared_ptr<void>> resources;
};

// A service as the command line runs it: its names, the tables it consumes, how to build its
// handler from the configuration and what runs beside it. Each service declares its own (in
// src/app: inventoryService() …); the CLI only wires them.
struct ServiceDefinition {
  std::string name;                 // "inventory-service": logs, metrics, dead letters, group id
  std::string command;              // "inventory"
  std::vector<std::string> tables;  // source tables it consumes ("products", "order_items")
  bool usesTableStore = true;       // its effects go to the table store (inventory, search)
  bool writesObjects = false;       // it writes objects of its own besides dead letters (analytics' reports)
  // Builds the handler; it may keep references into `context`.
  std::function<std::unique_ptr<runtime::Handler>(const config::Config&, ServiceContext&)> makeHandler;
  // Started beside the consumer on the service's HTTP server and stopped when the returned
  // object goes (the search API).
  std::function<std::shared_ptr<void>(const config::Config&, ServiceContext&, http::HttpServer&)> sidecar;
  // How its handler decodes (the columns it reads, the schemaless rules), without a store:
  // `cdc dlq replay --dry-run` tells which dead letters decode now.
  std::function<debezium::DecoderOptions(const config::Config&)> decoding;
  // Where its dead letters go with DLQ=auto when it reads Kafka: objects, or kafka (a service
  // the seed grants no bucket).
  std::string deadLetters = "objects";
};

// The decoding rules for messages without a schema (SCHEMALESS_DECIMALS, DECIMAL_SCALE, …).
debezium::DecoderOptions decoderOptions(const config::Config& c);
// librdkafka properties: every KAFKA_* passthrough variable and --bootstrap-servers.
kafka::Properties kafkaProperties(const config::Config& c);

}  // namespace cdc::app
