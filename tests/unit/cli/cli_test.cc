// The cdc command line as a user meets it: exit statuses, help, errors naming the flag or the
// variable, and the output of generate, dump and dlq list.

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>
#include <filesystem>
#include <fstream>

#include "adapters/localfs/dir_object_store.h"
#include "adapters/sqlite/sqlite_table_store.h"
#include "runtime/dead_letter.h"
#include "support/endpoints.h"
#include "support/process.h"
#include "support/run.h"
#include "support/run_summary.h"
#include "support/service_state.h"

namespace cdc::test {
namespace {

namespace fs = std::filesystem;

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("cdc-cli-" + std::to_string(::getpid()) + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string cdc(const std::string& args) { return "cd " + dir_.string() + " && " + cdcBinary() + " " + args; }
  fs::path dir_;
};

TEST_F(CliTest, HelpOnEveryCommand) {
  for (const char* command :
       {"", "inventory", "generate", "produce", "demo", "dump", "dlq", "dlq list", "dlq replay", "config"}) {
    auto r = run(cdc(std::string(command) + " --help"));
    EXPECT_EQ(r.exitCode, 0) << command << ": " << r.out;
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << command;
  }
  auto r = run(cdc("generate --help"));
  EXPECT_NE(r.out.find("--decimal"), std::string::npos);
  EXPECT_NE(r.out.find("TOPIC_PREFIX"), std::string::npos);
}

TEST_F(CliTest, BadUsageExitsWithTwoAndNamesTheCulprit) {
  auto r = run(cdc("generate --shape flat"));
  EXPECT_EQ(r.exitCode, 2);
  EXPECT_NE(r.out.find("--shape: expected one of unwrap, envelope, got 'flat'"), std::string::npos) << r.out;
  r = run(cdc("generate --no-such-flag"));
  EXPECT_EQ(r.exitCode, 2) << r.out;
  r = run("cd " + dir_.string() + " && BATCH_SIZE=-3 " + cdcBinary() + " demo");
  EXPECT_EQ(r.exitCode, 2);
  EXPECT_NE(r.out.find("BATCH_SIZE"), std::string::npos) << r.out;
  r = run("cd " + dir_.string() + " && LOG_LEVEL=chatty " + cdcBinary() + " config");
  EXPECT_EQ(r.exitCode, 2);
  EXPECT_NE(r.out.find("LOG_LEVEL"), std::string::npos) << r.out;
  r = run(cdc("dump --store mysql://x --table t"));
  EXPECT_EQ(r.exitCode, 2);
  EXPECT_NE(r.out.find("--store"), std::string::npos) << r.out;
  r = run(cdc("nonsense"));
  EXPECT_EQ(r.exitCode, 2);
}

TEST_F(CliTest, LogLevelTakesTheNamesTheLogsPrint) {
  // A service's start is logged at info; a product deleted twice is a warning.
  const std::string service =
      " inventory --source generate --orders 20 --store sqlite:levels.db --objects dir:levels --log-format json";
  for (const char* level : {"warning", "warn"}) {
    SCOPED_TRACE(level);
    auto r = run("cd " + dir_.string() + " && LOG_LEVEL=" + level + " " + cdcBinary() + service);
    EXPECT_EQ(r.exitCode, 0) << r.out;
    EXPECT_EQ(r.out.find("\"msg\":\"service_start\""), std::string::npos) << r.out;
  }
  auto info = run("cd " + dir_.string() + " && LOG_LEVEL=info " + cdcBinary() + service);
  EXPECT_EQ(info.exitCode, 0) << info.out;
  EXPECT_NE(info.out.find("\"msg\":\"service_start\""), std::string::npos) << info.out;
  // Off: no log line; the run's summary (the command's result) is all that is printed.
  auto off = run("cd " + dir_.string() + " && LOG_LEVEL=off " + cdcBinary() + service);
  EXPECT_EQ(off.exitCode, 0) << off.out;
  std::istringstream lines(off.out);
  int count = 0;
  for (std::string line; std::getline(lines, line); ++count) {
    EXPECT_NE(line.find(R"("msg":"run_summary")"), std::string::npos) << line;
  }
  EXPECT_EQ(count, 1) << off.out;
}

// The run's summary for programs: the counts by name in the JSON log's run_summary and, with
// --summary-json, in a file; both the same numbers as the text line and the log's own events.
TEST_F(CliTest, TheRunSummaryGivesEachComponentsCountsByName) {
  const std::string summary = (dir_ / "summary.json").string();
  auto r = run("cd " + dir_.string() + " && " + cdcBinary() +
               " inventory --source generate --orders 300 --store sqlite:summary.db --objects dir:summary --log-format json "
               "--low-stock-threshold 40 --summary-json " +
               summary);
  ASSERT_EQ(r.exitCode, 0) << r.out;
  const int64_t records = summaryCount(summary, "records");
  EXPECT_GT(records, 1000);
  EXPECT_EQ(summaryCount(summary, "stats.runner.records"), records);
  // Every event is a product change, an order-item change, or one already applied.
  EXPECT_EQ(summaryCount(summary, "stats.handler.product_changes") + summaryCount(summary, "stats.handler.order_item_changes") +
                summaryCount(summary, "stats.handler.already_applied"),
            summaryCount(summary, "stats.runner.events"));
  EXPECT_GT(summaryCount(summary, "stats.handler.store_transactions"), 0);
  // The alerts counted are the alerts logged.
  size_t logged = 0;
  for (size_t at = r.out.find(R"("msg":"low_stock_alert")"); at != std::string::npos;
       at = r.out.find(R"("msg":"low_stock_alert")", at + 1)) {
    ++logged;
  }
  EXPECT_GT(logged, 0u);
  EXPECT_EQ(summaryCount(summary, "stats.handler.low_stock_alerts"), static_cast<int64_t>(logged));
  // The log's run_summary carries the same counts; its text says them in words.
  std::string file = readFile(summary);
  const size_t stats = file.find(R"("stats":)");
  ASSERT_NE(stats, std::string::npos) << file;
  const std::string counts = file.substr(stats, file.find(R"(,"text":)") - stats);
  EXPECT_NE(r.out.find(counts), std::string::npos) << counts << "\n" << r.out;
  EXPECT_NE(r.out.find(std::to_string(records) + " records in"), std::string::npos) << r.out;
  // A local run has no remote store's requests.
  EXPECT_NE(counts.find(R"("stores":{})"), std::string::npos) << counts;
}

TEST_F(CliTest, GenerateEveryShape) {
  struct Case {
    const char* flags;
    const char* mustContain;
  };
  const Case cases[] = {
      {"", R"(\"__op\":\"r\")"},
      {"--shape envelope", R"(\"op\":\"r\")"},
      {"--schemas false", R"("key":"{\"id\":1}")"},
      {"--decimal string", R"(\"price\":\"72.60\")"},
      {"--decimal double --schemas false", R"(\"price\":72.6)"},
      {"--timestamps zoned --shape envelope", R"(\"created_at\":\"2025-)"},
      {"--shape envelope --before key --schemas false", R"(\"before\":null)"},
  };
  for (const auto& c : cases) {
    auto r = run(cdc(std::string("generate --products 20 --orders 30 ") + c.flags), false);
    EXPECT_EQ(r.exitCode, 0) << c.flags;
    EXPECT_NE(r.out.find(c.mustContain), std::string::npos) << c.flags << "\n" << r.out.substr(0, 600);
  }
  auto a = run(cdc("generate --events 500 --seed 9"), false);
  auto b = run(cdc("generate --events 500 --seed 9"), false);
  EXPECT_EQ(a.out, b.out);
  EXPECT_EQ(std::count(a.out.begin(), a.out.end(), '\n'), 500);
  auto prefix = run("cd " + dir_.string() + " && TOPIC_PREFIX=shop " + cdcBinary() + " generate --events 5 2>/dev/null");
  EXPECT_NE(prefix.out.find(R"("topic":"shop.public.products")"), std::string::npos);
}

TEST_F(CliTest, DumpPrintsItemsSortedByKey) {
  {
    auto s = sqlite::SqliteTableStore::open((dir_ / "t.db").string());
    ASSERT_TRUE(s.has_value());
    store::TableSpec spec{"inventory-realtime", {"product_id", store::AttributeValue::Type::N}, std::nullopt, {}};
    ASSERT_TRUE((*s)->ensureTable(spec).has_value());
    for (int id : {10, 2, 33}) {
      store::Item item{{"product_id", store::AttributeValue::n(id)},
                       {"price", store::AttributeValue::s("1299.99")},
                       {"stock_quantity", store::AttributeValue::n(id * 2)}};
      ASSERT_TRUE((*s)->put({"inventory-realtime", item, std::nullopt}).has_value());
    }
  }
  auto r = run(cdc("dump --store sqlite:t.db --table inventory-realtime"), false);
  EXPECT_EQ(r.exitCode, 0);
  EXPECT_EQ(r.out,
            "{\"price\":\"1299.99\",\"product_id\":2,\"stock_quantity\":4}\n"
            "{\"price\":\"1299.99\",\"product_id\":10,\"stock_quantity\":20}\n"
            "{\"price\":\"1299.99\",\"product_id\":33,\"stock_quantity\":66}\n");
  auto missing = run(cdc("dump --store sqlite:t.db --table nope"));
  EXPECT_EQ(missing.exitCode, 2);
  EXPECT_NE(missing.out.find("nope"), std::string::npos);
}

TEST_F(CliTest, DemoRunsOnTheEmbeddedDefault) {
  auto r = run(cdc("demo --orders 300 --products 40"));
  EXPECT_EQ(r.exitCode, 0) << r.out;
  EXPECT_NE(r.out.find("0 dead letters"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Least stock of"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("low-stock alerts"), std::string::npos) << r.out;
  EXPECT_TRUE(fs::exists(dir_ / "data/demo/events.jsonl"));
  auto dump = run(cdc("dump --table inventory-realtime"), false);
  EXPECT_EQ(dump.exitCode, 0);
  EXPECT_GE(std::count(dump.out.begin(), dump.out.end(), '\n'), 40);
}

TEST_F(CliTest, DlqListShowsDeadLettersOfEachService) {
  localfs::DirObjectStore objects(dir_ / "data/lake");
  runtime::Record r;
  r.topic = "dbserver1.public.products";
  r.partition = 1;
  r.offset = 17;
  r.timestampMs = 1767225600000;
  r.value = "{broken";
  ASSERT_TRUE(runtime::DeadLetterQueue(objects, "inventory-service").write(r, "invalid_json", Timestamp{}).has_value());
  ASSERT_TRUE(runtime::DeadLetterQueue(objects, "search-indexer").write(r, "invalid_json", Timestamp{}).has_value());
  auto all = run(cdc("dlq list"), false);
  EXPECT_EQ(all.exitCode, 0);
  EXPECT_EQ(std::count(all.out.begin(), all.out.end(), '\n'), 2);
  auto one = run(cdc("dlq list --service inventory-service"), false);
  EXPECT_EQ(std::count(one.out.begin(), one.out.end(), '\n'), 1);
  EXPECT_NE(one.out.find(R"("object":"dlq/inventory-service/dbserver1.public.products/date=2026-01-01/1-17.json")"),
            std::string::npos)
      << one.out;
  EXPECT_NE(one.out.find(R"("offset":17)"), std::string::npos);
}

TEST_F(CliTest, InventoryFromAReplayFileThenDump) {
  ASSERT_EQ(run(cdc("generate --products 30 --orders 200 > events.jsonl"), false).exitCode, 0);
  auto r = run(cdc("inventory --source file:events.jsonl --store sqlite:inv.db --objects dir:lake"));
  EXPECT_EQ(r.exitCode, 0) << r.out;
  EXPECT_NE(r.out.find("inventory-service: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(", 0 dead letters"), std::string::npos) << r.out;
  auto dump = run(cdc("dump --store sqlite:inv.db --table inventory-realtime"), false);
  EXPECT_NE(dump.out.find(R"("product_id":1,)"), std::string::npos);
  EXPECT_NE(dump.out.find(R"("stock_quantity":)"), std::string::npos);
  // From standard input, again: nothing changes (every record is recognised as applied).
  auto again = run(cdc("inventory --source file:- --store sqlite:inv.db --objects dir:lake < events.jsonl"));
  EXPECT_EQ(again.exitCode, 0) << again.out;
  EXPECT_NE(again.out.find(" 0 product changes, 0 order-item changes"), std::string::npos) << again.out;
  EXPECT_EQ(run(cdc("dump --store sqlite:inv.db --table inventory-realtime"), false).out, dump.out);
  // With no configuration at all it runs on the built-in workload and the embedded stores.
  auto embedded = run(cdc("inventory --orders 50 --products 10"));
  EXPECT_EQ(embedded.exitCode, 0) << embedded.out;
  auto generated = run(cdc("inventory --source generate --events 300 --store sqlite:gen.db"));
  EXPECT_EQ(generated.exitCode, 0) << generated.out;
  EXPECT_TRUE(fs::exists(dir_ / "data/cdc.db"));
  // With KAFKA_BOOTSTRAP_SERVERS set the source is Kafka: nobody answers on port 1, so the
  // consumer keeps trying until SIGTERM stops it cleanly.
  auto kafka = run("cd " + dir_.string() + " && KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:1 LOG_FORMAT=text timeout -s TERM 2 " +
                   cdcBinary() + " inventory --store sqlite:kafka.db --objects dir:kafka-lake");
  EXPECT_NE(kafka.out.find("source=kafka:127.0.0.1:1 group inventory-service-group"), std::string::npos) << kafka.out;
  EXPECT_NE(kafka.out.find("0 records"), std::string::npos) << kafka.out;
  EXPECT_NE(kafka.out.find("stopped by signal"), std::string::npos) << kafka.out;
  auto noBrokers = run(cdc("inventory --source kafka"));
  EXPECT_EQ(noBrokers.exitCode, 2);
  EXPECT_NE(noBrokers.out.find("KAFKA_BOOTSTRAP_SERVERS"), std::string::npos) << noBrokers.out;
  auto autoCommit = run("cd " + dir_.string() + " && KAFKA_ENABLE_AUTO_COMMIT=true " + cdcBinary() +
                        " inventory --source kafka --bootstrap-servers 127.0.0.1:1");
  EXPECT_EQ(autoCommit.exitCode, 2);
  EXPECT_NE(autoCommit.out.find("KAFKA_ENABLE_AUTO_COMMIT"), std::string::npos) << autoCommit.out;
  auto badProperty = run("cd " + dir_.string() + " && KAFKA_SECURITY_PROTOCOL=carrier_pigeon " + cdcBinary() +
                         " inventory --source kafka --bootstrap-servers 127.0.0.1:1");
  EXPECT_EQ(badProperty.exitCode, 2);
  EXPECT_NE(badProperty.out.find("KAFKA_SECURITY_PROTOCOL"), std::string::npos) << badProperty.out;
  // Under the consumer group protocol the broker owns sessions and assignment: a member's own
  // session timeout or assignor is refused by the variable's name, as is an unknown protocol or
  // one KAFKA_GROUP_PROTOCOL contradicts.
  for (const char* classicOnly : {"KAFKA_SESSION_TIMEOUT_MS=6000", "KAFKA_PARTITION_ASSIGNMENT_STRATEGY=range"}) {
    auto refused = run("cd " + dir_.string() + " && GROUP_PROTOCOL=consumer " + classicOnly + " " + cdcBinary() +
                       " inventory --source kafka --bootstrap-servers 127.0.0.1:1");
    EXPECT_EQ(refused.exitCode, 2) << refused.out;
    std::string name(classicOnly);
    EXPECT_NE(refused.out.find(name.substr(0, name.find('=')) + ": "), std::string::npos) << refused.out;
    EXPECT_NE(refused.out.find("GROUP_PROTOCOL=consumer"), std::string::npos) << refused.out;
  }
  auto unknown = run("cd " + dir_.string() + " && GROUP_PROTOCOL=eager " + cdcBinary() +
                     " inventory --source kafka --bootstrap-servers 127.0.0.1:1");
  EXPECT_EQ(unknown.exitCode, 2);
  EXPECT_NE(unknown.out.find("GROUP_PROTOCOL"), std::string::npos) << unknown.out;
  auto contradicted = run("cd " + dir_.string() + " && GROUP_PROTOCOL=consumer KAFKA_GROUP_PROTOCOL=classic " + cdcBinary() +
                          " inventory --source kafka --bootstrap-servers 127.0.0.1:1");
  EXPECT_EQ(contradicted.exitCode, 2);
  EXPECT_NE(contradicted.out.find("GROUP_PROTOCOL=consumer contradicts KAFKA_GROUP_PROTOCOL=classic"), std::string::npos)
      << contradicted.out;
}

TEST_F(CliTest, DeadLettersReplayOnceTheConfigurationIsFixed) {
  // Schemaless string-mode decimals without a '.' are read as base64 by default: this one
  // ("100") is a dead letter until SCHEMALESS_DECIMALS=string says how the connector writes them.
  std::ofstream(dir_ / "events.jsonl")
      << R"({"topic":"dbserver1.public.products","partition":0,"offset":0,"ts":1767225600000,"key":"{\"id\":5}","payload":"{\"id\":5,\"name\":\"Mug\",\"description\":null,\"price\":\"100\",\"stock_quantity\":40,\"__op\":\"r\"}"})"
      << "\n";
  auto r = run(cdc("inventory --source file:events.jsonl --store sqlite:inv.db --objects dir:lake"));
  EXPECT_EQ(r.exitCode, 0) << r.out;
  EXPECT_NE(r.out.find(", 1 dead letters"), std::string::npos) << r.out;
  auto list = run(cdc("dlq list --objects dir:lake"), false);
  EXPECT_NE(list.out.find("bad_base64"), std::string::npos) << list.out;
  // Replayed with the same configuration it fails again and counts the attempt.
  run(cdc("dlq replay --service inventory-service --store sqlite:inv.db --objects dir:lake"));
  EXPECT_NE(run(cdc("dlq list --objects dir:lake"), false).out.find(R"("attempts":2)"), std::string::npos);
  auto fixed = run("cd " + dir_.string() + " && SCHEMALESS_DECIMALS=string " + cdcBinary() +
                   " dlq replay --service inventory-service --store sqlite:inv.db --objects dir:lake");
  EXPECT_EQ(fixed.exitCode, 0) << fixed.out;
  EXPECT_NE(fixed.out.find(", 0 dead letters"), std::string::npos) << fixed.out;
  EXPECT_TRUE(run(cdc("dlq list --objects dir:lake"), false).out.empty());
  auto dump = run(cdc("dump --store sqlite:inv.db --table inventory-realtime"), false);
  EXPECT_NE(dump.out.find(R"("price":"100.00")"), std::string::npos) << dump.out;
  EXPECT_NE(dump.out.find(R"("stock_quantity":40)"), std::string::npos) << dump.out;
}

TEST_F(CliTest, ATraceparentHeaderFollowsItsRecordIntoLogsAlertsAndDeadLetters) {
  // Two records with W3C trace contexts: a product whose stock is below the threshold (an
  // alert) and one that is not JSON (a dead letter); a third with a malformed traceparent.
  const std::string alertTrace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  const std::string poisonTrace = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  std::ofstream(dir_ / "events.jsonl")
      << R"({"topic":"dbserver1.public.products","partition":0,"offset":0,"ts":1767225600000,"headers":["traceparent",")"
      << alertTrace
      << R"("],"key":"{\"id\":5}","payload":"{\"id\":5,\"name\":\"Mug\",\"description\":null,\"price\":\"1.50\",\"stock_quantity\":3,\"__op\":\"r\"}"})"
      << "\n"
      << R"({"topic":"dbserver1.public.products","partition":0,"offset":1,"ts":1767225600000,"headers":["traceparent",")"
      << poisonTrace << R"("],"key":"{\"id\":6}","payload":"not json"})"
      << "\n"
      << R"({"topic":"dbserver1.public.products","partition":0,"offset":2,"ts":1767225600000,"headers":["traceparent","00-zz"],)"
      << R"("key":"{\"id\":7}","payload":"not json either"})"
      << "\n";
  auto r =
      run(cdc("inventory --source file:events.jsonl --store sqlite:inv.db --objects dir:lake --log-format json "
              "--schemaless-decimals string"));
  EXPECT_EQ(r.exitCode, 0) << r.out;
  auto lineOf = [](const std::string& out, const std::string& msg, const std::string& with) {
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);) {
      if (line.find(R"("msg":")" + msg + "\"") != std::string::npos && line.find(with) != std::string::npos) return line;
    }
    return std::string();
  };
  std::string alert = lineOf(r.out, "low_stock_alert", R"("product_id":5)");
  EXPECT_NE(alert.find(R"("traceparent":")" + alertTrace + "\""), std::string::npos) << r.out;
  EXPECT_NE(alert.find(R"("trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7")"), std::string::npos)
      << alert;
  EXPECT_NE(alert.find(R"("service":"inventory-service")"), std::string::npos) << alert;
  std::string letter = lineOf(r.out, "dead_letter", R"("offset":1)");
  EXPECT_NE(letter.find(R"("trace_id":"0af7651916cd43dd8448eb211c80319c")"), std::string::npos) << r.out;
  // The malformed one is logged without a trace.
  std::string bad = lineOf(r.out, "dead_letter", R"("offset":2)");
  ASSERT_FALSE(bad.empty()) << r.out;
  EXPECT_EQ(bad.find("trace"), std::string::npos) << bad;
  // Every line is JSON and names the service, the summary too.
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    EXPECT_TRUE(line.starts_with("{\"ts\":") && line.ends_with("}")) << line;
    EXPECT_NE(line.find(R"("service":"inventory-service")"), std::string::npos) << line;
  }
  // The dead letter keeps the trace, and a replay carries it again (a second failure keeps it).
  auto list = run(cdc("dlq list --objects dir:lake"), false);
  EXPECT_NE(list.out.find(poisonTrace), std::string::npos) << list.out;
  auto body = readWholeFile((dir_ / "lake/dlq/inventory-service/dbserver1.public.products/date=2026-01-01/0-1.json").string());
  EXPECT_NE(body.find(R"("traceparent":")" + poisonTrace + "\""), std::string::npos) << body;
  auto replay = run(cdc("dlq replay --service inventory-service --store sqlite:inv.db --objects dir:lake --log-format json"));
  EXPECT_NE(lineOf(replay.out, "dead_letter", R"("offset":1)").find(poisonTrace), std::string::npos) << replay.out;
  body = readWholeFile((dir_ / "lake/dlq/inventory-service/dbserver1.public.products/date=2026-01-01/0-1.json").string());
  EXPECT_NE(body.find(R"("attempts":2)"), std::string::npos) << body;
  EXPECT_NE(body.find(poisonTrace), std::string::npos) << body;
}

TEST_F(CliTest, JsonLogsHaveAPeriodicStatsLine) {
  auto r =
      run(cdc("analytics --source generate --orders 2000 --objects dir:lake --log-format json --stats-interval 1 "
              "--batch-size 50 --checkpoint-interval-ms 0"));
  EXPECT_EQ(r.exitCode, 0) << r.out;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      r.out, m,
      std::regex(R"(\{"ts":"[^"]+","level":"info","service":"analytics-service","msg":"stats","records":(\d+),)"
                 R"("records_total":(\d+),"rate":[0-9.]+,"dead_letters_total":0,"lag":null,"position":"[^"]+"\})")))
      << r.out;
  EXPECT_GT(std::stoll(m[1].str()), 0);
  // Not in text logs (a terminal has its progress line).
  auto text = run(cdc("analytics --source generate --orders 2000 --objects dir:lake2 --log-format text --stats-interval 1"));
  EXPECT_EQ(text.out.find("stats"), std::string::npos) << text.out;
}

TEST_F(CliTest, AStopThatOutlastsTheGracePeriodEndsTheProcess) {
  // A store that accepts the connection and never answers (within the 60 s request timeout):
  // the batch in hand can never finish, so after SIGTERM the grace period runs out and the
  // process exits with 1. (A quiet pipe no longer does: it is read with a timeout.)
  SilentListener s3;
  ASSERT_GT(s3.port(), 0);
  Process service("env AWS_ENDPOINT_URL=http://127.0.0.1:" + std::to_string(s3.port()) +
                      " AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REQUEST_TIMEOUT=60 " +
                      cdcBinary() + " analytics --source generate --objects s3 --s3-bucket lake --create-tables false" +
                      " --metrics false --shutdown-grace 1 --log-format text",
                  (dir_ / "service.log").string());
  // Its first store request is on its way, and will never be answered.
  ASSERT_TRUE(s3.connectionWaiting(std::chrono::seconds(30))) << service.output();
  ASSERT_TRUE(service.running()) << service.output();
  auto sent = std::chrono::steady_clock::now();
  service.signal(SIGTERM);
  auto code = service.wait(std::chrono::seconds(10));
  ASSERT_TRUE(code.has_value()) << "still running 10 s after SIGTERM";
  EXPECT_EQ(*code, 1) << service.output();
  EXPECT_LT(std::chrono::steady_clock::now() - sent, std::chrono::seconds(5));
  EXPECT_NE(service.output().find("shutdown_grace_exceeded"), std::string::npos) << service.output();
}

}  // namespace
// An empty broker list used to start an alerts producer with no brokers (each alert batch then
// waited 10 s) or, with --source kafka, to wait forever: now exit 2 at once.
TEST_F(CliTest, UnusableKafkaAndTableSettingsExitWithTwo) {
  ASSERT_EQ(run(cdc("generate --products 20 --orders 20 > events.jsonl"), false).exitCode, 0);
  for (const char* vars : {"KAFKA_BOOTSTRAP_SERVERS=", "KAFKA_BOOTSTRAP_SERVERS=,,,"}) {
    for (const char* args : {"inventory --source file:events.jsonl", "inventory --source kafka"}) {
      auto r = run("cd " + dir_.string() + " && " + vars + " timeout 20 " + cdcBinary() + " " + args);
      EXPECT_EQ(r.exitCode, 2) << vars << " " << args << ": " << r.out;
      EXPECT_NE(r.out.find("KAFKA_BOOTSTRAP_SERVERS: expected host:port"), std::string::npos) << r.out;
    }
  }
  auto r = run("cd " + dir_.string() + " && LOW_STOCK_THRESHOLD=-5 " + cdcBinary() + " inventory --source file:events.jsonl");
  EXPECT_EQ(r.exitCode, 2);
  EXPECT_NE(r.out.find("LOW_STOCK_THRESHOLD"), std::string::npos) << r.out;
  r = run("cd " + dir_.string() + " && DYNAMODB_TABLE='bad table!' " + cdcBinary() + " inventory --source file:events.jsonl");
  EXPECT_EQ(r.exitCode, 2);
  EXPECT_NE(r.out.find("DYNAMODB_TABLE"), std::string::npos) << r.out;
}

}  // namespace cdc::test
