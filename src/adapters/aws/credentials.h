#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "adapters/aws/sigv4.h"
#include "core/result.h"
#include "core/time.h"

namespace cdc::aws {

using WallClock = std::chrono::system_clock;

struct TimedCredentials {
  Credentials credentials;
  std::optional<WallClock::time_point> expiration;  // none: long-term keys
};

// Where the chain looks things up; injected by tests.
struct Environment {
  std::function<const char*(const char*)> getenv = [](const char* name) { return std::getenv(name); };
  const TimeSource* time = &systemTime();  // when credentials expire
  WallClock::time_point now() const { return toSystemClock(time->wall()); }
  std::string get(const char* name) const {
    const char* v = getenv(name);
    return v ? v : "";
  }
};

// One way of obtaining credentials.
class CredentialsSource {
 public:
  virtual ~CredentialsSource() = default;
  virtual std::string name() const = 0;
  virtual Result<TimedCredentials> fetch() = 0;
};

// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN.
std::unique_ptr<CredentialsSource> environmentSource(const Environment& env);
// EKS Pod Identity and ECS: GET AWS_CONTAINER_CREDENTIALS_FULL_URI (or 169.254.170.2 +
// AWS_CONTAINER_CREDENTIALS_RELATIVE_URI) with the token of AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE
// (read again on every fetch: the agent rotates it) or AWS_CONTAINER_AUTHORIZATION_TOKEN.
std::unique_ptr<CredentialsSource> containerSource(const Environment& env);
// IRSA: STS AssumeRoleWithWebIdentity with AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN
// (AWS_ROLE_SESSION_NAME optional), at AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL or the regional
// STS endpoint.
std::unique_ptr<CredentialsSource> webIdentitySource(const Environment& env);
// The shared credentials file (AWS_SHARED_CREDENTIALS_FILE, default ~/.aws/credentials) and
// the config file (AWS_CONFIG_FILE, default ~/.aws/config), profile AWS_PROFILE or "default":
// static keys; credential_process (a command printing {"Version":1,"AccessKeyId",…});
// role_arn assumed with STS AssumeRole (external_id, role_session_name, duration_seconds) on
// the credentials of source_profile (itself: its own keys) or of credential_source
// (Environment, EcsContainer, Ec2InstanceMetadata), or with web_identity_token_file. An IAM
// Identity Center (SSO) profile is refused, naming the credential_process that does it.
std::unique_ptr<CredentialsSource> profileSource(const Environment& env);
// Whether the files hold the profile AWS_PROFILE (or default) names.
bool profileConfigured(const Environment& env);
// That profile's `region`; empty when it has none.
std::string profileRegion(const Environment& env);
// IMDSv2 on EC2: a session token (PUT), the instance role, its credentials.
// AWS_EC2_METADATA_SERVICE_ENDPOINT overrides the address; AWS_EC2_METADATA_DISABLED=true disables.
std::unique_ptr<CredentialsSource> imdsSource(const Environment& env);

// The standard chain's choice: the first source that is configured, in the order environment,
// web identity (IRSA), container (Pod Identity), profile (AWS_PROFILE, or a default profile in
// the files), instance metadata. When it comes to the instance metadata and that fails too,
// the error names every source tried and why it did not apply.
std::unique_ptr<CredentialsSource> defaultSource(const Environment& env);

// Hands out credentials from one source, cached, and fetched again `refreshBefore` their
// expiry (or after invalidate(), when AWS refused them). When a refresh fails while the cached
// ones are still valid, those are used and the failure logged. Thread-safe.
class CredentialsProvider {
 public:
  CredentialsProvider(std::unique_ptr<CredentialsSource> source, Environment env = {},
                      std::chrono::seconds refreshBefore = std::chrono::minutes(5));
  // Retry when none can be had now (the endpoint is down): a transient failure.
  Result<Credentials> get();
  void invalidate();
  std::string sourceName() const { return source_->name(); }
  uint64_t fetches() const { return fetches_; }

 private:
  std::unique_ptr<CredentialsSource> source_;
  Environment env_;
  std::chrono::seconds refreshBefore_;
  std::mutex mutex_;
  std::optional<TimedCredentials> cached_;
  uint64_t fetches_ = 0;
};

}  // namespace cdc::aws
