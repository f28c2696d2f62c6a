#include "config/settings.h"

#include <gtest/gtest.h>

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

TEST(SettingsTest, ReadmeHoldsTheGeneratedTable) {
  std::ifstream in(std::string(CDC_FIXTURES_DIR) + "/../../README.md");
  ASSERT_TRUE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_NE(ss.str().find(markdownTable()), std::string::npos)
      << "README's configuration table is stale: regenerate it with `build/cdc config`";
}

}  // namespace
}  // namespace cdc::config
