// A service's HTTP port as Kubernetes and Prometheus see it: /metrics, /healthz and /readyz on
// METRICS_PORT while the service runs (fed through its standard input, which the test holds
// open), the search API on the same port, a port in use refused at start naming its variable.

#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include <httplib.h>

#include "support/endpoints.h"
#include "support/process.h"
#include "support/run.h"

namespace cdc {
namespace {

namespace fs = std::filesystem;

fs::path freshDir(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("cdc-endpoints-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// The value of a series line `name{labels} value` in an exposition, or -1.
double valueOf(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

// The body of GET `path`, asked every 100 ms until `done` holds of it (30 s at most): the last
// body either way. A request the server does not answer is a failure of the test.
std::string getUntil(httplib::Client& client, const std::string& path, const std::function<bool(const std::string&)>& done) {
  std::string body;
  for (int i = 0; i < 300; ++i) {
    auto res = client.Get(path);
    if (!res) {
      ADD_FAILURE() << "no answer to GET " << path;
      return body;
    }
    body = res->body;
    if (done(body)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return body;
}

TEST(ServiceEndpointsTest, AnalyticsServesMetricsAndProbesWhileItRuns) {
  fs::path dir = freshDir("analytics");
  // The generator's workload, long enough to be running while the test looks.
  test::Process service(test::cdcBinary() +
                            " analytics --source generate --orders 100000000 --objects dir:lake --metrics-port 0 "
                            "--flush-interval 1 --http-host 127.0.0.1 --log-format json",
                        (dir / "service.log").string(), dir.string());
  int port = test::listeningPort(service, "/metrics");
  ASSERT_GT(port, 0) << service.output();
  httplib::Client client("127.0.0.1", port);

  const std::string orders = R"({service="analytics-service",topic="dbserver1.public.orders"})";
  // A batch counts its records as it starts and the rest once it is committed.
  std::string text = getUntil(client, "/metrics", [](const std::string& t) {
    return valueOf(t, R"(cdc_batch_records_count{service="analytics-service"})") > 0;
  });
  EXPECT_GT(valueOf(text, "cdc_records_consumed_total" + orders), 0) << text;
  EXPECT_GT(valueOf(text, R"(cdc_events_applied_total{op="c",service="analytics-service",topic="dbserver1.public.orders"})"), 0)
      << text;
  EXPECT_GT(valueOf(text, R"(cdc_batch_records_count{service="analytics-service"})"), 0) << text;
  EXPECT_EQ(valueOf(text, R"(consumer_errors_total{service="analytics-service"})"), 0) << text;
  // No dead letters, each of its topics and reasons counted from 0 (an alert sees the first).
  EXPECT_EQ(
      valueOf(text, R"(cdc_dead_letters_total{reason="decode",service="analytics-service",topic="dbserver1.public.orders"})"), 0)
      << text;
  EXPECT_EQ(
      valueOf(text, R"(cdc_dead_letters_total{reason="store",service="analytics-service",topic="dbserver1.public.order_items"})"),
      0)
      << text;
  EXPECT_GT(valueOf(text, "process_resident_memory_bytes"), 1e6) << text;
  EXPECT_NE(text.find("cdc_build_info{"), std::string::npos) << text;
  // The probes' answers as series (local stores have no check; the generator's is passing).
  EXPECT_EQ(valueOf(text, R"(cdc_live{service="analytics-service"})"), 1) << text;
  EXPECT_EQ(valueOf(text, R"(cdc_ready{service="analytics-service"})"), 1) << text;
  EXPECT_EQ(valueOf(text, R"(cdc_readiness_check{check="source",service="analytics-service"})"), 1) << text;

  // Reports flushed every second: when and how long.
  const std::string self = R"({service="analytics-service"})";
  EXPECT_EQ(valueOf(text, "cdc_analytics_flush_interval_seconds" + self), 1) << text;
  // Before the first flush the start counts as the last; then each flush moves it on.
  double started = valueOf(text, "cdc_analytics_last_flush_timestamp_seconds" + self);
  EXPECT_GT(started, 1.7e9) << text;  // a unix time
  text = getUntil(client, "/metrics", [&](const std::string& t) {
    return valueOf(t, "cdc_analytics_last_flush_timestamp_seconds" + self) > started;
  });
  EXPECT_GT(valueOf(text, "cdc_analytics_flush_duration_seconds_count" + self), 0) << text;
  EXPECT_GT(valueOf(text, "cdc_analytics_last_flush_timestamp_seconds" + self), started) << text;
  // The report writes, timed on the directory store.
  EXPECT_GT(
      valueOf(
          text,
          R"(cdc_store_request_duration_seconds_count{backend="directory",operation="put_object",service="analytics-service"})"),
      0)
      << text;

  auto metrics = client.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  std::ofstream(dir / "metrics.txt") << metrics->body;
  auto check = test::run("promtool check metrics < " + (dir / "metrics.txt").string());
  EXPECT_EQ(check.exitCode, 0) << check.out;
  EXPECT_EQ(check.out, "");

  auto live = client.Get("/healthz");
  ASSERT_TRUE(live);
  EXPECT_EQ(live->status, 200);
  EXPECT_EQ(live->body, R"({"status":"alive"})");
  auto ready = client.Get("/readyz");  // the generator has nothing to wait for; local stores always answer
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200) << ready->body;

  // The records the summary line counts at the end are at least those the series counted.
  double consumed = valueOf(client.Get("/metrics")->body, "cdc_records_consumed_total" + orders);
  service.signal(SIGTERM);
  EXPECT_EQ(service.wait(std::chrono::seconds(30)), 0) << service.output();
  std::smatch m;
  std::string log = service.output();
  ASSERT_TRUE(std::regex_search(log, m, std::regex(R"(analytics-service: (\d+) records)"))) << log;
  EXPECT_GE(std::stod(m[1].str()), consumed);
  fs::remove_all(dir);
}

TEST(ServiceEndpointsTest, InventoryCountsItsLowStockAlerts) {
  fs::path dir = freshDir("inventory");
  test::Process service(test::cdcBinary() +
                            " inventory --source generate --orders 100000000 --store sqlite:inv.db --objects dir:lake "
                            "--metrics-port 0 --http-host 127.0.0.1 --log-format json",
                        (dir / "service.log").string(), dir.string());
  int port = test::listeningPort(service, "/metrics");
  ASSERT_GT(port, 0) << service.output();
  httplib::Client client("127.0.0.1", port);
  const std::string series = R"(cdc_low_stock_alerts_total{service="inventory-service"})";
  std::string text = getUntil(client, "/metrics", [&](const std::string& t) { return valueOf(t, series) > 0; });
  EXPECT_GT(valueOf(text, series), 0) << text;
  // Its SQLite transactions and reads, timed (one observation per transaction).
  const std::string sqlite = R"(cdc_store_request_duration_seconds_count{backend="sqlite",operation=")";
  EXPECT_GT(valueOf(text, sqlite + R"(transact_write_items",service="inventory-service"})"), 0) << text;
  EXPECT_GT(valueOf(text, sqlite + R"(batch_get_item",service="inventory-service"})"), 0) << text;
  // The summary line at the end counts at least as many.
  service.signal(SIGTERM);
  EXPECT_EQ(service.wait(std::chrono::seconds(30)), 0) << service.output();
  std::smatch m;
  std::string log = service.output();
  ASSERT_TRUE(std::regex_search(log, m, std::regex(R"((\d+) low-stock alerts)"))) << log;
  EXPECT_GE(std::stod(m[1].str()), valueOf(text, series));
  fs::remove_all(dir);
}

TEST(ServiceEndpointsTest, TheSearchApiSharesTheMetricsPort) {
  fs::path dir = freshDir("search");
  test::Process service(test::cdcBinary() +
                            " search-indexer --source generate --orders 100000000 --store sqlite:idx.db "
                            "--objects dir:lake --metrics-port 0 --http-host 127.0.0.1 --log-format json",
                        (dir / "service.log").string(), dir.string());
  int port = test::listeningPort(service, "/search");
  ASSERT_GT(port, 0) << service.output();
  EXPECT_EQ(test::listeningPort(service, "/metrics"), port);
  httplib::Client client("127.0.0.1", port);
  std::string body =
      getUntil(client, "/search?min_price=0", [](const std::string& b) { return b.find("\"product_id\"") != std::string::npos; });
  EXPECT_NE(body.find("\"product_id\""), std::string::npos) << body;
  auto metrics = client.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("cdc_records_consumed_total{service=\"search-indexer\""), std::string::npos) << metrics->body;
  auto ready = client.Get("/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200) << ready->body;
  service.signal(SIGTERM);
  EXPECT_EQ(service.wait(std::chrono::seconds(30)), 0) << service.output();
  fs::remove_all(dir);
}

// A wedged loop: the analytics service's first S3 request goes to a port that accepts the
// connection and never answers, so the loop stays in one call (30 s request timeout) far past
// LIVENESS_TIMEOUT=1: /healthz says wedged and cdc_live drops to 0, while /metrics still answers.
TEST(ServiceEndpointsTest, ALoopStuckInOneCallIsWedged) {
  test::SilentListener s3;
  ASSERT_GT(s3.port(), 0);
  fs::path dir = freshDir("wedged");
  test::Process service("env AWS_ENDPOINT_URL=http://127.0.0.1:" + std::to_string(s3.port()) +
                            " AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing LIVENESS_TIMEOUT=1 "
                            "SHUTDOWN_GRACE=1 " +
                            test::cdcBinary() +
                            " analytics --source generate --objects s3 --s3-bucket lake --create-tables false "
                            "--metrics-port 0 --http-host 127.0.0.1 --log-format json",
                        (dir / "service.log").string(), dir.string());
  int port = test::listeningPort(service, "/healthz");
  ASSERT_GT(port, 0) << service.output();
  httplib::Client client("127.0.0.1", port);
  auto wedged = [&](const std::string& b) { return b.find("wedged") != std::string::npos; };
  std::string body = getUntil(client, "/healthz", wedged);
  EXPECT_TRUE(wedged(body)) << body;
  auto live = client.Get("/healthz");
  ASSERT_TRUE(live);
  EXPECT_EQ(live->status, 503) << live->body;
  EXPECT_NE(live->body.find("the processing loop has not turned for"), std::string::npos) << live->body;
  auto metrics = client.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(valueOf(metrics->body, R"(cdc_live{service="analytics-service"})"), 0) << metrics->body;
  // Stuck in the call, it cannot commit: the grace runs out and it exits 1.
  service.signal(SIGTERM);
  EXPECT_EQ(service.wait(std::chrono::seconds(30)), 1) << service.output();
  fs::remove_all(dir);
}

TEST(ServiceEndpointsTest, APortInUseIsRefusedAtStartNamingItsVariable) {
  test::SilentListener taken;
  ASSERT_GT(taken.port(), 0);
  std::string port = std::to_string(taken.port());
  fs::path dir = freshDir("in-use");
  auto r = test::run("cd " + dir.string() + " && METRICS_PORT=" + port + " " + test::cdcBinary() +
                     " inventory --source file:/dev/null --store sqlite:x.db --objects dir:lake --http-host 127.0.0.1");
  EXPECT_EQ(r.exitCode, 2) << r.out;
  EXPECT_NE(r.out.find("METRICS_PORT: cannot serve on 127.0.0.1:" + port), std::string::npos) << r.out;
  // Turned off, the service needs no port.
  auto off = test::run("cd " + dir.string() + " && METRICS_PORT=" + port + " METRICS_ENABLED=false " + test::cdcBinary() +
                       " inventory --source file:/dev/null --store sqlite:x.db --objects dir:lake --http-host 127.0.0.1");
  EXPECT_EQ(off.exitCode, 0) << off.out;
  EXPECT_EQ(off.out.find("http_listening"), std::string::npos) << off.out;
  fs::remove_all(dir);
}

// Two replays of a file (or the generator) on one machine do not collide on 8080: with
// METRICS_PORT unset each serves on a free port and says which; a consumer of Kafka keeps the
// declared 8080 (the seed's manifests and scrape configs expect it).
TEST(ServiceEndpointsTest, AFileOrTheGeneratorServesOnAFreePortUnlessToldAndKafkaKeeps8080) {
  fs::path dir = freshDir("free-port");
  const std::string unset = "env -u METRICS_PORT LOG_FORMAT=json " + test::cdcBinary();
  const std::string generate = " analytics --source generate --orders 100000000 --http-host 127.0.0.1 --objects dir:";
  test::Process first(unset + generate + "lake1", (dir / "first.log").string(), dir.string());
  test::Process second(unset + generate + "lake2", (dir / "second.log").string(), dir.string());
  const int a = test::listeningPort(first, "/metrics");
  const int b = test::listeningPort(second, "/metrics");
  ASSERT_GT(a, 0) << first.output();
  ASSERT_GT(b, 0) << second.output();
  EXPECT_NE(a, b);
  EXPECT_NE(first.output().find(R"x("chosen_by":"METRICS_PORT (not set: a free port, the source is not Kafka)")x"),
            std::string::npos)
      << first.output();
  for (int port : {a, b}) {
    httplib::Client client("127.0.0.1", port);
    auto res = client.Get("/metrics");
    ASSERT_TRUE(res) << "no answer on " << port;
    EXPECT_NE(res->body.find("cdc_records_consumed_total{service=\"analytics-service\""), std::string::npos);
  }
  first.signal(SIGTERM);
  second.signal(SIGTERM);
  EXPECT_EQ(first.wait(std::chrono::seconds(30)), 0) << first.output();
  EXPECT_EQ(second.wait(std::chrono::seconds(30)), 0) << second.output();

  // Reading Kafka, the unset port is 8080: held here (or by whoever holds it), the service
  // stops at start naming the default it tried.
  int holder = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(holder, 0);
  int yes = 1;
  ::setsockopt(holder, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(8080);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  (void)::bind(holder, reinterpret_cast<sockaddr*>(&addr), sizeof addr);  // already held elsewhere: as good
  (void)::listen(holder, 4);
  auto kafka = test::run("cd " + dir.string() + " && " + unset +
                         " analytics --objects dir:lake3 --log-format text --http-host 127.0.0.1 "
                         "--bootstrap-servers 127.0.0.1:1");
  ::close(holder);
  EXPECT_EQ(kafka.exitCode, 2) << kafka.out;
  EXPECT_NE(kafka.out.find("METRICS_PORT (default 8080): cannot serve on 127.0.0.1:8080"), std::string::npos) << kafka.out;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace cdc
