#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "adapters/aws/http_client.h"
#include "core/result.h"

namespace cdc::aws {

using Clock = std::chrono::steady_clock;

// Exponential backoff with full jitter (a random wait in [0, min(cap, base * 2^attempt)]),
// AWS's recommendation against synchronized retries from many clients.
struct RetryPolicy {
  int maxAttempts = 4;  // per call; after that the caller gets Retry and backs off further
  std::chrono::milliseconds base{50};
  std::chrono::milliseconds cap{2'000};
};
std::chrono::milliseconds fullJitter(const RetryPolicy& policy, int attempt, std::mt19937_64& rng);

// What an AWS answer means for the request that got it.
enum class Outcome {
  Ok,                  // 2xx
  Retry,               // throttling, 5xx, timeouts, connection failures: try again later
  RefreshCredentials,  // expired or unrecognised credentials: fetch new ones, then retry once
  ClockSkew,           // signed too far from the server's time: correct the clock once, then retry
  Denied,              // not allowed (AccessDenied, a bare 403): no retry helps, the policy must change
  Final,               // an answer about the request itself (validation, condition, not found)
};

// An AWS error's code: the DynamoDB/STS JSON "__type" (without its namespace) or the S3/STS
// XML <Code>; empty when the body says nothing.
std::string errorCode(const HttpResponse& response);
Outcome classify(const HttpResponse& response);
// "503 SlowDown: Please reduce your request rate." for logs and errors.
std::string describe(const HttpResponse& response);
// Whether an answer's body matches its x-amz-crc32 header (DynamoDB's checksum of the bytes
// sent; true when there is none).
bool checksumMatches(const HttpResponse& response);
// The server's time an answer gives: its Date header (RFC 9110 IMF-fixdate), else S3's
// <ServerTime>; nullopt without either.
std::optional<std::chrono::system_clock::time_point> serverTime(const HttpResponse& response);
// The IAM action and resource a request asks for, for an AccessDenied that names them:
// "dynamodb:PutItem on table inventory-realtime", "s3:PutObject on arn:aws:s3:::lake/analytics/x.json".
std::string requestedAction(const HttpRequest& request, std::string_view service);

// Stops hammering an endpoint that keeps failing. Closed: every call goes. After `threshold`
// consecutive failures it opens: calls are refused for `openFor` (doubling on each failed
// probe up to `maxOpenFor`), then one probe call is let through (half-open); its success
// closes the breaker. One breaker per endpoint; not thread-safe (one store per thread).
class CircuitBreaker {
 public:
  enum class State { Closed, Open, HalfOpen };
  struct Options {
    int threshold = 5;
    std::chrono::milliseconds openFor{1'000};
    std::chrono::milliseconds maxOpenFor{30'000};
  };
  CircuitBreaker(std::string endpoint, Options options) : endpoint_(std::move(endpoint)), options_(options) {}

  // Whether a call may go now; when not, `retryIn` says when the next probe may.
  bool allow(Clock::time_point now, std::chrono::milliseconds& retryIn);
  void onSuccess();
  void onFailure(Clock::time_point now, std::string_view why);

  State state() const { return state_; }
  uint64_t opened() const { return opened_; }

 private:
  std::string endpoint_;
  Options options_;
  State state_ = State::Closed;
  int failures_ = 0;
  std::chrono::milliseconds openFor_{0};
  Clock::time_point openUntil_{};
  uint64_t opened_ = 0;
};

}  // namespace cdc::aws
