// Credentials from a profile of the shared AWS files: static keys, credential_process, a role
// assumed with another profile's credentials (role_arn with source_profile, credential_source
// or web_identity_token_file); profiles that sign in with IAM Identity Center are refused by
// name. And the profile's region.

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <set>
#include <sstream>

#include <simdjson.h>

#include "adapters/aws/credential_parts.h"
#include "adapters/aws/resilience.h"

namespace cdc::aws {
namespace parts {

namespace {

constexpr std::string_view kBlank = " \t\r";

std::string_view trimmed(std::string_view s) {
  auto b = s.find_first_not_of(kBlank);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(kBlank) - b + 1);
}

// Profile and property names: letters, digits and _-/.%@:+ (the SDKs' identifiers).
bool validName(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("_-/.%@:+").find(c) != std::string_view::npos;
  });
}

// A property line's value without a trailing comment: # or ; after a space or tab.
std::string_view withoutValueComment(std::string_view value) {
  for (size_t i = 1; i < value.size(); ++i) {
    if ((value[i] == '#' || value[i] == ';') && (value[i - 1] == ' ' || value[i - 1] == '\t')) return value.substr(0, i);
  }
  return value;
}

}  // namespace

namespace {

// The state of a profile file read line by line (the SDKs' rules: sections, properties,
// continuation lines and sub-properties).
class ProfileParser {
 public:
  explicit ProfileParser(bool configFile) : configFile_(configFile) {}

  // One line of the file, `number` counting from 1: an error names it.
  Status line(std::string_view line, int number) {
    number_ = number;
    std::string_view content = trimmed(line);
    if (content.empty() || content.front() == '#' || content.front() == ';') return {};
    if (line.front() == ' ' || line.front() == '\t') return continuation(content);
    property_ = nullptr;
    if (content.front() == '[') return section(content);
    return definition(content);
  }

  Profiles finish() {
    // The config file's [default] stands only when no [profile default] was given.
    if (configFile_ && unprefixedSeen_ && !prefixedDefault_) out_["default"] = std::move(unprefixedDefault_);
    return std::move(out_);
  }

 private:
  Status error(const std::string& why) const { return fail(Error::fatal("line " + std::to_string(number_) + ": " + why)); }

  // A continuation of the last property.
  Status continuation(std::string_view content) {
    if (!inSection_) return error("Expected a profile definition before a continuation line");
    if (!property_) return error("Expected a property definition, found a continuation line");
    if (subProperties_) {
      auto eq = content.find('=');
      if (eq == std::string_view::npos) return error("Expected an '=' sign defining a sub-property");
      if (trimmed(content.substr(0, eq)).empty()) return error("Sub-property did not have a name");
    }
    property_->append("\n").append(content);
    return {};
  }

  // [name] (credentials file) or [profile name] / [default] (config file).
  Status section(std::string_view decl) {
    auto close = decl.find(']');
    if (close == std::string_view::npos) return error("Profile definition must end with ']'");
    std::string_view after = trimmed(decl.substr(close + 1));
    if (!after.empty() && after.front() != '#' && after.front() != ';') {
      return error("Profile definition must end with ']' (found text after it)");
    }
    std::string_view inner = trimmed(decl.substr(1, close - 1));
    inSection_ = true;
    profile_ = nullptr;
    if (!configFile_) {
      if (validName(inner)) profile_ = &out_[std::string(inner)];
    } else if (inner == "default") {
      profile_ = &unprefixedDefault_;
      unprefixedSeen_ = true;
    } else if (inner.starts_with("profile") && inner.size() > 7 && (inner[7] == ' ' || inner[7] == '\t')) {
      std::string_view name = trimmed(inner.substr(8));
      if (validName(name)) {
        if (name == "default") prefixedDefault_ = true;
        profile_ = &out_[std::string(name)];
      }
    }
    return {};
  }

  // name = value
  Status definition(std::string_view content) {
    if (!inSection_) return error("Expected a profile definition before a property");
    auto eq = content.find('=');
    if (eq == std::string_view::npos) return error("Expected an '=' sign defining a property");
    std::string_view name = trimmed(content.substr(0, eq));
    if (name.empty()) return error("Property did not have a name");
    std::string_view value = trimmed(withoutValueComment(content.substr(eq + 1)));
    subProperties_ = value.empty();
    if (!profile_ || !validName(name)) {
      property_ = &ignored_;  // its continuations are read, and dropped with it
      return {};
    }
    property_ = &((*profile_)[std::string(name)] = std::string(value));
    return {};
  }

  const bool configFile_;
  Profiles out_;
  std::map<std::string, std::string> unprefixedDefault_;  // config's [default], unless [profile default] exists
  bool prefixedDefault_ = false, unprefixedSeen_ = false;
  std::map<std::string, std::string>* profile_ = nullptr;  // the section's properties; null: ignored section
  bool inSection_ = false;
  std::string* property_ = nullptr;  // the property continuation lines add to
  std::string ignored_;              // the value of a property that is not kept (its section or name is invalid)
  bool subProperties_ = false;       // it was defined empty: its continuations are name = value lines
  int number_ = 0;
};

}  // namespace

Result<Profiles> parseProfiles(std::string_view text, bool configFile) {
  ProfileParser parser(configFile);
  for (int number = 1; !text.empty(); ++number) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (auto s = parser.line(line, number); !s) return fail(s.error());
  }
  return parser.finish();
}

std::string credentialsFile(const Environment& env) {
  if (std::string path = env.get("AWS_SHARED_CREDENTIALS_FILE"); !path.empty()) return path;
  return env.get("HOME") + "/.aws/credentials";
}

std::string configFile(const Environment& env) {
  if (std::string path = env.get("AWS_CONFIG_FILE"); !path.empty()) return path;
  return env.get("HOME") + "/.aws/config";
}

}  // namespace parts

namespace {

using namespace parts;

std::string profileName(const Environment& env) {
  std::string p = env.get("AWS_PROFILE");
  return p.empty() ? "default" : p;
}

// A profile's settings: the config file's [profile NAME] ([default] for default), the
// credentials file's [NAME] over them; nullopt when neither file has the profile; Fatal naming
// the file and line when one is malformed.
Result<std::optional<std::map<std::string, std::string>>> profileSettings(const Environment& env, const std::string& name) {
  const std::string credentialsPath = credentialsFile(env), configPath = configFile(env);
  auto credentials = parseProfiles(readFile(credentialsPath), false);
  if (!credentials) return fail(Error::fatal(credentialsPath + ": " + credentials.error().message));
  auto config = parseProfiles(readFile(configPath), true);
  if (!config) return fail(Error::fatal(configPath + ": " + config.error().message));
  // Keys are looked up without regard to case (AWS_ACCESS_KEY_ID = … works, as with the AWS
  // CLI); the credentials file's values win over the config file's.
  std::optional<std::map<std::string, std::string>> out;
  for (const Profiles* file : {&*config, &*credentials}) {
    auto it = file->find(name);
    if (it == file->end()) continue;
    if (!out) out.emplace();
    for (const auto& [k, v] : it->second) {
      std::string key = k;
      for (char& ch : key) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      (*out)[key] = v;
    }
  }
  return out;
}

std::string get(const std::map<std::string, std::string>& settings, const char* key) {
  auto it = settings.find(key);
  return it == settings.end() ? std::string() : it->second;
}

class StaticKeys final : public CredentialsSource {
 public:
  StaticKeys(std::string profile, Credentials keys) : profile_(std::move(profile)), keys_(std::move(keys)) {}
  std::string name() const override { return "profile " + profile_; }
  Result<TimedCredentials> fetch() override { return TimedCredentials{keys_, std::nullopt}; }

 private:
  std::string profile_;
  Credentials keys_;
};

// credential_process: a command that prints {"Version":1,"AccessKeyId",…} (the AWS CLI's
// `aws configure export-credentials --format process`, a vault's helper …).
class ProcessSource final : public CredentialsSource {
 public:
  ProcessSource(std::string profile, std::string command) : profile_(std::move(profile)), command_(std::move(command)) {}
  std::string name() const override { return "profile " + profile_ + " (credential_process)"; }
  Result<TimedCredentials> fetch() override {
    std::string what = "profile " + profile_ + ": credential_process `" + command_ + "`";
    FILE* p = ::popen(command_.c_str(), "r");
    if (!p) return fail(Error::fatal(what + ": cannot start it"));
    std::string out;
    std::array<char, 4096> buf;
    size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
    int status = ::pclose(p);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      return fail(Error::fatal(what + " failed (exit status " + std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) +
                               "; its error output is above)"));
    }
    simdjson::dom::parser parser;
    int64_t version = 0;
    if (parser.parse(out)["Version"].get_int64().get(version) || version != 1) {
      return fail(Error::fatal(what + ": its output is not {\"Version\": 1, \"AccessKeyId\": …}"));
    }
    auto t = parseJsonCredentials(out, what);
    if (!t) return fail(Error::fatal(t.error().message));
    return t;
  }

 private:
  std::string profile_;
  std::string command_;
};

// role_arn: STS AssumeRole, signed with the credentials of the base source.
class AssumeRoleSource final : public CredentialsSource {
 public:
  AssumeRoleSource(Environment env, std::string profile, std::map<std::string, std::string> settings,
                   std::unique_ptr<CredentialsSource> base, std::string region)
      : env_(std::move(env)),
        profile_(std::move(profile)),
        settings_(std::move(settings)),
        base_(std::move(base)),
        region_(std::move(region)),
        http_(metadataTimeouts()) {}
  std::string name() const override { return "profile " + profile_ + " (role " + get(settings_, "role_arn") + ")"; }
  Result<TimedCredentials> fetch() override {
    auto base = base_->fetch();
    if (!base)
      return fail(Error{base.error().kind, "profile " + profile_ + ": the credentials to assume its role with, from " +
                                               base_->name() + ": " + base.error().message});
    std::string endpoint = stsEndpoint(env_, region_);
    auto request = requestFor(endpoint);
    if (!request) return fail(Error::fatal("STS endpoint is not a URL: " + endpoint));
    std::string session = get(settings_, "role_session_name");
    if (session.empty()) session = "cdc-" + std::to_string(::getpid());
    request->method = "POST";
    request->headers = {{"Content-Type", "application/x-www-form-urlencoded"}, {"Accept", "application/xml"}};
    request->body = "Action=AssumeRole&Version=2011-06-15&RoleArn=" + uriEncode(get(settings_, "role_arn"), false) +
                    "&RoleSessionName=" + uriEncode(session, false);
    if (auto id = get(settings_, "external_id"); !id.empty()) request->body += "&ExternalId=" + uriEncode(id, false);
    if (auto d = get(settings_, "duration_seconds"); !d.empty()) request->body += "&DurationSeconds=" + uriEncode(d, false);
    signV4(*request, base->credentials,
           {.region = region_.empty() ? "us-east-1" : region_, .service = "sts", .amzDate = amzDate(env_.now())});
    auto response = http_.send(*request);
    if (response.status != 200) {
      std::string message =
          "profile " + profile_ + ": STS AssumeRole of " + get(settings_, "role_arn") + ": " + describe(response);
      // Refused (access denied, a bad role): the configuration is wrong; anything else may pass.
      bool refused = response.status >= 400 && response.status < 500 && response.status != 429 &&
                     response.body.find("Throttling") == std::string::npos;
      return fail(refused ? Error::fatal(message) : Error::retry(message));
    }
    return parseStsCredentials(response, "AssumeRole");
  }

 private:
  Environment env_;
  std::string profile_;
  std::map<std::string, std::string> settings_;
  std::unique_ptr<CredentialsSource> base_;
  std::string region_;
  HttpClient http_;
};

std::string regionOf(const Environment& env, const std::map<std::string, std::string>& settings) {
  std::string region = env.get("AWS_REGION");
  if (region.empty()) region = env.get("AWS_DEFAULT_REGION");
  if (region.empty()) region = get(settings, "region");
  return region;
}

std::unique_ptr<CredentialsSource> failing(const std::string& name, const std::string& why) {
  return std::make_unique<FailingSource>("profile " + name, Error::fatal("profile " + name + why));
}

// The web identity source, told the profile's role, token file and session name.
std::unique_ptr<CredentialsSource> profileWebIdentity(const Environment& env, const std::string& role,
                                                      const std::string& tokenFile,
                                                      const std::map<std::string, std::string>& settings) {
  Environment inner = env;
  auto values = std::make_shared<std::map<std::string, std::string>>(
      std::map<std::string, std::string>{{"AWS_ROLE_ARN", role},
                                         {"AWS_WEB_IDENTITY_TOKEN_FILE", tokenFile},
                                         {"AWS_ROLE_SESSION_NAME", get(settings, "role_session_name")},
                                         {"AWS_REGION", regionOf(env, settings)}});
  inner.getenv = [values, outer = env.getenv](const char* n) -> const char* {
    auto it = values->find(n);
    if (it != values->end()) return it->second.empty() ? nullptr : it->second.c_str();
    return outer(n);
  };
  return webIdentitySource(inner);
}

std::unique_ptr<CredentialsSource> sourceOf(const Environment& env, const std::string& name, std::set<std::string>& seen,
                                            bool keysOnly = false);

// A profile with role_arn: the role assumed with the credentials of its source_profile or
// credential_source, or with a web identity token.
std::unique_ptr<CredentialsSource> roleSource(const Environment& env, const std::string& name, const std::string& role,
                                              const std::map<std::string, std::string>& settings, std::set<std::string>& seen) {
  if (!seen.insert(name).second) return failing(name, ": source_profile loops back to it");
  if (std::string tokenFile = get(settings, "web_identity_token_file"); !tokenFile.empty()) {
    return profileWebIdentity(env, role, tokenFile, settings);
  }
  std::unique_ptr<CredentialsSource> base;
  if (std::string source = get(settings, "source_profile"); !source.empty()) {
    base = sourceOf(env, source, seen, /*keysOnly=*/source == name);
  } else if (std::string from = get(settings, "credential_source"); from == "Environment") {
    base = environmentSource(env);
  } else if (from == "EcsContainer") {
    base = containerSource(env);
  } else if (from == "Ec2InstanceMetadata") {
    base = imdsSource(env);
  } else {
    return failing(name,
                   ": role_arn needs source_profile, credential_source (Environment, EcsContainer, Ec2InstanceMetadata) or "
                   "web_identity_token_file" +
                       (from.empty() ? std::string() : "; credential_source " + from + " is none of those"));
  }
  return std::make_unique<AssumeRoleSource>(env, name, settings, std::move(base), regionOf(env, settings));
}

// The source a profile's settings describe; `seen` guards against source_profile loops.
std::unique_ptr<CredentialsSource> sourceOf(const Environment& env, const std::string& name, std::set<std::string>& seen,
                                            bool keysOnly) {
  auto read = profileSettings(env, name);
  if (!read) return std::make_unique<FailingSource>("profile " + name, read.error());
  auto& settings = *read;
  if (!settings) return failing(name, ": not in " + credentialsFile(env) + " or " + configFile(env));
  const std::string keyId = get(*settings, "aws_access_key_id");
  if (!keyId.empty() && (keysOnly || get(*settings, "role_arn").empty())) {
    std::string secret = get(*settings, "aws_secret_access_key");
    if (secret.empty()) return failing(name, ": aws_access_key_id without aws_secret_access_key");
    return std::make_unique<StaticKeys>(name, Credentials{keyId, secret, get(*settings, "aws_session_token")});
  }
  if (std::string role = get(*settings, "role_arn"); !role.empty() && !keysOnly)
    return roleSource(env, name, role, *settings, seen);
  if (std::string command = get(*settings, "credential_process"); !command.empty()) {
    return std::make_unique<ProcessSource>(name, command);
  }
  if (settings->contains("sso_session") || settings->contains("sso_start_url") || settings->contains("sso_account_id")) {
    return failing(name,
                   " signs in with AWS IAM Identity Center (sso_…), which cdc does not do itself: give a "
                   "profile `credential_process = aws configure export-credentials --profile " +
                       name +
                       " --format process` and use that one, or export the keys (aws configure export-credentials "
                       "--format env)");
  }
  return failing(name, ": no credentials in it (aws_access_key_id, credential_process or role_arn)");
}

class ProfileSource final : public CredentialsSource {
 public:
  explicit ProfileSource(Environment env) : env_(std::move(env)), name_(profileName(env_)) {}
  std::string name() const override { return inner_ ? inner_->name() : "profile " + name_; }
  Result<TimedCredentials> fetch() override {
    if (!inner_) {
      std::set<std::string> seen;
      inner_ = sourceOf(env_, name_, seen);
    }
    return inner_->fetch();
  }

 private:
  Environment env_;
  std::string name_;
  std::unique_ptr<CredentialsSource> inner_;
};

}  // namespace

std::unique_ptr<CredentialsSource> profileSource(const Environment& env) { return std::make_unique<ProfileSource>(env); }

bool profileConfigured(const Environment& env) {
  // A malformed file counts: the profile source then says what is wrong in it.
  auto settings = profileSettings(env, profileName(env));
  return !settings || settings->has_value();
}

std::string profileRegion(const Environment& env) {
  auto settings = profileSettings(env, profileName(env));
  return settings && *settings ? get(**settings, "region") : std::string();
}

}  // namespace cdc::aws
