#include "adapters/aws/credentials.h"

#include "adapters/aws/credential_parts.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include <simdjson.h>
#include <pugixml.hpp>

#include "adapters/aws/http_client.h"
#include "adapters/aws/resilience.h"
#include "core/log.h"
#include "core/time.h"

namespace cdc::aws {
namespace parts {

std::optional<WallClock::time_point> parseExpiration(std::string_view text) {
  auto t = parseIsoTimestamp(text);
  if (!t) return std::nullopt;
  return WallClock::time_point(std::chrono::microseconds(t->micros));
}

// "scheme://host[:port]/path" into a request.
std::optional<HttpRequest> requestFor(std::string_view url) {
  auto colon = url.find("://");
  if (colon == std::string_view::npos) return std::nullopt;
  HttpRequest r;
  r.scheme = std::string(url.substr(0, colon));
  std::string_view rest = url.substr(colon + 3);
  auto slash = rest.find('/');
  r.host = std::string(rest.substr(0, slash));
  r.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  auto q = r.path.find('?');
  if (q != std::string::npos) {
    std::string query = r.path.substr(q + 1);
    r.path.resize(q);
    std::istringstream parts(query);
    std::string kv;
    while (std::getline(parts, kv, '&')) {
      auto eq = kv.find('=');
      r.query.emplace_back(kv.substr(0, eq), eq == std::string::npos ? "" : kv.substr(eq + 1));
    }
  }
  if (r.host.empty()) return std::nullopt;
  return r;
}

bool trustedContainerEndpoint(const HttpRequest& request) {
  if (request.scheme == "https") return true;
  if (request.scheme != "http") return false;
  // The host without its port: [v6]:port, v4:port, name:port.
  std::string host = request.host;
  if (host.starts_with('[')) {
    auto close = host.find(']');
    if (close == std::string::npos) return false;
    host = host.substr(1, close - 1);
  } else if (auto colon = host.find(':'); colon != std::string::npos && host.find(':', colon + 1) == std::string::npos) {
    host.resize(colon);
  }
  if (host == "localhost") return true;
  in_addr v4{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    const uint32_t a = ntohl(v4.s_addr);
    return (a >> 24) == 127 || a == 0xA9FEAA02u /* 169.254.170.2 */ || a == 0xA9FEAA17u /* 169.254.170.23 */;
  }
  in6_addr v6{};
  if (::inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    in6_addr agent{};
    ::inet_pton(AF_INET6, "fd00:ec2::23", &agent);
    return IN6_IS_ADDR_LOOPBACK(&v6) || std::memcmp(&v6, &agent, sizeof v6) == 0;
  }
  return false;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return {};
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// {"AccessKeyId","SecretAccessKey","Token","Expiration"}, the shape of the container and
// instance metadata endpoints.
Result<TimedCredentials> parseJsonCredentials(const std::string& body, const std::string& from) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(body).get(doc)) return fail(Error::retry(from + ": credentials response is not JSON"));
  TimedCredentials t;
  std::string_view v;
  if (doc["AccessKeyId"].get_string().get(v)) return fail(Error::retry(from + ": no AccessKeyId in the response"));
  t.credentials.accessKeyId = std::string(v);
  if (doc["SecretAccessKey"].get_string().get(v)) return fail(Error::retry(from + ": no SecretAccessKey in the response"));
  t.credentials.secretAccessKey = std::string(v);
  if (!doc["Token"].get_string().get(v) || !doc["SessionToken"].get_string().get(v)) t.credentials.sessionToken = std::string(v);
  if (!doc["Expiration"].get_string().get(v)) t.expiration = parseExpiration(v);
  return t;
}

HttpClientOptions metadataTimeouts() {
  return {.connectTimeout = std::chrono::seconds(2), .requestTimeout = std::chrono::seconds(5), .maxConcurrent = 1};
}

std::string stsEndpoint(const Environment& env, const std::string& region) {
  std::string endpoint = env.get("AWS_ENDPOINT_URL_STS");
  if (endpoint.empty()) endpoint = env.get("AWS_ENDPOINT_URL");
  if (endpoint.empty()) endpoint = region.empty() ? "https://sts.amazonaws.com" : "https://sts." + region + ".amazonaws.com";
  return endpoint;
}

Result<TimedCredentials> parseStsCredentials(const HttpResponse& response, const std::string& action) {
  pugi::xml_document doc;
  if (!doc.load_buffer(response.body.data(), response.body.size()))
    return fail(Error::retry("STS " + action + ": unreadable response"));
  auto c = doc.select_node("//*[local-name()='Credentials']").node();
  TimedCredentials t;
  t.credentials.accessKeyId = c.child_value("AccessKeyId");
  t.credentials.secretAccessKey = c.child_value("SecretAccessKey");
  t.credentials.sessionToken = c.child_value("SessionToken");
  t.expiration = parseExpiration(c.child_value("Expiration"));
  if (t.credentials.accessKeyId.empty()) return fail(Error::retry("STS " + action + ": no credentials in the response"));
  return t;
}

}  // namespace parts

namespace {

using namespace parts;

class EnvironmentSource final : public CredentialsSource {
 public:
  explicit EnvironmentSource(Environment env) : env_(std::move(env)) {}
  std::string name() const override { return "environment"; }
  Result<TimedCredentials> fetch() override {
    TimedCredentials t;
    t.credentials = {env_.get("AWS_ACCESS_KEY_ID"), env_.get("AWS_SECRET_ACCESS_KEY"), env_.get("AWS_SESSION_TOKEN")};
    if (t.credentials.accessKeyId.empty() || t.credentials.secretAccessKey.empty()) {
      return fail(Error::fatal("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must both be set"));
    }
    return t;
  }

 private:
  Environment env_;
};

class ContainerSource final : public CredentialsSource {
 public:
  explicit ContainerSource(Environment env) : env_(std::move(env)), http_(metadataTimeouts()) {}
  std::string name() const override { return "container (EKS Pod Identity / ECS)"; }
  Result<TimedCredentials> fetch() override {
    std::string url = env_.get("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    if (url.empty()) url = "http://169.254.170.2" + env_.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    auto request = requestFor(url);
    if (!request) return fail(Error::fatal("AWS_CONTAINER_CREDENTIALS_FULL_URI: not a URL: " + url));
    // The token is a credential: never sent in clear text off the host or the agent's address.
    if (!trustedContainerEndpoint(*request)) {
      return fail(Error::fatal("AWS_CONTAINER_CREDENTIALS_FULL_URI: " + url +
                               " is neither https nor a loopback or ECS/EKS Pod Identity agent address (169.254.170.2, "
                               "169.254.170.23, fd00:ec2::23): refused, as the AWS SDKs refuse it"));
    }
    std::string token;
    if (std::string file = env_.get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"); !file.empty()) {
      token = readFile(file);
      if (token.empty()) return fail(Error::retry("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: cannot read " + file));
    } else {
      token = env_.get("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    }
    if (!token.empty()) request->headers.emplace_back("Authorization", token);
    auto response = http_.send(*request);
    if (response.status != 200) return fail(Error::retry("container credentials endpoint: " + describe(response)));
    return parseJsonCredentials(response.body, "container credentials endpoint");
  }

 private:
  Environment env_;
  HttpClient http_;
};

class WebIdentitySource final : public CredentialsSource {
 public:
  explicit WebIdentitySource(Environment env) : env_(std::move(env)), http_(metadataTimeouts()) {}
  std::string name() const override { return "web identity (IRSA)"; }
  Result<TimedCredentials> fetch() override {
    std::string tokenFile = env_.get("AWS_WEB_IDENTITY_TOKEN_FILE");
    std::string token = readFile(tokenFile);
    if (token.empty()) return fail(Error::retry("AWS_WEB_IDENTITY_TOKEN_FILE: cannot read " + tokenFile));
    std::string region = env_.get("AWS_REGION");
    if (region.empty()) region = env_.get("AWS_DEFAULT_REGION");
    std::string endpoint = stsEndpoint(env_, region);
    auto request = requestFor(endpoint);
    if (!request) return fail(Error::fatal("STS endpoint is not a URL: " + endpoint));
    std::string session = env_.get("AWS_ROLE_SESSION_NAME");
    if (session.empty()) session = "cdc-" + std::to_string(::getpid());
    request->method = "POST";
    request->headers = {{"Content-Type", "application/x-www-form-urlencoded"}, {"Accept", "application/xml"}};
    request->body = "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=" + uriEncode(env_.get("AWS_ROLE_ARN"), false) +
                    "&RoleSessionName=" + uriEncode(session, false) + "&WebIdentityToken=" + uriEncode(token, false);
    auto response = http_.send(*request);
    if (response.status != 200) {
      // A refused token is fixed by the next rotation of the file: transient as well.
      return fail(Error::retry("STS AssumeRoleWithWebIdentity: " + describe(response)));
    }
    return parseStsCredentials(response, "AssumeRoleWithWebIdentity");
  }

 private:
  Environment env_;
  HttpClient http_;
};

class ImdsSource final : public CredentialsSource {
 public:
  explicit ImdsSource(Environment env) : env_(std::move(env)), http_(metadataTimeouts()) {}
  std::string name() const override { return "instance metadata (IMDSv2)"; }
  Result<TimedCredentials> fetch() override {
    std::string base = env_.get("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    if (base.empty()) base = "http://169.254.169.254";
    while (!base.empty() && base.back() == '/') base.pop_back();
    auto tokenRequest = requestFor(base + "/latest/api/token");
    if (!tokenRequest) return fail(Error::fatal("AWS_EC2_METADATA_SERVICE_ENDPOINT: not a URL: " + base));
    tokenRequest->method = "PUT";
    tokenRequest->headers = {{"X-aws-ec2-metadata-token-ttl-seconds", "21600"}};
    auto token = http_.send(*tokenRequest);
    if (token.status != 200) return fail(Error::retry("IMDSv2 token: " + describe(token)));
    auto get = [&](const std::string& path) {
      HttpRequest r = *requestFor(base + path);
      r.headers = {{"X-aws-ec2-metadata-token", token.body}};
      return http_.send(r);
    };
    auto role = get("/latest/meta-data/iam/security-credentials/");
    if (role.status != 200) return fail(Error::retry("IMDSv2 instance role: " + describe(role)));
    std::string name = role.body.substr(0, role.body.find('\n'));
    auto creds = get("/latest/meta-data/iam/security-credentials/" + name);
    if (creds.status != 200) return fail(Error::retry("IMDSv2 credentials of " + name + ": " + describe(creds)));
    return parseJsonCredentials(creds.body, "IMDSv2");
  }

 private:
  Environment env_;
  HttpClient http_;
};

}  // namespace

std::unique_ptr<CredentialsSource> environmentSource(const Environment& env) { return std::make_unique<EnvironmentSource>(env); }
std::unique_ptr<CredentialsSource> containerSource(const Environment& env) { return std::make_unique<ContainerSource>(env); }
std::unique_ptr<CredentialsSource> webIdentitySource(const Environment& env) { return std::make_unique<WebIdentitySource>(env); }
std::unique_ptr<CredentialsSource> imdsSource(const Environment& env) { return std::make_unique<ImdsSource>(env); }

namespace {

// The instance metadata as the chain's last resort: its failure lists what was tried before.
class LastResort final : public CredentialsSource {
 public:
  LastResort(std::unique_ptr<CredentialsSource> imds, std::string tried) : imds_(std::move(imds)), tried_(std::move(tried)) {}
  std::string name() const override { return imds_->name(); }
  Result<TimedCredentials> fetch() override {
    auto t = imds_->fetch();
    if (t) return t;
    return fail(
        Error{t.error().kind, "no AWS credentials found; tried " + tried_ + "; " + imds_->name() + ": " + t.error().message});
  }

 private:
  std::unique_ptr<CredentialsSource> imds_;
  std::string tried_;
};

}  // namespace

std::unique_ptr<CredentialsSource> defaultSource(const Environment& env) {
  if (!env.get("AWS_ACCESS_KEY_ID").empty()) return environmentSource(env);
  if (!env.get("AWS_WEB_IDENTITY_TOKEN_FILE").empty() && !env.get("AWS_ROLE_ARN").empty()) return webIdentitySource(env);
  if (!env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI").empty() || !env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI").empty()) {
    return containerSource(env);
  }
  // A profile named by AWS_PROFILE is used (and its absence an error), the default one if present.
  if (!env.get("AWS_PROFILE").empty() || profileConfigured(env)) return profileSource(env);
  std::string tried =
      "environment (AWS_ACCESS_KEY_ID is not set); web identity (AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN are not set); "
      "container (AWS_CONTAINER_CREDENTIALS_FULL_URI and AWS_CONTAINER_CREDENTIALS_RELATIVE_URI are not set); profile default "
      "(not in " +
      parts::credentialsFile(env) + " or " + parts::configFile(env) + ")";
  if (env.get("AWS_EC2_METADATA_DISABLED") == "true") {
    return std::make_unique<parts::FailingSource>("none", Error::fatal("no AWS credentials found; tried " + tried +
                                                                       "; instance metadata (AWS_EC2_METADATA_DISABLED=true)"));
  }
  return std::make_unique<LastResort>(imdsSource(env), tried);
}

CredentialsProvider::CredentialsProvider(std::unique_ptr<CredentialsSource> source, Environment env,
                                         std::chrono::seconds refreshBefore)
    : source_(std::move(source)), env_(std::move(env)), refreshBefore_(refreshBefore) {}

Result<Credentials> CredentialsProvider::get() {
  std::lock_guard lock(mutex_);
  auto now = env_.now();
  if (cached_ && (!cached_->expiration || now + refreshBefore_ < *cached_->expiration)) return cached_->credentials;
  ++fetches_;
  auto fresh = source_->fetch();
  if (!fresh) {
    if (cached_ && cached_->expiration && now < *cached_->expiration) {
      log::event(spdlog::level::warn, "credentials_refresh_failed",
                 {{"source", source_->name()},
                  {"error", fresh.error().message},
                  {"detail", "using the current ones until they expire"}});
      return cached_->credentials;
    }
    if (fresh.error().kind == ErrorKind::Fatal) return fail(fresh.error());
    return fail(Error::retry("AWS credentials from " + source_->name() + ": " + fresh.error().message));
  }
  cached_ = std::move(*fresh);
  log::event(spdlog::level::info, "credentials_loaded",
             {{"source", source_->name()},
              {"expires",
               cached_->expiration
                   ? formatIsoTimestamp(Timestamp{
                         std::chrono::duration_cast<std::chrono::microseconds>(cached_->expiration->time_since_epoch()).count()})
                   : std::string("never")}});
  return cached_->credentials;
}

void CredentialsProvider::invalidate() {
  std::lock_guard lock(mutex_);
  cached_.reset();
}

}  // namespace cdc::aws
