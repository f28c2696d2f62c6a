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

#include "support/endpoints.h"
#include "support/process.h"
#include "support/run.h"

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
            std::string::npos) << r.out;
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
            std::string::npos) << r.out;
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
                          (service == "inventory" ? "inventory-realtime" : "product-search-index")), false);
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

}  // namespace
}  // namespace cdc::test
