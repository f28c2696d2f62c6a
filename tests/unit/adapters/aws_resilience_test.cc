// What an AWS answer means (retry, refresh credentials, final), backoff with full jitter, and
// the circuit breaker's states.

#include <gtest/gtest.h>

#include "adapters/aws/resilience.h"

namespace cdc::aws {
namespace {

using namespace std::chrono_literals;

HttpResponse answer(long status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

TEST(AwsErrorsTest, DynamoDbAndS3ErrorsAreClassified) {
  auto throttled = answer(
      400, R"({"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"Rate exceeded"})");
  EXPECT_EQ(errorCode(throttled), "ProvisionedThroughputExceededException");
  EXPECT_EQ(classify(throttled), Outcome::Retry);
  EXPECT_EQ(describe(throttled), "400 ProvisionedThroughputExceededException: Rate exceeded");
  EXPECT_EQ(classify(answer(400, R"({"__type":"com.amazon.coral.availability#ThrottlingException"})")), Outcome::Retry);
  EXPECT_EQ(classify(answer(500, R"({"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError"})")), Outcome::Retry);
  EXPECT_EQ(classify(answer(503, "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>")),
            Outcome::Retry);
  EXPECT_EQ(classify(answer(429, "")), Outcome::Retry);

  HttpResponse refused;
  refused.transportError = "Couldn't connect to server";
  EXPECT_EQ(classify(refused), Outcome::Retry);
  EXPECT_EQ(describe(refused), "connection failed: Couldn't connect to server");

  EXPECT_EQ(classify(answer(400, R"({"__type":"com.amazon.coral.service#ExpiredTokenException","message":"expired"})")),
            Outcome::RefreshCredentials);
  EXPECT_EQ(classify(answer(403, "<Error><Code>AccessDenied</Code></Error>")), Outcome::RefreshCredentials);
  EXPECT_EQ(classify(answer(403, "<Error><Code>RequestTimeTooSkewed</Code></Error>")), Outcome::RefreshCredentials);

  auto tooBig = answer(
      400,
      R"({"__type":"com.amazon.coral.validate#ValidationException","message":"Item size has exceeded the maximum allowed size"})");
  EXPECT_EQ(classify(tooBig), Outcome::Final);
  EXPECT_EQ(errorCode(tooBig), "ValidationException");
  EXPECT_EQ(classify(answer(400, R"({"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException"})")),
            Outcome::Final);
  EXPECT_EQ(classify(answer(404, "<Error><Code>NoSuchKey</Code></Error>")), Outcome::Final);
  EXPECT_EQ(classify(answer(200, "{}")), Outcome::Ok);
}

TEST(AwsErrorsTest, FullJitterStaysUnderTheGrowingCeiling) {
  RetryPolicy p{.maxAttempts = 10, .base = 50ms, .cap = 2s};
  std::mt19937_64 rng(7);
  for (int attempt = 0; attempt < 10; ++attempt) {
    auto ceiling = std::min<std::chrono::milliseconds>(p.cap, p.base * (1 << attempt));
    std::chrono::milliseconds most{0};
    for (int i = 0; i < 2000; ++i) {
      auto d = fullJitter(p, attempt, rng);
      ASSERT_GE(d.count(), 0);
      ASSERT_LE(d, ceiling);
      most = std::max(most, d);
    }
    EXPECT_GT(most, ceiling * 3 / 4) << "the waits spread over the whole range, attempt " << attempt;
  }
}

TEST(CircuitBreakerTest, OpensAfterRepeatedFailuresProbesAndCloses) {
  CircuitBreaker b("dynamodb http://127.0.0.1:1", {.threshold = 3, .openFor = 100ms, .maxOpenFor = 400ms});
  auto t = Clock::time_point{} + 1h;
  std::chrono::milliseconds wait{0};
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(b.allow(t, wait));
    b.onFailure(t, "connection refused");
  }
  EXPECT_EQ(b.state(), CircuitBreaker::State::Closed);
  b.onFailure(t, "connection refused");
  EXPECT_EQ(b.state(), CircuitBreaker::State::Open);
  EXPECT_FALSE(b.allow(t + 50ms, wait));
  EXPECT_EQ(wait, 50ms);
  // After openFor one probe goes; it fails: open twice as long.
  EXPECT_TRUE(b.allow(t + 100ms, wait));
  EXPECT_EQ(b.state(), CircuitBreaker::State::HalfOpen);
  b.onFailure(t + 100ms, "connection refused");
  EXPECT_FALSE(b.allow(t + 250ms, wait));
  EXPECT_TRUE(b.allow(t + 300ms, wait));
  b.onFailure(t + 300ms, "still down");
  b.onFailure(t + 300ms, "");  // failures while open do not extend it further
  EXPECT_TRUE(b.allow(t + 700ms, wait));
  b.onSuccess();
  EXPECT_EQ(b.state(), CircuitBreaker::State::Closed);
  EXPECT_EQ(b.opened(), 3u);
  // Closed again: it takes `threshold` new failures to open.
  b.onFailure(t + 1s, "x");
  EXPECT_EQ(b.state(), CircuitBreaker::State::Closed);
}

}  // namespace
}  // namespace cdc::aws
