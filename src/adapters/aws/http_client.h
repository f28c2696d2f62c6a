#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "adapters/aws/sigv4.h"

namespace cdc::aws {

struct HttpResponse {
  long status = 0;  // 0 when no response arrived
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Set when the request failed below HTTP (refused, reset, DNS, TLS, timeout).
  std::string transportError;
  bool timedOut = false;
  // Set by AwsClient on a final answer when an earlier attempt of the same request got no
  // definite one (a 5xx, or the connection lost after it was sent): what that attempt got. The
  // earlier attempt may have been applied.
  std::string uncertainBefore;

  const std::string* header(std::string_view name) const;  // case-insensitive
};

// A request to `url` (http://host[:port][/path] or https://…): its scheme, host and path (without
// a trailing '/'); nullopt when it is not such a URL or names no host (or has user info in it).
std::optional<HttpRequest> requestForUrl(std::string_view url);

struct HttpClientOptions {
  std::chrono::milliseconds connectTimeout{3'000};
  std::chrono::milliseconds requestTimeout{30'000};
  size_t maxConcurrent = 16;  // requests in flight in one sendAll(), and connections kept
};

// HTTP/1.1 over libcurl's multi interface: connections are kept alive and reused, and
// sendAll() runs its requests concurrently, so a batch of requests costs about one round trip
// rather than one per request. Owns its curl handles; one thread at a time.
class HttpClient {
 public:
  explicit HttpClient(HttpClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  HttpResponse send(const HttpRequest& request);
  // Responses in the order of `requests`.
  std::vector<HttpResponse> sendAll(std::span<const HttpRequest> requests);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cdc::aws
