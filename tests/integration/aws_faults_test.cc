// Transient AWS failures never lose a message: a proxy in front of moto's server throttles
// requests, cancels transactions as conflicting, and stops listening for a while; the services
// run through it and still end with the embedded run's tables.

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <simdjson.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <regex>
#include <thread>

#include "support/endpoints.h"
#include "support/fault_proxy.h"
#include "support/process.h"
#include "support/run.h"
#include "support/same_lines.h"
#include "support/service_state.h"
#include "support/stack.h"

namespace cdc::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class AwsFaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    endpoint_ = awsEndpoint();
    ASSERT_FALSE(endpoint_.empty()) << "no AWS endpoint: run scripts/stack up aws";
    static int n = 0;
    prefix_ = "flt" + std::to_string(::getpid()) + "-" + std::to_string(++n);
    dir_ = fs::temp_directory_path() / ("cdc-aws-" + prefix_);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    proxy_ = std::make_unique<FaultProxy>(endpoint_);
    proxy_->start();
  }
  void TearDown() override {
    proxy_.reset();
    if (!HasFailure()) fs::remove_all(dir_);
  }
  void generate(const std::string& flags) {
    workload_ = (dir_ / "events.jsonl").string();
    ASSERT_EQ(run(cdcBinary() + " generate " + flags + " --topic-prefix " + prefix_ + " > " + workload_, false).exitCode, 0);
  }
  std::string command(const std::string& service, bool onAws) const {
    std::string args = service + " --source file:" + workload_ + " --topic-prefix " + prefix_ +
                       (service == "analytics" ? "" : " --table-name " + prefix_ + "-" + service) + " " + logArgs_ +
                       (service == "search-indexer" ? " --http-port 0" : "") + extraArgs_;
    if (!onAws) return cdcBinary() + " " + args + storeFlag(service, "sqlite:embedded.db") + " --objects dir:lake";
    return "env AWS_ENDPOINT_URL=" + proxy_->url() +
           " AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing " + cdcBinary() + " " + args +
           storeFlag(service, "dynamodb") + " --objects s3 --s3-bucket " + prefix_ + "-lake";
  }
  std::string dump(const std::string& table, bool onAws) {
    std::string store = onAws ? "env AWS_ENDPOINT_URL=" + endpoint_ +
                                    " AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing " +
                                    cdcBinary() + " dump --store dynamodb"
                              : cdcBinary() + " dump --store sqlite:embedded.db";
    auto r = run("cd " + dir_.string() + " && " + store + " --table " + table, false);
    EXPECT_EQ(r.exitCode, 0);
    EXPECT_GT(r.out.size(), 50u) << table << " is empty";
    return comparable(r.out);
  }

  std::string endpoint_, prefix_, workload_;
  std::string extraArgs_;  // for both runs
  std::string logArgs_ = "--log-level warn";
  fs::path dir_;
  std::unique_ptr<FaultProxy> proxy_;
};

// Every fourth request throttled, every third transaction cancelled by a conflict with another
// (TransactionCanceledException, reason TransactionConflict): retried, nothing lost. Small
// batches make many requests.
TEST_F(AwsFaultsTest, ThrottlingAndTransactionConflictsAreRetriedWithoutLoss) {
  generate("--products 80 --orders 150");
  extraArgs_ = " --batch-size 20";
  proxy_->throttleEvery = 4;
  proxy_->conflictEvery = 3;
  auto r = run("cd " + dir_.string() + " && " + command("search-indexer", true));
  ASSERT_EQ(r.exitCode, 0) << r.out;
  EXPECT_NE(r.out.find(" 0 dead letters"), std::string::npos) << r.out;
  EXPECT_GT(proxy_->throttled.load(), 10);
  EXPECT_GT(proxy_->conflicts.load(), 5);
  ASSERT_EQ(run("cd " + dir_.string() + " && " + command("search-indexer", false)).exitCode, 0);
  for (const std::string suffix : {"", "-postings", "-tokens"}) {
    SCOPED_TRACE(suffix);
    std::string table = prefix_ + "-search-indexer" + suffix;
    EXPECT_TRUE(sameLines(dump(table, true), dump(table, false)));
  }
}

// Every third transaction is applied and then answered 500: the retry's conditions fail (moto
// ignores ClientRequestToken), the log says what is known, and the batch applied again lands
// on the same tables as the embedded run.
TEST_F(AwsFaultsTest, ATransactionAppliedButAnswered500IsRecognisedAndNamedForWhatItIs) {
  generate("--products 60 --orders 120");
  extraArgs_ = " --batch-size 20";
  logArgs_ = "--log-level warn";
  proxy_->failAfterApplyEvery = 3;
  auto r = run("cd " + dir_.string() + " && " + command("inventory", true));
  ASSERT_EQ(r.exitCode, 0) << r.out;
  EXPECT_GT(proxy_->appliedThenFailed.load(), 3);
  EXPECT_NE(r.out.find("a transaction of the inventory was refused: its conditions failed when it was sent again after its first "
                       "attempt got 500 InternalServerError"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("optimistic lock"), std::string::npos) << r.out;
  ASSERT_EQ(run("cd " + dir_.string() + " && " + command("inventory", false)).exitCode, 0);
  for (const std::string suffix : {"", "-ledger"}) {
    SCOPED_TRACE(suffix);
    EXPECT_TRUE(sameLines(dump(prefix_ + "-inventory" + suffix, true), dump(prefix_ + "-inventory" + suffix, false)));
  }
}

TEST_F(AwsFaultsTest, AnEndpointStoppedMidRunLosesNothingAndTheRunCompletesWhenItReturns) {
  generate("--products 60 --orders 600");
  // Slowed down (one request at a time, 200 ms each: a few seconds in all) so that the outage
  // falls in the middle of the run.
  proxy_->delay = 200ms;
  proxy_->oneAtATime = true;
  // Its probes on a port of its own (the line that names it is logged at info).
  logArgs_ = "--log-level info --log-format json --http-host 127.0.0.1";
  Process service(command("inventory", true), (dir_ / "inventory.log").string(), dir_.string());
  int port = listeningPort(service, "/readyz");
  ASSERT_GT(port, 0) << service.output();
  httplib::Client probes("127.0.0.1", port);
  auto ready = probes.Get("/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200) << ready->body;
  std::this_thread::sleep_for(1500ms);
  ASSERT_TRUE(service.running()) << "finished before the outage: make the workload larger\n" << service.output();
  proxy_->stop();
  std::this_thread::sleep_for(5s);
  EXPECT_TRUE(service.running()) << "it waits for the endpoint\n" << service.output();
  // Not ready while DynamoDB does not answer, and saying so; alive all along (the loop turns
  // while it waits).
  ready = probes.Get("/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 503) << ready->body;
  EXPECT_NE(ready->body.find(R"("dynamodb":")"), std::string::npos) << ready->body;
  auto live = probes.Get("/healthz");
  ASSERT_TRUE(live);
  EXPECT_EQ(live->status, 200) << live->body;
  auto metrics = probes.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find(R"(cdc_store_circuit_open{backend="dynamodb",service="inventory-service"} 1)"), std::string::npos)
      << metrics->body;
  proxy_->start();
  // Ready again once DynamoDB answers, before the run ends.
  bool readyAgain = false;
  while (!readyAgain && service.running()) {
    auto r = probes.Get("/readyz");
    readyAgain = r && r->status == 200;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(readyAgain) << "not ready again before the run ended\n" << service.output();
  auto code = service.wait(240s);
  ASSERT_TRUE(code.has_value()) << "did not finish after the endpoint returned\n" << service.output();
  EXPECT_EQ(*code, 0) << service.output();
  std::string out = service.output();
  EXPECT_NE(out.find("circuit_open"), std::string::npos) << "the outage is visible in the log\n" << out;
  EXPECT_NE(out.find(" 0 dead letters"), std::string::npos) << out;
  ASSERT_EQ(run("cd " + dir_.string() + " && " + command("inventory", false)).exitCode, 0);
  for (const std::string suffix : {"", "-ledger"}) {
    SCOPED_TRACE(suffix);
    std::string table = prefix_ + "-inventory" + suffix;
    EXPECT_TRUE(sameLines(dump(table, true), dump(table, false)));
  }
}

TEST_F(AwsFaultsTest, DumpLooksUpAKeyWithOneGetItemAndStopsAtItsLimit) {
  generate("--products 40 --orders 100");
  ASSERT_EQ(run(command("inventory", true)).exitCode, 0);
  const std::string table = prefix_ + "-inventory";
  auto dumpVia = [&](const std::string& flags) {
    return run("env AWS_ENDPOINT_URL=" + proxy_->url() +
                   " AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing " + cdcBinary() +
                   " dump --store dynamodb --table " + table + " " + flags,
               false);
  };
  const std::string all = dump(table, true);
  int scans = proxy_->operations("Scan");
  auto one = dumpVia("--key 7");
  EXPECT_EQ(one.exitCode, 0);
  EXPECT_EQ(std::count(one.out.begin(), one.out.end(), '\n'), 1) << one.out;
  EXPECT_NE(one.out.find(R"("product_id":7,)"), std::string::npos) << one.out;
  EXPECT_NE(all.find(comparable(one.out)), std::string::npos) << one.out;
  EXPECT_EQ(proxy_->operations("GetItem"), 1);
  EXPECT_EQ(proxy_->operations("Scan"), scans);  // no Scan for a key
  EXPECT_EQ(dumpVia("--key 100000").out, "");    // no such product: nothing, exit 0
  // A limit is a Scan that asks for no more than it prints.
  auto three = dumpVia("--limit 3");
  EXPECT_EQ(three.exitCode, 0);
  EXPECT_EQ(std::count(three.out.begin(), three.out.end(), '\n'), 3) << three.out;
  EXPECT_EQ(proxy_->operations("Scan"), scans + 1);
  // The ledger has a key of its own: a key of another table is named.
  auto wrong =
      run("env AWS_ENDPOINT_URL=" + endpoint_ + " AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing " +
          cdcBinary() + " dump --store dynamodb --table " + table + "-ledger --key product_id=7");
  EXPECT_EQ(wrong.exitCode, 2) << wrong.out;
  EXPECT_NE(wrong.out.find("partition key is ledger_key, not product_id"), std::string::npos) << wrong.out;
}

TEST_F(AwsFaultsTest, AProfileAssumesItsRoleThroughStsAndGivesTheRegion) {
  std::ofstream(dir_ / "credentials") << "[base]\naws_access_key_id = testing\naws_secret_access_key = testing\n";
  std::ofstream(dir_ / "config")
      << "[profile deploy]\nrole_arn = arn:aws:iam::123456789012:role/deployer\nsource_profile = base\n"
         "region = us-east-1\n";
  generate("--products 10 --orders 20");
  const std::string env =
      "env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN -u AWS_REGION -u AWS_DEFAULT_REGION "
      "HOME=/nonexistent AWS_PROFILE=deploy AWS_CONFIG_FILE=config AWS_SHARED_CREDENTIALS_FILE=credentials "
      "AWS_ENDPOINT_URL=" +
      endpoint_ + " LOG_FORMAT=text ";
  auto r = run("cd " + dir_.string() + " && " + env + cdcBinary() + " inventory --source file:" + workload_ + " --topic-prefix " +
               prefix_ + " --table-name " + prefix_ + "-role --store dynamodb --objects dir:lake --log-level info");
  ASSERT_EQ(r.exitCode, 0) << r.out;
  EXPECT_NE(r.out.find("credentials_loaded source=profile deploy (role arn:aws:iam::123456789012:role/deployer) expires="),
            std::string::npos)
      << r.out;
  auto dump = run(
      "cd " + dir_.string() + " && " + env + cdcBinary() + " dump --store dynamodb --table " + prefix_ + "-role --key 1", false);
  EXPECT_NE(dump.out.find(R"("product_id":1,)"), std::string::npos) << dump.out;
}

}  // namespace
}  // namespace cdc::test
