// The three services on DynamoDB and S3 (moto's server from `scripts/stack up aws`), each
// compared with the embedded run (SQLite, a local directory) of the same workload, and read
// back the way a user's tools see them (the AWS CLI).

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "support/run.h"
#include "support/same_lines.h"
#include "support/service_state.h"
#include "support/stack.h"

namespace cdc::test {
namespace {

namespace fs = std::filesystem;

class AwsServicesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    endpoint_ = awsEndpoint();
    ASSERT_FALSE(endpoint_.empty()) << "no AWS endpoint: run scripts/stack up aws";
    awsCli_ = stackVariable("CDC_AWS_CLI");
    static int n = 0;
    prefix_ = "aws" + std::to_string(::getpid()) + "-" + std::to_string(++n);
    dir_ = fs::temp_directory_path() / ("cdc-aws-" + prefix_);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    workload_ = (dir_ / "events.jsonl").string();
    auto g = run(cdcBinary() + " generate --products 60 --orders 250 --topic-prefix " + prefix_ + " > " + workload_, false);
    ASSERT_EQ(g.exitCode, 0);
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }

  std::string awsEnv() const {
    return "env AWS_ENDPOINT_URL=" + endpoint_ +
           " AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing ";
  }
  // A service over the workload, on AWS or embedded.
  RunResult service(const std::string& name, bool onAws) {
    std::string args = name + " --source file:" + workload_ + " --topic-prefix " + prefix_ +
                       (name == "analytics" ? "" : " --table-name " + table(name)) + " --log-level warn";
    if (name == "search-indexer") args += " --http-port 0";
    if (onAws)
      return run("cd " + dir_.string() + " && " + awsEnv() + cdcBinary() + " " + args + storeFlag(name, "dynamodb") +
                 " --objects s3 --s3-bucket " + bucket());
    return run("cd " + dir_.string() + " && " + cdcBinary() + " " + args + storeFlag(name, "sqlite:embedded.db") +
               " --objects dir:lake");
  }
  std::string table(const std::string& service) const { return prefix_ + "-" + service; }
  std::string bucket() const { return prefix_ + "-lake"; }
  // A table as `cdc dump` prints it, without what depends on batching and the wall clock.
  std::string dump(const std::string& tableName, bool onAws) {
    std::string store = onAws ? "--store dynamodb" : "--store sqlite:embedded.db";
    auto r =
        run("cd " + dir_.string() + " && " + (onAws ? awsEnv() : "") + cdcBinary() + " dump " + store + " --table " + tableName,
            false);
    EXPECT_EQ(r.exitCode, 0) << tableName;
    EXPECT_GT(r.out.size(), 50u) << tableName << " is empty";
    return comparable(r.out);
  }
  RunResult aws(const std::string& args) { return run(awsEnv() + awsCli_ + " " + args); }

  std::string endpoint_, awsCli_, prefix_, workload_;
  fs::path dir_;
};

TEST_F(AwsServicesTest, InventoryOnDynamoDbMatchesTheEmbeddedRun) {
  auto onAws = service("inventory", true);
  ASSERT_EQ(onAws.exitCode, 0) << onAws.out;
  auto embedded = service("inventory", false);
  ASSERT_EQ(embedded.exitCode, 0) << embedded.out;
  for (const std::string& t : std::vector<std::string>{table("inventory"), table("inventory") + "-ledger"}) {
    SCOPED_TRACE(t);
    std::string items = dump(t, true);
    EXPECT_EQ(items, dump(t, false));
    // The AWS CLI sees the same number of items.
    auto count = aws("dynamodb scan --table-name " + t + " --select COUNT --output text --query Count");
    ASSERT_EQ(count.exitCode, 0) << count.out;
    EXPECT_EQ(std::stoll(count.out), std::count(items.begin(), items.end(), '\n'));
  }
  auto item =
      aws("dynamodb get-item --table-name " + table("inventory") + " --key '{\"product_id\":{\"N\":\"1\"}}' --output json");
  ASSERT_EQ(item.exitCode, 0) << item.out;
  EXPECT_NE(item.out.find("\"stock_quantity\""), std::string::npos) << item.out;
  EXPECT_NE(item.out.find("\"price\": {\n            \"S\""), std::string::npos) << "price is an exact string\n" << item.out;
}

TEST_F(AwsServicesTest, AnalyticsReportsInS3MatchTheEmbeddedRun) {
  auto onAws = service("analytics", true);
  ASSERT_EQ(onAws.exitCode, 0) << onAws.out;
  auto embedded = service("analytics", false);
  ASSERT_EQ(embedded.exitCode, 0) << embedded.out;
  auto listing = aws("s3 ls s3://" + bucket() + "/analytics/ --recursive");
  ASSERT_EQ(listing.exitCode, 0) << listing.out;
  for (const char* folder : {"daily_sales", "product_sales", "customer_metrics", "order_status", "summary"}) {
    SCOPED_TRACE(folder);
    std::string key = std::string("analytics/") + folder + "/latest.json";
    EXPECT_NE(listing.out.find(key), std::string::npos) << listing.out;
    EXPECT_TRUE(std::regex_search(listing.out, std::regex(std::string("analytics/") + folder + "/[0-9]{8}_[0-9]{6}\\.json")));
    auto body = run(awsEnv() + awsCli_ + " s3 cp s3://" + bucket() + "/" + key + " -", false);
    ASSERT_EQ(body.exitCode, 0);
    EXPECT_EQ(withoutGeneratedAt(body.out), withoutGeneratedAt(readFile(dir_ / "lake" / key)));
  }
}

TEST_F(AwsServicesTest, SearchIndexOnDynamoDbMatchesTheEmbeddedRunAndAnswersTheSame) {
  auto onAws = service("search-indexer", true);
  ASSERT_EQ(onAws.exitCode, 0) << onAws.out;
  auto embedded = service("search-indexer", false);
  ASSERT_EQ(embedded.exitCode, 0) << embedded.out;
  for (const std::string suffix : {"", "-postings", "-tokens"}) {
    SCOPED_TRACE(suffix);
    EXPECT_TRUE(sameLines(dump(table("search-indexer") + suffix, true), dump(table("search-indexer") + suffix, false)));
  }
  for (const char* q : {"wireless", "pro ke", "lamp --max-price 60"}) {
    SCOPED_TRACE(q);
    std::string args = std::string(" search ") +
                       (std::string(q).find("--") == std::string::npos ? "'" + std::string(q) + "'" : "lamp --max-price 60") +
                       " --table-name " + table("search-indexer");
    auto a = run("cd " + dir_.string() + " && " + awsEnv() + cdcBinary() + args + " --store dynamodb", false);
    auto e = run("cd " + dir_.string() + " && " + cdcBinary() + args + " --store sqlite:embedded.db", false);
    EXPECT_EQ(a.exitCode, 0);
    EXPECT_EQ(a.out, e.out);
  }
}

TEST_F(AwsServicesTest, DeadLettersGoToTheDeadLetterBucket) {
  std::ofstream(workload_, std::ios::app)
      << R"({"topic":")" << prefix_ << R"(.public.products","partition":2,"offset":999,"key":"{\"id\":9}","payload":"not json"})"
      << "\n";
  std::string args = " inventory --source file:" + workload_ + " --topic-prefix " + prefix_ + " --table-name " +
                     table("inventory") + " --store dynamodb --objects s3 --s3-bucket " + bucket() + " --dlq-bucket " + prefix_ +
                     "-dlq --log-level error";
  auto r = run("cd " + dir_.string() + " && " + awsEnv() + cdcBinary() + args);
  ASSERT_EQ(r.exitCode, 0) << r.out;
  EXPECT_NE(r.out.find("1 dead letters"), std::string::npos) << r.out;
  auto listing = aws("s3 ls s3://" + prefix_ + "-dlq/dlq/inventory-service/ --recursive");
  ASSERT_EQ(listing.exitCode, 0) << listing.out;
  EXPECT_NE(listing.out.find("/2-999.json"), std::string::npos) << listing.out;
  auto listed = run(
      "cd " + dir_.string() + " && " + awsEnv() + cdcBinary() + " dlq list --objects s3 --dlq-bucket " + prefix_ + "-dlq", false);
  EXPECT_NE(listed.out.find("\"offset\":999"), std::string::npos) << listed.out;
}

TEST_F(AwsServicesTest, AnItemDynamoDbWouldRefuseIsADeadLetterAndTheRestIsWritten) {
  // A product whose description makes its item pass DynamoDB's 400 KB concerns that message
  // alone: it is refused before any write (the store's ValidationException path, for what no
  // check foresees, is the runner's halving, tested in the unit suite).
  std::string huge(450'000, 'x');
  std::ofstream(workload_, std::ios::app)
      << R"({"topic":")" << prefix_
      << R"(.public.products","partition":0,"offset":99999,"key":"{\"id\":99999}","payload":"{\"id\":99999,\"name\":\"Huge\",\"description\":\")"
      << huge << R"(\",\"price\":\"10.00\",\"stock_quantity\":5,\"__op\":\"c\"}"})" << "\n";
  auto onAws = service("inventory", true);
  ASSERT_EQ(onAws.exitCode, 0) << onAws.out;
  EXPECT_NE(onAws.out.find(" 1 dead letters"), std::string::npos) << onAws.out;
  auto listed =
      run("cd " + dir_.string() + " && " + awsEnv() + cdcBinary() + " dlq list --objects s3 --s3-bucket " + bucket(), false);
  EXPECT_NE(listed.out.find("\"offset\":99999"), std::string::npos) << listed.out;
  EXPECT_NE(listed.out.find("exceeds DynamoDB's 400 KB item size"), std::string::npos) << listed.out;
  // The embedded store keeps DynamoDB's limit too: both runs hold the same items.
  auto embedded = service("inventory", false);
  ASSERT_EQ(embedded.exitCode, 0) << embedded.out;
  EXPECT_NE(embedded.out.find(" 1 dead letters"), std::string::npos) << embedded.out;
  std::string awsItems = dump(table("inventory"), true);
  EXPECT_EQ(awsItems.find("\"product_id\":99999"), std::string::npos);
  EXPECT_EQ(awsItems, dump(table("inventory"), false));
}

}  // namespace
}  // namespace cdc::test
