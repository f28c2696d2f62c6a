// The credential chain: environment, EKS Pod Identity, IRSA (STS AssumeRoleWithWebIdentity),
// shared files with profiles, IMDSv2 — the endpoints played by a local HTTP server — and the
// cache that refreshes before expiry.

#include <gtest/gtest.h>

#include "support/local_http_server.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "adapters/aws/credentials.h"
#include "core/time.h"

namespace cdc::aws {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

class CredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("cdc-credentials-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    // EKS Pod Identity agent: the token in the Authorization header, JSON credentials.
    http_.server.Get("/v1/credentials", [this](const httplib::Request& req, httplib::Response& res) {
      ++containerCalls_;
      if (req.get_header_value("Authorization") != podToken_) {
        res.status = 401;
        res.set_content(R"({"Message":"bad token"})", "application/json");
        return;
      }
      res.set_content(R"({"AccessKeyId":"ASIAPOD","SecretAccessKey":"pod-secret","Token":"pod-session-)" +
                          std::to_string(containerCalls_.load()) + R"(","AccountId":"123456789012","Expiration":")" +
                          expiration_ + R"("})",
                      "application/json");
    });
    // IMDSv2: a token first; requests without it are refused.
    http_.server.Put("/latest/api/token", [](const httplib::Request& req, httplib::Response& res) {
      if (req.get_header_value("X-aws-ec2-metadata-token-ttl-seconds").empty()) {
        res.status = 400;
        return;
      }
      res.set_content("imds-token-1", "text/plain");
    });
    http_.server.Get(R"(/latest/meta-data/iam/security-credentials/(.*))", [](const httplib::Request& req, httplib::Response& res) {
      if (req.get_header_value("X-aws-ec2-metadata-token") != "imds-token-1") {
        res.status = 401;
        return;
      }
      if (req.matches[1].str().empty()) {
        res.set_content("cdc-node-role\n", "text/plain");
      } else if (req.matches[1].str() == "cdc-node-role") {
        res.set_content(R"({"Code":"Success","Type":"AWS-HMAC","AccessKeyId":"ASIAIMDS","SecretAccessKey":"imds-secret","Token":"imds-session","Expiration":"2026-11-25T18:00:00Z"})",
                        "application/json");
      } else {
        res.status = 404;
      }
    });
    // STS AssumeRoleWithWebIdentity (form POST, XML answer).
    http_.server.Post("/", [this](const httplib::Request& req, httplib::Response& res) {
      stsBody_ = req.body;
      if (req.body.find("Action=AssumeRoleWithWebIdentity") == std::string::npos ||
          req.body.find("WebIdentityToken=eyJ.web.token") == std::string::npos) {
        res.status = 400;
        res.set_content("<ErrorResponse><Error><Code>InvalidIdentityToken</Code></Error></ErrorResponse>", "text/xml");
        return;
      }
      res.set_content(
          "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleWithWebIdentityResult>"
          "<Credentials><AccessKeyId>ASIAIRSA</AccessKeyId><SecretAccessKey>irsa-secret</SecretAccessKey>"
          "<SessionToken>irsa-session</SessionToken><Expiration>2026-11-25T17:00:00Z</Expiration></Credentials>"
          "</AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>",
          "text/xml");
    });
    http_.start();
    port_ = http_.port;
  }
  void TearDown() override { fs::remove_all(dir_); }

  Environment env() {
    Environment e;
    e.getenv = [this](const char* name) -> const char* {
      auto it = vars_.find(name);
      return it == vars_.end() ? nullptr : it->second.c_str();
    };
    e.now = [this] { return now_; };
    return e;
  }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  std::string file(const std::string& name, const std::string& content) {
    std::ofstream(dir_ / name) << content;
    return (dir_ / name).string();
  }

  fs::path dir_;
  test::LocalHttpServer http_;
  int port_ = 0;
  std::map<std::string, std::string> vars_{{"HOME", "/nonexistent"}};
  WallClock::time_point now_ = WallClock::time_point(std::chrono::microseconds(parseIsoTimestamp("2026-11-25T16:00:00Z")->micros));
  std::string podToken_ = "pod-token-1";
  std::string expiration_ = "2026-11-25T16:30:00Z";
  std::atomic<int> containerCalls_{0};
  std::string stsBody_;
};

TEST_F(CredentialsTest, EnvironmentKeysComeFirst) {
  vars_["AWS_ACCESS_KEY_ID"] = "AKIAENV";
  vars_["AWS_SECRET_ACCESS_KEY"] = "env-secret";
  vars_["AWS_SESSION_TOKEN"] = "env-session";
  vars_["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = url("/v1/credentials");
  CredentialsProvider p(defaultSource(env()), env());
  EXPECT_EQ(p.sourceName(), "environment");
  auto c = p.get();
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->accessKeyId, "AKIAENV");
  EXPECT_EQ(c->sessionToken, "env-session");
  vars_.erase("AWS_SECRET_ACCESS_KEY");
  CredentialsProvider half(defaultSource(env()), env());
  auto e = half.get();
  ASSERT_FALSE(e.has_value());
  EXPECT_EQ(e.error().kind, ErrorKind::Fatal);
  EXPECT_NE(e.error().message.find("AWS_SECRET_ACCESS_KEY"), std::string::npos);
}

TEST_F(CredentialsTest, PodIdentityReadsTheTokenFileOnEveryFetchAndRefreshesBeforeExpiry) {
  vars_["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = url("/v1/credentials");
  vars_["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = file("token", "pod-token-1\n");
  CredentialsProvider p(defaultSource(env()), env());
  auto c = p.get();
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->accessKeyId, "ASIAPOD");
  EXPECT_EQ(c->secretAccessKey, "pod-secret");
  EXPECT_EQ(c->sessionToken, "pod-session-1");
  // Cached while far from expiry (16:30): no second call.
  now_ += 20min;
  EXPECT_EQ(p.get()->sessionToken, "pod-session-1");
  EXPECT_EQ(containerCalls_.load(), 1);
  // Within five minutes of expiry the agent is asked again, with the rotated token.
  podToken_ = "pod-token-2";
  file("token", "pod-token-2");
  expiration_ = "2026-11-25T17:30:00Z";
  now_ += 6min;
  EXPECT_EQ(p.get()->sessionToken, "pod-session-2");
  EXPECT_EQ(containerCalls_.load(), 2);
  // A refused refresh while the current ones still hold: keep them.
  podToken_ = "pod-token-3";
  now_ += 58min;  // 17:24, inside the margin of 17:30
  EXPECT_EQ(p.get()->sessionToken, "pod-session-2");
  // Past their expiry there is nothing left to use: a transient failure.
  now_ += 10min;
  auto gone = p.get();
  ASSERT_FALSE(gone.has_value());
  EXPECT_EQ(gone.error().kind, ErrorKind::Retry);
  // AWS refusing them (invalidate) makes the next get fetch again.
  podToken_ = "pod-token-2";
  expiration_ = "2026-11-25T19:00:00Z";
  p.invalidate();
  EXPECT_TRUE(p.get().has_value());
}

TEST_F(CredentialsTest, IrsaAssumesTheRoleWithTheWebIdentityToken) {
  vars_["AWS_WEB_IDENTITY_TOKEN_FILE"] = file("web-token", "eyJ.web.token");
  vars_["AWS_ROLE_ARN"] = "arn:aws:iam::123456789012:role/inventory-service";
  vars_["AWS_ROLE_SESSION_NAME"] = "inventory-1";
  vars_["AWS_ENDPOINT_URL_STS"] = url("/");
  CredentialsProvider p(defaultSource(env()), env());
  EXPECT_EQ(p.sourceName(), "web identity (IRSA)");
  auto c = p.get();
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->accessKeyId, "ASIAIRSA");
  EXPECT_EQ(c->secretAccessKey, "irsa-secret");
  EXPECT_EQ(c->sessionToken, "irsa-session");
  EXPECT_NE(stsBody_.find("RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Finventory-service"), std::string::npos) << stsBody_;
  EXPECT_NE(stsBody_.find("RoleSessionName=inventory-1"), std::string::npos);
  file("web-token", "expired");
  p.invalidate();
  auto refused = p.get();
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().kind, ErrorKind::Retry);
  EXPECT_NE(refused.error().message.find("InvalidIdentityToken"), std::string::npos) << refused.error().message;
}

TEST_F(CredentialsTest, SharedFilesWithProfiles) {
  vars_["AWS_SHARED_CREDENTIALS_FILE"] = file("credentials",
                                              "[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = default-secret\n\n"
                                              "# comment\n[staging]\nAWS_ACCESS_KEY_ID=AKIASTAGING\naws_secret_access_key=staging-secret\n"
                                              "aws_session_token = staging-session\n");
  vars_["AWS_CONFIG_FILE"] = file("config", "[profile from-config]\naws_access_key_id = AKIACONFIG\naws_secret_access_key = c\n");
  vars_["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = url("");
  auto def = CredentialsProvider(defaultSource(env()), env()).get();
  ASSERT_TRUE(def.has_value());
  EXPECT_EQ(def->accessKeyId, "AKIADEFAULT");
  vars_["AWS_PROFILE"] = "staging";
  auto staging = CredentialsProvider(defaultSource(env()), env()).get();
  ASSERT_TRUE(staging.has_value());
  EXPECT_EQ(staging->accessKeyId, "AKIASTAGING");
  EXPECT_EQ(staging->sessionToken, "staging-session");
  vars_["AWS_PROFILE"] = "from-config";
  EXPECT_EQ(CredentialsProvider(defaultSource(env()), env()).get()->accessKeyId, "AKIACONFIG");
  // A profile found nowhere: the chain goes on to the instance metadata.
  vars_["AWS_PROFILE"] = "missing";
  CredentialsProvider imds(defaultSource(env()), env());
  EXPECT_EQ(imds.sourceName(), "instance metadata (IMDSv2)");
}

TEST_F(CredentialsTest, InstanceMetadataV2) {
  vars_["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = url("/");
  CredentialsProvider p(defaultSource(env()), env());
  auto c = p.get();
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->accessKeyId, "ASIAIMDS");
  EXPECT_EQ(c->sessionToken, "imds-session");
  vars_["AWS_EC2_METADATA_DISABLED"] = "true";
  auto none = CredentialsProvider(defaultSource(env()), env()).get();
  ASSERT_FALSE(none.has_value());
  EXPECT_NE(none.error().message.find("AWS_ACCESS_KEY_ID"), std::string::npos);
}

}  // namespace
}  // namespace cdc::aws
