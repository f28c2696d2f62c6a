// The AWS client against a local endpoint: requests signed for the service and region,
// throttling and 5xx retried, refused credentials fetched again, final answers returned, and
// the circuit breaker failing fast while the endpoint is down.

#include <gtest/gtest.h>

#include <atomic>
#include <ctime>
#include <mutex>

#include <zlib.h>

#include "adapters/aws/aws_client.h"
#include "support/local_http_server.h"

namespace cdc::aws {
namespace {

using namespace std::chrono_literals;

// Hands out numbered session credentials and counts the fetches.
class CountingSource final : public CredentialsSource {
 public:
  std::string name() const override { return "counting"; }
  Result<TimedCredentials> fetch() override {
    ++fetches;
    return TimedCredentials{{"AKIDTEST", "secret", "session-" + std::to_string(fetches.load())}, std::nullopt};
  }
  std::atomic<int> fetches{0};
};

class AwsClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    http_.server.Post("/", [this](const httplib::Request& req, httplib::Response& res) {
      std::string token = req.get_header_value("X-Amz-Security-Token");
      {
        // sendAll's requests arrive on several server threads at once.
        std::lock_guard lock(lastMutex_);
        lastAuthorization_ = req.get_header_value("Authorization");
        lastToken_ = token;
      }
      int n = ++calls_;
      std::string target = req.get_header_value("X-Amz-Target");
      if (target.ends_with("Throttled") && n <= 2) {
        res.status = 400;
        res.set_content(R"({"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"slow down"})",
                        "application/x-amz-json-1.0");
      } else if (target.ends_with("Flaky") && n <= 1) {
        res.status = 503;
      } else if (target.ends_with("Invalid")) {
        res.status = 400;
        res.set_content(
            R"({"__type":"com.amazon.coral.validate#ValidationException","message":"Item size has exceeded the maximum allowed size"})",
            "application/x-amz-json-1.0");
      } else if (target.ends_with("Damaged")) {
        std::string body = R"({"ok":)" + std::to_string(n) + "}";
        // The checksum of the body sent; the first answer arrives with a byte changed.
        res.set_header("x-amz-crc32",
                       std::to_string(::crc32(0, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()))));
        if (n == 1) body[6] = '9';
        res.set_content(body, "application/x-amz-json-1.0");
      } else if (target.ends_with("Denied")) {
        res.status = 400;
        res.set_content(
            R"({"__type":"com.amazon.coral.service#AccessDeniedException","message":"User: arn:aws:iam::123456789012:user/search is not authorized to perform: dynamodb:PutItem on resource: arn:aws:dynamodb:eu-west-1:123456789012:table/inventory-realtime"})",
            "application/x-amz-json-1.0");
      } else if (target.ends_with("AlwaysExpired")) {
        res.status = 400;
        res.set_content(R"({"__type":"com.amazon.coral.service#UnrecognizedClientException","message":"invalid token"})",
                        "application/x-amz-json-1.0");
      } else if (target.ends_with("Skewed") && !signedAt(req.get_header_value("X-Amz-Date"), serverTime_)) {
        res.status = 400;
        res.set_header("Date", serverDate_);
        res.set_content(
            R"({"__type":"com.amazon.coral.service#InvalidSignatureException","message":"Signature expired: the request is too old"})",
            "application/x-amz-json-1.0");
      } else if (target.ends_with("Expired") && token == "session-1") {
        res.status = 400;
        res.set_content(
            R"({"__type":"com.amazon.coral.service#ExpiredTokenException","message":"The security token included in the request is expired"})",
            "application/x-amz-json-1.0");
      } else {
        res.set_content(R"({"ok":)" + std::to_string(n) + "}", "application/x-amz-json-1.0");
      }
    });
    http_.start();
    source_ = new CountingSource;
    credentials_ = std::make_shared<CredentialsProvider>(std::unique_ptr<CredentialsSource>(source_));
  }

  AwsClient client(const std::string& url) {
    auto endpoint = AwsEndpoint::resolve("dynamodb", "eu-west-1", url, "AWS_ENDPOINT_URL");
    EXPECT_TRUE(endpoint.has_value());
    AwsClientOptions o;
    o.retry = {.maxAttempts = 4, .base = 1ms, .cap = 5ms};
    o.breaker = {.threshold = 2, .openFor = 60s, .maxOpenFor = 60s};
    o.http.connectTimeout = 500ms;
    o.seed = 1;
    return AwsClient(*endpoint, credentials_, o);
  }
  HttpRequest call(AwsClient& c, const std::string& operation) {
    HttpRequest r = c.request("POST", "/");
    r.headers = {{"X-Amz-Target", "DynamoDB_20120810." + operation}, {"Content-Type", "application/x-amz-json-1.0"}};
    r.body = "{}";
    return r;
  }

  // Whether an X-Amz-Date is within 5 minutes of `at`.
  static bool signedAt(const std::string& amzDate, std::chrono::system_clock::time_point at) {
    std::tm tm{};
    if (!::strptime(amzDate.c_str(), "%Y%m%dT%H%M%SZ", &tm)) return false;
    auto signedTime = std::chrono::system_clock::from_time_t(::timegm(&tm));
    return signedTime > at - 5min && signedTime < at + 5min;
  }

  test::LocalHttpServer http_;
  // The server's clock for "Skewed": an hour ahead of this machine's, or never matched.
  std::chrono::system_clock::time_point serverTime_ = std::chrono::system_clock::now() + 1h;
  std::string serverDate_ = httpDate(serverTime_);
  static std::string httpDate(std::chrono::system_clock::time_point at) {
    std::time_t t = std::chrono::system_clock::to_time_t(at);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return buf;
  }
  std::atomic<int> calls_{0};
  std::mutex lastMutex_;
  std::string lastAuthorization_, lastToken_;  // the last request's, under lastMutex_
  CountingSource* source_ = nullptr;
  std::shared_ptr<CredentialsProvider> credentials_;
};

TEST(AwsEndpointTest, ResolvesOverridesAndRegionalDefaults) {
  auto aws = AwsEndpoint::resolve("dynamodb", "eu-west-1", "", "AWS_ENDPOINT_URL");
  ASSERT_TRUE(aws.has_value());
  EXPECT_EQ(aws->describe(), "dynamodb https://dynamodb.eu-west-1.amazonaws.com");
  auto local = AwsEndpoint::resolve("s3", "us-east-1", "http://127.0.0.1:5000/", "AWS_ENDPOINT_URL_S3");
  ASSERT_TRUE(local.has_value());
  EXPECT_EQ(local->scheme, "http");
  EXPECT_EQ(local->host, "127.0.0.1:5000");
  auto bad = AwsEndpoint::resolve("s3", "us-east-1", "localhost:5000", "AWS_ENDPOINT_URL_S3");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message.find("AWS_ENDPOINT_URL_S3"), std::string::npos);
  auto noRegion = AwsEndpoint::resolve("dynamodb", "", "", "AWS_ENDPOINT_URL");
  ASSERT_FALSE(noRegion.has_value());
  EXPECT_NE(noRegion.error().message.find("AWS_REGION"), std::string::npos);
}

TEST_F(AwsClientTest, SignsForTheServiceAndRegion) {
  auto c = client(http_.url());
  auto r = c.send(call(c, "GetItem"));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(lastAuthorization_.starts_with("AWS4-HMAC-SHA256 Credential=AKIDTEST/")) << lastAuthorization_;
  EXPECT_NE(lastAuthorization_.find("/eu-west-1/dynamodb/aws4_request"), std::string::npos) << lastAuthorization_;
  EXPECT_NE(lastAuthorization_.find("x-amz-security-token"), std::string::npos);
  EXPECT_EQ(lastToken_, "session-1");
}

TEST_F(AwsClientTest, ThrottlingAndServerErrorsAreRetried) {
  auto c = client(http_.url());
  auto r = c.send(call(c, "Throttled"));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(calls_.load(), 3);
  EXPECT_EQ(c.probe().throttled.load(), 2u);
  EXPECT_EQ(c.probe().retries.load(), 2u);
  calls_ = 0;
  r = c.send(call(c, "Flaky"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(c.probe().serverErrors.load(), 1u);
}

TEST_F(AwsClientTest, AnswersAboutTheRequestComeBackAsTheyAre) {
  auto c = client(http_.url());
  auto r = c.send(call(c, "Invalid"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(errorCode(*r), "ValidationException");
  EXPECT_EQ(calls_.load(), 1) << "not retried";
}

TEST_F(AwsClientTest, ExpiredCredentialsAreFetchedAgain) {
  auto c = client(http_.url());
  auto r = c.send(call(c, "Expired"));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(source_->fetches.load(), 2);
  EXPECT_EQ(lastToken_, "session-2");
  EXPECT_EQ(c.probe().credentialRefreshes.load(), 1u);
}

TEST_F(AwsClientTest, RefusedTwiceAfterARefreshTheCredentialsAreAFatalErrorNotALoop) {
  auto c = client(http_.url());
  auto r = c.send(call(c, "AlwaysExpired"));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().kind, ErrorKind::Fatal);
  EXPECT_NE(r.error().message.find("UnrecognizedClientException"), std::string::npos) << r.error().message;
  EXPECT_EQ(calls_.load(), 2) << "one refresh, one retry";
  EXPECT_EQ(source_->fetches.load(), 2);
}

TEST_F(AwsClientTest, AccessDeniedIsNotRetriedAndNamesTheActionAndResource) {
  auto c = client(http_.url());
  HttpRequest put = call(c, "Denied");
  put.body = R"({"TableName":"inventory-realtime"})";
  auto r = c.send(put);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().kind, ErrorKind::Fatal);
  EXPECT_EQ(calls_.load(), 1) << "no retry, no credential refresh";
  EXPECT_EQ(source_->fetches.load(), 1);
  EXPECT_NE(r.error().message.find("AccessDenied"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("dynamodb:Denied on table inventory-realtime"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("is not authorized to perform"), std::string::npos) << r.error().message;
}

TEST_F(AwsClientTest, ASkewedClockIsCorrectedFromTheServersDateOnce) {
  auto c = client(http_.url());
  auto r = c.send(call(c, "Skewed"));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(calls_.load(), 2) << "refused once, then signed with the server's time";
  // The next calls are signed with the corrected clock at once.
  ASSERT_TRUE(c.send(call(c, "Skewed")).has_value());
  EXPECT_EQ(calls_.load(), 3);
  // A server whose clock moves away again: corrected once more per call, then a clear failure.
  serverTime_ = std::chrono::system_clock::now() - 3h;  // the Date header keeps saying +1h
  auto off = c.send(call(c, "Skewed"));
  ASSERT_FALSE(off.has_value());
  EXPECT_EQ(off.error().kind, ErrorKind::Fatal);
  EXPECT_NE(off.error().message.find("clock"), std::string::npos) << off.error().message;
  EXPECT_EQ(calls_.load(), 5);
}

TEST_F(AwsClientTest, AnAnswerThatDoesNotMatchItsCrc32IsRetriedAndCounted) {
  auto c = client(http_.url());
  auto r = c.send(call(c, "Damaged"));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->body, R"({"ok":2})");
  EXPECT_EQ(calls_.load(), 2);
  EXPECT_EQ(c.probe().checksumFailures.load(), 1u);
  // The damaged attempt reached the server: the answer says an earlier one may have been applied.
  EXPECT_NE(r->uncertainBefore.find("x-amz-crc32"), std::string::npos) << r->uncertainBefore;
}

TEST_F(AwsClientTest, ADownEndpointOpensTheCircuitAndFailsFast) {
  auto c = client("http://127.0.0.1:1");
  auto r = c.send(call(c, "GetItem"));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().kind, ErrorKind::Retry) << "never a dead letter";
  EXPECT_NE(r.error().message.find("circuit open"), std::string::npos) << r.error().message;
  EXPECT_TRUE(c.probe().circuitOpen.load());
  EXPECT_EQ(c.probe().transportErrors.load(), 2u) << "two refused attempts opened it; no third request went out";
  auto again = c.send(call(c, "GetItem"));
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(c.probe().transportErrors.load(), 2u) << "while open, nothing is sent";
}

TEST_F(AwsClientTest, SendAllRetriesOnlyWhatFailed) {
  auto c = client(http_.url());
  std::vector<HttpRequest> batch{call(c, "GetItem"), call(c, "Throttled"), call(c, "Invalid")};
  auto r = c.sendAll(batch);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].status, 200);
  EXPECT_EQ((*r)[1].status, 200);
  EXPECT_EQ((*r)[2].status, 400);
}

}  // namespace
}  // namespace cdc::aws
