// scripts/check_layers.py, which scripts/lint runs: src/ as it is passes, and each kind of wrong
// include in a tree of the same shape is refused by name.

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "support/paths.h"
#include "support/run.h"

namespace cdc::test {
namespace {

namespace fs = std::filesystem;

class LayersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("cdc-layers-" + std::to_string(::getpid()));
    fs::remove_all(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  void write(const std::string& path, const std::string& text) {
    fs::create_directories((root_ / path).parent_path());
    std::ofstream(root_ / path) << text;
  }
  RunResult check(const std::string& dir) { return run("python3 " + sourceDir() + "/scripts/check_layers.py " + dir + ""); }

  fs::path root_;
};

TEST_F(LayersTest, TheSourcesAsTheyAreKeepTheirLayers) {
  auto r = check(sourceDir() + "/src");
  EXPECT_EQ(r.exitCode, 0) << r.out;
}

TEST_F(LayersTest, AWrongIncludeIsRefusedNamingFileLineAndTheLayersAllowed) {
  // The wiring may include anything; a service, the runtime or an adapter including upward
  // or sideways may not.
  write("app/wiring.cc", "#include \"services/inventory/alerts.h\"\n#include \"adapters/kafka/kafka_source.h\"\n");
  write("services/inventory/alerts.h", "#pragma once\n#include \"runtime/handler.h\"\n#include <vector>\n");
  write("adapters/kafka/kafka_source.h", "#pragma once\n#include \"runtime/source.h\"\n");
  write("runtime/source.h", "#pragma once\n#include \"core/result.h\"\n");
  auto clean = check(root_.string());
  EXPECT_EQ(clean.exitCode, 0) << clean.out;

  write("services/inventory/definition.cc",
        "#include \"services/inventory/alerts.h\"\n\n#include \"adapters/kafka/kafka_source.h\"\n");
  write("adapters/kafka/alert_publisher.h", "#pragma once\n#include \"services/inventory/alerts.h\"\n");
  write("runtime/runner.cc", "#include \"config/settings.h\"\n");
  write("services/search/indexer.cc", "#include \"services/inventory/state.h\"\n");
  auto r = check(root_.string());
  EXPECT_EQ(r.exitCode, 1) << r.out;
  EXPECT_NE(r.out.find("services/inventory/definition.cc:3: src/services includes \"adapters/kafka/kafka_source.h\"; "
                       "src/services may include core, debezium, metrics, runtime, store, tracing"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("adapters/kafka/alert_publisher.h:2: src/adapters includes \"services/inventory/alerts.h\""),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("runtime/runner.cc:1: src/runtime includes \"config/settings.h\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("services/search/indexer.cc:1: src/services/search includes \"services/inventory/state.h\": "
                       "a service does not include another service's headers"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("check_layers: 4 include(s) across the layers"), std::string::npos) << r.out;
}

TEST_F(LayersTest, AClockReadOutsideTheSystemsTimeSourceIsRefused) {
  write("core/time.cc", "auto t = std::chrono::steady_clock::now();\n");  // the system's TimeSource
  write("runtime/runner.cc", "// not std::chrono::steady_clock::now(): the options' time\nauto t = options_.time->steady();\n");
  auto clean = check(root_.string());
  EXPECT_EQ(clean.exitCode, 0) << clean.out;
  write("adapters/http/server.cc", "#include \"core/time.h\"\nvoid f() {\n  auto t = Clock::now();\n}\n");
  write("services/analytics/flush.cc", "auto at = std::chrono::system_clock::now();\n");
  auto r = check(root_.string());
  EXPECT_EQ(r.exitCode, 1) << r.out;
  EXPECT_NE(r.out.find("adapters/http/server.cc:3: reads the clock itself (Clock::now); read the time through the "
                       "TimeSource"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("services/analytics/flush.cc:1: reads the clock itself (system_clock::now)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("check_layers: 2 direct clock read(s)"), std::string::npos) << r.out;
}

TEST_F(LayersTest, AFolderOutsideTheTableIsNamed) {
  write("plugins/x.cc", "#include \"core/result.h\"\n");
  auto r = check(root_.string());
  EXPECT_EQ(r.exitCode, 1) << r.out;
  EXPECT_NE(r.out.find("folder src/plugins is not in scripts/check_layers.py's table of layers"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace cdc::test
