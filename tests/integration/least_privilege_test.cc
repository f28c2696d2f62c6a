// Each service under exactly its IAM policy (deploy/iam/<service>.json), on a moto that checks
// every request against IAM (`scripts/stack up aws-iam`): the workload gives the same tables and
// reports as the embedded run, and a request beyond the policy is refused at once, naming the
// action and the resource, never retried.
//
// What moto checks: the action of every request, and the resource of S3 requests. It checks a
// DynamoDB request against the resource "*" (it does not derive the table's ARN), which a
// statement naming tables never matches: the copy given to moto has the DynamoDB statement's
// Resource widened to "*", its actions exactly as shipped, and the tables the policies name
// are checked by reading the policies (LeastPrivilegePolicyTest). Condition keys are not given
// to moto's evaluation, and a statement whose condition it cannot meet counts as a deny: the
// analytics policy's `s3:prefix` condition on ListBucket is left out of the copy given to moto.
// And moto checks a transaction as the action dynamodb:TransactWriteItems, which IAM does not
// have (AWS authorises each member as PutItem, UpdateItem, DeleteItem or ConditionCheckItem, the
// actions the policies grant): the copy given to moto adds it.

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>

#include "support/paths.h"
#include "support/run.h"
#include "support/same_lines.h"
#include "support/service_state.h"
#include "support/stack.h"

namespace cdc::test {
namespace {

namespace fs = std::filesystem;

// The names the manifests and policies use, in moto's account.
const std::string kAccount = "123456789012";
const std::string kInventoryTable = "cdc-platform-inventory-realtime";
const std::string kSearchTable = "cdc-platform-product-search-index";
const std::string kDlqBucket = "cdc-platform-dlq-" + kAccount;
const std::string kLakeBucket = "cdc-platform-data-lake-" + kAccount;

struct Keys {
  std::string id, secret;
};

class LeastPrivilegeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    endpoint_ = stackVariable("CDC_AWS_IAM_ENDPOINT_URL");
    ASSERT_FALSE(endpoint_.empty()) << "no IAM-checking moto: run scripts/stack up aws-iam";
    std::ifstream keyFile(stackVariable("CDC_AWS_IAM_ADMIN_KEY_FILE"));
    keyFile >> admin_.id >> admin_.secret;
    ASSERT_FALSE(admin_.secret.empty()) << "no administrator key";
    awsCli_ = stackVariable("CDC_AWS_CLI");
    static int n = 0;
    prefix_ = "iam" + std::to_string(::getpid()) + "-" + std::to_string(++n);
    dir_ = fs::temp_directory_path() / ("cdc-" + prefix_);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    // The workload, with one poison message per topic: each service writes a dead letter.
    workload_ = (dir_ / "events.jsonl").string();
    ASSERT_EQ(run(cdcBinary() + " generate --products 60 --orders 200 > " + workload_, false).exitCode, 0);
    std::ofstream out(workload_, std::ios::app);
    for (const char* table : {"products", "orders", "order_items"}) {
      out << R"({"topic":"dbserver1.public.)" << table
          << R"(","partition":2,"offset":999999,"key":"{\"id\":999999}","payload":"not json at all"})" << "\n";
    }
    std::ofstream(dir_ / "empty.jsonl");
    for (const auto& bucket : {kDlqBucket, kLakeBucket}) aws(admin_, "s3 mb s3://" + bucket);  // exists after a first run
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }

  std::string env(const Keys& k) const {
    return "env -u AWS_PROFILE AWS_ENDPOINT_URL=" + endpoint_ + " AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 " +
           "AWS_ACCESS_KEY_ID=" + k.id + " AWS_SECRET_ACCESS_KEY=" + k.secret + " AWS_EC2_METADATA_DISABLED=true ";
  }
  RunResult aws(const Keys& k, const std::string& args, bool withStderr = true) {
    return run(env(k) + awsCli_ + " " + args, withStderr);
  }

  // A user holding only `policy` (a file of deploy/iam, the account filled in; `edit` may
  // change it first): its keys.
  Keys userWith(const std::string& service, std::string edit = "") {
    // moto checks DynamoDB requests against "*" (see the top of this file).
    const std::string widen =
        "[s.update(Resource=\"*\", Action=s[\"Action\"] + [\"dynamodb:TransactWriteItems\"]) for s in d[\"Statement\"] "
        "if s[\"Action\"][0].startswith(\"dynamodb:\")]";
    edit = edit.empty() ? widen : widen + "; " + edit;
    static int users = 0;
    std::string user = prefix_ + "-" + service + "-" + std::to_string(++users);
    fs::path policy = dir_ / (service + "-policy.json");
    auto rendered = run("python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); " + (edit.empty() ? "" : edit + "; ") +
                            "print(json.dumps(d).replace(\"ACCOUNT_ID\", \"" + kAccount + "\"))' " + sourceDir() +
                            "/deploy/iam/" + service + ".json > " + policy.string(),
                        true);
    EXPECT_EQ(rendered.exitCode, 0) << rendered.out;
    EXPECT_EQ(aws(admin_, "iam create-user --user-name " + user).exitCode, 0);
    auto put = aws(
        admin_, "iam put-user-policy --user-name " + user + " --policy-name least --policy-document file://" + policy.string());
    EXPECT_EQ(put.exitCode, 0) << put.out;
    auto key = aws(
        admin_, "iam create-access-key --user-name " + user + " --query 'AccessKey.[AccessKeyId,SecretAccessKey]' --output text",
        false);
    EXPECT_EQ(key.exitCode, 0) << key.out;
    Keys k;
    std::istringstream(key.out) >> k.id >> k.secret;
    return k;
  }

  // The service's tables made afresh by the administrator (the service itself has no
  // CreateTable: its tables come from infrastructure code).
  void freshTables(const std::string& service, const std::string& table) {
    for (const auto& t : tablesOf(service, table)) aws(admin_, "dynamodb delete-table --table-name " + t);
    auto r = runService(admin_, service, "file:" + (dir_ / "empty.jsonl").string(), "CREATE_TABLES=true", "dir:setup");
    ASSERT_EQ(r.exitCode, 0) << r.out;
  }

  // The service over `source` with the seed's variables, on the IAM-checking moto.
  RunResult runService(const Keys& k, const std::string& service, const std::string& source, const std::string& vars,
                       const std::string& objects = "s3") {
    std::string args = "timeout 120 " + cdcBinary() + " " + service + " --source " + source + storeFlag(service, "dynamodb") +
                       " --objects " + objects + " --log-format json";
    if (service == "search-indexer") args += " --http-port 0";
    std::string seed = service == "inventory"   ? "DYNAMODB_TABLE=" + kInventoryTable + " DLQ_S3_BUCKET=" + kDlqBucket
                       : service == "analytics" ? "S3_BUCKET=" + kLakeBucket
                                                : "DYNAMODB_TABLE=" + kSearchTable;
    return run("cd " + dir_.string() + " && " + env(k) + " CREATE_TABLES=false " + seed + " " + vars + " " + args);
  }
  // The embedded run of the same workload: the reference.
  RunResult embedded(const std::string& service) {
    std::string args = service + " --source file:" + workload_ + storeFlag(service, "sqlite:embedded.db") + " --objects dir:lake";
    if (service == "inventory") args += " --table-name " + kInventoryTable;
    if (service == "search-indexer") args += " --table-name " + kSearchTable + " --http-port 0";
    return run("cd " + dir_.string() + " && " + cdcBinary() + " " + args);
  }
  // A table as `cdc dump` prints it (the administrator reads it: the services have no Scan).
  std::string dump(const std::string& table, bool onAws) {
    std::string store = onAws ? "--store dynamodb" : "--store sqlite:embedded.db";
    auto r =
        run("cd " + dir_.string() + " && " + (onAws ? env(admin_) : "") + cdcBinary() + " dump " + store + " --table " + table,
            false);
    EXPECT_EQ(r.exitCode, 0) << table;
    EXPECT_GT(r.out.size(), 50u) << table << " is empty";
    return comparable(r.out);
  }
  // A refused run: exit 1 at once (well within the timeout: no retry loop), naming what.
  void expectRefused(const RunResult& r, const std::string& what) {
    EXPECT_EQ(r.exitCode, 1) << r.out;
    EXPECT_NE(r.out.find("AccessDenied"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(what), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("\"msg\":\"retrying\""), std::string::npos) << "a refusal is not retried\n" << r.out;
  }

  std::string endpoint_, awsCli_, prefix_, workload_;
  Keys admin_;
  fs::path dir_;
};

TEST_F(LeastPrivilegeTest, TheInventoryNeedsNoMoreThanItsPolicy) {
  freshTables("inventory", kInventoryTable);
  Keys inventory = userWith("inventory-service");
  auto r = runService(inventory, "inventory", "file:" + workload_, "");
  ASSERT_EQ(r.exitCode, 0) << r.out;
  EXPECT_NE(r.out.find(R"("dead_letters":2)"), std::string::npos) << r.out;
  ASSERT_EQ(embedded("inventory").exitCode, 0);
  for (const auto& t : tablesOf("inventory", kInventoryTable)) {
    SCOPED_TRACE(t);
    EXPECT_EQ(dump(t, true), dump(t, false));
  }
  auto letters = aws(admin_, "s3 ls s3://" + kDlqBucket + "/dlq/inventory-service/ --recursive");
  EXPECT_NE(letters.out.find("999999.json"), std::string::npos) << letters.out;

  // Its dead letters in another bucket: refused at the first one, named.
  r = runService(inventory, "inventory", "file:" + workload_, "DLQ_S3_BUCKET=" + kLakeBucket);
  expectRefused(r, "s3:PutObject on arn:aws:s3:::" + kLakeBucket + "/dlq/inventory-service/");
  // A policy without DescribeTable: named at start-up, before any record.
  Keys partial = userWith("inventory-service", "d[\"Statement\"][0][\"Action\"].remove(\"dynamodb:DescribeTable\")");
  r = runService(partial, "inventory", "file:" + workload_, "");
  expectRefused(r, "dynamodb:DescribeTable on table " + kInventoryTable);
  EXPECT_EQ(r.out.find("\"msg\":\"dead_letter\""), std::string::npos) << "refused before any record\n" << r.out;
}

TEST_F(LeastPrivilegeTest, TheAnalyticsServiceNeedsNoMoreThanItsPolicy) {
  Keys analytics = userWith("analytics-service", "[s.pop(\"Condition\", None) for s in d[\"Statement\"]]");
  auto r = runService(analytics, "analytics", "file:" + workload_, "");
  ASSERT_EQ(r.exitCode, 0) << r.out;
  ASSERT_EQ(embedded("analytics").exitCode, 0);
  for (const auto& folder : reportFolders()) {
    SCOPED_TRACE(folder);
    std::string key = "analytics/" + folder + "/latest.json";
    auto body = aws(admin_, "s3 cp s3://" + kLakeBucket + "/" + key + " -", false);
    ASSERT_EQ(body.exitCode, 0);
    EXPECT_EQ(withoutGeneratedAt(body.out), withoutGeneratedAt(readFile(dir_ / "lake" / key)));
  }
  auto letters = aws(admin_, "s3 ls s3://" + kLakeBucket + "/dlq/analytics-service/ --recursive");
  EXPECT_NE(letters.out.find("999999.json"), std::string::npos) << letters.out;
  // The dead-letter bucket is not its own.
  r = runService(analytics, "analytics", "file:" + workload_, "S3_BUCKET=" + kDlqBucket);
  expectRefused(r, "arn:aws:s3:::" + kDlqBucket);
}

TEST_F(LeastPrivilegeTest, TheSearchIndexerNeedsNoMoreThanItsPolicy) {
  freshTables("search-indexer", kSearchTable);
  Keys search = userWith("search-indexer");
  // DynamoDB only: its dead letters go to Kafka in production; here (no brokers) to a directory.
  auto r = runService(search, "search-indexer", "file:" + workload_, "", "dir:letters");
  ASSERT_EQ(r.exitCode, 0) << r.out;
  EXPECT_NE(r.out.find(R"("dead_letters":1)"), std::string::npos) << r.out;
  ASSERT_EQ(embedded("search-indexer").exitCode, 0);
  for (const auto& t : tablesOf("search-indexer", kSearchTable)) {
    SCOPED_TRACE(t);
    EXPECT_TRUE(sameLines(dump(t, true), dump(t, false)));
  }
  // The search API answers under the same policy (Query on the indexes).
  auto a = run("cd " + dir_.string() + " && " + env(search) + cdcBinary() + " search wireless --store dynamodb --table-name " +
                   kSearchTable,
               false);
  auto e = run(
      "cd " + dir_.string() + " && " + cdcBinary() + " search wireless --store sqlite:embedded.db --table-name " + kSearchTable,
      false);
  EXPECT_EQ(a.exitCode, 0) << a.out;
  EXPECT_EQ(a.out, e.out);
  // S3 is beyond it: its dead letters there are refused at the first one, named.
  r = runService(search, "search-indexer", "file:" + workload_, "DLQ=objects DLQ_S3_BUCKET=" + kDlqBucket);
  expectRefused(r, "s3:PutObject on arn:aws:s3:::" + kDlqBucket + "/dlq/search-indexer/");
  // So is a Scan (cdc dump is the operator's).
  auto scan = run("cd " + dir_.string() + " && " + env(search) + cdcBinary() + " dump --store dynamodb --table " + kSearchTable);
  EXPECT_EQ(scan.exitCode, 1) << scan.out;
  EXPECT_NE(scan.out.find("dynamodb:Scan on table " + kSearchTable), std::string::npos) << scan.out;
}

// What moto does not check (DynamoDB resources), read from the policies: each names only its
// own service's tables, and the bucket prefixes of its own service.
TEST(LeastPrivilegePolicyTest, EachPolicyNamesOnlyItsOwnTablesAndPrefixes) {
  std::map<std::string, std::vector<std::string>> own = {
      {"inventory-service", {"table/" + kInventoryTable, "dlq/inventory-service/"}},
      {"analytics-service", {"cdc-platform-data-lake-ACCOUNT_ID"}},
      {"search-indexer", {"table/" + kSearchTable}},
  };
  for (const auto& [service, mine] : own) {
    SCOPED_TRACE(service);
    std::string policy = readFile(sourceDir() + "/deploy/iam/" + service + ".json");
    ASSERT_FALSE(policy.empty());
    std::regex resource(R"x("(arn:aws:[^"]+)")x");
    int resources = 0;
    for (std::sregex_iterator it(policy.begin(), policy.end(), resource), end; it != end; ++it, ++resources) {
      std::string arn = (*it)[1];
      bool ok = false;
      for (const auto& m : mine) ok = ok || arn.find(m) != std::string::npos;
      EXPECT_TRUE(ok) << arn;
      auto star = arn.find('*');
      EXPECT_TRUE(star == std::string::npos || star == arn.size() - 1) << "a wildcard only at the end of a prefix: " << arn;
    }
    EXPECT_GT(resources, 0);
    EXPECT_EQ(policy.find("\"*\""), std::string::npos) << "no Resource or Action \"*\"";
    EXPECT_EQ(policy.find("dynamodb:*"), std::string::npos);
    EXPECT_EQ(policy.find("s3:*"), std::string::npos);
    EXPECT_EQ(policy.find("CreateTable"), std::string::npos);
    EXPECT_EQ(policy.find("dynamodb:Scan"), std::string::npos);
  }
}

}  // namespace
}  // namespace cdc::test
