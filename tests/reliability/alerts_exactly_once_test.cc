// Low-stock alerts exactly once through crashes (P17): the inventory reads product changes from
// Kafka and writes DynamoDB (moto), each alert published in the Kafka transaction that commits
// its change's position; it is killed with SIGKILL at random moments (most land between a
// product's write and the transaction's commit: commits go every second, the writes every
// batch) and restarted with the same static group membership. A read_committed consumer of the
// alerts topic must then see every crossing exactly once: as many as a model of the same
// changes counts, each id "<product>-<crossing>" once. CRASH_KILLS sets the kills (50). The
// same through kills of the broker (BROKER_KILLS, 3).

#include <gtest/gtest.h>

#include <signal.h>

#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <regex>
#include <sstream>
#include <thread>

#include "reliability/crash_fixture.h"
#include "support/paths.h"
#include "support/stack.h"

namespace cdc::test {
namespace {

using namespace std::chrono_literals;

class AlertsExactlyOnceTest : public CrashTest {
 protected:
  static constexpr int kProducts = 20, kChanges = 4000, kThreshold = 10;

  void SetUp() override {
    CrashTest::SetUp();
    bootstrap_ = kafkaBootstrap();
    endpoint_ = awsEndpoint();
    ASSERT_FALSE(bootstrap_.empty() || endpoint_.empty()) << "run scripts/stack up kafka aws";
  }

  // Stock updates of 20 products around the threshold (10), keyed by product: each product's
  // changes in one partition, in order, so the crossings do not depend on how they are read.
  // Produced to the products topic; the model's crossings kept in crossings_.
  void produceStockChanges() {
    const std::string topic = prefix_ + ".public.products";
    std::uniform_int_distribution<int> product(1, kProducts), stock(0, 2 * kThreshold);
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
        out << R"({"topic":")" << topic << R"(","partition":0,"offset":)" << i << R"(,"key":"{\"id\":)" << p
            << R"(}","payload":")" << value << "\"}\n";
        if (s < kThreshold) {
          if (!low[p]) ++crossings_[p];
          low[p] = true;
        } else {
          low[p] = false;
        }
      }
    }
    for (const auto& [p, n] : crossings_) expected_ += n;
    ASSERT_GT(expected_, 500);
    auto produced =
        run(cdcBinary() + " produce --bootstrap-servers " + bootstrap_ + " --input " + (dir_ / "stock.jsonl").string());
    ASSERT_EQ(produced.exitCode, 0) << produced.out;
  }

  // The inventory over the products topic, its alerts to the alerts topic in transactions.
  std::string inventoryCommand(const std::string& extra = "") const {
    return "env AWS_ENDPOINT_URL=" + endpoint_ +
           " AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing KAFKA_BOOTSTRAP_SERVERS=" + bootstrap_ +
           " KAFKA_GROUP_INSTANCE_ID=" + prefix_ + "-member KAFKA_SESSION_TIMEOUT_MS=6000 ALERTS_TOPIC=" + alertsTopic() +
           " LOW_STOCK_THRESHOLD=" + std::to_string(kThreshold) + " " + cdcBinary() +
           " inventory --source kafka --until-caught-up --topics " + prefix_ + ".public.products --group-id " + prefix_ +
           "-inventory --store dynamodb --table-name " + table() +
           " --objects dir:lake --metrics-port 0 --batch-size 50 --log-level warn" + extra;
  }
  std::string alertsTopic() const { return prefix_ + ".alerts"; }
  std::string table() const { return prefix_ + "-inventory"; }

  // What a read_committed consumer of the alerts topic sees: each crossing of the model once,
  // and the items count the same crossings.
  void expectEachCrossingOnce() {
    auto read =
        run("kcat -C -q -e -b " + bootstrap_ + " -t " + alertsTopic() + " -X isolation.level=read_committed -f '%h\\n'", false);
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
    EXPECT_EQ(total, expected_) << twice << " alerts seen more than once, seed " << seed_;
    for (const auto& [p, n] : crossings_) {
      for (int k = 1; k <= n; ++k) {
        EXPECT_TRUE(seen.contains(std::to_string(p) + "-" + std::to_string(k))) << "missing " << p << "-" << k;
      }
    }
    auto dump = run(here("env AWS_ENDPOINT_URL=" + endpoint_ +
                         " AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing " + cdcBinary() +
                         " dump --store dynamodb --table " + table()),
                    false);
    ASSERT_EQ(dump.exitCode, 0) << dump.out;
    static const std::regex item(R"re("low_stock_crossings":([0-9]+).*"product_id":([0-9]+))re");
    int counted = 0;
    std::istringstream items(dump.out);
    for (std::string line; std::getline(items, line);) {
      std::smatch m;
      if (!std::regex_search(line, m, item)) continue;
      EXPECT_EQ(std::stoi(m[1]), crossings_[std::stoi(m[2])]) << line;
      counted += std::stoi(m[1]);
    }
    EXPECT_EQ(counted, expected_);
  }

  std::string bootstrap_, endpoint_;
  std::map<int, int> crossings_;  // the model: downward crossings by product
  int expected_ = 0;
};

TEST_P(AlertsExactlyOnceTest, EveryCrossingIsOnTheAlertsTopicOnceThroughKills) {
  ASSERT_NO_FATAL_FAILURE(produceStockChanges());
  int kills = envInt("CRASH_KILLS", 50);
  int landed = crashRepeatedly(inventoryCommand(), kills, 300ms, 2500ms, 600s);
  std::cout << landed << " of " << kills << " kills landed mid-run (seed " << seed_ << ")\n";
  EXPECT_GE(landed, kills * 3 / 4);
  expectEachCrossingOnce();
}

// The broker is killed (SIGKILL) and restarted with its data while the inventory runs: a
// transaction open at the kill is aborted (or its producer, if it cannot go on, replaced) and
// its batch read again; the group's session expires during the outage and the partitions come
// back. A member whose consumer librdkafka declares fenced by its own static identity (after a
// long outage) exits and is started again, as Kubernetes would: the alerts stay exactly once
// either way. The records are capped per second so that the run spans the kills. BROKER_KILLS
// sets the kills (3).
TEST_P(AlertsExactlyOnceTest, EveryCrossingIsOnTheAlertsTopicOnceThroughBrokerKills) {
  ASSERT_NO_FATAL_FAILURE(produceStockChanges());
  // 4,000 records at 50/s: 80 s at the least, the kills (restarts included) take under 50.
  const std::string command = inventoryCommand(" --max-records-per-second 50");
  int runs = 0;
  std::string logs;
  auto start = [&] {
    return std::make_unique<Process>(command, (dir_ / ("inventory-" + std::to_string(++runs) + ".log")).string(), dir_.string());
  };
  auto inventory = start();
  // A run that failed is started again (at most 5 times), its log kept.
  auto restartIfFailed = [&] {
    if (inventory->running()) return;
    auto code = inventory->wait(0ms);
    if (code == 0 || runs > 5) return;
    logs += inventory->output();
    inventory = start();
  };
  std::uniform_int_distribution<int> pause(1000, 4000);
  const int kills = envInt("BROKER_KILLS", 3);
  int landed = 0;
  for (int k = 0; k < kills; ++k) {
    std::this_thread::sleep_for(std::chrono::milliseconds(pause(rng_)));
    auto pid = run(sourceDir() + "/scripts/stack pid kafka", false);
    ASSERT_EQ(pid.exitCode, 0) << pid.out;
    ::kill(std::stoi(pid.out), SIGKILL);
    std::this_thread::sleep_for(std::chrono::milliseconds(pause(rng_)));
    auto restarted = run(sourceDir() + "/scripts/stack up kafka");
    ASSERT_EQ(restarted.exitCode, 0) << restarted.out;
    if (inventory->running()) ++landed;
    restartIfFailed();
  }
  for (;;) {
    auto code = inventory->wait(600s);
    ASSERT_TRUE(code.has_value()) << "the inventory is still running after 600 s:\n" << inventory->output();
    if (*code == 0) break;
    ASSERT_LE(runs, 5) << "the inventory did not finish after the broker's kills:\n" << logs << inventory->output();
    restartIfFailed();
  }
  logs += inventory->output();
  EXPECT_EQ(landed, kills) << "the run ended before the kills: raise the workload or lower the cap";
  std::cout << landed << " broker kills mid-run, " << occurrences(logs, "\"alerts_transaction_aborted\"")
            << " alert transactions aborted, " << occurrences(logs, "\"alerts_producer_replaced\"")
            << " alert producers replaced, " << runs - 1 << " restarts (seed " << seed_ << ")\n";
  expectEachCrossingOnce();
}

INSTANTIATE_TEST_SUITE_P(Inventory, AlertsExactlyOnceTest, ::testing::Values("inventory"));

}  // namespace
}  // namespace cdc::test
