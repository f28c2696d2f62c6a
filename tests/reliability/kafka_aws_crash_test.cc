// Crash consistency from Kafka to DynamoDB and S3 (the broker and moto that scripts/stack
// starts): each service, with --until-caught-up, is killed with SIGKILL at random moments and
// restarted until it is done, each restart going on from the offsets the killed one committed;
// its tables and reports must equal an embedded run over the same records. CRASH_KILLS (default
// 4; the long run by hand: 30) kills per service.

#include <gtest/gtest.h>

#include <chrono>
#include <iostream>

#include "reliability/crash_fixture.h"
#include "support/stack.h"

namespace cdc::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class KafkaAwsCrashTest : public CrashTest {
 protected:
  void SetUp() override {
    CrashTest::SetUp();
    bootstrap_ = kafkaBootstrap();
    endpoint_ = awsEndpoint();
    ASSERT_FALSE(bootstrap_.empty()) << "no Kafka broker: run scripts/stack up kafka";
    ASSERT_FALSE(endpoint_.empty()) << "no AWS endpoint: run scripts/stack up aws";
    awsCli_ = stackVariable("CDC_AWS_CLI");
  }
  std::string awsEnv() const {
    return "env AWS_ENDPOINT_URL=" + endpoint_ +
           " AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing ";
  }
  std::string table() const { return prefix_ + "-" + service(); }
  std::string bucket() const { return prefix_ + "-lake"; }

  // The service from Kafka to DynamoDB and S3, until the group has read every partition.
  std::string onKafkaAndAws() const {
    // The settings of one service only (the table, the flush) as the deployment passes them: in
    // the environment, which the others ignore.
    return awsEnv() + "KAFKA_BOOTSTRAP_SERVERS=" + bootstrap_ +
           " KAFKA_SESSION_TIMEOUT_MS=6000 KAFKA_HEARTBEAT_INTERVAL_MS=1000 ALERTS_TOPIC=" + prefix_ +
           ".alerts DYNAMODB_TABLE=" + table() + " CDC_STORE=dynamodb FLUSH_INTERVAL=2 " + cdcBinary() + " " + service() +
           " --source kafka --until-caught-up --topic-prefix " + prefix_ + " --group-id " + prefix_ + "-" + service() +
           " --objects s3 --s3-bucket " + bucket() + " --batch-size 200 --log-level warn" +
           (service() == "search-indexer" ? " --http-port 0" : "");
  }

  std::string awsState() {
    std::string out;
    if (service() == "analytics") {
      for (const auto& f : reportFolders()) {
        auto body = run(awsEnv() + awsCli_ + " s3 cp s3://" + bucket() + "/analytics/" + f + "/latest.json -", false);
        EXPECT_EQ(body.exitCode, 0) << f;
        out += body.out + "\n";
      }
    } else {
      std::vector<std::string> dumps;
      for (const auto& t : tablesOf(service(), table())) {
        auto r = run(here(awsEnv() + cdcBinary() + " dump --store dynamodb --table " + t), false);
        EXPECT_EQ(r.exitCode, 0) << t;
        dumps.push_back(r.out);
      }
      return comparableTables(service(), dumps);
    }
    return comparable(out);
  }

  std::string bootstrap_, endpoint_, awsCli_;
};

TEST_P(KafkaAwsCrashTest, KilledAtRandomMomentsAndRestartedEqualsACrashFreeRun) {
  // Small: the inventory applies a batch on DynamoDB one transaction per product group, slowly
  // on moto (P9).
  generate("--products 80 --customers 400 --orders 700");
  auto produced =
      run(cdcBinary() + " produce --bootstrap-servers " + bootstrap_ + " --input " + (dir_ / "events.jsonl").string());
  ASSERT_EQ(produced.exitCode, 0) << produced.out;
  auto reference = run(here(embedded("reference")));
  ASSERT_EQ(reference.exitCode, 0) << reference.out;
  int kills = envInt("CRASH_KILLS", 4);
  // A member joins its group within a few seconds; the kills land before, during and after it
  // starts applying batches, and each restart goes on from what the last one committed.
  int landed = crashRepeatedly(onKafkaAndAws(), kills, 1s, 9s, 600s);
  EXPECT_GE(landed, 1);
  std::cout << service() << ": " << landed << " of " << kills << " kills landed mid-run\n";
  EXPECT_TRUE(sameLines(awsState(), embeddedState("reference"))) << landed << " kills, seed " << seed_;
}

INSTANTIATE_TEST_SUITE_P(Services, KafkaAwsCrashTest, ::testing::Values("inventory", "analytics", "search-indexer"),
                         [](const auto& info) { return info.param == "search-indexer" ? std::string("search") : info.param; });

}  // namespace
}  // namespace cdc::test
