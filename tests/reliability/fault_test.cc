// Server faults mid-run, from Kafka to DynamoDB and S3 (the broker and moto scripts/stack
// starts): moto is stopped (SIGSTOP) for FAULT_PAUSE_SECONDS (default 60) and resumed, then the
// broker is killed (SIGKILL) and restarted with its data. The three services, running all the
// while with --until-caught-up, must lose and double nothing (their tables and reports equal an
// embedded run over the same records), keep their memory bounded (RSS sampled all along, under
// the seed's 512 MiB limit) and finish on their own.
// Runs with the reliability suite; FAULT_PAUSE_SECONDS shortens the outage for a quick look.

#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>

#include "reliability/crash_fixture.h"
#include "support/endpoints.h"
#include "support/paths.h"

namespace cdc::test {
namespace {

using namespace std::chrono_literals;

int serverPid(const std::string& server) {
  auto r = run(sourceDir() + "/scripts/stack pid " + server, false);
  return r.exitCode == 0 ? std::stoi(r.out) : -1;
}

TEST(FaultTest, MotoStoppedAndTheBrokerKilledLoseAndDoubleNothing) {
  std::string bootstrap = kafkaBootstrap(), endpoint = awsEndpoint(), awsCli = stackVariable("CDC_AWS_CLI");
  ASSERT_FALSE(bootstrap.empty()) << "no Kafka broker: run scripts/stack up kafka";
  ASSERT_FALSE(endpoint.empty()) << "no AWS endpoint: run scripts/stack up aws";
  std::string prefix = "fault" + std::to_string(::getpid());
  auto dir = std::filesystem::temp_directory_path() / ("cdc-" + prefix);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto here = [&](const std::string& c) { return "cd " + dir.string() + " && " + c; };
  std::string awsEnv =
      "env AWS_ENDPOINT_URL=" + endpoint +
      " AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing ";
  ASSERT_EQ(run(here(cdcBinary() + " generate --products 1000 --customers 500 --orders 900 --topic-prefix " + prefix +
                     " > events.jsonl"),
                false)
                .exitCode,
            0);
  auto produced = run(here(cdcBinary() + " produce --bootstrap-servers " + bootstrap + " --input events.jsonl"));
  ASSERT_EQ(produced.exitCode, 0) << produced.out;

  const std::vector<std::string> services{"inventory", "analytics", "search-indexer"};
  // Analytics checkpoints after every batch here, so that it is still writing to S3 when moto
  // stops (with its default interval it is through the workload within seconds; the crash tests
  // cover the interval).
  auto http = [](const std::string& s) {
    if (s == "analytics") return std::string(" --checkpoint-interval-ms 0");
    return s == "search-indexer" ? std::string(" --http-port 0") : std::string();
  };
  std::map<std::string, std::unique_ptr<Process>> running;
  std::map<std::string, int> metricsPort;
  for (const auto& s : services) {
    metricsPort[s] = freePort();
    ASSERT_GT(metricsPort[s], 0);
    std::string cmd = awsEnv + "METRICS_PORT=" + std::to_string(metricsPort[s]) + " KAFKA_BOOTSTRAP_SERVERS=" + bootstrap +
                      " KAFKA_SESSION_TIMEOUT_MS=10000 KAFKA_HEARTBEAT_INTERVAL_MS=1000 ALERTS_TOPIC=" + prefix + ".alerts " +
                      "DYNAMODB_TABLE=" + prefix + "-" + s + " CDC_STORE=dynamodb FLUSH_INTERVAL=5 " + cdcBinary() + " " + s +
                      " --source kafka --until-caught-up --topic-prefix " + prefix + " --group-id " + prefix + "-" + s +
                      " --objects s3 --s3-bucket " + prefix + "-lake --batch-size 25 --log-level warn" + http(s);
    running[s] = std::make_unique<Process>(cmd, (dir / (s + ".log")).string(), dir.string());
  }
  std::map<std::string, int64_t> peakKiB;
  auto sample = [&](std::chrono::milliseconds d) {
    for (auto until = std::chrono::steady_clock::now() + d; std::chrono::steady_clock::now() < until;) {
      for (auto& [s, p] : running) peakKiB[s] = std::max(peakKiB[s], p->rssKiB());
      std::this_thread::sleep_for(200ms);
    }
  };
  // Moto stops as soon as every service has applied its first events (their /metrics say so):
  // each has then most of its workload still to write, however fast the machine.
  std::set<std::string> started;
  for (auto until = std::chrono::steady_clock::now() + 120s;
       started.size() < services.size() && std::chrono::steady_clock::now() < until;) {
    for (auto& [s, p] : running) {
      peakKiB[s] = std::max(peakKiB[s], p->rssKiB());
      if (appliedEvents(metricsPort[s]) > 0) started.insert(s);
    }
    std::this_thread::sleep_for(20ms);
  }
  for (auto& [s, p] : running) {
    ASSERT_TRUE(started.count(s)) << s << " applied nothing within 120 s:\n" << p->output();
    ASSERT_TRUE(p->running()) << s << " ended before the faults:\n" << p->output();
  }

  int moto = serverPid("aws");
  ASSERT_GT(moto, 0);
  ::kill(moto, SIGSTOP);
  sample(std::chrono::seconds(envInt("FAULT_PAUSE_SECONDS", 60)));
  ::kill(moto, SIGCONT);
  for (auto& [s, p] : running) EXPECT_TRUE(p->running()) << s << " did not ride out the AWS outage:\n" << p->output();
  sample(3s);

  int broker = serverPid("kafka");
  ASSERT_GT(broker, 0);
  ::kill(broker, SIGKILL);
  sample(3s);
  auto restarted = run(sourceDir() + "/scripts/stack up kafka");
  ASSERT_EQ(restarted.exitCode, 0) << restarted.out;

  for (auto& [s, p] : running) {
    std::optional<int> code;
    for (int i = 0; i < 300 * 5 && !(code = p->wait(0ms)); ++i) sample(200ms);
    EXPECT_EQ(code, 0) << s << " did not finish after the faults:\n" << p->output();
  }
  for (const auto& s : services) {
    SCOPED_TRACE(s);
    EXPECT_LT(peakKiB[s], 512 * 1024) << "peak RSS " << peakKiB[s] << " KiB";
    EXPECT_GT(peakKiB[s], 0);
    // The outage was felt: the AWS requests caught in it were retried (the run summary counts them).
    std::string log = running[s]->output();
    int64_t retried = 0;
    static const std::regex retries("([0-9]+) retried");
    for (std::sregex_iterator it(log.begin(), log.end(), retries), end; it != end; ++it) retried += std::stoll((*it)[1]);
    EXPECT_GT(retried, 0) << log;
    std::cout << s << ": peak RSS " << peakKiB[s] / 1024 << " MiB, " << retried << " AWS requests retried, "
              << occurrences(log, "\"alerts_transaction_aborted\"") << " alert transactions aborted, "
              << occurrences(log, "\"alerts_producer_replaced\"") << " alert producers replaced\n";
    // Reference: the same records replayed from the file onto the embedded stores.
    auto ref = run(here(cdcBinary() + " " + s + " --source file:events.jsonl --topic-prefix " + prefix +
                        storeFlag(s, "sqlite:ref.db") + " --objects dir:ref --log-level warn" + http(s)));
    ASSERT_EQ(ref.exitCode, 0) << ref.out;
    std::string want, got;
    if (s == "analytics") {
      for (const auto& f : reportFolders()) {
        want += readWholeFile((dir / "ref/analytics" / f / "latest.json").string()) + "\n";
        got += run(awsEnv + awsCli + " s3 cp s3://" + prefix + "-lake/analytics/" + f + "/latest.json -", false).out + "\n";
      }
    } else {
      std::vector<std::string> gotDumps, wantDumps;
      for (const auto& t : tablesOf(s, prefix + "-" + s)) {
        gotDumps.push_back(run(here(awsEnv + cdcBinary() + " dump --store dynamodb --table " + t), false).out);
      }
      for (const auto& t : tablesOf(s)) {
        wantDumps.push_back(run(here(cdcBinary() + " dump --store sqlite:ref.db --table " + t), false).out);
      }
      got = comparableTables(s, gotDumps);
      want = comparableTables(s, wantDumps);
    }
    EXPECT_GT(want.size(), 1000u);
    EXPECT_TRUE(sameLines(comparable(got), comparable(want)));
  }
  // The alerts went out exactly once through the broker's kill (the transactions that were open
  // then were aborted, their producer replaced if it could not go on): a read_committed reader
  // sees each crossing the inventory's items count, once.
  auto read = run(
      "kcat -C -q -e -b " + kafkaBootstrap() + " -t " + prefix + ".alerts -X isolation.level=read_committed -f '%h\\n'", false);
  ASSERT_EQ(read.exitCode, 0) << read.out;
  std::map<std::string, int> seen;
  static const std::regex alertId("alert_id=([0-9]+-[0-9]+)");
  std::istringstream lines(read.out);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_search(line, m, alertId)) ++seen[m[1]];
  }
  int crossings = 0;
  static const std::regex counted(R"re("low_stock_crossings":([0-9]+).*"product_id":([0-9]+))re");
  std::istringstream items(
      run(here(awsEnv + cdcBinary() + " dump --store dynamodb --table " + prefix + "-inventory"), false).out);
  for (std::string line; std::getline(items, line);) {
    std::smatch m;
    if (!std::regex_search(line, m, counted)) continue;
    int n = std::stoi(m[1]);
    crossings += n;
    for (int k = 1; k <= n; ++k) {
      EXPECT_EQ(seen[m[2].str() + "-" + std::to_string(k)], 1) << "alert " << m[2] << "-" << k;
    }
  }
  int total = 0;
  for (const auto& [alert, n] : seen) total += n;
  EXPECT_GT(crossings, 0);
  EXPECT_EQ(total, crossings) << "alerts on the topic against the crossings the items count";
  if (!::testing::Test::HasFailure()) std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace cdc::test
