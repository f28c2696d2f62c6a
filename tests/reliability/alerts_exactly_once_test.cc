// Low-stock alerts exactly once through crashes (P17): the inventory reads product changes from
// Kafka and writes DynamoDB (moto), each alert published in the Kafka transaction that commits
// its change's position; it is killed with SIGKILL at random moments (most land between a
// product's write and the transaction's commit: commits go every second, the writes every
// batch) and restarted with the same static group membership. A read_committed consumer of the
// alerts topic must then see every crossing exactly once: as many as a model of the same
// changes counts, each id "<product>-<crossing>" once. CRASH_KILLS sets the kills (50).

#include <gtest/gtest.h>

#include <fstream>
#include <iostream>
#include <map>
#include <regex>

#include "reliability/crash_fixture.h"
#include "support/stack.h"

namespace cdc::test {
namespace {

using namespace std::chrono_literals;

class AlertsExactlyOnceTest : public CrashTest {
 protected:
  void SetUp() override {
    CrashTest::SetUp();
    bootstrap_ = kafkaBootstrap();
    endpoint_ = awsEndpoint();
    ASSERT_FALSE(bootstrap_.empty() || endpoint_.empty()) << "run scripts/stack up kafka aws";
  }
  std::string bootstrap_, endpoint_;
};

TEST_P(AlertsExactlyOnceTest, EveryCrossingIsOnTheAlertsTopicOnceThroughKills) {
  // Stock updates of 20 products around the threshold (10), keyed by product: each product's
  // changes in one partition, in order, so the crossings do not depend on how they are read.
  constexpr int kProducts = 20, kChanges = 4000, kThreshold = 10;
  const std::string topic = prefix_ + ".public.products";
  std::uniform_int_distribution<int> product(1, kProducts), stock(0, 2 * kThreshold);
  std::map<int, int> crossings;  // the model: downward crossings by product
  std::map<int, bool> low;
  {
    std::ofstream out(dir_ / "stock.jsonl");
    for (int i = 0; i < kChanges; ++i) {
      int p = i < kProducts ? i + 1 : product(rng_), s = stock(rng_);
      std::string value =
          "{\\\"id\\\":" + std::to_string(p) + ",\\\"name\\\":\\\"Product " + std::to_string(p) +
          "\\\",\\\"description\\\":\\\"d\\\",\\\"price\\\":\\\"9.99\\\",\\\"stock_quantity\\\":" + std::to_string(s) +
          ",\\\"__op\\\":\\\"" + (i < kProducts ? "r" : "u") +
          "\\\",\\\"__source_ts_ms\\\":" + std::to_string(1767225600000 + i) + ",\\\"__deleted\\\":\\\"false\\\"}";
      out << R"({"topic":")" << topic << R"(","partition":0,"offset":)" << i << R"(,"key":"{\"id\":)" << p << R"(}","payload":")"
          << value << "\"}\n";
      if (s < kThreshold) {
        if (!low[p]) ++crossings[p];
        low[p] = true;
      } else {
        low[p] = false;
      }
    }
  }
  int expected = 0;
  for (const auto& [p, n] : crossings) expected += n;
  ASSERT_GT(expected, 500);
  auto produced = run(cdcBinary() + " produce --bootstrap-servers " + bootstrap_ + " --input " + (dir_ / "stock.jsonl").string());
  ASSERT_EQ(produced.exitCode, 0) << produced.out;

  const std::string alerts = prefix_ + ".alerts", table = prefix_ + "-inventory";
  const std::string command =
      "env AWS_ENDPOINT_URL=" + endpoint_ +
      " AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing KAFKA_BOOTSTRAP_SERVERS=" + bootstrap_ +
      " KAFKA_GROUP_INSTANCE_ID=" + prefix_ + "-member KAFKA_SESSION_TIMEOUT_MS=6000 ALERTS_TOPIC=" + alerts +
      " LOW_STOCK_THRESHOLD=" + std::to_string(kThreshold) + " " + cdcBinary() +
      " inventory --source kafka --until-caught-up --topics " + topic + " --group-id " + prefix_ +
      "-inventory --store dynamodb --table-name " + table +
      " --objects dir:lake --metrics-port 0 --batch-size 50 --log-level warn";
  int kills = envInt("CRASH_KILLS", 50);
  int landed = crashRepeatedly(command, kills, 300ms, 2500ms, 600s);
  std::cout << landed << " of " << kills << " kills landed mid-run (seed " << seed_ << ")\n";
  EXPECT_GE(landed, kills * 3 / 4);

  // What a read_committed consumer sees: each crossing once.
  auto read = run("kcat -C -q -e -b " + bootstrap_ + " -t " + alerts + " -X isolation.level=read_committed -f '%h\\n'", false);
  ASSERT_EQ(read.exitCode, 0) << read.out;
  std::map<std::string, int> seen;
  std::istringstream lines(read.out);
  static const std::regex id("alert_id=([0-9]+-[0-9]+)");
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_search(line, m, id)) ++seen[m[1]];
  }
  int total = 0, twice = 0;
  for (const auto& [alert, n] : seen) {
    total += n;
    if (n > 1) ++twice;
    EXPECT_EQ(n, 1) << alert << " seen " << n << " times";
  }
  EXPECT_EQ(total, expected) << twice << " alerts seen more than once, seed " << seed_;
  for (const auto& [p, n] : crossings) {
    for (int k = 1; k <= n; ++k) {
      EXPECT_TRUE(seen.contains(std::to_string(p) + "-" + std::to_string(k))) << "missing " << p << "-" << k;
    }
  }
  // The items count the same crossings.
  auto dump = run(here("env AWS_ENDPOINT_URL=" + endpoint_ +
                       " AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing " + cdcBinary() +
                       " dump --store dynamodb --table " + table),
                  false);
  ASSERT_EQ(dump.exitCode, 0) << dump.out;
  static const std::regex item(R"re("low_stock_crossings":([0-9]+).*"product_id":([0-9]+))re");
  int counted = 0;
  std::istringstream items(dump.out);
  for (std::string line; std::getline(items, line);) {
    std::smatch m;
    if (!std::regex_search(line, m, item)) continue;
    EXPECT_EQ(std::stoi(m[1]), crossings[std::stoi(m[2])]) << line;
    counted += std::stoi(m[1]);
  }
  EXPECT_EQ(counted, expected);
}

INSTANTIATE_TEST_SUITE_P(Inventory, AlertsExactlyOnceTest, ::testing::Values("inventory"));

}  // namespace
}  // namespace cdc::test
