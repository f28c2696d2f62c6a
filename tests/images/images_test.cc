// The service images (deploy/images/Dockerfile, built by scripts/images with podman) run as the
// seed deploys them: each with the seed's environment only (plus the emulator's endpoint and
// test credentials), on the host network against the stack's Kafka and moto, with a read-only
// root filesystem. Each must write what the binary writes from the same records, run as a user
// other than root, and stop on `podman stop` within the grace period with its offsets committed.

#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <string>
#include <thread>

#include "support/endpoints.h"
#include "support/paths.h"
#include "support/run.h"
#include "support/same_lines.h"
#include "support/service_state.h"
#include "support/stack.h"

namespace cdc::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

std::string podman(const std::string& args) { return sourceDir() + "/scripts/images podman " + args; }

struct Service {
  std::string command;  // "inventory"
  std::string image;    // "inventory-service"
  std::vector<std::string> tables;
};

void PrintTo(const Service& s, std::ostream* os) { *os << s.image; }

class ImagesTest : public ::testing::TestWithParam<Service> {};

TEST_P(ImagesTest, TheImageRunsWithTheSeedsEnvironmentAsTheBinaryDoes) {
  const Service& s = GetParam();
  std::string bootstrap = kafkaBootstrap(), endpoint = awsEndpoint(), awsCli = stackVariable("CDC_AWS_CLI");
  ASSERT_FALSE(bootstrap.empty()) << "no Kafka broker: run scripts/stack up kafka";
  ASSERT_FALSE(endpoint.empty()) << "no AWS endpoint: run scripts/stack up aws";
  std::string prefix = "img" + std::to_string(::getpid()) + "-" + s.command;
  fs::path dir = fs::temp_directory_path() / ("cdc-" + prefix);
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto here = [&](const std::string& c) { return "cd " + dir.string() + " && " + c; };
  ASSERT_EQ(run(here(cdcBinary() + " generate --products 100 --orders 600 --topic-prefix " + prefix + " > events.jsonl"), false)
                .exitCode,
            0);
  auto produced = run(here(cdcBinary() + " produce --bootstrap-servers " + bootstrap + " --input events.jsonl"));
  ASSERT_EQ(produced.exitCode, 0) << produced.out;

  // The seed's variables for this service.
  std::string topics;
  for (const auto& t : s.tables) topics += (topics.empty() ? "" : ",") + prefix + ".public." + t;
  std::map<std::string, std::string> env{{"KAFKA_BOOTSTRAP_SERVERS", bootstrap},
                                         {"KAFKA_GROUP_ID", prefix + "-group"},
                                         {"KAFKA_TOPICS", topics},
                                         {"AWS_REGION", "us-east-1"}};
  if (s.command == "analytics") {
    env["S3_BUCKET"] = prefix + "-lake";
    env["FLUSH_INTERVAL"] = "2";
  } else {
    env["DYNAMODB_TABLE"] = prefix + "-table";
    env["DLQ_S3_BUCKET"] = prefix + "-dlq";
  }
  // The emulator's, not the seed's: its endpoint and test credentials; a port of its own.
  int port = freePort();
  ASSERT_GT(port, 0);
  env["AWS_ENDPOINT_URL"] = endpoint;
  env["AWS_ACCESS_KEY_ID"] = "testing";
  env["AWS_SECRET_ACCESS_KEY"] = "testing";
  env["METRICS_PORT"] = std::to_string(port);
  env["ALERTS_TOPIC"] = prefix + ".alerts";
  std::string flags;
  for (const auto& [k, v] : env) flags += " -e " + k + "=" + v;

  auto started = run(podman("run -d --name " + prefix + " --network host --read-only" + flags + " " + s.image + ":latest"));
  ASSERT_EQ(started.exitCode, 0) << started.out;
  // Done when it has consumed every record of its topics (read from its /metrics).
  int64_t want = 0;
  {
    std::ifstream in(dir / "events.jsonl");
    for (std::string line; std::getline(in, line);) {
      for (const auto& t : s.tables) want += line.find("\"topic\":\"" + prefix + ".public." + t + "\"") != std::string::npos;
    }
  }
  int64_t consumed = 0;
  for (auto until = std::chrono::steady_clock::now() + 180s; std::chrono::steady_clock::now() < until && consumed < want;) {
    std::this_thread::sleep_for(500ms);
    consumed = 0;
    httplib::Client client("127.0.0.1", port);
    if (auto res = client.Get("/metrics")) {
      static const std::regex series(R"(cdc_records_consumed_total\{[^}]*\} (\d+))");
      for (std::sregex_iterator it(res->body.begin(), res->body.end(), series), end; it != end; ++it)
        consumed += std::stoll((*it)[1]);
    }
  }
  EXPECT_EQ(consumed, want) << run(podman("logs " + prefix)).out;
  if (s.command == "analytics") std::this_thread::sleep_for(5s);  // a report flush after the last batch

  // podman stop: SIGTERM to the service as PID 1, which finishes, commits and exits 0 in time.
  auto before = std::chrono::steady_clock::now();
  auto stopped = run(podman("stop -t 30 " + prefix));
  double stopSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - before).count();
  EXPECT_EQ(stopped.exitCode, 0) << stopped.out;
  EXPECT_LT(stopSeconds, 25.0) << "the grace period ran out";
  auto exit = run(podman("inspect -f '{{.State.ExitCode}}' " + prefix), false);
  EXPECT_EQ(exit.out, "0\n") << run(podman("logs " + prefix)).out;
  std::string logs = run(podman("logs " + prefix)).out;
  EXPECT_NE(logs.find(R"("msg":"run_summary")"), std::string::npos) << logs;
  EXPECT_NE(logs.find("stopped by signal"), std::string::npos) << logs;
  run(podman("rm -f " + prefix), false);

  // Not root.
  auto user = run(podman("run --rm --network host --entrypoint id " + s.image + ":latest -u"), false);
  EXPECT_EQ(user.exitCode, 0);
  EXPECT_NE(user.out, "0\n");
  EXPECT_FALSE(user.out.empty());

  // Its offsets were committed: the same group has nothing left to read.
  const std::string awsEnv =
      "env AWS_ENDPOINT_URL=" + endpoint +
      " AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing ";
  auto again = run(here("env KAFKA_BOOTSTRAP_SERVERS=" + bootstrap + " KAFKA_TOPICS=" + topics + " LOG_FORMAT=text " +
                        cdcBinary() + " " + s.command + " --until-caught-up --group-id " + prefix + "-group" +
                        storeFlag(s.command, "sqlite:again.db") + " --objects dir:again"));
  EXPECT_EQ(again.exitCode, 0) << again.out;
  EXPECT_NE(again.out.find(": 0 records"), std::string::npos) << again.out;

  // What it wrote equals the binary's run over the same records on the embedded stores.
  auto ref = run(here(cdcBinary() + " " + s.command + " --source file:events.jsonl --topic-prefix " + prefix +
                      storeFlag(s.command, "sqlite:ref.db") + " --objects dir:ref --log-level warn"));
  ASSERT_EQ(ref.exitCode, 0) << ref.out;
  std::string want_, got;
  if (s.command == "analytics") {
    for (const auto& f : reportFolders()) {
      want_ += readWholeFile((dir / "ref/analytics" / f / "latest.json").string()) + "\n";
      got += run(awsEnv + awsCli + " s3 cp s3://" + prefix + "-lake/analytics/" + f + "/latest.json -", false).out + "\n";
    }
  } else {
    std::vector<std::string> gotDumps, wantDumps;
    for (const auto& t : tablesOf(s.command, prefix + "-table")) {
      gotDumps.push_back(run(here(awsEnv + cdcBinary() + " dump --store dynamodb --table " + t), false).out);
    }
    for (const auto& t : tablesOf(s.command))
      wantDumps.push_back(run(here(cdcBinary() + " dump --store sqlite:ref.db --table " + t), false).out);
    got = comparableTables(s.command, gotDumps);
    want_ = comparableTables(s.command, wantDumps);
  }
  EXPECT_GT(want_.size(), 1000u);
  EXPECT_TRUE(sameLines(comparable(got), comparable(want_)));
  if (!::testing::Test::HasFailure()) fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Services, ImagesTest,
                         ::testing::Values(Service{"inventory", "inventory-service", {"products", "order_items"}},
                                           Service{"analytics", "analytics-service", {"orders", "order_items"}},
                                           Service{"search-indexer", "search-indexer", {"products"}}),
                         [](const auto& info) {
                           std::string n = info.param.command;
                           return n == "search-indexer" ? std::string("search") : n;
                         });

}  // namespace
}  // namespace cdc::test
