#include "adapters/registry/schema_registry.h"

#include <simdjson.h>

#include "core/base64.h"
#include "debezium/file_schema_fetcher.h"

namespace cdc::registry {

RegistryFetcher::RegistryFetcher(const std::string& url, const std::string& userInfo, std::chrono::milliseconds timeout) {
  auto base = aws::requestForUrl(url);
  if (!base) {
    if (url.starts_with("http://") || url.starts_with("https://")) {
      throw std::invalid_argument("'" + url + "' has no host (credentials go in SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO)");
    }
    throw std::invalid_argument("'" + url + "' is not an http:// or https:// URL");
  }
  base_ = std::move(*base);
  url_ = base_.scheme + "://" + base_.host + base_.path;
  base_.headers.emplace_back("Accept", "application/vnd.schemaregistry.v1+json, application/json");
  if (!userInfo.empty()) {
    if (userInfo.find(':') == std::string::npos) throw std::invalid_argument("the registry's user info is not user:password");
    base_.headers.emplace_back("Authorization", "Basic " + base64Encode(userInfo));
  }
  aws::HttpClientOptions options;
  options.requestTimeout = timeout;
  options.connectTimeout = std::min(timeout, std::chrono::milliseconds(3'000));
  options.maxConcurrent = 1;
  http_ = std::make_unique<aws::HttpClient>(options);
}

RegistryFetcher::~RegistryFetcher() = default;

std::string RegistryFetcher::describe() const { return "the schema registry " + url_; }

std::optional<std::string> RegistryFetcher::problem() const {
  std::lock_guard lock(mutex_);
  return problem_;
}

std::expected<std::string, debezium::SchemaFetchError> RegistryFetcher::fetch(int32_t id) {
  aws::HttpRequest request = base_;
  request.path += "/schemas/ids/" + std::to_string(id);
  aws::HttpResponse response = http_->send(request);
  auto unavailable = [&](const std::string& why) -> std::expected<std::string, debezium::SchemaFetchError> {
    std::string message = describe() + ": " + why;
    std::lock_guard lock(mutex_);
    problem_ = message;
    return std::unexpected(debezium::SchemaFetchError{false, std::move(message)});
  };
  if (response.status == 0) return unavailable(response.timedOut ? "no answer in time" : response.transportError);
  if (response.status == 401 || response.status == 403) {
    return unavailable("HTTP " + std::to_string(response.status) + ": the registry refused our credentials " +
                       "(SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO)");
  }
  if (response.status != 200 && response.status != 404) return unavailable("HTTP " + std::to_string(response.status));
  {
    std::lock_guard lock(mutex_);
    problem_.reset();
  }
  if (response.status == 404) {
    return std::unexpected(debezium::SchemaFetchError{true, "schema id " + std::to_string(id) + " is unknown to " + describe()});
  }
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string_view schema, type;
  if (parser.parse(response.body).get(doc) != simdjson::SUCCESS || doc["schema"].get_string().get(schema) != simdjson::SUCCESS) {
    return std::unexpected(
        debezium::SchemaFetchError{true, describe() + " answered schema id " + std::to_string(id) + " without a schema"});
  }
  if (doc["schemaType"].get_string().get(type) == simdjson::SUCCESS && type != "AVRO") {
    return std::unexpected(
        debezium::SchemaFetchError{true, "schema id " + std::to_string(id) + " is a " + std::string(type) + " schema, not Avro"});
  }
  return std::string(schema);
}

std::unique_ptr<debezium::SchemaFetcher> openFetcher(const std::string& url, const std::string& userInfo) {
  if (url.starts_with("file:")) return std::make_unique<debezium::FileSchemaFetcher>(url.substr(5));
  return std::make_unique<RegistryFetcher>(url, userInfo);
}

}  // namespace cdc::registry
