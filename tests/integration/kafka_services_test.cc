// The three services consuming from the real broker that `scripts/stack up kafka` starts, run
// as a user runs them (`cdc <service> --source kafka`), each compared with the replay of the
// same workload from a file: same tables, same reports, whatever the crashes, rebalances,
// poison messages and shutdowns in between.

#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include <httplib.h>

#include "core/time.h"
#include "support/endpoints.h"
#include "support/process.h"
#include "support/run.h"
#include "support/run_summary.h"
#include "support/same_lines.h"
#include "support/service_state.h"
#include "support/stack.h"

namespace cdc::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class KafkaServicesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bootstrap_ = kafkaBootstrap();
    ASSERT_FALSE(bootstrap_.empty()) << "no Kafka broker: run scripts/stack up kafka";
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    static int run = 0;  // --gtest_repeat: fresh topics and groups each time
    prefix_ = "svc" + std::to_string(::getpid()) + "-" + std::to_string(++run) + "-" + name;
    dir_ = fs::temp_directory_path() / ("cdc-kafka-" + prefix_);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }

  // Generates a workload under this test's topic prefix, adds `extraLines` (kcat -J lines),
  // and produces it all to the broker.
  void produceWorkload(const std::string& flags, const std::string& extraLines = "") {
    workload_ = (dir_ / "events.jsonl").string();
    auto g = run(cdcBinary() + " generate " + flags + " --topic-prefix " + prefix_ + " > " + workload_, false);
    ASSERT_EQ(g.exitCode, 0);
    std::ofstream(workload_, std::ios::app) << extraLines;
    auto p = run(cdcBinary() + " produce --bootstrap-servers " + bootstrap_ + " --input " + workload_);
    ASSERT_EQ(p.exitCode, 0) << p.out;
  }

  // A cdc command line against the broker, to run in this test's directory.
  std::string cdc(const std::string& args, const std::string& env = "") const {
    return "env KAFKA_BOOTSTRAP_SERVERS=" + bootstrap_ + " LOG_FORMAT=text " + env + " " + cdcBinary() + " " + args;
  }
  RunResult runHere(const std::string& commandLine, bool withStderr = true) const {
    return run("cd " + dir_.string() + " && " + commandLine, withStderr);
  }
  std::string logPath(const std::string& name) const { return (dir_ / (name + ".log")).string(); }

  // `cdc <service>` from Kafka in this test's group, with its own store and objects.
  std::string consume(const std::string& service, const std::string& where, const std::string& extra = "",
                      const std::string& env = "") const {
    // Topics named by KAFKA_TOPICS/KAFKA_TOPIC come without --topic-prefix (the default prefix
    // names topics that do not exist).
    std::string topics = env.find("KAFKA_TOPIC") == std::string::npos ? " --topic-prefix " + prefix_ : "";
    std::string args = service + " --source kafka" + topics + " --group-id " + prefix_ + "-" + service +
                       storeFlag(service, "sqlite:" + where + ".db") + " --objects dir:" + where + "-lake " + extra;
    if (service == "search-indexer") args += " --http-port 0";
    // A member killed with SIGKILL holds its partitions until its session times out: 6 s (the
    // broker's minimum, passed through to librdkafka) rather than 45 s keeps the tests short.
    return cdc(args, "ALERTS_TOPIC=" + prefix_ + ".alerts KAFKA_SESSION_TIMEOUT_MS=6000 KAFKA_HEARTBEAT_INTERVAL_MS=1000 " + env);
  }

  // What a service produced, in a form two runs can be compared by: the tables it writes
  // (cdc dump) or its reports (latest.json of each), without what depends on the wall clock
  // or on how work was split into batches (versions, expiry times, generated_at).
  std::string state(const std::string& service, const std::string& where) {
    std::string out;
    if (service == "analytics") {
      for (const char* folder : {"daily_sales", "product_sales", "customer_metrics", "order_status", "summary"}) {
        std::string report = readFile(dir_ / (where + "-lake") / "analytics" / folder / "latest.json");
        EXPECT_FALSE(report.empty()) << where << " has no " << folder << " report";
        out += std::regex_replace(report, std::regex("\"generated_at\":\"[^\"]*\","), "") + "\n";
      }
      return out;
    }
    std::vector<std::string> tables =
        service == "inventory"
            ? std::vector<std::string>{"inventory-realtime", "inventory-realtime-ledger"}
            : std::vector<std::string>{"product-search-index", "product-search-index-postings", "product-search-index-tokens"};
    std::vector<std::string> dumps;
    for (const auto& t : tables) {
      auto r = runHere(cdc("dump --store sqlite:" + where + ".db --table " + t), false);
      EXPECT_EQ(r.exitCode, 0) << t;
      EXPECT_GT(r.out.size(), 100u) << where << ": table " << t << " is empty";
      dumps.push_back(r.out);
    }
    return comparableTables(service == "inventory" ? service : "search-indexer", dumps);
  }

  // The same workload replayed from the file: the reference.
  std::string replayState(const std::string& service) {
    std::string args = service + " --source file:" + workload_ + " --topic-prefix " + prefix_ +
                       storeFlag(service, "sqlite:replay.db") + " --objects dir:replay-lake";
    if (service == "search-indexer") args += " --http-port 0";
    auto r = run("cd " + dir_.string() + " && " + cdcBinary() + " " + args);
    EXPECT_EQ(r.exitCode, 0) << r.out;
    return state(service, "replay");
  }

  // Records of the service's topics in the workload file (tombstones included).
  int64_t recordsFor(const std::string& service) const {
    std::vector<std::string> tables = service == "inventory"   ? std::vector<std::string>{"products", "order_items"}
                                      : service == "analytics" ? std::vector<std::string>{"orders", "order_items"}
                                                               : std::vector<std::string>{"products"};
    int64_t n = 0;
    std::ifstream in(workload_);
    std::string line;
    while (std::getline(in, line)) {
      for (const auto& t : tables) {
        if (line.find("\"topic\":\"" + prefix_ + ".public." + t + "\"") != std::string::npos) ++n;
      }
    }
    return n;
  }

  // Runs a consumer to the end of its partitions; returns its output.
  std::string consumeUntilCaughtUp(const std::string& service, const std::string& where, const std::string& env = "") {
    auto r = runHere(consume(service, where, "--until-caught-up" + summaryFlag("caught-up"), env));
    EXPECT_EQ(r.exitCode, 0) << r.out;
    return r.out;
  }

  // --summary-json to a file of this test's named `name` (the last run's summary under that name).
  std::string summaryFlag(const std::string& name) const {
    return " --summary-json " + (dir_ / (name + ".summary.json")).string();
  }
  // A count of the run summary written under `name` ("records", "stats.handler.already_applied").
  int64_t summary(const std::string& name, std::string_view path) const {
    return summaryCount(dir_ / (name + ".summary.json"), path);
  }

  // Starts a consumer and kills it with SIGKILL once it has worked on its partitions for
  // `after`; fails the test if it had already finished.
  void killMidStream(const std::string& service, const std::string& where, std::chrono::milliseconds after, int n) {
    Process p(consume(service, where), logPath(service + "-killed-" + std::to_string(n)), dir_);
    auto deadline = std::chrono::steady_clock::now() + 60s;
    while (p.output().find("partitions_assigned") == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(50ms);
    }
    ASSERT_NE(p.output().find("partitions_assigned"), std::string::npos) << p.output();
    std::this_thread::sleep_for(after);
    ASSERT_TRUE(p.running()) << "finished before the kill: make the workload larger\n" << p.output();
    p.signal(SIGKILL);
    EXPECT_EQ(p.wait(10s), 128 + SIGKILL);
  }

  std::string bootstrap_;
  std::string prefix_;
  fs::path dir_;
  std::string workload_;
};

TEST_F(KafkaServicesTest, InventoryMatchesTheFileReplayAndPublishesItsAlerts) {
  produceWorkload("--products 300 --orders 3000");
  // The Python service's variable names its topics (here in the order the seed lists them).
  std::string out = consumeUntilCaughtUp("inventory", "kafka",
                                         "KAFKA_TOPICS=" + prefix_ + ".public.products," + prefix_ + ".public.order_items");
  EXPECT_NE(out.find("partitions_assigned"), std::string::npos) << out;
  EXPECT_EQ(summary("caught-up", "records"), recordsFor("inventory")) << out;
  EXPECT_TRUE(sameLines(state("inventory", "kafka"), replayState("inventory")));

  // Every alert the run raised is on ALERTS_TOPIC as JSON keyed by its product.
  int64_t alerts = summary("caught-up", "stats.handler.low_stock_alerts");
  ASSERT_GT(alerts, 0) << out;
  auto k = run("kcat -C -q -e -b " + bootstrap_ + " -t " + prefix_ + ".alerts -f '%k %s\\n'", false);
  ASSERT_EQ(k.exitCode, 0);
  std::istringstream lines(k.out);
  std::string line;
  int64_t published = 0;
  while (std::getline(lines, line)) {
    ++published;
    auto space = line.find(' ');
    ASSERT_NE(space, std::string::npos) << line;
    EXPECT_NE(line.find("\"type\":\"low_stock\""), std::string::npos) << line;
    EXPECT_NE(line.find("\"product_id\":" + line.substr(0, space) + ","), std::string::npos) << line;
    EXPECT_NE(line.find("\"alert_id\":\"" + line.substr(0, space) + "-"), std::string::npos) << line;
  }
  EXPECT_EQ(published, alerts);
}

TEST_F(KafkaServicesTest, AnalyticsMatchesTheFileReplay) {
  produceWorkload("--products 300 --orders 3000");
  std::string out = consumeUntilCaughtUp("analytics", "kafka");
  EXPECT_EQ(summary("caught-up", "records"), recordsFor("analytics")) << out;
  EXPECT_TRUE(sameLines(state("analytics", "kafka"), replayState("analytics")));
}

TEST_F(KafkaServicesTest, SearchIndexerMatchesTheFileReplay) {
  produceWorkload("--products 500 --orders 2000");
  // The search indexer also takes the Python service's single-topic variable.
  std::string out = consumeUntilCaughtUp("search-indexer", "kafka", "KAFKA_TOPIC=" + prefix_ + ".public.products");
  EXPECT_EQ(summary("caught-up", "records"), recordsFor("search-indexer")) << out;
  EXPECT_TRUE(sameLines(state("search-indexer", "kafka"), replayState("search-indexer")));
}

TEST_F(KafkaServicesTest, KilledWithSigkillMidStreamAndRestartedGivesTheSameState) {
  produceWorkload("--products 1000 --orders 40000");
  for (const std::string service : {"inventory", "analytics"}) {
    SCOPED_TRACE(service);
    killMidStream(service, "kafka", 2500ms, 1);
    killMidStream(service, "kafka", 1500ms, 2);
    consumeUntilCaughtUp(service, "kafka");
    EXPECT_TRUE(sameLines(state(service, "kafka"), replayState(service)));
  }
}

TEST_F(KafkaServicesTest, GroupMembersSharePartitionsAndAThirdJoiningRebalancesWithoutLoss) {
  produceWorkload("--products 1000 --orders 60000");
  for (const std::string service : {"inventory", "analytics"}) {
    SCOPED_TRACE(service);
    // A member starts alone; a second and then a third join while it works: each join is a
    // rebalance that moves partitions mid-stream. A rate cap keeps each member at work for
    // seconds after the others joined, however fast the machine (the first alone would need
    // over 6 s for the inventory's 125,000 records, the others join within 2), so that the
    // rebalances finish before the end; small batches make many commits and many waits of the cap.
    const std::string member = "--until-caught-up --batch-size 50 --max-records-per-second 20000";
    const std::string a_ = service + "-a", b_ = service + "-b", c_ = service + "-c";
    auto working = [](Process& p) { return std::regex_search(p.output(), std::regex("partitions_assigned partitions=\\S")); };
    Process a(consume(service, "kafka", member + summaryFlag(a_)), logPath(a_), dir_);
    auto deadline = std::chrono::steady_clock::now() + 60s;
    while (!working(a) && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(50ms);
    std::this_thread::sleep_for(500ms);
    Process b(consume(service, "kafka", member + summaryFlag(b_)), logPath(b_), dir_);
    // The third joins while the second's rebalance is under way: the group's assignment then
    // gives it partitions with records left (a second later the two may have read them all).
    std::this_thread::sleep_for(200ms);
    ASSERT_TRUE(a.running()) << "finished before the others joined: make the workload larger";
    Process c(consume(service, "kafka", member + summaryFlag(c_)), logPath(c_), dir_);
    EXPECT_EQ(a.wait(180s), 0) << a.output();
    EXPECT_EQ(b.wait(180s), 0) << b.output();
    EXPECT_EQ(c.wait(180s), 0) << c.output();
    int64_t ra = summary(a_, "records"), rb = summary(b_, "records"), rc = summary(c_, "records");
    EXPECT_GT(ra, 0);
    EXPECT_GT(rb, 0) << "the second member was given partitions mid-stream\n" << b.output();
    EXPECT_GT(rc, 0) << "the third member was given partitions mid-stream\n" << c.output();
    // Redelivery after a rebalance is possible (a batch in hand when its partition moved),
    // but never loss.
    EXPECT_GE(ra + rb + rc, recordsFor(service));
    EXPECT_TRUE(sameLines(state(service, "kafka"), replayState(service)));
    // One more member of the group finds nothing left to apply: the members left only once the
    // group had committed every partition to its end.
    std::string after = consumeUntilCaughtUp(service, "kafka");
    const char* changes = service == "analytics" ? "stats.handler.changes" : "stats.handler.product_changes";
    EXPECT_EQ(summary("caught-up", changes), 0) << after;
    if (service == "inventory") {
      EXPECT_EQ(summary("caught-up", "stats.handler.order_item_changes"), 0) << after;
    }
  }
}

TEST_F(KafkaServicesTest, PoisonMessagesGoToTheDeadLetterStoreAndConsumptionGoesOn) {
  std::string products = prefix_ + ".public.products", items = prefix_ + ".public.order_items";
  std::string poison =
      R"({"topic":")" + products +
      R"(","partition":1,"offset":0,"key":"{\"id\":1}","payload":"{\"id\":1,\"name\":\"Mug\",\"price\":\"AfvP\"")" + "}\n" +
      R"({"topic":")" + items + R"(","partition":0,"offset":0,"key":"{\"id\":77}","payload":"not json at all"})" + "\n";
  produceWorkload("--products 300 --orders 3000", poison);
  std::string out = consumeUntilCaughtUp("inventory", "kafka");
  EXPECT_EQ(summary("caught-up", "dead_letters"), 2) << out;
  EXPECT_TRUE(sameLines(state("inventory", "kafka"), replayState("inventory")));

  std::vector<std::string> letters;
  for (const auto& e : fs::recursive_directory_iterator(dir_ / "kafka-lake" / "dlq" / "inventory-service")) {
    if (e.is_regular_file()) letters.push_back(readFile(e.path()));
  }
  ASSERT_EQ(letters.size(), 2u);
  std::string all = letters[0] + letters[1];
  EXPECT_NE(all.find(R"("topic":")" + products + R"(","partition":1)"), std::string::npos) << all;
  EXPECT_NE(all.find(R"("message":"not json at all")"), std::string::npos) << all;
  EXPECT_NE(all.find(R"("topic":")" + items + R"(","partition":0)"), std::string::npos) << all;
}

// The seed grants the search indexer DynamoDB only: with Kafka and no DLQ_S3_BUCKET its dead
// letters go to a Kafka topic as Kafka Connect writes them, and the dlq commands work there.
TEST_F(KafkaServicesTest, TheSearchIndexersDeadLettersGoToAKafkaTopicWhereTheDlqCommandsWork) {
  const std::string products = prefix_ + ".public.products", dlqTopic = prefix_ + ".dlq";
  std::string poison =
      R"({"topic":")" + products +
      R"(","partition":1,"offset":0,"key":"{\"id\":1}","payload":"{\"id\":1,\"name\":\"Mug\",\"price\":\"AfvP\"")" + "}\n" +
      R"({"topic":")" + products +
      R"(","partition":0,"offset":0,"headers":["traceparent","00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01","origin","pg"],"key":"{\"id\":77}","payload":"not json at all"})" +
      "\n";
  produceWorkload("--products 300 --orders 50", poison);
  const std::string env = "DLQ_TOPIC=" + dlqTopic;
  std::string out = consumeUntilCaughtUp("search-indexer", "kafka", env);
  EXPECT_EQ(summary("caught-up", "dead_letters"), 2) << out;
  EXPECT_NE(out.find("dead_letter_topic_created"), std::string::npos) << out;
  EXPECT_TRUE(sameLines(state("search-indexer", "kafka"), replayState("search-indexer")));
  EXPECT_FALSE(fs::exists(dir_ / "kafka-lake" / "dlq")) << "no dead letter went to the object store";

  // In the topic: the record's key, value and headers, the context in Kafka Connect's headers.
  auto k = run("kcat -C -q -e -b " + bootstrap_ + " -t " + dlqTopic + " -f '%k|%s|%h\\n'", false);
  ASSERT_EQ(k.exitCode, 0) << k.out;
  EXPECT_NE(
      k.out.find(R"({"id":77}|not json at all|traceparent=00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01,origin=pg,)"),
      std::string::npos)
      << k.out;
  EXPECT_NE(k.out.find("__connect.errors.topic=" + products + ",__connect.errors.partition=0,__connect.errors.offset="),
            std::string::npos)
      << k.out;
  EXPECT_NE(k.out.find("__connect.errors.connector.name=search-indexer"), std::string::npos) << k.out;
  EXPECT_NE(k.out.find("__connect.errors.stage=decode"), std::string::npos) << k.out;

  // cdc dlq list finds them there (the search indexer's default with Kafka).
  auto list = runHere(cdc("dlq list --service search-indexer", env), false);
  ASSERT_EQ(list.exitCode, 0) << list.out;
  EXPECT_EQ(std::count(list.out.begin(), list.out.end(), '\n'), 2) << list.out;
  EXPECT_NE(list.out.find(R"("record":")" + dlqTopic + "/0@"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find(R"("traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")"), std::string::npos)
      << list.out;
  auto exported = runHere(cdc("dlq export --service search-indexer", env), false);
  ASSERT_EQ(exported.exitCode, 0) << exported.out;
  EXPECT_NE(exported.out.find(R"("payload":"not json at all")"), std::string::npos) << exported.out;
  EXPECT_NE(exported.out.find(R"("origin","pg")"), std::string::npos) << exported.out;

  // A replay that fails again: each letter once more, attempts 2, the first failure kept.
  auto replay = runHere(cdc("dlq replay --service search-indexer --store sqlite:kafka.db" + summaryFlag("replay"), env));
  ASSERT_EQ(replay.exitCode, 0) << replay.out;
  EXPECT_EQ(summary("replay", "dead_letters"), 2) << replay.out;
  list = runHere(cdc("dlq list --service search-indexer", env), false);
  ASSERT_EQ(list.exitCode, 0) << list.out;
  EXPECT_EQ(std::count(list.out.begin(), list.out.end(), '\n'), 2) << list.out;
  EXPECT_EQ(list.out.find(R"("attempts":1)"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find(R"("attempts":2)"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find(R"("first_error":)"), std::string::npos) << list.out;

  // Purged: one by its error, then the rest; the topic's records are deleted with them.
  auto purged = runHere(cdc("dlq purge --service search-indexer --error invalid_json", env));
  ASSERT_EQ(purged.exitCode, 0) << purged.out;
  EXPECT_NE(purged.out.find("purged 1 dead letters"), std::string::npos) << purged.out;
  list = runHere(cdc("dlq list --service search-indexer", env), false);
  EXPECT_EQ(std::count(list.out.begin(), list.out.end(), '\n'), 1) << list.out;
  EXPECT_NE(list.out.find("truncated_json"), std::string::npos) << list.out;
  purged = runHere(cdc("dlq purge --service search-indexer --all", env));
  ASSERT_EQ(purged.exitCode, 0) << purged.out;
  list = runHere(cdc("dlq list --service search-indexer", env), false);
  ASSERT_EQ(list.exitCode, 0) << list.out;
  EXPECT_EQ(std::count(list.out.begin(), list.out.end(), '\n'), 0) << list.out;
  k = run("kcat -C -q -e -b " + bootstrap_ + " -t " + dlqTopic + " -f '%o\\n'", false);
  EXPECT_EQ(k.out, "") << "every record before the first waiting letter is deleted: none waits";
}

TEST_F(KafkaServicesTest, SigtermCommitsInFlightWorkAndExitsWithinTheGracePeriod) {
  // Large enough that the service is still busy 2.5 s in (it read 83,640 records of 40,000 orders
  // in less than that once its store kept items in memory).
  produceWorkload("--products 1000 --orders 120000");
  Process p(consume("inventory", "kafka", summaryFlag("stopped")), logPath("stopped"), dir_);
  std::this_thread::sleep_for(2500ms);
  ASSERT_TRUE(p.running()) << p.output();
  auto sent = std::chrono::steady_clock::now();
  p.signal(SIGTERM);
  auto code = p.wait(30s);
  auto took = std::chrono::steady_clock::now() - sent;
  ASSERT_TRUE(code.has_value()) << "still running 30 s after SIGTERM";
  EXPECT_EQ(*code, 0) << p.output();
  EXPECT_LT(took, 25s) << "the default grace period";
  std::string first = p.output();
  EXPECT_NE(first.find("stopped by signal"), std::string::npos) << first;
  int64_t before = summary("stopped", "records");
  ASSERT_GT(before, 0);
  ASSERT_LT(before, recordsFor("inventory")) << "stopped after the end: make the workload larger";

  // What the stopped run processed was committed: the next run reads exactly the rest.
  std::string second = consumeUntilCaughtUp("inventory", "kafka");
  EXPECT_EQ(before + summary("caught-up", "records"), recordsFor("inventory")) << second;
  EXPECT_TRUE(sameLines(state("inventory", "kafka"), replayState("inventory")));
}

// The series of an exposition whose lines start with `prefix`.
std::vector<std::string> seriesLines(const std::string& text, const std::string& prefix) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(prefix, 0) == 0) out.push_back(line);
  }
  return out;
}

TEST_F(KafkaServicesTest, AnUntilCaughtUpRunOnATopicThatDoesNotExistFailsNamingIt) {
  produceWorkload("--products 20 --orders 20");
  const std::string missing = prefix_ + ".public.no_such_table";
  auto r = runHere("timeout 60 " + consume("inventory", "m", "--until-caught-up",
                                           "METRICS_PORT=0 KAFKA_TOPICS=" + prefix_ + ".public.products," + missing));
  EXPECT_EQ(r.exitCode, 1) << r.out;  // not timeout's 124
  EXPECT_NE(r.out.find("topic " + missing + " does not exist on the brokers at " + bootstrap_ +
                       ": --until-caught-up cannot reach its end (check KAFKA_TOPICS, --topic-prefix)"),
            std::string::npos)
      << r.out;
}

TEST_F(KafkaServicesTest, AFreshGroupStartsFromTheTimeOrTheEndItIsGivenAndCommittedOffsetsWin) {
  const std::string topic = prefix_ + ".public.products";
  auto products = [&](int from, int to) {
    std::string lines;
    for (int id = from; id <= to; ++id) {
      lines += R"({"topic":")" + topic + R"(","partition":0,"offset":0,"key":"{\"id\":)" + std::to_string(id) +
               R"(}","payload":"{\"id\":)" + std::to_string(id) +
               R"(,\"name\":\"Mug\",\"description\":null,\"price\":\"1.00\",\"stock_quantity\":40,\"__op\":\"r\"}"})" + "\n";
    }
    return lines;
  };
  auto produce = [&](const std::string& name, const std::string& lines) {
    std::ofstream(dir_ / name) << lines;
    auto p = runHere(cdc("produce --input " + name));
    ASSERT_EQ(p.exitCode, 0) << p.out;
  };
  produce("before.jsonl", products(1, 3));
  std::this_thread::sleep_for(1500ms);
  auto between = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch());
  std::this_thread::sleep_for(1500ms);
  produce("after.jsonl", products(4, 5));
  const std::string at = formatIsoTimestamp(Timestamp::fromMillis(between.count()));
  const std::string env = "METRICS_PORT=0 KAFKA_TOPICS=" + topic;
  auto productIds = [&](const std::string& where) {
    auto dump = runHere(cdc("dump --store sqlite:" + where + ".db --table inventory-realtime"), false).out;
    std::vector<int64_t> ids;
    const std::regex id(R"("product_id":(\d+))");
    for (std::sregex_iterator it(dump.begin(), dump.end(), id), end; it != end; ++it) {
      ids.push_back(std::stoll((*it)[1]));
    }
    return ids;
  };

  // A time: the records written after it only.
  auto fromTime = runHere("timeout 120 " + consume("inventory", "t", "--until-caught-up --start-from " + at, env));
  ASSERT_EQ(fromTime.exitCode, 0) << fromTime.out;
  EXPECT_NE(fromTime.out.find("start_from_time start_ms=" + std::to_string(between.count()) + " partitions=" + topic + "[0]@3"),
            std::string::npos)
      << fromTime.out;
  EXPECT_EQ(productIds("t"), (std::vector<int64_t>{4, 5}));
  // The group has committed now: that wins over any start point.
  produce("later.jsonl", products(6, 6));
  auto again = runHere("timeout 120 " + consume("inventory", "t", "--until-caught-up --start-from earliest", env));
  ASSERT_EQ(again.exitCode, 0) << again.out;
  EXPECT_NE(again.out.find("1 records in"), std::string::npos) << again.out;
  EXPECT_EQ(productIds("t"), (std::vector<int64_t>{4, 5, 6}));

  // latest: a fresh group skips what is there; earliest (the default) reads it all.
  auto fresh = [&](const std::string& where, const std::string& extra) {
    return runHere("timeout 120 " + cdc("inventory --source kafka --until-caught-up --group-id " + prefix_ + "-" + where +
                                            " --store sqlite:" + where + ".db --objects dir:" + where + "-lake " + extra,
                                        env));
  };
  auto latest = fresh("l", "--start-from latest");
  ASSERT_EQ(latest.exitCode, 0) << latest.out;
  EXPECT_NE(latest.out.find("0 records in"), std::string::npos) << latest.out;
  auto earliest = fresh("e", "");
  ASSERT_EQ(earliest.exitCode, 0) << earliest.out;
  EXPECT_EQ(productIds("e"), (std::vector<int64_t>{1, 2, 3, 4, 5, 6}));
}

TEST_F(KafkaServicesTest, NotReadyWithoutPartitionsAndLagReportedForThePartitionsOwnedNow) {
  const std::string probes = " --log-format json --log-level info --http-host 127.0.0.1";
  {
    // A broker that does not answer: never in the group, never ready, alive all the same.
    Process lone("env KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:1 " + cdcBinary() + " inventory --source kafka --topic-prefix " +
                     prefix_ + " --store sqlite:lone.db --objects dir:lone-lake" + probes,
                 logPath("lone"), dir_.string());
    int port = listeningPort(lone, "/readyz");
    ASSERT_GT(port, 0) << lone.output();
    httplib::Client client("127.0.0.1", port);
    std::this_thread::sleep_for(2s);
    auto ready = client.Get("/readyz");
    ASSERT_TRUE(ready);
    EXPECT_EQ(ready->status, 503);
    EXPECT_EQ(
        ready->body,
        R"({"status":"not ready","reasons":{"source":"no partitions assigned: not in the consumer group yet, or its topics have none"}})");
    auto live = client.Get("/healthz");
    ASSERT_TRUE(live);
    EXPECT_EQ(live->status, 200) << live->body;
    lone.signal(SIGTERM);
    EXPECT_TRUE(lone.wait(30s).has_value());
  }

  produceWorkload("--products 300 --orders 3000");
  // Statistics every second, so that lag is fresh; two members of one group in turn.
  const std::string env = "KAFKA_STATISTICS_INTERVAL_MS=1000";
  Process a(consume("inventory", "a", probes, env), logPath("a"), dir_);
  int port = listeningPort(a, "/metrics");
  ASSERT_GT(port, 0) << a.output();
  httplib::Client client("127.0.0.1", port);
  // The lag series of the partitions owned now, once they match the assignment (`owned`).
  auto lagMatching = [&](size_t owned) {
    std::vector<std::string> lags;
    for (int i = 0; i < 600; ++i) {
      auto res = client.Get("/metrics");
      if (!res) return lags;
      lags = seriesLines(res->body, "cdc_consumer_lag{");
      auto assigned = seriesLines(res->body, R"(cdc_consumer_assigned_partitions{service="inventory-service"} )");
      if (lags.size() == owned && assigned.size() == 1 && assigned[0].ends_with(" " + std::to_string(owned))) return lags;
      std::this_thread::sleep_for(100ms);
    }
    return lags;
  };
  // Alone, it owns the three partitions of each of its two topics.
  auto alone = lagMatching(6);
  EXPECT_EQ(alone.size(), 6u) << a.output();
  auto ready = client.Get("/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200) << ready->body;
  auto total = seriesLines(client.Get("/metrics")->body, R"(consumer_lag{service="inventory-service"})");
  EXPECT_EQ(total.size(), 1u);

  // A second member takes some partitions: the first reports only those it keeps.
  Process b(consume("inventory", "b", probes, env), logPath("b"), dir_);
  std::vector<std::string> kept;
  for (size_t owned : {3u, 4u, 2u, 5u, 1u}) {
    kept = lagMatching(owned);
    if (kept.size() == owned) break;
  }
  EXPECT_GT(kept.size(), 0u) << a.output();
  EXPECT_LT(kept.size(), 6u) << "the first member still reports every partition\n" << a.output();
  a.signal(SIGTERM);
  b.signal(SIGTERM);
  EXPECT_EQ(a.wait(60s), 0) << a.output();
  EXPECT_EQ(b.wait(60s), 0) << b.output();
}

TEST_F(KafkaServicesTest, AnIdleMemberStandsByReadyAndAMemberOfAnotherAssignorIsNamed) {
  // The products topic with one partition: of two search indexers, one has nothing to read.
  auto created = run("eval \"$(" + sourceDir() + "/scripts/stack env)\" && kafka-topics.sh --bootstrap-server " + bootstrap_ +
                     " --create --topic " + prefix_ + ".public.products --partitions 1");
  ASSERT_EQ(created.exitCode, 0) << created.out;
  // Every record to partition 0 (the other topics have three partitions: 0 is one of them).
  workload_ = (dir_ / "events.jsonl").string();
  ASSERT_EQ(run(cdcBinary() + " generate --products 200 --orders 100 --topic-prefix " + prefix_ +
                    " | sed -E 's/\"partition\":[0-9]+/\"partition\":0/' > " + workload_,
                false)
                .exitCode,
            0);
  auto produced = run(cdcBinary() + " produce --bootstrap-servers " + bootstrap_ + " --input " + workload_);
  ASSERT_EQ(produced.exitCode, 0) << produced.out;
  const std::string probes = " --log-format json --http-host 127.0.0.1 --log-level info";
  const std::string assignedProducts = R"("msg":"partitions_assigned","partitions":")" + prefix_ + ".public.products[0]";
  Process a(consume("search-indexer", "a", probes), logPath("a"), dir_);
  int portA = listeningPort(a, "/readyz");
  ASSERT_GT(portA, 0) << a.output();
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (a.output().find(assignedProducts) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(100ms);
  }
  Process b(consume("search-indexer", "b", probes), logPath("b"), dir_);
  int portB = listeningPort(b, "/readyz");
  ASSERT_GT(portB, 0) << b.output();
  // Once the group has settled, the member without a partition says why, and stays ready.
  deadline = std::chrono::steady_clock::now() + 60s;
  while (b.output().find("member_idle") == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(200ms);
  }
  ASSERT_NE(b.output().find("member_idle"), std::string::npos) << b.output() << a.output();
  EXPECT_NE(b.output().find("the group gave this member none of the 1 partitions of its topics"), std::string::npos)
      << b.output();
  httplib::Client clientB("127.0.0.1", portB);
  auto ready = clientB.Get("/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200) << ready->body;
  std::string metricsB = clientB.Get("/metrics")->body;
  EXPECT_EQ(seriesLines(metricsB, "cdc_consumer_idle{"),
            std::vector<std::string>{R"(cdc_consumer_idle{service="search-indexer"} 1)"});
  EXPECT_EQ(seriesLines(metricsB, "cdc_consumer_topic_partitions{"),
            std::vector<std::string>{R"(cdc_consumer_topic_partitions{service="search-indexer"} 1)"});
  // The idle member answers searches all the same.
  auto search = clientB.Get("/search?q=wireless");
  ASSERT_TRUE(search);
  EXPECT_EQ(search->status, 200) << search->body;
  httplib::Client clientA("127.0.0.1", portA);
  EXPECT_EQ(seriesLines(clientA.Get("/metrics")->body, "cdc_consumer_idle{"),
            std::vector<std::string>{R"(cdc_consumer_idle{service="search-indexer"} 0)"});

  // A member asking for an eager assignor is refused by the group at every join: named in its
  // log and its metrics, and not ready.
  Process eager(consume("search-indexer", "eager", probes, "KAFKA_PARTITION_ASSIGNMENT_STRATEGY=range"), logPath("eager"), dir_);
  int portEager = listeningPort(eager, "/readyz");
  ASSERT_GT(portEager, 0) << eager.output();
  deadline = std::chrono::steady_clock::now() + 60s;
  while (eager.output().find("group_error") == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_NE(eager.output().find("Inconsistent group protocol"), std::string::npos) << eager.output();
  EXPECT_NE(eager.output().find("(classic protocol, range)"), std::string::npos) << eager.output();
  httplib::Client clientEager("127.0.0.1", portEager);
  auto refusals = seriesLines(clientEager.Get("/metrics")->body, "cdc_consumer_group_errors_total{");
  ASSERT_EQ(refusals.size(), 1u);
  EXPECT_NE(refusals[0].find(R"(error="INCONSISTENT_GROUP_PROTOCOL")"), std::string::npos) << refusals[0];
  EXPECT_EQ(clientEager.Get("/readyz")->status, 503);
  eager.signal(SIGTERM);
  EXPECT_TRUE(eager.wait(30s).has_value());

  // The busy member leaves: the standby takes its partition over.
  a.signal(SIGTERM);
  EXPECT_EQ(a.wait(60s), 0) << a.output();
  deadline = std::chrono::steady_clock::now() + 60s;
  while (b.output().find(assignedProducts) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_NE(b.output().find(assignedProducts), std::string::npos) << b.output();
  EXPECT_EQ(seriesLines(clientB.Get("/metrics")->body, "cdc_consumer_idle{"),
            std::vector<std::string>{R"(cdc_consumer_idle{service="search-indexer"} 0)"});
  b.signal(SIGTERM);
  EXPECT_EQ(b.wait(60s), 0) << b.output();
}

}  // namespace
}  // namespace cdc::test
