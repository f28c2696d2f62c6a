#include "config/settings.h"
#include "support/paths.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace cdc::config {
namespace {

auto env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
}

TEST(SettingsTest, FlagOverridesEnvironmentOverridesDefault) {
  auto c = Config::resolve("demo", {}, env({}));
  EXPECT_EQ(c.integer("batch-size"), 2000);
  EXPECT_EQ(c.origin("batch-size"), "default");
  c = Config::resolve("demo", {}, env({{"BATCH_SIZE", "500"}}));
  EXPECT_EQ(c.integer("batch-size"), 500);
  EXPECT_EQ(c.origin("batch-size"), "BATCH_SIZE");
  c = Config::resolve("demo", {{"batch-size", "7"}}, env({{"BATCH_SIZE", "500"}}));
  EXPECT_EQ(c.integer("batch-size"), 7);
  EXPECT_EQ(c.str("topic-prefix"), "dbserver1");
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
  auto c = Config::resolve("dump", {}, env({}));
  EXPECT_TRUE(c.has("store"));
  EXPECT_FALSE(c.has("shape"));
  EXPECT_FALSE(c.has("table"));  // no default
  EXPECT_THROW(c.str("table"), ConfigError);
}

TEST(SettingsTest, AFlagSharedByTwoSettingsBelongsToDifferentCommands) {
  // cdc search's --limit and cdc dump's, the search indexer's --topic (KAFKA_TOPIC) and cdc
  // dlq's: a command takes one of them only, and a dlq filter never reads KAFKA_TOPIC.
  auto all = allSettings();
  for (size_t i = 0; i < all.size(); ++i) {
    for (size_t j = i + 1; j < all.size(); ++j) {
      if (all[i].name != all[j].name) continue;
      for (auto c : all[i].commands) {
        EXPECT_EQ(std::find(all[j].commands.begin(), all[j].commands.end(), c), all[j].commands.end())
            << "--" << all[i].name << " twice for " << c;
        EXPECT_NE(c, "*");
      }
    }
  }
  auto dlq = Config::resolve("dlq list", {}, env({{"KAFKA_TOPIC", "dbserver1.public.products"}}));
  EXPECT_FALSE(dlq.has("topic"));
  auto indexer = Config::resolve("search-indexer", {}, env({{"KAFKA_TOPIC", "dbserver1.public.products"}}));
  EXPECT_EQ(indexer.str("topic"), "dbserver1.public.products");
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
  EXPECT_EQ(refused("search-indexer", {{"HTTP_PORT", "70000"}}), "HTTP_PORT: expected a port number (0 to 65535), got '70000'");
  EXPECT_EQ(refused("search-indexer", {{"HTTP_PORT", "-1"}}), "HTTP_PORT: expected a port number (0 to 65535), got '-1'");
}

}  // namespace
}  // namespace cdc::config
