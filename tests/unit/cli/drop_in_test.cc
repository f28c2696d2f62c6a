// The seed's deployment environment, one service at a time (SPEC §7, §9): its variables alone
// make a service read Kafka and write DynamoDB and S3; no configuration at all runs the built-in
// generator on the embedded stores; generated data never goes to AWS unless asked for. No
// servers: the broker does not answer (127.0.0.1:1) and nobody listens on the AWS endpoint, so
// what the service wired is read from its /metrics and /readyz.

#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <map>
#include <regex>
#include <string>
#include <thread>

#include <httplib.h>

#include "support/endpoints.h"
#include "support/process.h"
#include "support/run.h"

namespace cdc {
namespace {

namespace fs = std::filesystem;

class DropInTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("cdc-dropin-" + std::to_string(::getpid()) + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  // A command with only the given environment (and PATH/HOME): for a Process started in the
  // test's directory.
  std::string clean(const std::string& env, const std::string& args) const {
    return "env -i PATH=\"$PATH\" HOME=\"$HOME\" METRICS_PORT=0 " + env + " " + test::cdcBinary() + " " + args;
  }
  // The same run to its end in the test's directory.
  test::RunResult runClean(const std::string& env, const std::string& args) const {
    return test::run("cd " + dir_.string() + " && " + clean(env, args));
  }
  fs::path dir_;
};

TEST_F(DropInTest, AwsStoresWithNoSourceConfiguredAreAUsageError) {
  for (const auto& [env, args, culprit] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"", "inventory --store dynamodb", "--store: dynamodb with no source configured"},
           {"AWS_REGION=us-east-1", "analytics --objects s3 --s3-bucket lake", "--objects: s3 with no source configured"},
           {"CDC_STORE=dynamodb AWS_REGION=us-east-1", "search-indexer", "CDC_STORE: dynamodb with no source configured"},
       }) {
    SCOPED_TRACE(args);
    auto r = runClean(env, args);
    EXPECT_EQ(r.exitCode, 2) << r.out;
    EXPECT_NE(r.out.find(culprit), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("--source generate"), std::string::npos) << r.out;
  }
  // Nothing was written anywhere: no embedded database either.
  EXPECT_FALSE(fs::exists(dir_ / "data"));
}

TEST_F(DropInTest, NoConfigurationRunsTheGeneratorOnTheEmbeddedStores) {
  auto r = runClean("", "inventory --orders 50");
  EXPECT_EQ(r.exitCode, 0) << r.out;
  EXPECT_NE(r.out.find(R"("source":"generate)"), std::string::npos) << r.out;
  EXPECT_TRUE(fs::exists(dir_ / "data/cdc.db")) << r.out;
}

TEST_F(DropInTest, UnderAServicesNameTheBinaryRunsThatService) {
  // The images' entrypoints: a link named after the service.
  for (const char* name : {"inventory-service", "analytics-service", "search-indexer"}) {
    SCOPED_TRACE(name);
    fs::create_symlink(test::cdcBinary(), dir_ / name);
    auto r = test::run("cd " + dir_.string() + " && env -i PATH=\"$PATH\" METRICS_PORT=0 ./" + name +
                       " --orders 30 --log-format json");
    EXPECT_EQ(r.exitCode, 0) << r.out;
    EXPECT_NE(r.out.find(std::string(R"("service":")") + name + R"(","msg":"run_summary")"), std::string::npos) << r.out;
    auto version = test::run("cd " + dir_.string() + " && ./" + name + " --version");
    EXPECT_EQ(version.exitCode, 0) << version.out;
    EXPECT_TRUE(version.out.starts_with("cdc 0.")) << version.out;
  }
  // Other names are the command line itself.
  fs::create_symlink(test::cdcBinary(), dir_ / "cdc-copy");
  EXPECT_EQ(test::run("cd " + dir_.string() + " && ./cdc-copy --version").exitCode, 0);
}

TEST_F(DropInTest, VersionNamesTheVersionRevisionAndKafkaClient) {
  auto r = runClean("", "--version");
  EXPECT_EQ(r.exitCode, 0) << r.out;
  EXPECT_TRUE(r.out.starts_with("cdc 0.")) << r.out;
  EXPECT_NE(r.out.find("(revision "), std::string::npos) << r.out;
  // The librdkafka scripts/deps builds (2.11 or later: the consumer group protocol), not bookworm's 2.0.2.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.out, m, std::regex(R"(librdkafka ([0-9]+)\.([0-9]+)\.[0-9]+\))"))) << r.out;
  EXPECT_TRUE(std::stoi(m[1]) > 2 || (std::stoi(m[1]) == 2 && std::stoi(m[2]) >= 11)) << r.out;
}

// Each service with the seed's variables (and an endpoint for the AWS emulator, as a test
// against moto would give): Kafka in, DynamoDB and S3 out, nothing embedded.
TEST_F(DropInTest, TheSeedsEnvironmentAloneReadsKafkaAndWritesAws) {
  // An AWS endpoint where nobody listens: requests are refused at once.
  int aws = test::freePort();
  ASSERT_GT(aws, 0);
  const std::string common =
      "KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:1 AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing "
      "AWS_SECRET_ACCESS_KEY=testing LOG_FORMAT=json CREATE_TABLES=false AWS_ENDPOINT_URL=http://127.0.0.1:" +
      std::to_string(aws);
  struct Case {
    std::string service, name, env;
    bool tables;
    bool s3 = true;
  };
  for (const Case& c : {
           Case{"inventory", "inventory-service",
                "KAFKA_GROUP_ID=inventory-service-group DYNAMODB_TABLE=cdc-platform-inventory-realtime "
                "DLQ_S3_BUCKET=cdc-platform-dlq-123 KAFKA_TOPICS=dbserver1.public.products,dbserver1.public.order_items",
                true},
           Case{"analytics", "analytics-service",
                "KAFKA_GROUP_ID=analytics-service-group S3_BUCKET=cdc-platform-data-lake-123 FLUSH_INTERVAL=60 "
                "KAFKA_TOPICS=dbserver1.public.orders,dbserver1.public.order_items",
                false},
           Case{"search-indexer", "search-indexer",
                "KAFKA_GROUP_ID=search-indexer-group DYNAMODB_TABLE=cdc-platform-product-search-index "
                "DLQ_S3_BUCKET=cdc-platform-dlq-123 KAFKA_TOPICS=dbserver1.public.products",
                true},
           // The seed grants the search indexer DynamoDB only: its dead letters go to a Kafka topic.
           Case{"search-indexer", "search-indexer",
                "KAFKA_GROUP_ID=search-indexer-group DYNAMODB_TABLE=cdc-platform-product-search-index "
                "KAFKA_TOPICS=dbserver1.public.products",
                true, false},
       }) {
    SCOPED_TRACE(c.service + (c.s3 ? "" : " (no bucket)"));
    const std::string log = c.service + (c.s3 ? "" : "-kafka-dlq") + ".log";
    test::Process service(clean(common + " " + c.env, c.service), (dir_ / log).string(), dir_.string());
    int port = test::listeningPort(service, "/metrics");
    ASSERT_GT(port, 0) << service.output();
    httplib::Client client("127.0.0.1", port);
    auto metrics = client.Get("/metrics");
    ASSERT_TRUE(metrics) << service.output();
    const std::string& m = metrics->body;
    EXPECT_NE(service.output().find(R"("service":")" + c.name + R"(","msg":"service_start","source":"kafka:127.0.0.1:1)"),
              std::string::npos)
        << service.output();
    // The stores are DynamoDB (services with tables) and S3, each with its series.
    EXPECT_EQ(m.find(R"(cdc_store_requests_total{backend="dynamodb")") != std::string::npos, c.tables) << m;
    EXPECT_EQ(m.find(R"(cdc_store_requests_total{backend="s3")") != std::string::npos, c.s3) << m;
    EXPECT_EQ(m.find(R"(backend="sqlite")"), std::string::npos) << m;
    EXPECT_EQ(m.find(R"(backend="directory")"), std::string::npos) << m;
    // Not ready: the broker does not answer.
    auto ready = client.Get("/readyz");
    ASSERT_TRUE(ready);
    EXPECT_EQ(ready->status, 503);
    EXPECT_NE(ready->body.find(R"("source":)"), std::string::npos) << ready->body;
    // Stopped while its stores cannot be reached: nothing applied, a clean exit.
    service.signal(SIGTERM);
    EXPECT_EQ(service.wait(std::chrono::seconds(30)), 0) << service.output();
    EXPECT_NE(service.output().find("stopped by signal"), std::string::npos) << service.output();
    EXPECT_FALSE(fs::exists(dir_ / "data")) << "an embedded store was opened";
  }
  // The inventory's dead letters go to a bucket (the seed's grant): without DLQ_S3_BUCKET (or
  // S3_BUCKET) it says so at start.
  auto r = runClean(common + " DYNAMODB_TABLE=cdc-platform-inventory-realtime", "inventory");
  EXPECT_EQ(r.exitCode, 2) << r.out;
  EXPECT_NE(r.out.find("s3 needs DLQ_S3_BUCKET or S3_BUCKET"), std::string::npos) << r.out;
  // Dead letters in Kafka need the brokers.
  r = runClean("DLQ=kafka LOG_FORMAT=json", "inventory");
  EXPECT_EQ(r.exitCode, 2) << r.out;
  EXPECT_NE(r.out.find("DLQ: kafka needs KAFKA_BOOTSTRAP_SERVERS"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace cdc
