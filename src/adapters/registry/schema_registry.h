#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "adapters/aws/http_client.h"
#include "debezium/schema_cache.h"

namespace cdc::registry {

// A schema registry's Confluent-compatible REST API (Confluent Schema Registry, Apicurio
// Registry's /apis/ccompat/v7, Karapace): GET {url}/schemas/ids/{id}. Basic auth from
// "user:password" (Confluent's basic.auth.user.info), sent and never logged. 404 (40403) is an
// unknown id; no answer, a 5xx, 401/403 (credentials) or 429 is "not now": the records wait.
class RegistryFetcher final : public debezium::SchemaFetcher {
 public:
  // `url`: http(s)://host[:port][/path]. Throws std::invalid_argument on anything else.
  RegistryFetcher(const std::string& url, const std::string& userInfo,
                  std::chrono::milliseconds timeout = std::chrono::milliseconds(10'000));
  ~RegistryFetcher() override;

  std::expected<std::string, debezium::SchemaFetchError> fetch(int32_t id) override;
  std::string describe() const override;
  // Why the last request failed to get an answer (the readiness probe's reason), or nullopt.
  std::optional<std::string> problem() const;

 private:
  aws::HttpRequest base_;
  std::string url_;
  std::unique_ptr<aws::HttpClient> http_;
  mutable std::mutex mutex_;
  std::optional<std::string> problem_;
};

// SCHEMA_REGISTRY_URL's fetcher: http(s)://… a registry, file:PATH a schema file
// (debezium::FileSchemaFetcher).
std::unique_ptr<debezium::SchemaFetcher> openFetcher(const std::string& url, const std::string& userInfo);

}  // namespace cdc::registry
