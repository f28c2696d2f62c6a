#pragma once

#include <memory>
#include <string>
#include <vector>

#include "adapters/http/http_server.h"
#include "adapters/kafka/kafka_config.h"
#include "app/command.h"
#include "app/observability.h"
#include "app/service.h"
#include "runtime/handler.h"
#include "runtime/runner.h"
#include "runtime/source.h"

namespace cdc::app {

using app::ServiceContext;
using app::ServiceDefinition;

// The three services, as each declares itself (app/<service>_definition.h).
const std::vector<const ServiceDefinition*>& serviceDefinitions();
const ServiceDefinition* findService(std::string_view nameOrCommand);

// The schema cache of SCHEMA_REGISTRY_URL into `ctx` (none when unset): a registry's client, or
// a file of schemas.
void openSchemas(const config::Config& c, ServiceContext& ctx);

// The topics a service consumes: KAFKA_TOPICS, or its tables under TOPIC_PREFIX.
std::vector<std::string> serviceTopics(const ServiceDefinition& service, const config::Config& c);
// Where a service reads and writes (SPEC §7, §9). The source: --source, else Kafka when
// KAFKA_BOOTSTRAP_SERVERS is set, else the built-in generator. The stores: --store/--objects
// (CDC_STORE/CDC_OBJECTS) when given; otherwise DynamoDB and S3 for a Kafka source (the seed's
// environment alone runs the production service) and the embedded ones for anything else.
// AWS stores with no source configured (the generator by default) are a ConfigError: generated
// data goes to AWS only with --source generate.
struct Wiring {
  std::string source;  // "kafka", "file:PATH", "generate"
  StoreChoice tables;
  StoreChoice objects;
  StoreChoice deadLetters{"objects", "default"};  // "objects" or "kafka" (DLQ)
  std::string service;                            // whose dead letters (the Kafka topic's default name)
};
Wiring wiringOf(const config::Config& c, const ServiceDefinition& service);
// DLQ resolved: "objects" or "kafka"; auto is the service's own choice when
// KAFKA_BOOTSTRAP_SERVERS is set (the search indexer: kafka), objects without a service.
StoreChoice deadLetterChoice(const config::Config& c, const ServiceDefinition* service);
// The dead-letter topic DLQ_TOPIC (default <service>-dlq); `create`: a service at start-up
// makes it when missing. A ConfigError names what is wrong.
std::unique_ptr<runtime::DeadLetterStore> openKafkaDeadLetters(const config::Config& c, std::string_view service, bool create,
                                                               const std::string& origin);
// The stores a service uses, each timed for its latency series: the table store when it has
// tables; the objects of its own (reports: S3_BUCKET) and its dead letters (DLQ=objects:
// DLQ_S3_BUCKET, else S3_BUCKET; DLQ=kafka: DLQ_TOPIC, and no object store unless it writes
// objects of its own). `c` must outlive the context (it opens more table-store connections).
ServiceContext openContext(const config::Config& c, const Wiring& wiring, bool tables, bool ownObjects);

// Runs a handler over a service context's stores until the source ends or SIGINT/SIGTERM;
// prints the summary line (with the AWS requests it took, on AWS). `observability` (none for
// `cdc dlq replay`) gets the runner's series and liveness. Returns the exit status.
int runService(const ServiceDefinition& service, runtime::Source& source, runtime::Handler& handler, ServiceContext& context,
               const config::Config& c, Observability* observability = nullptr);

}  // namespace cdc::app
