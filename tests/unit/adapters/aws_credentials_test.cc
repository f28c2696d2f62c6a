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

#include "adapters/aws/credential_parts.h"
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
    http_.server.Get(R"(/latest/meta-data/iam/security-credentials/(.*))", [](const httplib::Request& req,
                                                                              httplib::Response& res) {
      if (req.get_header_value("X-aws-ec2-metadata-token") != "imds-token-1") {
        res.status = 401;
        return;
      }
      if (req.matches[1].str().empty()) {
        res.set_content("cdc-node-role\n", "text/plain");
      } else if (req.matches[1].str() == "cdc-node-role") {
        res.set_content(
            R"({"Code":"Success","Type":"AWS-HMAC","AccessKeyId":"ASIAIMDS","SecretAccessKey":"imds-secret","Token":"imds-session","Expiration":"2026-11-25T18:00:00Z"})",
            "application/json");
      } else {
        res.status = 404;
      }
    });
    // STS AssumeRoleWithWebIdentity (form POST, XML answer).
    http_.server.Post("/", [this](const httplib::Request& req, httplib::Response& res) {
      stsBody_ = req.body;
      if (req.body.find("Action=AssumeRole&") != std::string::npos) {
        // AssumeRole: signed with the source credentials; refuses a role it does not know.
        stsAuthorization_ = req.get_header_value("Authorization");
        if (req.body.find("RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fdeployer") == std::string::npos) {
          res.status = 403;
          res.set_content(
              "<ErrorResponse><Error><Code>AccessDenied</Code><Message>not authorized to "
              "assume</Message></Error></ErrorResponse>",
              "text/xml");
          return;
        }
        res.set_content(
            "<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>ASIAROLE</AccessKeyId>"
            "<SecretAccessKey>role-secret</SecretAccessKey><SessionToken>role-session</SessionToken>"
            "<Expiration>2026-11-25T17:00:00Z</Expiration></Credentials></AssumeRoleResult></AssumeRoleResponse>",
            "text/xml");
        return;
      }
      if (req.body.find("Action=AssumeRoleWithWebIdentity") == std::string::npos ||
          req.body.find("WebIdentityToken=eyJ.web.token") == std::string::npos) {
        res.status = 400;
        res.set_content("<ErrorResponse><Error><Code>InvalidIdentityToken</Code></Error></ErrorResponse>", "text/xml");
        return;
      }
      res.set_content(
          "<AssumeRoleWithWebIdentityResponse "
          "xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleWithWebIdentityResult>"
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
    e.time = &time_;
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
  ManualTime time_{*parseIsoTimestamp("2026-11-25T16:00:00Z")};
  std::string podToken_ = "pod-token-1";
  std::string expiration_ = "2026-11-25T16:30:00Z";
  std::atomic<int> containerCalls_{0};
  std::string stsAuthorization_;
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
  time_.advance(20min);
  EXPECT_EQ(p.get()->sessionToken, "pod-session-1");
  EXPECT_EQ(containerCalls_.load(), 1);
  // Within five minutes of expiry the agent is asked again, with the rotated token.
  podToken_ = "pod-token-2";
  file("token", "pod-token-2");
  expiration_ = "2026-11-25T17:30:00Z";
  time_.advance(6min);
  EXPECT_EQ(p.get()->sessionToken, "pod-session-2");
  EXPECT_EQ(containerCalls_.load(), 2);
  // A refused refresh while the current ones still hold: keep them.
  podToken_ = "pod-token-3";
  time_.advance(58min);  // 17:24, inside the margin of 17:30
  EXPECT_EQ(p.get()->sessionToken, "pod-session-2");
  // Past their expiry there is nothing left to use: a transient failure.
  time_.advance(10min);
  auto gone = p.get();
  ASSERT_FALSE(gone.has_value());
  EXPECT_EQ(gone.error().kind, ErrorKind::Retry);
  // AWS refusing them (invalidate) makes the next get fetch again.
  podToken_ = "pod-token-2";
  expiration_ = "2026-11-25T19:00:00Z";
  p.invalidate();
  EXPECT_TRUE(p.get().has_value());
}

// The Pod Identity token goes only where the AWS SDKs send it: https, loopback, or the agents'
// link-local addresses. Anything else is refused before any request.
TEST_F(CredentialsTest, TheContainerTokenGoesOnlyToHttpsLoopbackOrTheAgent) {
  for (auto [url, trusted] : std::vector<std::pair<std::string, bool>>{
           {"https://creds.example.com/v1", true},
           {"http://169.254.170.23/v1/credentials", true},   // EKS Pod Identity agent
           {"http://169.254.170.2/v2/credentials/x", true},  // ECS agent
           {"http://[fd00:ec2::23]/v1/credentials", true},
           {"http://[fd00:0ec2:0000::0023]:80/v1", true},
           {"http://127.0.0.1:8080/creds", true},
           {"http://127.9.9.9/creds", true},
           {"http://[::1]:1234/creds", true},
           {"http://localhost:9/creds", true},
           {"http://169.254.169.254/latest", false},  // instance metadata: not the container agent
           {"http://169.254.170.24/v1", false},
           {"http://10.0.0.7/creds", false},
           {"http://creds.example.com/v1", false},
           {"http://localhost.example.com/v1", false},
           {"http://[fd00:ec2::24]/v1", false},
           {"ftp://127.0.0.1/creds", false},
       }) {
    SCOPED_TRACE(url);
    auto request = parts::requestFor(url);
    ASSERT_TRUE(request.has_value());
    EXPECT_EQ(parts::trustedContainerEndpoint(*request), trusted);
  }
  // Refused by name, fatal (no retry), and the token never leaves.
  vars_["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "http://127.0.0.2.example.net:" + std::to_string(port_) + "/v1/credentials";
  vars_["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "pod-token-1";
  CredentialsProvider p(defaultSource(env()), env());
  auto c = p.get();
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().kind, ErrorKind::Fatal);
  EXPECT_NE(c.error().message.find("AWS_CONTAINER_CREDENTIALS_FULL_URI"), std::string::npos) << c.error().message;
  EXPECT_EQ(containerCalls_.load(), 0);
}

// The shared files read as the AWS SDKs read them: their cross-SDK profile-parser cases
// (comments, continuations, sub-properties, repeated sections, default, invalid names), each a
// config file, a credentials file, and the profiles (credentials over config) or an error.
TEST(ProfileFileTest, TheSharedFilesAreReadAsTheSdksReadThem) {
  using P = parts::Profiles;
  struct Case {
    const char* name;
    std::string config, credentials;
    P profiles;
    std::string error;  // non-empty: parsing fails with this in its message
  };
  const std::vector<Case> cases = {
      {"empty files", "", "", {}, ""},
      {"an empty profile", "[profile foo]", "", {{"foo", {}}}, ""},
      {"an unclosed section", "[profile foo", "", {}, "Profile definition must end with ']'"},
      {"text after a section", "[profile foo] bar", "", {}, "Profile definition must end with ']'"},
      {"names are trimmed", "[profile \tfoo \t]", "", {{"foo", {}}}, ""},
      {"a tab after profile", "[profile\tfoo]", "", {{"foo", {}}}, ""},
      {"whitespace inside the brackets",
       "[   profile foo    ]\nname = value\n[profile bar]",
       "",
       {{"foo", {{"name", "value"}}}, {"bar", {}}},
       ""},
      {"a property outside a profile", "name = value", "", {}, "Expected a profile definition"},
      {"a property", "[profile foo]\nname = value", "", {{"foo", {{"name", "value"}}}}, ""},
      {"CRLF", "[profile foo]\r\nname = value\r\n", "", {{"foo", {{"name", "value"}}}}, ""},
      {"= in a value", "[profile foo]\nname = val=ue", "", {{"foo", {{"name", "val=ue"}}}}, ""},
      {"UTF-8 in a value", "[profile foo]\nname = \xf0\x9f\x98\x82", "", {{"foo", {{"name", "\xf0\x9f\x98\x82"}}}}, ""},
      {"keys and values trimmed", "[profile foo]\nname \t=  \tvalue \t", "", {{"foo", {{"name", "value"}}}}, ""},
      {"an empty value", "[profile foo]\nname =", "", {{"foo", {{"name", ""}}}}, ""},
      {"an empty key", "[profile foo]\n= value", "", {}, "Property did not have a name"},
      {"no = sign", "[profile foo]\nkey : value", "", {}, "Expected an '=' sign defining a property"},
      {"blank lines",
       "\t \n[profile foo]\n\t\n \nname = value\n\t \n[profile bar]\n \t",
       "",
       {{"foo", {{"name", "value"}}}, {"bar", {}}},
       ""},
      {"# comments",
       "# Comment\n[profile foo] # Comment\nname = value # Comment with # sign",
       "",
       {{"foo", {{"name", "value"}}}},
       ""},
      {"; comments",
       "; Comment\n[profile foo] ; Comment\nname = value ; Comment with ; sign",
       "",
       {{"foo", {{"name", "value"}}}},
       ""},
      {"empty comments", ";\n[profile foo];\nname = value ;\n", "", {{"foo", {{"name", "value"}}}}, ""},
      {"comments against a section", "[profile foo]; semicolon\n[profile bar]# pound", "", {{"foo", {}}, {"bar", {}}}, ""},
      {"comment signs against a value are the value's",
       "[profile foo]\nname = value; Adjacent semicolons\nname2 = value# Adjacent pound signs",
       "",
       {{"foo", {{"name", "value; Adjacent semicolons"}, {"name2", "value# Adjacent pound signs"}}}},
       ""},
      {"a continuation", "[profile foo]\nname = value\n -continued", "", {{"foo", {{"name", "value\n-continued"}}}}, ""},
      {"continuations",
       "[profile foo]\nname = value\n -continued\n -and-continued",
       "",
       {{"foo", {{"name", "value\n-continued\n-and-continued"}}}},
       ""},
      {"continuations trimmed",
       "[profile foo]\nname = value\n \t -continued \t ",
       "",
       {{"foo", {{"name", "value\n-continued"}}}},
       ""},
      {"continuations keep # and ;",
       "[profile foo]\nname = value\n -continued # Comment\n -more ; Comment",
       "",
       {{"foo", {{"name", "value\n-continued # Comment\n-more ; Comment"}}}},
       ""},
      {"a continuation outside a profile", " -continued", "", {}, "Expected a profile definition"},
      {"a continuation without a property", "[profile foo]\n -continued", "", {}, "Expected a property definition"},
      {"a section ends continuations",
       "[profile foo]\nname = value\n[profile foo]\n -continued",
       "",
       {},
       "Expected a property definition"},
      {"repeated sections merge",
       "[profile foo]\nname = value\n[profile foo]\nname2 = value2",
       "",
       {{"foo", {{"name", "value"}, {"name2", "value2"}}}},
       ""},
      {"the last value wins", "[profile foo]\nname = value\nname = value2", "", {{"foo", {{"name", "value2"}}}}, ""},
      {"the last value wins across sections",
       "[profile foo]\nname = value\n[profile foo]\nname = value2",
       "",
       {{"foo", {{"name", "value2"}}}},
       ""},
      {"[profile default] wins, first",
       "[profile default]\nname = value\n[default]\nname2 = value2",
       "",
       {{"default", {{"name", "value"}}}},
       ""},
      {"[profile default] wins, last",
       "[default]\nname2 = value2\n[profile default]\nname = value",
       "",
       {{"default", {{"name", "value"}}}},
       ""},
      {"[default] alone", "[default]\nregion = eu-west-1", "", {{"default", {{"region", "eu-west-1"}}}}, ""},
      {"mixed defaults merge with credentials",
       "[profile default]\nname = value\n[default]\nname2 = value2\n[profile default]\nname3 = value3",
       "[default]\nsecret=foo",
       {{"default", {{"name", "value"}, {"name3", "value3"}, {"secret", "foo"}}}},
       ""},
      {"invalid profile names", "[profile in valid]\nname = value", "[in valid 2]\nname2 = value2", {}, ""},
      {"an invalid property name", "[profile foo]\nin valid = value", "", {{"foo", {}}}, ""},
      {"every valid name character",
       "[profile ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_]\n"
       "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_ = value",
       "",
       {{"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
         {{"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", "value"}}}},
       ""},
      {"sub-properties", "[profile foo]\ns3 =\n name = value", "", {{"foo", {{"s3", "\nname = value"}}}}, ""},
      {"a sub-property without =", "[profile foo]\ns3 =\n invalid", "", {}, "Expected an '=' sign defining a sub-property"},
      {"an empty sub-property", "[profile foo]\ns3 =\n name =", "", {{"foo", {{"s3", "\nname ="}}}}, ""},
      {"a sub-property without a name", "[profile foo]\ns3 =\n = value", "", {}, "Sub-property did not have a name"},
      {"a sub-property with an invalid name",
       "[profile foo]\ns3 =\n in valid = value",
       "",
       {{"foo", {{"s3", "\nin valid = value"}}}},
       ""},
      {"blank lines between sub-properties",
       "[profile foo]\ns3 =\n name = value\n\t \n name2 = value2",
       "",
       {{"foo", {{"s3", "\nname = value\nname2 = value2"}}}},
       ""},
      {"a profile in both files",
       "[profile foo]\nname = value",
       "[foo]\nname2 = value2",
       {{"foo", {{"name", "value"}, {"name2", "value2"}}}},
       ""},
      {"the credentials file wins", "[profile foo]\nname = value", "[foo]\nname = value2", {{"foo", {{"name", "value2"}}}}, ""},
      {"config sections without prefix", "[foo]\nname = value", "", {}, ""},
      {"credentials sections with prefix", "", "[profile foo]\nname = value", {}, ""},
      {"a sneaky name", "[profilefoo]\nname = value\n[profile bar]", "", {{"bar", {}}}, ""},
      {"an invalid section's properties",
       "[profile foo]\nname = value\n[profile in valid]\nx = 1\n[profile bar]\nname = value2",
       "",
       {{"foo", {{"name", "value"}}}, {"bar", {{"name", "value2"}}}},
       ""},
      {"credentials whitespace in brackets", "", "[   foo    ]\nname = value\n[profile bar]", {{"foo", {{"name", "value"}}}}, ""},
      {"other section kinds",
       "[sso-session corp]\nsso_region = us-east-1\n[profile foo]\nregion = eu-west-1",
       "",
       {{"foo", {{"region", "eu-west-1"}}}},
       ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto config = parts::parseProfiles(c.config, true);
    auto credentials = parts::parseProfiles(c.credentials, false);
    if (!c.error.empty()) {
      const auto& failed = !config ? config : credentials;
      ASSERT_FALSE(failed.has_value());
      EXPECT_NE(failed.error().message.find(c.error), std::string::npos) << failed.error().message;
      EXPECT_TRUE(failed.error().message.starts_with("line ")) << failed.error().message;
      continue;
    }
    ASSERT_TRUE(config.has_value()) << config.error().message;
    ASSERT_TRUE(credentials.has_value()) << credentials.error().message;
    P merged = *config;
    for (const auto& [name, properties] : *credentials) {
      for (const auto& [k, v] : properties) merged[name][k] = v;
      merged[name];  // a section without properties still exists
    }
    EXPECT_EQ(merged, c.profiles);
  }
}

// A malformed shared file stops the profile source with the file and the line.
TEST_F(CredentialsTest, AMalformedSharedFileIsNamedWithItsLine) {
  vars_["AWS_CONFIG_FILE"] = file("config", "[profile dev]\nregion = eu-west-1\n[profile ops\nregion = us-east-1\n");
  vars_["AWS_SHARED_CREDENTIALS_FILE"] = file("credentials", "");
  vars_["AWS_PROFILE"] = "dev";
  CredentialsProvider p(defaultSource(env()), env());
  auto c = p.get();
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().kind, ErrorKind::Fatal);
  EXPECT_NE(c.error().message.find("config: line 3: Profile definition must end with ']'"), std::string::npos)
      << c.error().message;
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
  vars_["AWS_SHARED_CREDENTIALS_FILE"] =
      file("credentials",
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
  // A profile named but found nowhere is an error that names it (not the instance metadata's).
  vars_["AWS_PROFILE"] = "missing";
  auto missing = CredentialsProvider(defaultSource(env()), env()).get();
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().kind, ErrorKind::Fatal);
  EXPECT_EQ(missing.error().message,
            "profile missing: not in " + vars_["AWS_SHARED_CREDENTIALS_FILE"] + " or " + vars_["AWS_CONFIG_FILE"]);
}

TEST_F(CredentialsTest, AProfileGivesItsRegion) {
  vars_["AWS_CONFIG_FILE"] = file("config", "[default]\nregion = us-west-2\n\n[profile eu]\nregion = eu-west-3\n");
  EXPECT_EQ(profileRegion(env()), "us-west-2");
  vars_["AWS_PROFILE"] = "eu";
  EXPECT_EQ(profileRegion(env()), "eu-west-3");
  vars_["AWS_PROFILE"] = "nowhere";
  EXPECT_EQ(profileRegion(env()), "");
}

TEST_F(CredentialsTest, CredentialProcessRunsTheCommandAndChecksWhatItPrints) {
  std::string good =
      file("creds.sh",
           "#!/bin/sh\necho '{\"Version\": 1, \"AccessKeyId\": \"ASIAPROC\", \"SecretAccessKey\": \"proc-secret\", "
           "\"SessionToken\": \"proc-session\", \"Expiration\": \"2026-11-25T17:00:00Z\"}'\n");
  std::string broken = file("broken.sh", "#!/bin/sh\necho 'token expired' >&2\nexit 3\n");
  std::string garbage = file("garbage.sh", "#!/bin/sh\necho 'AccessKeyId=x'\n");
  fs::permissions(dir_, fs::perms::owner_all);
  for (const auto& f : {good, broken, garbage}) fs::permissions(f, fs::perms::owner_all);
  vars_["AWS_CONFIG_FILE"] = file("config", "[profile vault]\ncredential_process = " + good +
                                                " --role x\n"
                                                "[profile broken]\ncredential_process = " +
                                                broken +
                                                "\n"
                                                "[profile garbage]\ncredential_process = " +
                                                garbage + "\n");
  vars_["AWS_PROFILE"] = "vault";
  CredentialsProvider p(defaultSource(env()), env());
  auto c = p.get();
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->accessKeyId, "ASIAPROC");
  EXPECT_EQ(c->sessionToken, "proc-session");
  EXPECT_EQ(p.sourceName(), "profile vault (credential_process)");
  // Refreshed before it expires (17:00): at 16:56 the command runs again.
  time_.advance(std::chrono::minutes(56));
  EXPECT_TRUE(p.get().has_value());
  EXPECT_EQ(p.fetches(), 2u);
  vars_["AWS_PROFILE"] = "broken";
  auto failed = CredentialsProvider(defaultSource(env()), env()).get();
  ASSERT_FALSE(failed.has_value());
  EXPECT_EQ(failed.error().kind, ErrorKind::Fatal);
  EXPECT_NE(failed.error().message.find("profile broken: credential_process `" + broken + "` failed (exit status 3"),
            std::string::npos)
      << failed.error().message;
  vars_["AWS_PROFILE"] = "garbage";
  auto unreadable = CredentialsProvider(defaultSource(env()), env()).get();
  ASSERT_FALSE(unreadable.has_value());
  EXPECT_NE(unreadable.error().message.find("its output is not {\"Version\": 1"), std::string::npos)
      << unreadable.error().message;
}

TEST_F(CredentialsTest, ARoleIsAssumedWithTheSourceProfilesCredentials) {
  vars_["AWS_ENDPOINT_URL_STS"] = url("/");
  vars_["AWS_SHARED_CREDENTIALS_FILE"] = file("credentials",
                                              "[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = base-secret\n"
                                              "[self]\naws_access_key_id = AKIASELF\naws_secret_access_key = self-secret\n");
  vars_["AWS_CONFIG_FILE"] =
      file("config",
           "[profile deploy]\nrole_arn = arn:aws:iam::123456789012:role/deployer\nsource_profile = base\n"
           "external_id = ext-42\nrole_session_name = cdc-deploy\nregion = eu-west-1\n"
           "[profile chained]\nrole_arn = arn:aws:iam::123456789012:role/deployer\nsource_profile = deploy\n"
           "[profile self]\nrole_arn = arn:aws:iam::123456789012:role/deployer\nsource_profile = self\n"
           "[profile denied]\nrole_arn = arn:aws:iam::123456789012:role/admin\nsource_profile = base\n"
           "[profile loop-a]\nrole_arn = arn:aws:iam::123456789012:role/deployer\nsource_profile = loop-b\n"
           "[profile loop-b]\nrole_arn = arn:aws:iam::123456789012:role/deployer\nsource_profile = loop-a\n"
           "[profile env]\nrole_arn = arn:aws:iam::123456789012:role/deployer\ncredential_source = Environment\n"
           "[profile lost]\nrole_arn = arn:aws:iam::123456789012:role/deployer\n");
  auto with = [&](const std::string& profile) {
    vars_["AWS_PROFILE"] = profile;
    return CredentialsProvider(defaultSource(env()), env()).get();
  };
  auto deploy = with("deploy");
  ASSERT_TRUE(deploy.has_value()) << deploy.error().message;
  EXPECT_EQ(deploy->accessKeyId, "ASIAROLE");
  EXPECT_EQ(deploy->sessionToken, "role-session");
  EXPECT_NE(stsAuthorization_.find("Credential=AKIABASE/20261125/eu-west-1/sts/aws4_request"), std::string::npos)
      << stsAuthorization_;
  EXPECT_NE(stsBody_.find("&RoleSessionName=cdc-deploy&ExternalId=ext-42"), std::string::npos) << stsBody_;
  // A role assumed with the credentials of another role, and with the profile's own keys.
  ASSERT_TRUE(with("chained").has_value());
  EXPECT_NE(stsAuthorization_.find("Credential=ASIAROLE/"), std::string::npos) << stsAuthorization_;
  ASSERT_TRUE(with("self").has_value());
  EXPECT_NE(stsAuthorization_.find("Credential=AKIASELF/20261125/us-east-1/sts/"), std::string::npos) << stsAuthorization_;
  // Refused by STS: an error naming the role and the answer (not retried for ever).
  auto denied = with("denied");
  ASSERT_FALSE(denied.has_value());
  EXPECT_EQ(denied.error().kind, ErrorKind::Fatal);
  EXPECT_NE(
      denied.error().message.find("profile denied: STS AssumeRole of arn:aws:iam::123456789012:role/admin: 403 AccessDenied"),
      std::string::npos)
      << denied.error().message;
  auto loop = with("loop-a");
  ASSERT_FALSE(loop.has_value());
  EXPECT_NE(loop.error().message.find("source_profile loops back to it"), std::string::npos) << loop.error().message;
  auto lost = with("lost");
  ASSERT_FALSE(lost.has_value());
  EXPECT_NE(lost.error().message.find("profile lost: role_arn needs source_profile, credential_source"), std::string::npos)
      << lost.error().message;
  // credential_source = Environment: the environment's keys assume the role.
  vars_["AWS_PROFILE"] = "env";
  vars_["AWS_ACCESS_KEY_ID"] = "AKIAENV";
  vars_["AWS_SECRET_ACCESS_KEY"] = "env-secret";
  auto fromEnv = CredentialsProvider(profileSource(env()), env()).get();
  ASSERT_TRUE(fromEnv.has_value()) << fromEnv.error().message;
  EXPECT_EQ(fromEnv->accessKeyId, "ASIAROLE");
  EXPECT_NE(stsAuthorization_.find("Credential=AKIAENV/"), std::string::npos) << stsAuthorization_;
}

TEST_F(CredentialsTest, AnIdentityCenterProfileIsRefusedByName) {
  vars_["AWS_CONFIG_FILE"] =
      file("config",
           "[profile sso-dev]\nsso_session = corp\nsso_account_id = 123456789012\n"
           "sso_role_name = Dev\nregion = eu-west-1\n[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n");
  vars_["AWS_PROFILE"] = "sso-dev";
  vars_["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = url("/nothing");
  auto c = CredentialsProvider(defaultSource(env()), env()).get();
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().kind, ErrorKind::Fatal);
  EXPECT_NE(c.error().message.find(
                "profile sso-dev signs in with AWS IAM Identity Center (sso_…), which cdc does not do itself: give a "
                "profile `credential_process = aws configure export-credentials --profile sso-dev --format process`"),
            std::string::npos)
      << c.error().message;
  EXPECT_EQ(c.error().message.find("IMDS"), std::string::npos) << c.error().message;
}

TEST_F(CredentialsTest, WhenNothingWorksEverySourceTriedIsNamed) {
  vars_["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = url("/nothing");
  auto c = CredentialsProvider(defaultSource(env()), env()).get();
  ASSERT_FALSE(c.has_value());
  for (const char* tried :
       {"no AWS credentials found; tried environment (AWS_ACCESS_KEY_ID is not set)",
        "web identity (AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN are not set)",
        "container (AWS_CONTAINER_CREDENTIALS_FULL_URI and AWS_CONTAINER_CREDENTIALS_RELATIVE_URI are not set)",
        "profile default (not in /nonexistent/.aws/credentials or /nonexistent/.aws/config)",
        "instance metadata (IMDSv2): IMDSv2 token: 404"}) {
    EXPECT_NE(c.error().message.find(tried), std::string::npos) << tried << "\n" << c.error().message;
  }
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
