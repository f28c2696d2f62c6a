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
#include "services/service.h"

namespace cdc::cli {

using services::ServiceContext;
using services::ServiceDefinition;

// The three services, as each declares itself (services/<service>/definition.h).
const std::vector<const ServiceDefinition*>& serviceDefinitions();
const ServiceDefinition* findService(std::string_view nameOrCommand);

// The topics a service consumes: KAFKA_TOPICS, or its tables under TOPIC_PREFIX.
std::vector<std::string> serviceTopics(const ServiceDefinition& service, const config::Config& c);
// The stores of the configuration (--store, --objects, DLQ_S3_BUCKET), each timed for its
// latency series; `c` must outlive the context (it opens more table-store connections).
ServiceContext openContext(const config::Config& c);

// Runs a handler over a service context's stores until the source ends or SIGINT/SIGTERM;
// prints the summary line (with the AWS requests it took, on AWS). `observability` (none for
// `cdc dlq replay`) gets the runner's series and liveness. Returns the exit status.
int runService(const ServiceDefinition& service, runtime::Source& source, runtime::Handler& handler,
               ServiceContext& context, const config::Config& c, Observability* observability = nullptr);

}  // namespace cdc::cli
