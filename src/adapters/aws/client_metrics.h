#pragma once

#include <memory>
#include <string>

#include "adapters/aws/aws_client.h"
#include "metrics/health.h"
#include "metrics/registry.h"
#include "store/instrumented.h"

namespace cdc::aws {

// An AWS client's series, read from its probe at each scrape, labelled with the backend
// ("dynamodb", "s3", "s3-dead-letters") and the service: requests, retries, throttled answers,
// transport and server errors, credential refreshes, circuit-breaker state and openings. And a
// readiness check named after the backend: not ready while the endpoint does not answer or the
// circuit is open. The client beats liveness while it waits on the endpoint. The client must
// outlive the returned handle.
[[nodiscard]] std::shared_ptr<void> instrumentClient(metrics::Registry& registry, metrics::Health& health, AwsClient& client,
                                                     std::string backend, std::string service);

// "dynamodb: 812 requests (3 retried, 1 throttled, circuit opened 0 times)".
std::string requestSummary(const AwsClient& client, const std::string& name);
// The client's counts by name, as the run summary's JSON gives them under `name`.
store::Instrumented::RequestCounts requestCounts(const AwsClient& client, const std::string& name);
// The backend's label: "s3", or "s3-dead-letters" for a role.
std::string backendLabel(const std::string& backend, const std::string& role);

}  // namespace cdc::aws
