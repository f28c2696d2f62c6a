#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <thread>

#include "adapters/kafka/consumer_metrics.h"
#include "metrics/health.h"
#include "metrics/registry.h"
#include "runtime/runner_probe.h"

namespace cdc {
namespace {

// promtool's verdict on an exposition: its exit status and what it printed.
std::pair<int, std::string> promtoolCheck(const std::string& text) {
  std::string path = testing::TempDir() + "metrics-" + std::to_string(::getpid()) + ".txt";
  if (FILE* f = std::fopen(path.c_str(), "w")) {
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
  }
  std::string out;
  FILE* p = ::popen(("promtool check metrics < " + path + " 2>&1").c_str(), "r");
  if (!p) return {-1, "promtool did not start"};
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  int status = ::pclose(p);
  std::remove(path.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// A line of the exposition that starts with `prefix`, or "".
std::string lineOf(const std::string& text, const std::string& prefix) {
  size_t at = 0;
  while ((at = text.find(prefix, at)) != std::string::npos) {
    if (at == 0 || text[at - 1] == '\n') return text.substr(at, text.find('\n', at) - at);
    ++at;
  }
  return "";
}

kafka::ConsumerStatistics statisticsOf(std::vector<std::pair<int32_t, int64_t>> lags) {
  kafka::ConsumerStatistics s;
  for (auto [partition, lag] : lags) {
    kafka::PartitionStatistics p;
    p.topic = "dbserver1.public.products";
    p.partition = partition;
    p.consumerLag = lag;
    p.committedOffset = 100 + partition;
    s.partitions.push_back(p);
  }
  return s;
}

TEST(MetricsTest, EverySeriesOfAServicePassesPromtool) {
  metrics::Registry registry;
  runtime::RunnerProbe probe(registry, "inventory-service");
  runtime::RunCounts counts;
  auto runnerSeries = probe.observe(counts);
  using runtime::RunCounts;
  counts.topic("dbserver1.public.products").consumed += 10;
  counts.topic("dbserver1.public.products").applied[RunCounts::op("u")] += 9;
  counts.topic("dbserver1.public.products").applied[RunCounts::op("tombstone")] += 1;
  counts.topic("dbserver1.public.order_items").deadLetters[RunCounts::reason("decode")] += 2;
  probe.batch(10, 0.004);
  probe.durable({1, 3, 40, 2000});
  ++counts.retried("apply");
  ++counts.cuts;
  ++counts.rebalances[RunCounts::move("assigned")];
  counts.partitionsMoved[RunCounts::move("assigned")] += 3;
  kafka::ConsumerProbe consumer;
  consumer.setAssignment({{"dbserver1.public.products", 0}, {"dbserver1.public.products", 1}});
  consumer.setStatistics(statisticsOf({{0, 5}, {1, 7}}), "{}");
  auto kafkaSeries = kafka::addConsumerCollector(registry, consumer, "inventory-service");
  auto processSeries = metrics::addProcessCollector(registry, "inventory-service");

  std::string text = registry.text();
  auto [status, verdict] = promtoolCheck(text);
  EXPECT_EQ(status, 0) << verdict << "\n" << text;
  EXPECT_EQ(verdict, "") << text;

  EXPECT_EQ(lineOf(text, "cdc_records_consumed_total{"),
            R"(cdc_records_consumed_total{service="inventory-service",topic="dbserver1.public.products"} 10)");
  EXPECT_EQ(lineOf(text, "cdc_dead_letters_total{"),
            R"(cdc_dead_letters_total{reason="decode",service="inventory-service",topic="dbserver1.public.order_items"} 2)");
  EXPECT_EQ(lineOf(text, "consumer_errors_total{"), R"(consumer_errors_total{service="inventory-service"} 3)");
  EXPECT_EQ(lineOf(text, "consumer_lag{"), R"(consumer_lag{service="inventory-service"} 12)");
  // 1 and 3 ms fall at or under 5 ms; 40 ms under 50 ms; 2 s under 2.5 s.
  EXPECT_EQ(lineOf(text, R"(cdc_append_to_durable_seconds_bucket{service="inventory-service",le="0.005"})"),
            R"(cdc_append_to_durable_seconds_bucket{service="inventory-service",le="0.005"} 2)")
      << text;
  EXPECT_EQ(lineOf(text, R"(cdc_append_to_durable_seconds_bucket{service="inventory-service",le="0.05"})"),
            R"(cdc_append_to_durable_seconds_bucket{service="inventory-service",le="0.05"} 3)");
  EXPECT_EQ(lineOf(text, "cdc_append_to_durable_seconds_count"),
            R"(cdc_append_to_durable_seconds_count{service="inventory-service"} 4)");
  EXPECT_NE(lineOf(text, "process_resident_memory_bytes "), "");
  EXPECT_NE(lineOf(text, "process_open_fds "), "");
  EXPECT_NE(lineOf(text, "cdc_build_info{"), "");
}

TEST(MetricsTest, APartitionRevokedLeavesNoSeriesBehind) {
  metrics::Registry registry;
  kafka::ConsumerProbe consumer;
  auto series = kafka::addConsumerCollector(registry, consumer, "search-indexer");
  consumer.setAssignment({{"dbserver1.public.products", 0}, {"dbserver1.public.products", 1}});
  consumer.setStatistics(statisticsOf({{0, 5}, {1, 7}}), "{}");
  std::string before = registry.text();
  EXPECT_NE(lineOf(before, R"(cdc_consumer_lag{partition="1")"), "") << before;
  EXPECT_NE(lineOf(before, R"(cdc_consumer_committed_offset{partition="1")"), "") << before;

  // Partition 1 revoked; librdkafka's statistics still list it until its next report.
  consumer.setAssignment({{"dbserver1.public.products", 0}});
  std::string after = registry.text();
  EXPECT_EQ(lineOf(after, R"(cdc_consumer_lag{partition="1")"), "") << after;
  EXPECT_EQ(lineOf(after, R"(cdc_consumer_committed_offset{partition="1")"), "") << after;
  EXPECT_EQ(lineOf(after, R"(cdc_consumer_lag{partition="0")"),
            R"(cdc_consumer_lag{partition="0",service="search-indexer",topic="dbserver1.public.products"} 5)");
  EXPECT_EQ(lineOf(after, "consumer_lag{"), R"(consumer_lag{service="search-indexer"} 5)");
  EXPECT_EQ(lineOf(after, "cdc_consumer_assigned_partitions{"),
            R"(cdc_consumer_assigned_partitions{service="search-indexer"} 1)");

  series.reset();  // the collector goes with its handle
  EXPECT_EQ(registry.text().find("cdc_consumer_lag"), std::string::npos);
}

TEST(HealthTest, LivenessFailsWhenTheLoopStopsTurningAndComesBack) {
  ManualTime time;
  metrics::Health health(std::chrono::milliseconds(50), time);
  EXPECT_EQ(health.liveness().first, 200);
  time.advance(std::chrono::milliseconds(49));
  EXPECT_EQ(health.liveness().first, 200);
  time.advance(std::chrono::milliseconds(71));
  auto [status, body] = health.liveness();
  EXPECT_EQ(status, 503);
  EXPECT_NE(body.find("\"status\":\"wedged\""), std::string::npos) << body;
  health.beat();
  EXPECT_EQ(health.liveness().first, 200);
}

TEST(HealthTest, ReadinessNamesEveryFailingCheck) {
  metrics::Health health(std::chrono::seconds(60));
  EXPECT_EQ(health.readiness(), std::make_pair(200, std::string(R"({"status":"ready"})")));
  bool assigned = false;
  bool answering = true;
  health.addReadinessCheck("consumer", [&]() -> std::optional<std::string> {
    if (assigned) return std::nullopt;
    return "no partitions assigned yet";
  });
  health.addReadinessCheck("dynamodb", [&]() -> std::optional<std::string> {
    if (answering) return std::nullopt;
    return "no answer to the last request";
  });
  EXPECT_EQ(health.readiness(),
            std::make_pair(503, std::string(R"({"status":"not ready","reasons":{"consumer":"no partitions assigned yet"}})")));
  assigned = true;
  answering = false;
  EXPECT_EQ(health.readiness(),
            std::make_pair(503, std::string(R"({"status":"not ready","reasons":{"dynamodb":"no answer to the last request"}})")));
  answering = true;
  EXPECT_EQ(health.readiness().first, 200);
}

}  // namespace
}  // namespace cdc
