// A sink slow enough that a whole batch would outlast the consumer's max.poll.interval.ms:
// the inventory runs on Kafka against DynamoDB (moto) behind a proxy that serves one request
// at a time, each after a delay. The batch is committed in parts and the consumer keeps its
// partitions: it is never thrown out of its group, nothing is applied twice, nothing is lost.

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>

#include "support/fault_proxy.h"
#include "support/run.h"
#include "support/run_summary.h"
#include "support/same_lines.h"
#include "support/service_state.h"
#include "support/stack.h"

namespace cdc::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

TEST(SlowSinkTest, ABatchOutlastingThePollIntervalIsCommittedInPartsWithoutEvictionRedoOrLoss) {
  std::string bootstrap = kafkaBootstrap();
  std::string endpoint = awsEndpoint();
  ASSERT_FALSE(bootstrap.empty()) << "no Kafka broker: run scripts/stack up kafka";
  ASSERT_FALSE(endpoint.empty()) << "no AWS endpoint: run scripts/stack up aws";
  std::string prefix = "slow" + std::to_string(::getpid());
  fs::path dir = fs::temp_directory_path() / ("cdc-" + prefix);
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::string workload = (dir / "events.jsonl").string();
  ASSERT_EQ(
      run(cdcBinary() + " generate --products 300 --orders 2500 --topic-prefix " + prefix + " > " + workload, false).exitCode, 0);
  auto produced = run(cdcBinary() + " produce --bootstrap-servers " + bootstrap + " --input " + workload);
  ASSERT_EQ(produced.exitCode, 0) << produced.out;

  // One request at a time, 200 ms each: a 2,000-record batch needs more than the 6 s interval
  // (5 rounds of reads and writes, about 30 requests), a part of a few hundred records a third
  // of it.
  FaultProxy proxy(endpoint);
  proxy.delay = 200ms;
  proxy.oneAtATime = true;
  proxy.start();
  std::string aws = "AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing ";
  std::string table = " --table-name " + prefix + "-inventory";
  auto slow =
      run("cd " + dir.string() + " && env " + aws + "AWS_ENDPOINT_URL=" + proxy.url() + " KAFKA_BOOTSTRAP_SERVERS=" + bootstrap +
          " KAFKA_MAX_POLL_INTERVAL_MS=6000 KAFKA_SESSION_TIMEOUT_MS=6000 KAFKA_HEARTBEAT_INTERVAL_MS=1000"
          " LOG_FORMAT=text LOG_LEVEL=info " +
          cdcBinary() + " inventory --source kafka --until-caught-up --topic-prefix " + prefix + " --group-id " + prefix + table +
          " --batch-size 2000 --store dynamodb --objects s3 --s3-bucket " + prefix + "-lake --summary-json slow.summary.json");
  proxy.stop();
  ASSERT_EQ(slow.exitCode, 0) << slow.out;
  const std::string& out = slow.out;
  std::smatch summary;
  if (std::regex_search(out, summary, std::regex("inventory-service: [^\n]*"))) std::cerr << summary[0] << "\n";
  const fs::path slowSummary = dir / "slow.summary.json", embeddedSummary = dir / "embedded.summary.json";
  EXPECT_GE(summaryCount(slowSummary, "stats.runner.batches_cut"), 1) << out;
  EXPECT_GT(summaryCount(slowSummary, "stats.stores.dynamodb.requests"), 0) << out;
  // Never thrown out of the group: one assignment, nothing lost or revoked before the end, every
  // commit accepted.
  EXPECT_EQ(occurrences(out, "partitions_assigned"), 1u) << out;
  EXPECT_EQ(occurrences(out, "partitions_lost"), 0u) << out;
  EXPECT_EQ(occurrences(out, "offset_commit_failed"), 0u) << out;
  EXPECT_EQ(occurrences(out, "exceeded"), 0u) << out;  // librdkafka: "maximum poll interval (6000ms) exceeded"
  EXPECT_LT(out.find("group_caught_up"), out.find("partitions_revoked")) << out;

  // The same records replayed from the file into the embedded store: the reference.
  auto replay =
      run("cd " + dir.string() + " && " + cdcBinary() + " inventory --source file:" + workload + " --topic-prefix " + prefix +
          table + " --store sqlite:embedded.db --objects dir:lake --log-level warn --summary-json embedded.summary.json");
  ASSERT_EQ(replay.exitCode, 0) << replay.out;
  // Nothing applied twice: what is recognised as already applied is the same as in the replay
  // (the tombstones that follow rewritten deletes), not a batch done again.
  for (const char* count : {"records", "stats.handler.already_applied", "stats.handler.order_item_changes"}) {
    EXPECT_EQ(summaryCount(slowSummary, count), summaryCount(embeddedSummary, count)) << count << "\n" << out << replay.out;
    EXPECT_GE(summaryCount(slowSummary, count), 0) << count;
  }
  for (const std::string suffix : {"", "-ledger"}) {
    SCOPED_TRACE(suffix);
    auto onAws = run("env " + aws + "AWS_ENDPOINT_URL=" + endpoint + " " + cdcBinary() + " dump --store dynamodb --table " +
                         prefix + "-inventory" + suffix,
                     false);
    auto embedded = run("cd " + dir.string() + " && " + cdcBinary() + " dump --store sqlite:embedded.db --table " + prefix +
                            "-inventory" + suffix,
                        false);
    ASSERT_EQ(onAws.exitCode, 0);
    EXPECT_GT(onAws.out.size(), 1000u);
    EXPECT_TRUE(sameLines(comparable(onAws.out), comparable(embedded.out)));
  }
  if (!::testing::Test::HasFailure()) fs::remove_all(dir);
}

}  // namespace
}  // namespace cdc::test
