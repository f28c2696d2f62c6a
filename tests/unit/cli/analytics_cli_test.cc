// The analytics service as a process: reports in the data lake, a crash (kill -9) at random
// points followed by a restart, and partitions split between two processes, each compared with
// one uninterrupted run over the same replay file.

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "support/run.h"

namespace cdc::test {
namespace {

namespace fs = std::filesystem;

constexpr const char* kReports[] = {"daily_sales", "product_sales", "customer_metrics", "order_status", "summary"};

class AnalyticsCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("cdc-analytics-" + std::to_string(::getpid()) + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    ASSERT_EQ(
        run("cd " + dir_.string() + " && " + cdcBinary() + " generate --products 60 --customers 300 --orders 4000 > events.jsonl",
            false)
            .exitCode,
        0);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string analytics(const std::string& lake, const std::string& extra = "") {
    return "cd " + dir_.string() + " && exec " + cdcBinary() + " analytics --source file:events.jsonl --objects dir:" + lake +
           " --batch-size 100 --log-level error " + extra;
  }

  // A report without its generated_at: what must be the same between two runs.
  std::string content(const std::string& lake, const char* report) {
    std::ifstream in(dir_ / lake / "analytics" / report / "latest.json");
    std::stringstream ss;
    ss << in.rdbuf();
    std::string s = ss.str();
    auto at = s.find("\"generated_at\":\"");
    if (at != std::string::npos) s.erase(at, s.find('"', at + 16) + 2 - at);
    return s;
  }

  fs::path dir_;
};

TEST_F(AnalyticsCliTest, WritesTheSeedReportObjects) {
  auto r = run(analytics("lake"));
  ASSERT_EQ(r.exitCode, 0) << r.out;
  for (const char* report : kReports) {
    EXPECT_TRUE(fs::exists(dir_ / "lake/analytics" / report / "latest.json")) << report;
    size_t stamped = 0;
    for (const auto& e : fs::directory_iterator(dir_ / "lake/analytics" / report)) {
      stamped += e.path().filename().string().size() == std::string("20260101_000000.json").size();
    }
    EXPECT_EQ(stamped, 1u) << report;
  }
  EXPECT_NE(content("lake", "summary").find(R"("report_type":"summary","metrics":{"total_orders":)"), std::string::npos)
      << content("lake", "summary");
  EXPECT_NE(content("lake", "order_status").find(R"("report_type":"order_status_distribution")"), std::string::npos);
}

TEST_F(AnalyticsCliTest, KilledAtRandomPointsAndRestartedGivesTheSameReports) {
  ASSERT_EQ(run(analytics("whole")).exitCode, 0);
  std::mt19937 rng(20261125);
  int interrupted = 0;
  for (int kill = 0; kill < 24; ++kill) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::execl("/bin/sh", "sh", "-c", analytics("crashed").c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5 + rng() % 60));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    interrupted += WIFSIGNALED(status) ? 1 : 0;
  }
  EXPECT_GE(interrupted, 20);  // the kills landed mid-run, not after the end
  auto last = run(analytics("crashed"));
  ASSERT_EQ(last.exitCode, 0) << last.out;
  for (const char* report : kReports) {
    EXPECT_EQ(content("crashed", report), content("whole", report)) << report;
  }
  EXPECT_NE(content("whole", "summary").find("\"total_orders\":"), std::string::npos);
}

TEST_F(AnalyticsCliTest, TwoProcessesSplittingThePartitionsGiveTheSameReports) {
  ASSERT_EQ(run(analytics("one")).exitCode, 0);
  ASSERT_EQ(run(analytics("two", "--replay-partitions 0,1")).exitCode, 0);
  ASSERT_EQ(run(analytics("two", "--replay-partitions 2")).exitCode, 0);
  for (const char* report : kReports) {
    EXPECT_EQ(content("two", report), content("one", report)) << report;
  }
  // A restart of one of them over its partitions again counts nothing twice.
  auto again = run(analytics("two", "--replay-partitions 0,1"));
  EXPECT_NE(again.out.find(" 0 changes"), std::string::npos) << again.out;
  for (const char* report : kReports) EXPECT_EQ(content("two", report), content("one", report)) << report;
}

TEST_F(AnalyticsCliTest, PoisonIsDeadLetteredAndNeverReplayedOverNewerRows) {
  std::ofstream(dir_ / "poison.jsonl")
      << R"({"topic":"dbserver1.public.orders","partition":0,"offset":0,"ts":1767225600000,"key":"{\"id\":1}","payload":"{\"id\":1,\"customer_id\":5,\"total_amount\":\"-10.00\",\"status\":\"pending\",\"created_at\":1767225600000000,\"__op\":\"c\"}"})"
         "\n"
      << R"({"topic":"dbserver1.public.orders","partition":0,"offset":1,"ts":1767225600000,"key":"{\"id\":1}","payload":"{\"id\":1,\"customer_id\":5,\"total_amount\":\"10.00\",\"status\":\"paid\",\"created_at\":1767225600000000,\"__op\":\"u\"}"})"
         "\n";
  std::string cmd = "cd " + dir_.string() + " && " + cdcBinary() + " analytics --source file:poison.jsonl --objects dir:p";
  auto r = run(cmd);
  ASSERT_EQ(r.exitCode, 0) << r.out;
  EXPECT_NE(r.out.find(", 1 dead letters"), std::string::npos) << r.out;
  EXPECT_NE(content("p", "summary").find(R"("total_orders":1,"total_revenue":10.00)"), std::string::npos);
  auto replay = run("cd " + dir_.string() + " && " + cdcBinary() + " dlq replay --service analytics-service --objects dir:p");
  EXPECT_EQ(replay.exitCode, 0) << replay.out;
  auto list = run("cd " + dir_.string() + " && " + cdcBinary() + " dlq list --objects dir:p", false);
  EXPECT_NE(list.out.find(R"("attempts":2)"), std::string::npos) << list.out;  // kept, not lost
  EXPECT_NE(content("p", "summary").find(R"("total_orders":1,"total_revenue":10.00)"), std::string::npos);
}

}  // namespace
}  // namespace cdc::test
