#include "adapters/aws/client_metrics.h"

#include <optional>

#include <fmt/format.h>

namespace cdc::aws {

std::shared_ptr<void> instrumentClient(metrics::Registry& registry, metrics::Health& health, AwsClient& client,
                                       std::string backend, std::string service) {
  const AwsProbe& p = client.probe();
  client.beatWhileWaiting(&health);
  health.addReadinessCheck(backend, [&p, &client]() -> std::optional<std::string> {
    if (p.circuitOpen.load()) return client.endpoint().describe() + ": circuit open after repeated failures";
    if (!p.answering.load()) return client.endpoint().describe() + ": no answer to the last request";
    return std::nullopt;
  });
  auto series = registry.addCollector([&p, backend, service](std::vector<prometheus::MetricFamily>& out) {
    metrics::Labels labels{{"backend", backend}, {"service", service}};
    auto counter = [&](const char* name, const char* help, uint64_t v) {
      auto f = metrics::counterFamily(name, help);
      metrics::addCounter(f, labels, static_cast<double>(v));
      out.push_back(std::move(f));
    };
    counter("cdc_store_requests_total", "HTTP requests sent to the store's endpoint (retries included).", p.requests.load());
    counter("cdc_store_retries_total", "Rounds of requests sent again after a throttle, a 5xx or no answer.", p.retries.load());
    counter("cdc_store_throttles_total", "Answers that asked to slow down (throttling, 429, 503 SlowDown).", p.throttled.load());
    counter("cdc_store_credential_refreshes_total", "Credentials fetched again after an expired-token answer.",
            p.credentialRefreshes.load());
    counter("cdc_store_circuit_opened_total", "Times the circuit breaker opened.", p.circuitOpened.load());
    auto errors =
        metrics::counterFamily("cdc_store_errors_total",
                               "Requests that failed, by kind (transport: no answer or a damaged one; server: 5xx; checksum: an "
                               "answer whose x-amz-crc32 did not match, also counted as transport).");
    auto withKind = [&](const char* kind) {
      metrics::Labels l = labels;
      l.emplace("kind", kind);
      return l;
    };
    metrics::addCounter(errors, withKind("transport"), static_cast<double>(p.transportErrors.load()));
    metrics::addCounter(errors, withKind("server"), static_cast<double>(p.serverErrors.load()));
    metrics::addCounter(errors, withKind("checksum"), static_cast<double>(p.checksumFailures.load()));
    out.push_back(std::move(errors));
    auto open =
        metrics::gaugeFamily("cdc_store_circuit_open", "1 while the circuit breaker stops requests to a failing endpoint.");
    metrics::addGauge(open, labels, p.circuitOpen.load() ? 1 : 0);
    out.push_back(std::move(open));
  });
  return {nullptr, [series, &client](void*) { client.beatWhileWaiting(nullptr); }};
}

std::string requestSummary(const AwsClient& client, const std::string& name) {
  const auto& p = client.probe();
  return fmt::format("{}: {} requests ({} retried, {} throttled, circuit opened {} times)", name, p.requests.load(),
                     p.retries.load(), p.throttled.load(), p.circuitOpened.load());
}

store::Instrumented::RequestCounts requestCounts(const AwsClient& client, const std::string& name) {
  const auto& p = client.probe();
  return {name,
          {{"requests", p.requests.load()},
           {"retries", p.retries.load()},
           {"throttled", p.throttled.load()},
           {"transport_errors", p.transportErrors.load()},
           {"server_errors", p.serverErrors.load()},
           {"checksum_failures", p.checksumFailures.load()},
           {"credential_refreshes", p.credentialRefreshes.load()},
           {"circuit_opened", p.circuitOpened.load()}}};
}

std::string backendLabel(const std::string& backend, const std::string& role) {
  return role.empty() ? backend : backend + "-" + role;
}

}  // namespace cdc::aws
