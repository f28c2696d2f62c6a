// The operator's experience (P12): runs that must end do end, with an error that names the
// cause and the setting that bounds the wait.

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>

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

}  // namespace
}  // namespace cdc::test
