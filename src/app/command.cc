#include "app/command.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "adapters/aws/dynamodb_table_store.h"
#include "adapters/aws/s3_object_store.h"
#include "adapters/localfs/dir_object_store.h"
#include "adapters/sqlite/sqlite_table_store.h"
#include "app/services.h"
#include "core/log.h"

namespace cdc::app {

void bindSettings(Command& command) {
  for (const config::Setting* setting : config::allSettings()) {
    const config::Setting& s = *setting;
    if (!config::appliesTo(s, command.name)) continue;
    std::string help(s.description);
    if (!s.env.empty()) help += " [env " + std::string(s.env) + "]";
    if (!s.defaultValue.empty()) help += " (default " + std::string(s.defaultValue) + ")";
    std::string key(s.name);
    if (s.kind == config::Kind::Switch) {
      command.app->add_flag_function(
          "--" + key, [&command, key](std::int64_t) { command.flags.insert_or_assign(key, "true"); }, help);
      continue;
    }
    auto* opt = command.app->add_option_function<std::string>(
        "--" + key, [&command, key](const std::string& v) { command.flags.insert_or_assign(key, v); }, help);
    if (s.kind == config::Kind::Choice) {
      std::string typeName;
      for (auto c : s.choices) typeName += (typeName.empty() ? "" : "|") + std::string(c);
      opt->type_name(typeName);
    } else if (s.kind == config::Kind::Int || s.kind == config::Kind::PositiveInt) {
      opt->type_name("N");
    } else if (s.kind == config::Kind::Bool) {
      opt->type_name("true|false");
    }
  }
}

namespace {

bool jsonFormat(std::string_view format) { return format == "json" || (format != "text" && !::isatty(STDERR_FILENO)); }

}  // namespace

void startLogging(const Command& command) {
  const std::string format = config::Config::given(command.name, command.flags, &config::LogSettings::logFormat).value_or("auto");
  // A service, or `dlq replay --service NAME` (which runs one).
  const ServiceDefinition* service = findService(command.name);
  if (auto name = config::Config::given(command.name, command.flags, &config::DlqSettings::service);
      !service && command.name == "dlq replay" && name) {
    service = findService(*name);
  }
  if (service) log::setService(service->name);
  log::configure(spdlog::level::info, jsonFormat(format) ? log::Format::Json : log::Format::Text);
}

void reportError(std::string_view command, std::string_view error, int exitCode) {
  log::report(spdlog::level::err, exitCode == kExitUsage ? "configuration_error" : "command_failed",
              command.empty() ? fmt::format("cdc: {}", error) : fmt::format("cdc {}: {}", command, error),
              {{"command", command}, {"error", error}, {"exit_code", std::to_string(exitCode), true}});
}

void configureLogging(const config::Config& config) {
  const auto s = config.get<config::LogSettings>();
  log::configure(spdlog::level::from_str(s.logLevel), jsonFormat(s.logFormat) ? log::Format::Json : log::Format::Text);
}

namespace {

// One credential chain for the process, shared by every AWS store it opens.
std::shared_ptr<aws::CredentialsProvider> awsCredentials() {
  static auto provider = std::make_shared<aws::CredentialsProvider>(aws::defaultSource(aws::Environment{}));
  return provider;
}

using Endpoint = std::optional<std::string> config::AwsSettings::*;

std::unique_ptr<aws::AwsClient> awsClient(const config::Config& c, const std::string& service, Endpoint serviceEndpoint) {
  const auto s = c.get<config::AwsSettings>();
  // Half a pair of static keys is a configuration error, found at start-up.
  auto set = [](const char* name) {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0';
  };
  if (set("AWS_ACCESS_KEY_ID") != set("AWS_SECRET_ACCESS_KEY")) {
    throw config::ConfigError(std::string(set("AWS_ACCESS_KEY_ID")
                                              ? "AWS_SECRET_ACCESS_KEY: not set while AWS_ACCESS_KEY_ID is"
                                              : "AWS_ACCESS_KEY_ID: not set while AWS_SECRET_ACCESS_KEY is") +
                              " (set both, or neither for the profile, container or instance credentials)");
  }
  std::string region = s.awsRegion.value_or("");
  if (region.empty()) {
    if (const char* r = std::getenv("AWS_DEFAULT_REGION")) region = r;
  }
  if (region.empty()) region = aws::profileRegion(aws::Environment{});  // the profile's `region`
  std::string url, origin;
  for (Endpoint endpoint : {serviceEndpoint, &config::AwsSettings::endpointUrl}) {
    if ((s.*endpoint) && !(s.*endpoint)->empty()) {
      url = *(s.*endpoint);
      origin = s.origin(endpoint);
      break;
    }
  }
  auto endpoint = aws::AwsEndpoint::resolve(service, region, url, origin);
  if (!endpoint) throw config::ConfigError(endpoint.error().message);
  aws::AwsClientOptions options;
  options.http.requestTimeout = std::chrono::seconds(s.awsRequestTimeout);
  return std::make_unique<aws::AwsClient>(*endpoint, awsCredentials(), options);
}

}  // namespace

StoreChoice tableStoreChoice(const config::Config& c) {
  const auto s = c.get<config::StoreSettings>();
  return {s.store, s.origin(&config::StoreSettings::store)};
}

StoreChoice objectStoreChoice(const config::Config& c) {
  const auto s = c.get<config::StoreSettings>();
  return {s.objects, s.origin(&config::StoreSettings::objects)};
}

std::unique_ptr<store::TableStore> openTableStore(const config::Config& c, bool existing) {
  return openTableStore(c, tableStoreChoice(c), existing);
}

std::unique_ptr<store::ObjectStore> openObjectStore(const config::Config& c, bool deadLetters) {
  return openObjectStore(c, objectStoreChoice(c), deadLetters);
}

std::unique_ptr<store::TableStore> openTableStore(const config::Config& c, const StoreChoice& choice, bool existing) {
  const std::string& uri = choice.uri;
  const std::string origin = choice.origin == "default" ? "--store (default " + uri + ")" : choice.origin;
  if (uri.starts_with("sqlite:")) {
    std::filesystem::path path = uri.substr(7);
    if (path.empty()) throw config::ConfigError(origin + ": sqlite: needs a path");
    std::error_code ec;
    if (existing) {
      if (!std::filesystem::exists(path, ec)) {
        throw config::ConfigError(origin + ": no SQLite database at " + path.string() + " (no service has written there)");
      }
    } else if (auto folder = path.parent_path(); !folder.empty() && !std::filesystem::is_directory(folder, ec)) {
      // The folder of the database, as `mkdir` makes one: not a whole missing tree (a typo).
      const bool parentThere = !folder.has_parent_path() || std::filesystem::is_directory(folder.parent_path(), ec);
      std::error_code created;
      if (parentThere) std::filesystem::create_directory(folder, created);
      if (!std::filesystem::is_directory(folder, ec)) {
        throw config::ConfigError(
            origin + ": cannot create the database's folder " + folder.string() + ": " +
            (parentThere ? created.message()
                         : folder.parent_path().string() +
                               (std::filesystem::exists(folder.parent_path(), ec) ? " is not a directory" : " does not exist")));
      }
    }
    if (std::filesystem::is_directory(path, ec)) throw config::ConfigError(origin + ": " + path.string() + " is a directory");
    auto s = sqlite::SqliteTableStore::open(path.string());
    if (!s) throw config::ConfigError(origin + ": " + s.error().message);
    return std::move(*s);
  }
  if (uri == "dynamodb")
    return std::make_unique<aws::DynamoDbTableStore>(awsClient(c, "dynamodb", &config::AwsSettings::endpointUrlDynamodb));
  throw config::ConfigError(origin + ": unknown table store '" + uri + "' (supported: sqlite:PATH, dynamodb)");
}

std::unique_ptr<store::ObjectStore> openObjectStore(const config::Config& c, const StoreChoice& choice, bool deadLetters) {
  const std::string& uri = choice.uri;
  const std::string& origin = choice.origin;
  if (uri.starts_with("dir:")) {
    std::string path = uri.substr(4);
    if (path.empty()) throw config::ConfigError(origin + ": dir: needs a path");
    return std::make_unique<localfs::DirObjectStore>(path);
  }
  if (uri == "s3") {
    const auto s = c.get<config::StoreSettings>();
    aws::S3Options o;
    if (deadLetters && s.dlqBucket && !s.dlqBucket->empty()) {
      o.bucket = *s.dlqBucket;
    } else if (s.s3Bucket && !s.s3Bucket->empty()) {
      o.bucket = *s.s3Bucket;
    } else {
      throw config::ConfigError(origin + ": s3 needs " + (deadLetters ? "DLQ_S3_BUCKET or S3_BUCKET" : "S3_BUCKET"));
    }
    if (s.has(&config::StoreSettings::s3MultipartThreshold)) {
      o.multipartThreshold = static_cast<size_t>(s.s3MultipartThreshold) << 20;
      o.partSize = std::max<size_t>(5u << 20, std::min<size_t>(8u << 20, o.multipartThreshold));  // S3's minimum part is 5 MiB
    }
    auto client = awsClient(c, "s3", &config::AwsSettings::endpointUrlS3);
    // Emulators answer on one host: path-style; AWS itself: virtual-hosted style.
    const auto aws = c.get<config::AwsSettings>();
    o.pathStyle = aws.endpointUrlS3.has_value() || aws.endpointUrl.has_value();
    auto s3 = std::make_unique<aws::S3ObjectStore>(std::move(client), o);
    // Buckets come from infrastructure code; on an emulator the services create theirs.
    if (o.pathStyle && s.createTables) {
      if (auto st = s3->ensureBucket(); !st) throw config::ConfigError(origin + ": " + st.error().message);
    }
    return s3;
  }
  throw config::ConfigError(origin + ": unknown object store '" + uri + "' (supported: dir:PATH, s3)");
}

}  // namespace cdc::app
