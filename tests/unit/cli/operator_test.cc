// The operator's experience (P12): runs that must end do end, with an error that names the
// cause and the setting that bounds the wait.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "support/endpoints.h"
#include "support/process.h"
#include "support/run.h"
#include "support/run_summary.h"

namespace cdc::test {
namespace {

namespace fs = std::filesystem;

class OperatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("cdc-operator-" + std::to_string(::getpid()) + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  // A command line in this test's directory, text logs, no port of its own.
  std::string cdc(const std::string& args, const std::string& env = "") const {
    return "cd " + dir_.string() + " && env LOG_FORMAT=text METRICS_PORT=0 " + env + " timeout 60 " + cdcBinary() + " " + args;
  }
  static size_t count(const std::string& text, const std::string& pattern) {
    const std::regex re(pattern);
    auto words = std::sregex_iterator(text.begin(), text.end(), re);
    return static_cast<size_t>(std::distance(words, std::sregex_iterator()));
  }
  fs::path dir_;
};

// Nothing listens on port 1: every connection is refused at once.
constexpr const char* kDeadBroker = "KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:1 KAFKA_BROKER_TIMEOUT=3";

TEST_F(OperatorTest, AnUntilCaughtUpRunAgainstABrokerThatDoesNotAnswerFailsNamingTheCause) {
  auto started = std::chrono::steady_clock::now();
  auto r = run(cdc("inventory --source kafka --until-caught-up --store sqlite:x.db --objects dir:lake", kDeadBroker));
  auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(r.exitCode, 1) << r.out;  // not timeout's 124
  EXPECT_LT(took, std::chrono::seconds(50)) << r.out;
  EXPECT_NE(r.out.find("no partition assigned within 3 s (KAFKA_BROKER_TIMEOUT): the brokers at 127.0.0.1:1 did not answer: "),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("Connection refused"), std::string::npos) << r.out;
  // Each connection error once: the client's error line, not librdkafka's log of it as well.
  EXPECT_EQ(count(r.out, "facility=FAIL"), 0u) << r.out;
  EXPECT_GE(count(r.out, "kafka_error error=_TRANSPORT"), 1u) << r.out;
}

TEST_F(OperatorTest, ProduceToABrokerThatDoesNotAnswerFailsNamingTheCause) {
  ASSERT_EQ(run(cdc("generate --events 20 > events.jsonl"), false).exitCode, 0);
  auto started = std::chrono::steady_clock::now();
  auto r = run(cdc("produce --input events.jsonl", kDeadBroker));
  EXPECT_EQ(r.exitCode, 1) << r.out;
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(50)) << r.out;
  EXPECT_NE(r.out.find("cdc produce: the Kafka brokers at 127.0.0.1:1 did not answer within 3 s (KAFKA_BROKER_TIMEOUT): "),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("Connection refused"), std::string::npos) << r.out;
  EXPECT_EQ(count(r.out, "facility=(FAIL|ERROR)"), 0u) << r.out;
}

// A writer that holds a pipe open and quiet, as kcat waiting for new records does.
class QuietPipe {
 public:
  explicit QuietPipe(const fs::path& path) : path_(path) {
    ::mkfifo(path.c_str(), 0600);
    // Read-write: opening does not wait for a reader. Non-blocking: a reader that died does not
    // hang the test.
    fd_ = ::open(path.c_str(), O_RDWR | O_NONBLOCK);
  }
  ~QuietPipe() { ::close(fd_); }
  // All of `text`, as the reader makes room, for at most 30 s.
  void write(std::string_view text) const {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!text.empty() && std::chrono::steady_clock::now() < deadline) {
      ssize_t n = ::write(fd_, text.data(), text.size());
      if (n > 0) {
        text.remove_prefix(static_cast<size_t>(n));
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
    EXPECT_TRUE(text.empty()) << text.size() << " bytes the reader never took";
  }

 private:
  fs::path path_;
  int fd_;
};

std::string readAll(const fs::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST_F(OperatorTest, SigtermToAServiceReadingAQuietPipeStopsItAtOnce) {
  ASSERT_EQ(run(cdc("generate --products 30 --orders 30 > events.jsonl"), false).exitCode, 0);
  const std::string events = readAll(dir_ / "events.jsonl");
  for (const std::string service : {"inventory", "search-indexer"}) {
    QuietPipe pipe(dir_ / (service + ".fifo"));
    Process p("env LOG_FORMAT=text METRICS_PORT=0 " + cdcBinary() + " " + service + " --source file:- --store sqlite:" + service +
                  ".db --objects dir:lake" + (service == "search-indexer" ? " --http-port 0" : "") + " < " + service + ".fifo",
              (dir_ / (service + ".log")).string(), dir_.string());
    pipe.write(events);  // then nothing more, the pipe still open
    // Every record applied (the summary comes at the end; the tables now).
    bool applied = false;
    for (int i = 0; i < 300 && !applied; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      auto dump = run(cdc("dump --store sqlite:" + service + ".db --table " +
                          (service == "inventory" ? "inventory-realtime" : "product-search-index")),
                      false);
      applied = count(dump.out, "\"product_id\"") == 30;
    }
    EXPECT_TRUE(applied) << p.output();
    auto started = std::chrono::steady_clock::now();
    p.signal(SIGTERM);
    auto status = p.wait(std::chrono::seconds(20));
    ASSERT_TRUE(status.has_value()) << service << " ignored SIGTERM: " << p.output();
    EXPECT_EQ(*status, 0) << p.output();
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5)) << p.output();
    EXPECT_NE(p.output().find("stopped by signal"), std::string::npos) << p.output();
    EXPECT_EQ(p.output().find("shutdown_grace_exceeded"), std::string::npos) << p.output();
  }
}

TEST_F(OperatorTest, TheSearchIndexerKeepsServingAfterItsReplayEndsWhenAsked) {
  ASSERT_EQ(run(cdc("generate --products 40 --orders 10 > events.jsonl"), false).exitCode, 0);
  Process p("env LOG_FORMAT=json METRICS_PORT=0 " + cdcBinary() +
                " search-indexer --source file:events.jsonl --store sqlite:idx.db --objects dir:lake --http-port 0 "
                "--http-host 127.0.0.1 --keep-serving",
            (dir_ / "indexer.log").string(), dir_.string());
  int port = listeningPort(p, "/search");
  ASSERT_GT(port, 0) << p.output();
  for (int i = 0; i < 300 && p.output().find("serving_until_stopped") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_NE(p.output().find("\"msg\":\"run_summary\""), std::string::npos) << p.output();
  httplib::Client client("127.0.0.1", port);
  auto res = client.Get("/search?min_price=0");
  ASSERT_TRUE(res) << "the port closed when the replay ended: " << p.output();
  EXPECT_EQ(res->status, 200);
  EXPECT_NE(res->body.find("\"count\":20"), std::string::npos) << res->body;  // a full first page
  auto live = client.Get("/healthz");
  ASSERT_TRUE(live);
  EXPECT_EQ(live->status, 200);
  p.signal(SIGTERM);
  auto status = p.wait(std::chrono::seconds(20));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0) << p.output();
}

TEST_F(OperatorTest, MessagesNameTheCauseAndConfigurationErrorsExitWithTwo) {
  ASSERT_EQ(run(cdc("generate --products 30 --orders 30 > events.jsonl"), false).exitCode, 0);
  ASSERT_EQ(run(cdc("search-indexer --source file:events.jsonl --store sqlite:idx.db --objects dir:lake")).exitCode, 0);
  ASSERT_EQ(run(cdc("inventory --source file:events.jsonl --store sqlite:inv.db --objects dir:lake")).exitCode, 0);
  struct Case {
    std::string args, env, says;
  };
  const std::vector<Case> cases = {
      {"bogus", "", "cdc: unknown command 'bogus' (commands: inventory, analytics, search-indexer, search,"},
      {"--bogus", "", "cdc: unknown option '--bogus' before the command (commands: inventory,"},
      {"inventory --source nope", "", "--source: expected kafka, file:PATH (- for standard input) or generate, got 'nope'"},
      {"inventory --source file:events.jsonl --objects nope", "", "--objects: expected dir:PATH or s3, got 'nope'"},
      {"search wireless --cursor garbage --store sqlite:idx.db", "", "--cursor: not the next_cursor of an earlier page"},
      {"search --min-price abc --store sqlite:idx.db", "",
       "cdc search: --min-price: expected an amount such as 12.50, got 'abc'"},
      {"search --store sqlite:idx.db", "", "cdc search: give QUERY, or --min-price and/or --max-price"},
      {"search wireless --store sqlite:inv.db", "",
       "--store: sqlite:inv.db holds no search index (the search indexer has not written there)"},
      {"dump --store sqlite:events.jsonl --table x", "", "cdc dump: --store: events.jsonl is not a SQLite database\n"},
      {"dump --store sqlite:missing.db --table x", "",
       "--store: no SQLite database at missing.db (no service has written there)"},
      {"search wireless", "", "--store (default sqlite:./data/cdc.db): no SQLite database at ./data/cdc.db"},
      {"inventory --source file:events.jsonl --store sqlite:" + (dir_ / "no/such/x.db").string(), "",
       "--store: cannot create the database's folder " + (dir_ / "no/such").string() + ": " + (dir_ / "no").string() +
           " does not exist"},
      {"inventory --source file:events.jsonl --store dynamodb", "AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=",
       "AWS_SECRET_ACCESS_KEY: not set while AWS_ACCESS_KEY_ID is"},
      {"inventory --source file:events.jsonl --store sqlite:h.db --objects dir:lake --http-host not-a-host.invalid", "",
       "--http-host: cannot serve on not-a-host.invalid:0: cannot resolve HTTP host 'not-a-host.invalid'"},
  };
  for (const auto& c : cases) {
    auto r = run(cdc(c.args, c.env));
    EXPECT_EQ(r.exitCode, 2) << c.args << ": " << r.out;
    EXPECT_NE(r.out.find(c.says), std::string::npos) << c.args << ": " << r.out;
    EXPECT_EQ(r.out.find("A subcommand is required"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("product-search-index-tokens"), std::string::npos) << r.out;  // no internal table named
  }
  // Nothing left behind by the commands that failed.
  for (const char* path : {"missing.db", "data", "no"}) EXPECT_FALSE(fs::exists(dir_ / path)) << path;
  // The database's own folder is still made, as mkdir does.
  EXPECT_EQ(run(cdc("inventory --source file:events.jsonl --store sqlite:newdir/x.db --objects dir:lake")).exitCode, 0);
  EXPECT_TRUE(fs::exists(dir_ / "newdir/x.db"));
}

TEST_F(OperatorTest, APriceOnlySearchShowsNoScore) {
  ASSERT_EQ(run(cdc("generate --products 30 --orders 1 > events.jsonl"), false).exitCode, 0);
  ASSERT_EQ(run(cdc("search-indexer --source file:events.jsonl --store sqlite:idx.db --objects dir:lake")).exitCode, 0);
  auto byPrice = run(cdc("search --min-price 0 --store sqlite:idx.db"), false);
  ASSERT_EQ(byPrice.exitCode, 0) << byPrice.out;
  EXPECT_EQ(count(byPrice.out, "\"product_id\""), 20u) << byPrice.out;
  EXPECT_EQ(byPrice.out.find("\"score\""), std::string::npos) << byPrice.out;  // was -price in cents
  // A text search ranks by its postings: each hit shows its score.
  std::smatch name;
  ASSERT_TRUE(std::regex_search(byPrice.out, name, std::regex("\"name\":\"([A-Za-z]+)"))) << byPrice.out;
  auto byText = run(cdc("search " + name[1].str() + " --store sqlite:idx.db"), false);
  ASSERT_EQ(byText.exitCode, 0) << byText.out;
  EXPECT_GE(count(byText.out, "\"product_id\""), 1u) << byText.out;
  EXPECT_EQ(count(byText.out, "\"product_id\""), count(byText.out, "\"score\":[0-9]+")) << byText.out;
}

TEST_F(OperatorTest, ConfigShowsWhatACommandWouldRunWithAndWhereEachValueComesFrom) {
  auto r = run(cdc("config inventory --log-format text",
                   "BATCH_SIZE=50 KAFKA_SASL_PASSWORD=hunter2 KAFKA_SECURITY_PROTOCOL=SASL_SSL "
                   "SCHEMA_REGISTRY_URL=https://registry:8081 SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO=cdc:swordfish "
                   "OTEL_EXPORTER_OTLP_HEADERS=api-key=opensesame,x-tenant=shop%201"),
               false);
  ASSERT_EQ(r.exitCode, 0) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex("\n--batch-size +50  \\(from BATCH_SIZE\\)\n"))) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex("\n--low-stock-threshold +10  \\(default\\)\n"))) << r.out;
  EXPECT_NE(r.out.find("librdkafka security.protocol=SASL_SSL  (from KAFKA_SECURITY_PROTOCOL)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("librdkafka sasl.password=***  (from KAFKA_SASL_PASSWORD)"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("hunter2"), std::string::npos) << r.out;
  EXPECT_TRUE(std::regex_search(
      r.out, std::regex("\n--schema-registry-user-info +\\*\\*\\*  \\(from SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO\\)\n")))
      << r.out;
  EXPECT_EQ(r.out.find("swordfish"), std::string::npos) << r.out;
  // OTLP's headers are key=value pairs (an API key): taken, and never shown.
  EXPECT_TRUE(std::regex_search(r.out, std::regex("\n--otlp-headers +\\*\\*\\*  \\(from OTEL_EXPORTER_OTLP_HEADERS\\)\n")))
      << r.out;
  EXPECT_EQ(r.out.find("opensesame"), std::string::npos) << r.out;
  // A value the command would refuse is refused here, naming its variable.
  r = run(cdc("config inventory", "BATCH_SIZE=0"));
  EXPECT_EQ(r.exitCode, 2) << r.out;
  EXPECT_NE(r.out.find("BATCH_SIZE: expected a positive integer, got '0'"), std::string::npos) << r.out;
  r = run(cdc("config inventory", "SCHEMA_REGISTRY_URL=registry:8081"));
  EXPECT_EQ(r.exitCode, 2) << r.out;
  EXPECT_NE(r.out.find("SCHEMA_REGISTRY_URL: expected http://"), std::string::npos) << r.out;
  r = run(cdc("config inventory", "SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO=swordfish"));
  EXPECT_EQ(r.exitCode, 2) << r.out;
  EXPECT_NE(r.out.find("SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO: expected user:password"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("swordfish"), std::string::npos) << r.out;
  r = run(cdc("config bogus"));
  EXPECT_EQ(r.exitCode, 2) << r.out;
  EXPECT_NE(r.out.find("unknown command 'bogus'"), std::string::npos) << r.out;
  // The reference table (README's) stays what it was, whatever the environment.
  auto table = run(cdc("config --markdown inventory", "BATCH_SIZE=50"), false);
  ASSERT_EQ(table.exitCode, 0);
  EXPECT_NE(table.out.find("| `--batch-size` | `BATCH_SIZE` | `2000` |"), std::string::npos) << table.out;
}

TEST_F(OperatorTest, DumpLooksUpOneKeyStopsAtALimitAndShowsTheAnalyticsCheckpoints) {
  ASSERT_EQ(run(cdc("generate --products 30 --orders 200 > events.jsonl"), false).exitCode, 0);
  ASSERT_EQ(run(cdc("inventory --source file:events.jsonl --store sqlite:x.db --objects dir:lake")).exitCode, 0);
  ASSERT_EQ(run(cdc("search-indexer --source file:events.jsonl --store sqlite:x.db --objects dir:lake --http-port 0")).exitCode,
            0);
  auto all = run(cdc("dump --store sqlite:x.db --table inventory-realtime"), false).out;
  ASSERT_GE(std::count(all.begin(), all.end(), '\n'), 30);

  auto one = run(cdc("dump --store sqlite:x.db --table inventory-realtime --key 7"), false);
  EXPECT_EQ(one.exitCode, 0);
  EXPECT_EQ(std::count(one.out.begin(), one.out.end(), '\n'), 1) << one.out;
  EXPECT_TRUE(one.out.starts_with("{") && all.find(one.out) != std::string::npos) << one.out;
  EXPECT_NE(one.out.find(R"("product_id":7,)"), std::string::npos) << one.out;
  EXPECT_EQ(run(cdc("dump --store sqlite:x.db --table inventory-realtime --key product_id=7"), false).out, one.out);
  EXPECT_EQ(run(cdc("dump --store sqlite:x.db --table inventory-realtime --key 99999"), false).out, "");
  auto three = run(cdc("dump --store sqlite:x.db --table inventory-realtime --limit 3"), false).out;
  EXPECT_EQ(std::count(three.begin(), three.end(), '\n'), 3) << three;
  EXPECT_TRUE(all.starts_with(three));
  // A table with a sort key: every item of the partition key (a Query), within the limit.
  auto postings = run(cdc("dump --store sqlite:x.db --table product-search-index-postings --key token=lamp"), false).out;
  EXPECT_GE(std::count(postings.begin(), postings.end(), '\n'), 1) << postings;
  EXPECT_EQ(postings.find(R"("token":")"), postings.find(R"("token":"lamp")")) << postings;
  for (const auto& [flags, message] : std::vector<std::pair<std::string, std::string>>{
           {"--table inventory-realtime --key id=7", "--key: inventory-realtime's partition key is product_id, not id"},
           {"--table inventory-realtime --key seven", "--key: product_id of inventory-realtime is a number, got 'seven'"},
           {"--table inventory-realtime --limit 0", "--limit: expected a positive integer, got '0'"},
           {"--key 7", "--table is required (or --checkpoints)"}}) {
    auto r = run(cdc("dump --store sqlite:x.db " + flags));
    EXPECT_EQ(r.exitCode, 2) << flags << "\n" << r.out;
    EXPECT_NE(r.out.find(message), std::string::npos) << flags << "\n" << r.out;
  }

  // The analytics checkpoints: each partition's position, rows and what the reports cover.
  ASSERT_EQ(run(cdc("analytics --source file:events.jsonl --objects dir:lake")).exitCode, 0);
  auto checkpoints = run(cdc("dump --checkpoints --objects dir:lake"), false);
  EXPECT_EQ(checkpoints.exitCode, 0);
  EXPECT_EQ(std::count(checkpoints.out.begin(), checkpoints.out.end(), '\n'), 6) << checkpoints.out;  // 2 topics x 3 partitions
  const std::regex line(
      R"(\{"topic":"dbserver1\.public\.orders","partition":0,"next_offset":(\d+),"orders":(\d+),"order_items":0,)"
      R"("dead_lettered_rows":0,"reported_next_offset":(\d+)\})");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(checkpoints.out, m, line)) << checkpoints.out;
  EXPECT_EQ(m[1], m[3]);  // the reports were flushed at the end: they cover the checkpoint
  EXPECT_GT(std::stoi(m[2]), 0);
  auto mixed = run(cdc("dump --checkpoints --table inventory-realtime --objects dir:lake"));
  EXPECT_EQ(mixed.exitCode, 2) << mixed.out;
  EXPECT_NE(mixed.out.find("--table is for a table, not with --checkpoints"), std::string::npos) << mixed.out;
}

TEST_F(OperatorTest, AStartPointAndARateCapAreCheckedAndTheCapHolds) {
  for (const auto& [line, message] : std::vector<std::pair<std::string, std::string>>{
           {"inventory --source kafka --bootstrap-servers 127.0.0.1:1 --start-from yesterday",
            "--start-from: expected earliest, latest or a time (2026-12-01T00:00:00Z), got 'yesterday'"},
           {"env KAFKA_AUTO_OFFSET_RESET=earliest START_FROM=latest cdc inventory --source kafka --bootstrap-servers 127.0.0.1:1",
            "START_FROM: latest contradicts KAFKA_AUTO_OFFSET_RESET=earliest"},
           {"inventory --source file:x.jsonl --start-from latest",
            "--start-from: where a Kafka consumer group starts; the source is file:x.jsonl"},
           {"analytics --max-records-per-second -5", "--max-records-per-second: expected an integer of 0 or more, got '-5'"}}) {
    std::string args = line.starts_with("env ") ? line.substr(line.find(" cdc ") + 5) : line;
    std::string env = line.starts_with("env ") ? line.substr(4, line.find(" cdc ") - 4) : "";
    auto r = run(cdc(args + (args.starts_with("analytics") ? "" : " --store sqlite:x.db") + " --objects dir:lake", env));
    EXPECT_EQ(r.exitCode, 2) << line << "\n" << r.out;
    EXPECT_NE(r.out.find(message), std::string::npos) << line << "\n" << r.out;
  }
  // 250 records at 100 a second: batches of 100, a second apart.
  ASSERT_EQ(run(cdc("generate --events 250 > events.jsonl"), false).exitCode, 0);
  auto capped =
      run(cdc("inventory --source file:events.jsonl --store sqlite:x.db --objects dir:lake --max-records-per-second 100 "
              "--summary-json capped.json"));
  ASSERT_EQ(capped.exitCode, 0) << capped.out;
  EXPECT_EQ(summaryCount(dir_ / "capped.json", "records"), 250) << capped.out;
  EXPECT_EQ(summaryCount(dir_ / "capped.json", "stats.runner.batches"), 3) << capped.out;
  EXPECT_GE(summaryNumber(dir_ / "capped.json", "seconds"), 1.99) << capped.out;
}

TEST_F(OperatorTest, TheProgressOnATerminalShowsPercentAndEtaAndLogLinesNeverLandAfterIt) {
  ASSERT_EQ(run(cdc("generate --events 400 > events.jsonl"), false).exitCode, 0);
  // On a terminal (script(1) gives the run one), slowed by a cap so that progress is drawn, with
  // an alert logged for every product.
  auto r = run("cd " + dir_.string() + " && script -qec '" + "env LOG_FORMAT=text METRICS_PORT=0 " + cdcBinary() +
               " inventory --source file:events.jsonl --store sqlite:x.db --objects dir:lake --max-records-per-second 150"
               " --low-stock-threshold 100000' /dev/null");
  ASSERT_EQ(r.exitCode, 0) << r.out;
  EXPECT_TRUE(
      std::regex_search(r.out, std::regex(R"(\d+% of [0-9.]+ KB, ETA \d+:\d\d \| \d+ records, \d+/s, 0 dead letters, at )")))
      << r.out;
  // Every log line and the summary start a line of their own: after a newline, or after the
  // progress line was cleared (ESC [ K), never after its text.
  const std::regex line(R"(20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (info|warning) |inventory-service: 400 records)");
  size_t lines = 0;
  for (std::sregex_iterator it(r.out.begin(), r.out.end(), line), end; it != end; ++it) {
    auto at = static_cast<size_t>(it->position());
    ++lines;
    bool own = at == 0 || r.out[at - 1] == '\n' || (at >= 3 && r.out.compare(at - 3, 3, "\033[K") == 0);
    EXPECT_TRUE(own) << "a line written after the progress text: ..."
                     << r.out.substr(at >= 120 ? at - 120 : 0, std::min<size_t>(at, 120) + 60);
    if (!own) break;
  }
  EXPECT_GT(lines, 100u);
  EXPECT_NE(r.out.find("low_stock_alert"), std::string::npos);
}

TEST_F(OperatorTest, AnAwsProfileGivesTheRegionAndAnUnsupportedOneIsNamed) {
  std::ofstream(dir_ / "config")
      << "[default]\nregion = eu-west-3\n[profile sso-dev]\nsso_session = corp\nsso_account_id = 1\nregion = eu-west-1\n";
  const std::string aws =
      "env -u AWS_REGION -u AWS_DEFAULT_REGION -u AWS_PROFILE HOME=/nonexistent AWS_ENDPOINT_URL=http://127.0.0.1:1 ";
  auto noRegion = run("cd " + dir_.string() + " && " + aws + "AWS_ACCESS_KEY_ID=a AWS_SECRET_ACCESS_KEY=b LOG_FORMAT=text " +
                      cdcBinary() + " dump --store dynamodb --table t");
  EXPECT_EQ(noRegion.exitCode, 2) << noRegion.out;
  EXPECT_NE(noRegion.out.find("AWS_REGION: not set"), std::string::npos) << noRegion.out;
  // The default profile's region is the region: the request goes out (and finds nobody).
  auto profileRegion =
      run("cd " + dir_.string() + " && " + aws + "AWS_CONFIG_FILE=config AWS_ACCESS_KEY_ID=a AWS_SECRET_ACCESS_KEY=b " +
          "LOG_FORMAT=text timeout 60 " + cdcBinary() + " dump --store dynamodb --table t");
  EXPECT_EQ(profileRegion.exitCode, 1) << profileRegion.out;
  EXPECT_EQ(profileRegion.out.find("AWS_REGION"), std::string::npos) << profileRegion.out;
  EXPECT_NE(profileRegion.out.find("Couldn't connect to server"), std::string::npos) << profileRegion.out;
  // An IAM Identity Center profile: refused by name, with the way to use it.
  auto sso = run("cd " + dir_.string() + " && " + aws + "AWS_CONFIG_FILE=config AWS_PROFILE=sso-dev LOG_FORMAT=text timeout 60 " +
                 cdcBinary() + " dump --store dynamodb --table t");
  EXPECT_EQ(sso.exitCode, 1) << sso.out;
  EXPECT_NE(sso.out.find("profile sso-dev signs in with AWS IAM Identity Center"), std::string::npos) << sso.out;
  EXPECT_EQ(sso.out.find("IMDS"), std::string::npos) << sso.out;
}

TEST_F(OperatorTest, EachCommandsHelpListsItsOwnFlagsAndAnotherCommandsFlagIsNamed) {
  struct Expect {
    std::string command;
    std::vector<std::string> own, foreign;
  };
  for (const auto& e : std::vector<Expect>{
           {"inventory",
            {"--low-stock-threshold", "--ledger-table", "--ledger-retention", "--alerts-topic", "--store", "--table-name"},
            {"--top-n", "--flush-interval", "--checkpoint-interval-ms", "--http-port", "--keep-serving"}},
           {"analytics",
            {"--top-n", "--flush-interval", "--checkpoint-interval-ms", "--objects"},
            {"--store", "--table-name", "--low-stock-threshold", "--ledger-table", "--ledger-retention",
             "--endpoint-url-dynamodb"}},
           {"search-indexer",
            {"--http-port", "--keep-serving", "--ledger-retention", "--store", "--table-name"},
            {"--top-n", "--flush-interval", "--low-stock-threshold", "--ledger-table", "--alerts-topic"}},
           {"dlq purge", {"--all", "--dry-run", "--error"}, {"--store", "--batch-size"}}}) {
    auto help = run(cdc(e.command + " --help"), false);
    EXPECT_EQ(help.exitCode, 0) << e.command;
    for (const auto& flag : e.own) EXPECT_NE(help.out.find("  " + flag + " "), std::string::npos) << e.command << " " << flag;
    for (const auto& flag : e.foreign) EXPECT_EQ(help.out.find("  " + flag + " "), std::string::npos) << e.command << " " << flag;
  }
  auto foreign = run(cdc("inventory --top-n 5 --store sqlite:x.db"));
  EXPECT_EQ(foreign.exitCode, 2) << foreign.out;
  EXPECT_NE(foreign.out.find("cdc inventory: --top-n is not a setting of inventory (it is one of analytics, dlq replay, demo; "
                             "cdc inventory --help lists its own)"),
            std::string::npos)
      << foreign.out;
  auto store = run(cdc("analytics --store=sqlite:x.db"));
  EXPECT_EQ(store.exitCode, 2) << store.out;
  EXPECT_NE(store.out.find("--store is not a setting of analytics"), std::string::npos) << store.out;
  // The same settings in the environment (a deployment's shared ConfigMap) are ignored by the
  // services they do not concern.
  auto env = run(cdc("inventory --orders 20 --store sqlite:x.db --objects dir:lake", "TOP_N=5 FLUSH_INTERVAL=2"));
  EXPECT_EQ(env.exitCode, 0) << env.out;
}

}  // namespace
}  // namespace cdc::test
