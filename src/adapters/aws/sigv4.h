#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cdc::aws {

// AWS credentials as a provider hands them out; the secret never reaches a log line.
struct Credentials {
  std::string accessKeyId;
  std::string secretAccessKey;
  std::string sessionToken;  // empty for long-term keys
};

// An HTTP request on its way to AWS, before and after signing.
struct HttpRequest {
  std::string method = "GET";
  std::string scheme = "https";
  std::string host;                                        // with ":port" when not the scheme's default
  std::string path = "/";                                  // not yet percent-encoded ("/bucket/dlq/a b.json")
  std::vector<std::pair<std::string, std::string>> query;  // not yet encoded
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // scheme://host/encoded-path?encoded-query, as sent.
  std::string url() const;
  const std::string* header(std::string_view name) const;  // case-insensitive
};

struct SigningOptions {
  std::string region;
  std::string service;               // "dynamodb", "s3", "sts"
  std::string amzDate;               // "20150830T123600Z" (UTC)
  bool contentSha256Header = false;  // S3: send x-amz-content-sha256
  bool doubleEncodePath = true;      // every service but S3 encodes the path twice
};

// RFC 3986 percent-encoding as SigV4 wants it: unreserved characters stay, everything else is
// %XX (upper case); '/' stays when `keepSlash`.
std::string uriEncode(std::string_view s, bool keepSlash);
// Lower-case hex of SHA-256.
std::string sha256Hex(std::string_view data);

// The canonical request and the string to sign (exposed for tests and debugging).
std::string canonicalRequest(const HttpRequest& request, const SigningOptions& options, std::string_view payloadHash,
                             std::string& signedHeaders);
std::string stringToSign(std::string_view canonical, const SigningOptions& options);

// Signs `request` with Signature Version 4: adds X-Amz-Date, X-Amz-Security-Token (with a
// session token), x-amz-content-sha256 (when asked) and Authorization. A Host header is
// taken from request.host when absent.
void signV4(HttpRequest& request, const Credentials& credentials, const SigningOptions& options);

// "20150830T123600Z" for an instant.
std::string amzDate(std::chrono::system_clock::time_point at);

}  // namespace cdc::aws
