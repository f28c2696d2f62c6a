#pragma once

// What the credential sources share (credentials.cc, profile_credentials.cc); not an API.

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "adapters/aws/credentials.h"
#include "adapters/aws/http_client.h"

namespace cdc::aws::parts {

std::optional<WallClock::time_point> parseExpiration(std::string_view text);
// "scheme://host[:port]/path?query" into a request.
std::optional<HttpRequest> requestFor(std::string_view url);
// Whether the container credentials endpoint may be sent the Pod Identity / ECS token, as the
// AWS SDKs decide: https anywhere; plain http only to loopback (127.0.0.0/8, ::1, localhost)
// or the agents' link-local addresses (ECS 169.254.170.2, EKS Pod Identity 169.254.170.23 and
// fd00:ec2::23).
bool trustedContainerEndpoint(const HttpRequest& request);
// A file's text without trailing blanks; empty when it cannot be read.
std::string readFile(const std::string& path);
// {"AccessKeyId","SecretAccessKey","Token"|"SessionToken","Expiration"}: the container and
// instance metadata endpoints' shape, and credential_process's.
Result<TimedCredentials> parseJsonCredentials(const std::string& body, const std::string& from);
HttpClientOptions metadataTimeouts();
// The regional STS endpoint, or AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL.
std::string stsEndpoint(const Environment& env, const std::string& region);
// <Credentials> of an STS answer (AssumeRole, AssumeRoleWithWebIdentity).
Result<TimedCredentials> parseStsCredentials(const HttpResponse& response, const std::string& action);

// A source that always fails with `error` (a profile that cannot work, nothing configured).
class FailingSource final : public CredentialsSource {
 public:
  FailingSource(std::string name, Error error) : name_(std::move(name)), error_(std::move(error)) {}
  std::string name() const override { return name_; }
  Result<TimedCredentials> fetch() override { return fail(error_); }

 private:
  std::string name_;
  Error error_;
};

// Sections of an INI file: [name] -> key -> value (keys lower-cased).
// The profiles of a shared file: name -> property -> value.
using Profiles = std::map<std::string, std::map<std::string, std::string>>;
// A shared file's profiles as the AWS SDKs read them (their cross-SDK profile-parser cases): the
// config file's [profile NAME] and [default] ([profile default] wins over [default]), the
// credentials file's [NAME]; other sections and invalid names ignored with their properties;
// comments on their own lines, after a section, or after a value when a space or tab precedes
// them; values continued on indented lines ("value\n-continued"), sub-properties under an empty
// value ("\nname = value"); repeated sections merged, the last value of a property kept. A
// malformed line is an error naming its line number.
Result<Profiles> parseProfiles(std::string_view text, bool configFile);
// AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials; AWS_CONFIG_FILE or ~/.aws/config.
std::string credentialsFile(const Environment& env);
std::string configFile(const Environment& env);

}  // namespace cdc::aws::parts
