#include "config/components.h"
#include "support/paths.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <type_traits>

namespace cdc::config {
namespace {

auto env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
}

TEST(SettingsTest, FlagOverridesEnvironmentOverridesDefault) {
  using R = RunnerSettings;
  auto runner = Config::resolve("demo", {}, env({})).get<R>();
  EXPECT_EQ(runner.batchSize, 2000);
  EXPECT_EQ(runner.origin(&R::batchSize), "default");
  runner = Config::resolve("demo", {}, env({{"BATCH_SIZE", "500"}})).get<R>();
  EXPECT_EQ(runner.batchSize, 500);
  EXPECT_EQ(runner.origin(&R::batchSize), "BATCH_SIZE");
  auto c = Config::resolve("demo", {{"batch-size", "7"}}, env({{"BATCH_SIZE", "500"}}));
  EXPECT_EQ(c.get<R>().batchSize, 7);
  EXPECT_EQ(c.get<R>().origin(&R::batchSize), "--batch-size");
  EXPECT_EQ(c.get<SourceSettings>().topicPrefix, "dbserver1");
}

TEST(SettingsTest, BadValuesNameTheVariableOrFlag) {
  try {
    Config::resolve("demo", {}, env({{"BATCH_SIZE", "lots"}}));
    FAIL() << "accepted BATCH_SIZE=lots";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "BATCH_SIZE: expected a positive integer, got 'lots'");
  }
  try {
    Config::resolve("generate", {{"shape", "flat"}}, env({}));
    FAIL() << "accepted --shape flat";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "--shape: expected one of unwrap, envelope, got 'flat'");
  }
  EXPECT_THROW(Config::resolve("demo", {}, env({{"LOG_LEVEL", "loud"}})), ConfigError);
  EXPECT_THROW(Config::resolve("dump", {{"store", "nowhere"}}, env({})), ConfigError);
}

TEST(SettingsTest, OnlyTheCommandsSettingsAreResolved) {
  auto c = Config::resolve("dump", {}, env({{"CHECKPOINT_INTERVAL_MS", "5"}}));
  auto stores = c.get<StoreSettings>();
  EXPECT_EQ(stores.store, "sqlite:./data/cdc.db");
  EXPECT_TRUE(stores.has(&StoreSettings::store));
  auto dump = c.get<DumpSettings>();
  EXPECT_FALSE(dump.table.has_value());  // no default
  EXPECT_FALSE(dump.has(&DumpSettings::table));
  EXPECT_EQ(dump.origin(&DumpSettings::table), "unset");
  // A setting the command does not take: its default, never the environment's value.
  auto workload = c.get<WorkloadSettings>();
  EXPECT_EQ(workload.shape, "unwrap");
  EXPECT_FALSE(workload.has(&WorkloadSettings::shape));
  auto analytics = c.get<AnalyticsSettings>();
  EXPECT_EQ(analytics.checkpointIntervalMs, 1000);
  EXPECT_EQ(analytics.origin(&AnalyticsSettings::checkpointIntervalMs), "unset");
  EXPECT_EQ(
      Config::resolve("analytics", {}, env({{"CHECKPOINT_INTERVAL_MS", "5"}})).get<AnalyticsSettings>().checkpointIntervalMs, 5);
}

// Each member's type follows its setting's kind, a plain member has a default to hold, and each
// declaration is bound to one member: what get<S>() fills is what the flag and variable say.
template <class S>
void expectWellDeclared() {
  std::vector<const void*> seen;
  for (const auto& f : S::fields()) {
    const Setting& s = f.setting;
    SCOPED_TRACE("--" + std::string(s.name));
    const bool boolean = s.kind == Kind::Bool || s.kind == Kind::Switch;
    const bool integer =
        s.kind == Kind::Int || s.kind == Kind::PositiveInt || s.kind == Kind::NonNegativeInt || s.kind == Kind::Port;
    std::visit(
        [&](auto member) {
          using T = std::remove_cvref_t<decltype(std::declval<S&>().*member)>;
          if constexpr (std::is_same_v<T, bool>) {
            EXPECT_TRUE(boolean);
          } else if constexpr (std::is_same_v<T, int64_t> || std::is_same_v<T, std::optional<int64_t>>) {
            EXPECT_TRUE(integer);
          } else {
            EXPECT_FALSE(boolean || integer);
          }
          constexpr bool optional = std::is_same_v<T, std::optional<int64_t>> || std::is_same_v<T, std::optional<std::string>>;
          if constexpr (!optional && !std::is_same_v<T, bool>) {
            EXPECT_FALSE(s.defaultValue.empty()) << "a plain member needs a default (or make it std::optional)";
          } else if constexpr (optional) {
            EXPECT_TRUE(s.defaultValue.empty()) << "a setting with a default always has a value: a plain member";
          }
          if (s.kind == Kind::Switch) {
            EXPECT_TRUE(s.defaultValue.empty());
          }
          if (!s.defaultValue.empty()) {
            EXPECT_EQ(validate(s, s.defaultValue), std::nullopt) << "the default fails its own check";
          }
        },
        f.member);
    EXPECT_FALSE(s.commands.empty());
  }
  EXPECT_NO_THROW(Config::resolve("inventory", {}, env({})).get<S>());
}

TEST(SettingsTest, EveryMemberIsDeclaredWithTheTypeOfItsKind) {
  expectWellDeclared<WorkloadSettings>();
  expectWellDeclared<SourceSettings>();
  expectWellDeclared<KafkaSettings>();
  expectWellDeclared<RunnerSettings>();
  expectWellDeclared<InventorySettings>();
  expectWellDeclared<AnalyticsSettings>();
  expectWellDeclared<SearchIndexerSettings>();
  expectWellDeclared<TableSettings>();
  expectWellDeclared<StoreSettings>();
  expectWellDeclared<AwsSettings>();
  expectWellDeclared<DeadLetterSettings>();
  expectWellDeclared<DecodingSettings>();
  expectWellDeclared<HttpSettings>();
  expectWellDeclared<TracingSettings>();
  expectWellDeclared<ProduceSettings>();
  expectWellDeclared<SearchQuerySettings>();
  expectWellDeclared<DumpSettings>();
  expectWellDeclared<DlqSettings>();
  expectWellDeclared<DemoSettings>();
  expectWellDeclared<LogSettings>();
  // Every declaration is some struct's member, once.
  std::set<const Setting*> unique(allSettings().begin(), allSettings().end());
  EXPECT_EQ(unique.size(), allSettings().size());
  EXPECT_EQ(allSettings().size(), 99u);
}

TEST(SettingsTest, AMembersDeclarationNamesItsFlagAndVariable) {
  EXPECT_EQ(KafkaSettings::declaration(&KafkaSettings::bootstrapServers).env, "KAFKA_BOOTSTRAP_SERVERS");
  EXPECT_EQ(HttpSettings::declaration(&HttpSettings::metricsPort).name, "metrics-port");
  auto k = Config::resolve("inventory", {}, env({{"KAFKA_BOOTSTRAP_SERVERS", "b:9092"}, {"KAFKA_GROUP_ID", "g"}}))
               .get<KafkaSettings>();
  EXPECT_EQ(k.bootstrapServers, "b:9092");
  EXPECT_EQ(k.origin(&KafkaSettings::groupId), "KAFKA_GROUP_ID");
  EXPECT_EQ(k.groupProtocol, "classic");
  auto tracing = Config::resolve("inventory", {}, env({{"OTEL_SDK_DISABLED", "yes"}})).get<TracingSettings>();
  EXPECT_TRUE(tracing.otelSdkDisabled);
  EXPECT_FALSE(tracing.otlpEndpoint.has_value());
  EXPECT_EQ(tracing.bspMaxQueueSize, 2048);
}

TEST(SettingsTest, AValueIsGivenBeforeResolutionOnlyForACommandThatTakesIt) {
  Config::Flags flags{{"log-format", "json"}, {"service", "inventory"}};
  EXPECT_EQ(Config::given("dlq replay", flags, &LogSettings::logFormat), "json");
  EXPECT_EQ(Config::given("dlq replay", flags, &DlqSettings::service), "inventory");
  EXPECT_EQ(Config::given("inventory", flags, &DlqSettings::service), std::nullopt);
}

TEST(SettingsTest, AFlagSharedByTwoSettingsBelongsToDifferentCommands) {
  // cdc search's --limit and cdc dump's, the search indexer's --topic (KAFKA_TOPIC) and cdc
  // dlq's: a command takes one of them only, and a dlq filter never reads KAFKA_TOPIC.
  auto all = allSettings();
  for (size_t i = 0; i < all.size(); ++i) {
    for (size_t j = i + 1; j < all.size(); ++j) {
      if (all[i]->name != all[j]->name) continue;
      for (auto c : all[i]->commands) {
        EXPECT_EQ(std::find(all[j]->commands.begin(), all[j]->commands.end(), c), all[j]->commands.end())
            << "--" << all[i]->name << " twice for " << c;
        EXPECT_NE(c, "*");
      }
    }
  }
  auto dlq = Config::resolve("dlq list", {}, env({{"KAFKA_TOPIC", "dbserver1.public.products"}}));
  EXPECT_FALSE(dlq.get<DlqSettings>().topic.has_value());
  EXPECT_FALSE(dlq.get<SourceSettings>().topic.has_value());
  auto indexer = Config::resolve("search-indexer", {}, env({{"KAFKA_TOPIC", "dbserver1.public.products"}}));
  EXPECT_EQ(indexer.get<SourceSettings>().topic, "dbserver1.public.products");
  EXPECT_FALSE(indexer.get<DlqSettings>().topic.has_value());
  auto filtered = Config::resolve("dlq list", {{"topic", "products"}}, env({}));
  EXPECT_EQ(filtered.get<DlqSettings>().topic, "products");
  EXPECT_FALSE(filtered.get<SourceSettings>().topic.has_value());
  try {
    Config::resolve("dlq purge", {{"before", "last week"}}, env({}));
    FAIL() << "accepted --before 'last week'";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "--before: expected a date or an ISO-8601 time (2026-12-01, 2026-12-01T12:00:00Z), got 'last week'");
  }
}

TEST(SettingsTest, ReadmeHoldsTheGeneratedTable) {
  std::ifstream in(cdc::test::fixturesDir() + "/../../README.md");
  ASSERT_TRUE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_NE(ss.str().find(markdownTable()), std::string::npos)
      << "README's configuration table is stale: regenerate it with `scripts/readme-settings` (build/cdc config --markdown)";
}

TEST(SettingsTest, EachServiceReadmeHoldsItsGeneratedTable) {
  for (auto [command, folder] :
       {std::pair{"inventory", "inventory"}, std::pair{"analytics", "analytics"}, std::pair{"search-indexer", "search"}}) {
    SCOPED_TRACE(command);
    std::ifstream in(cdc::test::fixturesDir() + "/../../src/services/" + folder + "/README.md");
    ASSERT_TRUE(in.good());
    std::stringstream ss;
    ss << in.rdbuf();
    std::string table = markdownTable(command);
    ASSERT_FALSE(table.empty());
    EXPECT_NE(ss.str().find(table), std::string::npos)
        << "the service's README is stale: regenerate its table with `build/cdc config --markdown " << command << "`";
  }
  EXPECT_TRUE(markdownTable("bogus").empty());
}

// Values that start a service that can never work are refused at start-up, naming the variable.
TEST(SettingsTest, BrokersThresholdsPortsAndTableNamesAreChecked) {
  auto refused = [](std::string_view command, std::map<std::string, std::string> vars) -> std::string {
    try {
      Config::resolve(command, {}, env(vars));
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "accepted";
  };
  for (const char* brokers : {"", ",,,", " , ", "localhost", "localhost:", "localhost:port", ":9092", "a:1,b"}) {
    std::string why = refused("inventory", {{"KAFKA_BOOTSTRAP_SERVERS", brokers}});
    EXPECT_TRUE(why.starts_with("KAFKA_BOOTSTRAP_SERVERS: expected host:port")) << "'" << brokers << "': " << why;
  }
  EXPECT_EQ(refused("inventory", {{"KAFKA_BOOTSTRAP_SERVERS", "b-1.kafka:9092, b-2.kafka:9092,[::1]:9093"}}), "accepted");
  EXPECT_EQ(refused("inventory", {{"LOW_STOCK_THRESHOLD", "-5"}}),
            "LOW_STOCK_THRESHOLD: expected an integer of 0 or more, got '-5'");
  EXPECT_EQ(refused("inventory", {{"LOW_STOCK_THRESHOLD", "0"}}), "accepted");
  for (std::string table : {std::string("bad table!"), std::string("ab"), std::string(300, 'x'), std::string("tab/le")}) {
    std::string why = refused("inventory", {{"DYNAMODB_TABLE", table}});
    EXPECT_TRUE(why.starts_with("DYNAMODB_TABLE: expected a DynamoDB table name (3 to 246 characters")) << table << ": " << why;
  }
  EXPECT_EQ(refused("inventory", {{"DYNAMODB_TABLE", "cdc-platform-inventory-realtime"}}), "accepted");
  EXPECT_TRUE(refused("inventory", {{"LEDGER_TABLE", "x"}}).starts_with("LEDGER_TABLE:"));
  // OTLP's headers are key=value pairs; the registry's user info is user:password.
  EXPECT_EQ(refused("inventory", {{"OTEL_EXPORTER_OTLP_HEADERS", "api-key=abc123,x-tenant=shop%201"}}), "accepted");
  EXPECT_EQ(refused("inventory", {{"SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO", "justauser"}}),
            "SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO: expected user:password");
  EXPECT_EQ(refused("search-indexer", {{"HTTP_PORT", "70000"}}), "HTTP_PORT: expected a port number (0 to 65535), got '70000'");
  EXPECT_EQ(refused("search-indexer", {{"HTTP_PORT", "-1"}}), "HTTP_PORT: expected a port number (0 to 65535), got '-1'");
}

}  // namespace
}  // namespace cdc::config
