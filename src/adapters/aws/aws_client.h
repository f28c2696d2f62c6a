#pragma once

#include <atomic>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "adapters/aws/credentials.h"
#include "adapters/aws/http_client.h"
#include "adapters/aws/resilience.h"
#include "core/time.h"
#include "metrics/health.h"

namespace cdc::aws {

// Where one AWS service answers.
struct AwsEndpoint {
  std::string service;  // signing name: "dynamodb", "s3"
  std::string region;
  std::string scheme = "https";
  std::string host;        // "dynamodb.eu-west-1.amazonaws.com", "127.0.0.1:5000"
  std::string pathPrefix;  // from an endpoint URL with a path ("/proxy")

  // The service's endpoint: `url` (AWS_ENDPOINT_URL_<SERVICE> or AWS_ENDPOINT_URL) when given,
  // else the regional AWS one. Fatal (naming `origin`) for a malformed URL or a missing region.
  static Result<AwsEndpoint> resolve(std::string service, std::string region, const std::string& url, const std::string& origin);
  std::string describe() const { return service + " " + scheme + "://" + host + pathPrefix; }
};

// Counted for the metrics layer; any thread may read.
struct AwsProbe {
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> retries{0};
  std::atomic<uint64_t> throttled{0};
  std::atomic<uint64_t> transportErrors{0};
  std::atomic<uint64_t> serverErrors{0};
  std::atomic<uint64_t> checksumFailures{0};  // x-amz-crc32 mismatches (counted as transport errors too)
  std::atomic<uint64_t> credentialRefreshes{0};
  std::atomic<uint64_t> circuitOpened{0};
  std::atomic<bool> circuitOpen{false};
  // Whether the endpoint answered the last round of requests (throttling is an answer).
  std::atomic<bool> answering{true};
};

struct AwsClientOptions {
  RetryPolicy retry;
  CircuitBreaker::Options breaker;
  HttpClientOptions http;
  uint64_t seed = std::random_device{}();
  const TimeSource* time = &systemTime();  // the breaker's timing, the signatures' dates
};

// Signed requests to one AWS endpoint: each sent with fresh credentials, transient failures
// (throttling, 5xx, timeouts, refused connections) retried with full-jitter backoff up to
// `retry.maxAttempts` rounds, refused credentials fetched again, and a circuit breaker that
// answers Retry at once while the endpoint is down. What is still failing after that is a
// Retry error: the runner pauses consumption and tries the batch again later, so a transient
// failure never becomes a dead letter. Answers about the request itself (4xx) come back as
// responses for the caller to read. One thread at a time.
class AwsClient {
 public:
  AwsClient(AwsEndpoint endpoint, std::shared_ptr<CredentialsProvider> credentials, AwsClientOptions options = {});

  // The request's scheme and host are the endpoint's; its path is prefixed.
  HttpRequest request(std::string method, const std::string& path) const;
  // Responses in order: each 2xx or a final 4xx.
  Result<std::vector<HttpResponse>> sendAll(std::vector<HttpRequest> requests);
  Result<HttpResponse> send(HttpRequest request);

  const AwsEndpoint& endpoint() const { return endpoint_; }
  const AwsProbe& probe() const { return probe_; }
  // Liveness beats at each round of requests: a call that waits on the endpoint (each round
  // bounded by the request timeout) is not a wedged loop, however many rounds it takes.
  void beatWhileWaiting(metrics::Health* health) { health_.store(health); }

 private:
  AwsEndpoint endpoint_;
  std::shared_ptr<CredentialsProvider> credentials_;
  AwsClientOptions options_;
  HttpClient http_;
  CircuitBreaker breaker_;
  std::mt19937_64 rng_;
  AwsProbe probe_;
  std::atomic<metrics::Health*> health_{nullptr};
  // Added to the local clock when signing, once a server said the signing time was off.
  std::atomic<int64_t> clockOffsetMs_{0};
  bool correctClock(const HttpResponse& response);

  // One sendAll(): the answers so far, the requests still to send, and what was refused once.
  struct Exchange {
    explicit Exchange(size_t n);
    std::vector<HttpResponse> results;
    std::vector<size_t> pending;         // indexes of the requests still to send
    std::vector<std::string> uncertain;  // per request: an attempt without a definite answer
    std::string lastError;
    // Each kind of refusal is answered once per call: new credentials, a corrected clock. Again
    // after that, no retry can help: the caller hears why (never a refresh loop).
    bool refreshed = false;
    bool skewCorrected = false;
  };
  // One round of requests: which go again, and how the endpoint behaved.
  struct Round {
    std::vector<size_t> again;
    bool failed = false;    // no answer or a 5xx
    bool answered = false;  // an answer (throttling is one)
    bool refresh = false;   // new credentials before the next round
  };
  // The steps of sendAll: the pause and the breaker before an attempt; the pending requests
  // signed and sent (damaged answers made transport errors); each answer judged (kept, retried,
  // or a refusal no retry can help); the round's verdict for the breaker and the credentials.
  Status beforeAttempt(int attempt, const std::string& lastError);
  Result<std::vector<HttpResponse>> sendPending(std::vector<HttpRequest>& requests, const std::vector<size_t>& pending);
  Status judge(HttpResponse& response, const HttpRequest& request, size_t index, Exchange& x, Round& round);
  void noteRetry(const HttpResponse& response, std::string& uncertain, Round& round);
  void endRound(const Round& round, Exchange& x);
};

}  // namespace cdc::aws
