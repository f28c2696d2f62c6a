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
  EXPECT_EQ(classify(answer(403, "<Error><Code>InvalidAccessKeyId</Code></Error>")), Outcome::RefreshCredentials);
  EXPECT_EQ(classify(answer(400, R"({"__type":"com.amazon.coral.service#UnrecognizedClientException"})")),
            Outcome::RefreshCredentials);
  // Not allowed: no retry or refresh helps.
  EXPECT_EQ(classify(answer(403, "<Error><Code>AccessDenied</Code></Error>")), Outcome::Denied);
  EXPECT_EQ(classify(answer(400, R"({"__type":"com.amazon.coral.service#AccessDeniedException","message":"User: x"})")),
            Outcome::Denied);
  EXPECT_EQ(classify(answer(403, "")), Outcome::Denied);
  // The signing time: S3's code, DynamoDB's expired signature.
  EXPECT_EQ(classify(answer(403, "<Error><Code>RequestTimeTooSkewed</Code></Error>")), Outcome::ClockSkew);
  EXPECT_EQ(
      classify(answer(
          400,
          R"x({"__type":"com.amazon.coral.service#InvalidSignatureException","message":"Signature expired: 20261207T000000Z is now earlier than 20261207T060000Z (20261207T061500Z - 15 min.)"})x")),
      Outcome::ClockSkew);
  EXPECT_EQ(
      classify(answer(
          400,
          R"({"__type":"com.amazon.coral.service#InvalidSignatureException","message":"The request signature we calculated does not match"})")),
      Outcome::RefreshCredentials);

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

TEST(AwsErrorsTest, TheServersTimeComesFromItsDateOrS3sServerTime) {
  auto skewed = answer(403, "<Error><Code>RequestTimeTooSkewed</Code><ServerTime>2026-12-07T06:30:05Z</ServerTime></Error>");
  ASSERT_TRUE(serverTime(skewed).has_value());
  EXPECT_EQ(std::chrono::system_clock::to_time_t(*serverTime(skewed)), 1796625005);
  skewed.headers.emplace_back("Date", "Mon, 07 Dec 2026 06:30:06 GMT");
  EXPECT_EQ(std::chrono::system_clock::to_time_t(*serverTime(skewed)), 1796625006);
  EXPECT_FALSE(serverTime(answer(403, "")).has_value());
}

TEST(AwsErrorsTest, ADeniedRequestNamesItsActionAndResource) {
  HttpRequest put;
  put.method = "POST";
  put.headers = {{"X-Amz-Target", "DynamoDB_20120810.PutItem"}};
  put.body = R"({"TableName":"inventory-realtime","Item":{}})";
  EXPECT_EQ(requestedAction(put, "dynamodb"), "dynamodb:PutItem on table inventory-realtime");
  auto s3 = [](std::string method, std::string host, std::string path, std::vector<std::pair<std::string, std::string>> query) {
    HttpRequest r;
    r.method = std::move(method);
    r.host = std::move(host);
    r.path = std::move(path);
    r.query = std::move(query);
    return requestedAction(r, "s3");
  };
  EXPECT_EQ(s3("PUT", "lake.s3.us-east-1.amazonaws.com", "/analytics/x.json", {}),
            "s3:PutObject on arn:aws:s3:::lake/analytics/x.json");
  EXPECT_EQ(s3("GET", "127.0.0.1:5000", "/lake/analytics/x.json", {}), "s3:GetObject on arn:aws:s3:::lake/analytics/x.json");
  EXPECT_EQ(s3("GET", "127.0.0.1:5000", "/lake", {{"list-type", "2"}, {"prefix", "dlq/"}}), "s3:ListBucket on arn:aws:s3:::lake");
  EXPECT_EQ(s3("DELETE", "127.0.0.1:5000", "/lake/dlq/a.json", {}), "s3:DeleteObject on arn:aws:s3:::lake/dlq/a.json");
  EXPECT_EQ(s3("DELETE", "127.0.0.1:5000", "/lake/big", {{"uploadId", "u1"}}),
            "s3:AbortMultipartUpload on arn:aws:s3:::lake/big");
  EXPECT_EQ(s3("PUT", "127.0.0.1:5000", "/lake", {}), "s3:CreateBucket on arn:aws:s3:::lake");
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
