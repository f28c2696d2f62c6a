// A fleet, as the seed runs each service (`kubectl scale --replicas=3`): replicas of one consumer
// group on Kafka, writing to DynamoDB and S3 (moto), while the topics are being written. The
// group is scaled 1→3→2→1; one member is stopped (SIGSTOP) past its session timeout and resumed
// (a zombie: its late writes must be refused), one is killed (SIGKILL) and started again, and
// one rebalance happens while the store answers slowly. At the end every table and report
// equals a single-member embedded run of the same records (SQLite, a local directory).
//
// Each service runs once on each group protocol (GROUP_PROTOCOL=classic and consumer). The
// timings are fixed; CDC_FLEET_ROUNDS=N runs N rounds each with random timings and roles,
// printing each round's seed (CDC_FLEET_SEED=S replays one).

#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

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
using Clock = std::chrono::steady_clock;

// The timings and roles of one round: fixed by default, drawn from a seed in the long mode.
struct Round {
  uint64_t seed = 0;
  int producedPerSecond = 150;                           // the topics are written for about 20 s
  std::chrono::milliseconds scaleUpAfter{3000};          // 1 → 3, once the first member works
  std::chrono::milliseconds stopAfter{2000};             // then a member is stopped …
  std::chrono::milliseconds stoppedBeyondSession{3000};  // … for its session timeout and this
  std::chrono::milliseconds killAfter{1000};             // then another is killed and started again
  int slowStoreMs = 300;                                 // each store request, during the scale-down
  int stoppedMember = 1;                                 // which of the members 1 and 2 is stopped
};

Round drawRound(uint64_t seed) {
  std::mt19937_64 random(seed);
  auto between = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(random); };
  Round r;
  r.seed = seed;
  r.producedPerSecond = between(80, 300);
  r.scaleUpAfter = std::chrono::milliseconds(between(500, 6000));
  r.stopAfter = std::chrono::milliseconds(between(0, 5000));
  r.stoppedBeyondSession = std::chrono::milliseconds(between(1000, 8000));
  r.killAfter = std::chrono::milliseconds(between(0, 4000));
  r.slowStoreMs = between(50, 600);
  r.stoppedMember = between(1, 2);
  return r;
}

class FleetTest : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {
 protected:
  void SetUp() override {
    bootstrap_ = kafkaBootstrap();
    endpoint_ = awsEndpoint();
    ASSERT_FALSE(bootstrap_.empty()) << "no Kafka broker: run scripts/stack up kafka aws";
    ASSERT_FALSE(endpoint_.empty()) << "no AWS endpoint: run scripts/stack up kafka aws";
    awsCli_ = stackVariable("CDC_AWS_CLI");
    service_ = std::get<0>(GetParam());
    protocol_ = std::get<1>(GetParam());
  }

  const std::string& service() const { return service_; }

  // A fresh round: its own topics, group, tables, bucket and directory.
  void beginRound(int n) {
    prefix_ = "fleet" + std::to_string(::getpid()) + "-" + std::to_string(n) + "-" +
              (service_ == "search-indexer" ? "search" : service_) + "-" + protocol_;
    dir_ = fs::temp_directory_path() / ("cdc-" + prefix_);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    workload_ = (dir_ / "events.jsonl").string();
    auto g = run(cdcBinary() + " generate --products 80 --orders 450 --topic-prefix " + prefix_ + " > " + workload_, false);
    ASSERT_EQ(g.exitCode, 0);
  }
  void endRound() {
    if (!HasFailure()) fs::remove_all(dir_);
  }

  std::string awsEnv(const std::string& endpoint) const {
    return "AWS_ENDPOINT_URL=" + endpoint +
           " AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing";
  }
  std::string table() const { return prefix_ + "-" + service_; }
  std::string bucket() const { return prefix_ + "-lake"; }
  // The service's own storage flags on AWS.
  std::string awsFlags() const {
    return (service_ == "analytics" ? "" : " --table-name " + table()) + storeFlag(service_, "dynamodb") +
           " --objects s3 --s3-bucket " + bucket();
  }

  // A member of the round's group on Kafka, its store requests through `endpoint`.
  std::string member(const std::string& endpoint, const std::string& extra = "") const {
    // Classic members ask for their session (6 s: the broker's minimum); under the consumer
    // protocol the broker sets it (scripts/stack: 10 s).
    std::string session =
        protocol_ == "classic" ? " KAFKA_SESSION_TIMEOUT_MS=6000 KAFKA_HEARTBEAT_INTERVAL_MS=1000" : std::string();
    std::string args = service_ + " --source kafka --topic-prefix " + prefix_ + " --group-id " + prefix_ + "-group" + awsFlags() +
                       " --http-host 127.0.0.1 --log-format text " + extra;
    if (service_ == "search-indexer") args += " --http-port 0";
    return "env " + awsEnv(endpoint) + " KAFKA_BOOTSTRAP_SERVERS=" + bootstrap_ + " GROUP_PROTOCOL=" + protocol_ +
           " METRICS_PORT=0 ALERTS_TOPIC=" + prefix_ + ".alerts" + session + " " + cdcBinary() + " " + args;
  }
  std::chrono::milliseconds sessionTimeout() const { return protocol_ == "classic" ? 6000ms : 10000ms; }

  std::unique_ptr<Process> start(const std::string& name, const std::string& endpoint, const std::string& extra = "") {
    return std::make_unique<Process>(member(endpoint, extra), (dir_ / (name + ".log")).string(), dir_.string());
  }
  // Waits until `p`'s log holds `what` `times` times (or `timeout` passes); true if it does.
  static bool waitFor(Process& p, const std::string& what, std::chrono::milliseconds timeout, size_t times = 1) {
    auto deadline = Clock::now() + timeout;
    for (;;) {
      std::string out = p.output();
      size_t n = 0;
      for (size_t at = out.find(what); at != std::string::npos; at = out.find(what, at + 1)) ++n;
      if (n >= times) return true;
      if (Clock::now() > deadline) return false;
      std::this_thread::sleep_for(100ms);
    }
  }

  // What the service wrote on AWS, comparable with the embedded run's.
  std::string awsState() {
    if (service_ == "analytics") {
      std::string out;
      for (const auto& folder : reportFolders()) {
        auto body = run(
            "env " + awsEnv(endpoint_) + " " + awsCli_ + " s3 cp s3://" + bucket() + "/analytics/" + folder + "/latest.json -",
            false);
        EXPECT_EQ(body.exitCode, 0) << folder;
        out += withoutGeneratedAt(body.out) + "\n";
      }
      return out;
    }
    std::vector<std::string> dumps;
    for (const auto& t : tablesOf(service_, table())) {
      auto r =
          run("cd " + dir_.string() + " && env " + awsEnv(endpoint_) + " " + cdcBinary() + " dump --store dynamodb --table " + t,
              false);
      EXPECT_EQ(r.exitCode, 0) << t;
      dumps.push_back(r.out);
    }
    return comparableTables(service_, dumps);
  }
  // The single-member embedded run of the same records.
  std::string embeddedState() {
    std::string args = service_ + " --source file:" + workload_ + " --topic-prefix " + prefix_ +
                       (service_ == "analytics" ? "" : " --table-name " + table()) + storeFlag(service_, "sqlite:embedded.db") +
                       " --objects dir:lake --log-level warn";
    if (service_ == "search-indexer") args += " --http-port 0";
    auto r = run("cd " + dir_.string() + " && " + cdcBinary() + " " + args);
    EXPECT_EQ(r.exitCode, 0) << r.out;
    if (service_ == "analytics") {
      std::string out;
      for (const auto& folder : reportFolders()) {
        std::string report = readFile(dir_ / "lake" / "analytics" / folder / "latest.json");
        EXPECT_FALSE(report.empty()) << folder;
        out += withoutGeneratedAt(report) + "\n";
      }
      return out;
    }
    std::vector<std::string> dumps;
    for (const auto& t : tablesOf(service_, table())) {
      auto d = run("cd " + dir_.string() + " && " + cdcBinary() + " dump --store sqlite:embedded.db --table " + t, false);
      EXPECT_EQ(d.exitCode, 0) << t;
      EXPECT_GT(d.out.size(), 50u) << t << " is empty";
      dumps.push_back(d.out);
    }
    return comparableTables(service_, dumps);
  }

  void runRound(const Round& round);

  std::string bootstrap_, endpoint_, awsCli_, service_, protocol_, prefix_, workload_;
  fs::path dir_;
};

void FleetTest::runRound(const Round& round) {
  FaultProxy store(endpoint_);
  store.start();
  // The topics are written while the group changes.
  Process producer(cdcBinary() + " produce --bootstrap-servers " + bootstrap_ + " --input " + workload_ + " --rate " +
                       std::to_string(round.producedPerSecond),
                   (dir_ / "produce.log").string(), dir_.string());

  // 1 replica, then 3.
  auto first = start("member-0", store.url());
  ASSERT_TRUE(waitFor(*first, "partitions_assigned", 60s)) << first->output();
  std::this_thread::sleep_for(round.scaleUpAfter);
  std::vector<std::unique_ptr<Process>> members;
  members.push_back(std::move(first));
  members.push_back(start("member-1", store.url()));
  members.push_back(start("member-2", store.url()));
  // Each holds partitions before the faults (a cooperative rebalance may give a joining member
  // nothing in its first round): a member stopped with none would have nothing to lose.
  for (size_t i = 1; i < members.size(); ++i) {
    ASSERT_TRUE(waitFor(*members[i], "partitions_assigned partitions=" + prefix_, 60s)) << members[i]->output();
  }

  // A member stopped past its session timeout: the group gives its partitions away; resumed, it
  // finds them lost and whatever it still writes for them is refused.
  std::this_thread::sleep_for(round.stopAfter);
  Process& zombie = *members[round.stoppedMember];
  zombie.signal(SIGSTOP);
  std::this_thread::sleep_for(sessionTimeout() + round.stoppedBeyondSession);
  zombie.signal(SIGCONT);
  EXPECT_TRUE(waitFor(zombie, "partitions_lost", 30s)) << "the stopped member never found its partitions lost\n"
                                                       << zombie.output();

  // Another killed, and started again in its place.
  std::this_thread::sleep_for(round.killAfter);
  int killed = 3 - round.stoppedMember;
  members[killed]->signal(SIGKILL);
  EXPECT_EQ(members[killed]->wait(10s), 128 + SIGKILL);
  members[killed] = start("member-" + std::to_string(killed) + "-again", store.url());
  ASSERT_TRUE(waitFor(*members[killed], "partitions_assigned", 60s)) << members[killed]->output();

  // 3 → 2 while the store is slow: the leaving member finishes and commits its batch, the others
  // take its partitions over, every request a slow one.
  store.slowMs = round.slowStoreMs;
  members[round.stoppedMember]->signal(SIGTERM);
  // It exits once its batch is durable and committed, or, when the slow store keeps that past
  // the shutdown grace (25 s), without committing: the batch is delivered again to the others.
  auto left = members[round.stoppedMember]->wait(120s);
  std::string leftLog = members[round.stoppedMember]->output();
  EXPECT_TRUE(left == 0 || (left == 1 && leftLog.find("shutdown_grace_exceeded") != std::string::npos))
      << "exit " << left.value_or(-1) << "\n"
      << leftLog;
  std::this_thread::sleep_for(2s);  // the others' first slow batches after the rebalance
  store.slowMs = 0;
  // 2 → 1.
  members[killed]->signal(SIGTERM);
  EXPECT_EQ(members[killed]->wait(120s), 0) << members[killed]->output();

  // The last replica reads what was written; it stops, and one more member of the group reads
  // to the end whatever it left (--until-caught-up), so the end is known.
  EXPECT_EQ(producer.wait(180s), 0) << producer.output();
  members[0]->signal(SIGTERM);
  EXPECT_EQ(members[0]->wait(120s), 0) << members[0]->output();
  auto last = run("cd " + dir_.string() + " && " + member(endpoint_, "--until-caught-up"));
  EXPECT_EQ(last.exitCode, 0) << last.out;
  store.stop();

  EXPECT_TRUE(sameLines(awsState(), embeddedState()));
}

TEST_P(FleetTest, ReplicasUnderChurnEqualOneMember) {
  const char* rounds = std::getenv("CDC_FLEET_ROUNDS");
  const char* seed = std::getenv("CDC_FLEET_SEED");
  int n = rounds ? std::atoi(rounds) : 0;
  if (seed) n = 1;
  if (n <= 0) {
    beginRound(0);
    runRound(Round{});
    endRound();
    return;
  }
  std::random_device device;
  for (int i = 1; i <= n && !HasFailure(); ++i) {
    uint64_t s = seed ? std::strtoull(seed, nullptr, 10) : (uint64_t{device()} << 32 | device());
    Round round = drawRound(s);
    std::printf("fleet round %d of %d: CDC_FLEET_SEED=%llu (%d records/s, stop %lld ms past the session, slow store %d ms)\n", i,
                n, static_cast<unsigned long long>(s), round.producedPerSecond,
                static_cast<long long>(round.stoppedBeyondSession.count()), round.slowStoreMs);
    std::fflush(stdout);
    SCOPED_TRACE("CDC_FLEET_SEED=" + std::to_string(s));
    beginRound(i);
    runRound(round);
    endRound();
  }
}

INSTANTIATE_TEST_SUITE_P(, FleetTest,
                         ::testing::Combine(::testing::Values("inventory", "analytics", "search-indexer"),
                                            ::testing::Values("classic", "consumer")),
                         [](const auto& info) {
                           std::string name = std::get<0>(info.param) == "search-indexer" ? "search" : std::get<0>(info.param);
                           return name + "_" + std::get<1>(info.param);
                         });

}  // namespace
}  // namespace cdc::test
