// Crash consistency on the embedded stores: each service is killed with SIGKILL at random
// moments, many times over one run over a replay file, and restarted until it is done; its final
// tables and reports must equal those of a run without crashes (ignoring only wall-clock fields
// and write counters). CRASH_KILLS (default 12; the long run by hand: 100) kills per service.

#include <gtest/gtest.h>

#include <chrono>
#include <iostream>

#include "reliability/crash_fixture.h"

namespace cdc::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

using EmbeddedCrashTest = CrashTest;

TEST_P(EmbeddedCrashTest, KilledAtRandomMomentsAndRestartedEqualsACrashFreeRun) {
  generate("--products 300 --customers 2000 --orders 5000");
  auto start = Clock::now();
  auto clean = run(here(embedded("clean")));
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  ASSERT_EQ(clean.exitCode, 0) << clean.out;
  int kills = envInt("CRASH_KILLS", 12);
  // Moments spread over the first half of a clean run's time: a restart replays the file from
  // its top but skips what is applied, so runs get shorter as the crashed one makes progress.
  int landed = crashRepeatedly(embedded("crashed"), kills, 10ms, std::max(took / 2, std::chrono::milliseconds(50)), 300s);
  // Later runs get short (what is applied is skipped), so not every kill finds one working.
  EXPECT_GE(landed, std::max(1, kills / 5)) << "kills must land mid-run (clean run: " << took.count() << " ms)";
  std::cout << service() << ": " << landed << " of " << kills << " kills landed mid-run\n";
  std::string want = embeddedState("clean");
  std::string got = embeddedState("crashed");
  EXPECT_TRUE(sameLines(got, want)) << landed << " kills, seed " << seed_;
  RecordProperty("kills_landed", landed);
}

INSTANTIATE_TEST_SUITE_P(Services, EmbeddedCrashTest, ::testing::Values("inventory", "analytics", "search-indexer"),
                         [](const auto& info) { return info.param == "search-indexer" ? std::string("search") : info.param; });

}  // namespace
}  // namespace cdc::test
