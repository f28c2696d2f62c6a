// The crash-consistency fixture: a service run in a directory of its own, killed with SIGKILL
// at random moments and restarted until done. CRASH_KILLS sets the kills per service,
// CRASH_SEED the random moments.

#pragma once

#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <random>
#include <thread>

#include "support/process.h"
#include "support/run.h"
#include "support/same_lines.h"
#include "support/service_state.h"
#include "support/stack.h"

namespace cdc::test {

inline int envInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : fallback;
}

// Runs one service (the test's parameter) in a directory of its own, kills it at random moments.
class CrashTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    static int n = 0;
    prefix_ = "crash" + std::to_string(::getpid()) + "-" + std::to_string(++n);
    dir_ = std::filesystem::temp_directory_path() / ("cdc-" + prefix_);
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    seed_ = static_cast<uint32_t>(envInt("CRASH_SEED", 20261201));
    rng_.seed(seed_ + static_cast<uint32_t>(std::hash<std::string>{}(GetParam())));
  }
  void TearDown() override {
    if (!HasFailure()) std::filesystem::remove_all(dir_);
  }

  const std::string& service() const { return GetParam(); }
  std::string here(const std::string& commandLine) const { return "cd " + dir_.string() + " && " + commandLine; }

  void generate(const std::string& flags) {
    auto g = run(here(cdcBinary() + " generate " + flags + " --topic-prefix " + prefix_ + " > events.jsonl"), false);
    ASSERT_EQ(g.exitCode, 0);
  }

  // `cdc <service>` over the replay file on the embedded stores under `where`.
  std::string embedded(const std::string& where) const {
    return cdcBinary() + " " + service() + " --source file:events.jsonl --topic-prefix " + prefix_ +
           storeFlag(service(), "sqlite:" + where + ".db") + " --objects dir:" + where + " --batch-size 200 --log-level warn" +
           (service() == "search-indexer" ? " --http-port 0" : "");
  }

  // The embedded run's tables or reports.
  std::string embeddedState(const std::string& where) {
    std::string out;
    if (service() == "analytics") {
      for (const auto& f : reportFolders()) {
        std::string report = readWholeFile((dir_ / where / "analytics" / f / "latest.json").string());
        EXPECT_FALSE(report.empty()) << where << ": no " << f << " report";
        out += report + "\n";
      }
    } else {
      std::vector<std::string> dumps;
      for (const auto& t : tablesOf(service())) {
        auto r = run(here(cdcBinary() + " dump --store sqlite:" + where + ".db --table " + t), false);
        EXPECT_EQ(r.exitCode, 0) << t;
        EXPECT_GT(r.out.size(), 100u) << where << ": table " << t << " is empty";
        dumps.push_back(r.out);
      }
      return comparableTables(service(), dumps);
    }
    return comparable(out);
  }

  // Starts `commandLine` `kills` times, each killed with SIGKILL after a random moment in
  // [minDelay, maxDelay], then runs it to its end (exit 0 within `finish`). Returns the kills
  // that landed while the process was working.
  int crashRepeatedly(const std::string& commandLine, int kills, std::chrono::milliseconds minDelay,
                      std::chrono::milliseconds maxDelay, std::chrono::seconds finish) {
    int landed = 0;
    for (int k = 0; k < kills; ++k) {
      Process p(commandLine, (dir_ / ("killed-" + std::to_string(k) + ".log")).string(), dir_.string());
      std::uniform_int_distribution<int64_t> delay(minDelay.count(), maxDelay.count());
      auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(delay(rng_));
      while (std::chrono::steady_clock::now() < until && p.running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      if (!p.running()) {
        EXPECT_EQ(p.wait(std::chrono::milliseconds(0)), 0) << "run " << k << " failed before its kill:\n" << p.output();
        continue;
      }
      p.signal(SIGKILL);
      auto code = p.wait(std::chrono::seconds(10));
      if (code == 0) continue;  // it finished just before the kill
      EXPECT_EQ(code, 128 + SIGKILL) << p.output();
      ++landed;
    }
    Process last(commandLine, (dir_ / "last.log").string(), dir_.string());
    auto code = last.wait(finish);
    EXPECT_EQ(code, 0) << "the run after the crashes did not finish cleanly:\n" << last.output();
    return landed;
  }

  std::string prefix_;
  std::filesystem::path dir_;
  uint32_t seed_ = 0;
  std::mt19937 rng_;
};

}  // namespace cdc::test
