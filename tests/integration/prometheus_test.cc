// The services as a real Prometheus sees them (scripts/stack up prometheus, which scrapes the
// targets `scripts/stack scrape` names and evaluates k8s/monitoring/prometheus-rules.yaml): the
// three services run on Kafka and moto; every panel of k8s/monitoring/grafana-dashboard.json
// and every rule returns series through Prometheus's HTTP API; readiness is 503 before the
// first assignment, goes to 503 while moto is stopped (SIGSTOP) and back to 200 after
// (SIGCONT); each alert rule's expression holds when its condition is brought about (dead
// letters, the outage, lag growing, a service gone).

#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <thread>

#include <httplib.h>
#include <simdjson.h>

#include "support/endpoints.h"
#include "support/paths.h"
#include "support/process.h"
#include "support/run.h"
#include "support/stack.h"

namespace cdc::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// Prometheus's HTTP API.
class PrometheusApi {
 public:
  explicit PrometheusApi(const std::string& url) : client_(url) { client_.set_read_timeout(10); }

  // The series an instant query returns now (0 when it returns none); -1 on an error, whose
  // text goes to `error`.
  int seriesOf(const std::string& query, std::string* error = nullptr) {
    auto res = client_.Get("/api/v1/query", httplib::Params{{"query", query}}, httplib::Headers{});
    if (!res || res->status != 200) {
      if (error) *error = res ? res->body : "no answer";
      return -1;
    }
    simdjson::dom::element doc;
    if (parser_.parse(res->body).get(doc) != simdjson::SUCCESS) return -1;
    simdjson::dom::array result;
    if (doc["data"]["result"].get_array().get(result) != simdjson::SUCCESS) return -1;
    return static_cast<int>(result.size());
  }

  // Waits (up to `limit`) until the query returns `want` series or more; the last count either way.
  int waitForSeries(const std::string& query, std::chrono::seconds limit = 90s, std::string* error = nullptr, int want = 1) {
    int n = 0;
    for (auto until = std::chrono::steady_clock::now() + limit; std::chrono::steady_clock::now() < until;) {
      if ((n = seriesOf(query, error)) >= want) break;
      std::this_thread::sleep_for(500ms);
    }
    return n;
  }

  std::string get(const std::string& path) {
    auto res = client_.Get(path);
    return res ? res->body : std::string();
  }

 private:
  httplib::Client client_;
  simdjson::dom::parser parser_;
};

// Every target expression of the dashboard, with Grafana's variables given values Prometheus
// understands (every service; a one-minute rate window).
std::vector<std::pair<std::string, std::string>> dashboardQueries() {
  std::vector<std::pair<std::string, std::string>> out;
  simdjson::dom::parser parser;
  simdjson::dom::element doc = parser.load(sourceDir() + "/k8s/monitoring/grafana-dashboard.json");
  for (simdjson::dom::element panel : doc["panels"].get_array()) {
    std::string title{std::string_view(panel["title"])};
    for (simdjson::dom::element target : panel["targets"].get_array()) {
      std::string expr{std::string_view(target["expr"])};
      for (auto [var, value] : {std::pair{"$service", ".+"}, std::pair{"$__rate_interval", "1m"}}) {
        for (auto at = expr.find(var); at != std::string::npos; at = expr.find(var))
          expr.replace(at, std::string(var).size(), value);
      }
      out.emplace_back(title, expr);
    }
  }
  return out;
}

struct Rule {
  std::string name;  // the alert, or the recorded series
  std::string expr;
  bool alert = false;
  std::string health;
};

std::vector<Rule> loadedRules(PrometheusApi& api) {
  std::vector<Rule> out;
  simdjson::dom::parser parser;
  std::string body = api.get("/api/v1/rules");
  simdjson::dom::element doc;
  if (parser.parse(body).get(doc) != simdjson::SUCCESS) return out;
  for (simdjson::dom::element group : doc["data"]["groups"].get_array()) {
    for (simdjson::dom::element r : group["rules"].get_array()) {
      Rule rule;
      rule.name = std::string(std::string_view(r["name"]));
      rule.expr = std::string(std::string_view(r["query"]));
      rule.alert = std::string_view(r["type"]) == "alerting";
      rule.health = std::string(std::string_view(r["health"]));
      out.push_back(std::move(rule));
    }
  }
  return out;
}

int readyStatus(int port) {
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(5);
  auto res = client.Get("/readyz");
  return res ? res->status : 0;
}

// Waits until every port's /readyz answers `status` (up to `limit`).
bool allReady(const std::map<std::string, int>& ports, int status, std::chrono::seconds limit) {
  for (auto until = std::chrono::steady_clock::now() + limit; std::chrono::steady_clock::now() < until;) {
    bool all = true;
    for (const auto& [s, port] : ports) all = all && readyStatus(port) == status;
    if (all) return true;
    std::this_thread::sleep_for(250ms);
  }
  return false;
}

TEST(PrometheusTest, EveryPanelAndRuleHasSeriesAndTheProbesFollowTheOutage) {
  std::string bootstrap = kafkaBootstrap(), endpoint = awsEndpoint(), prometheus = stackVariable("PROMETHEUS_URL");
  ASSERT_FALSE(bootstrap.empty()) << "no Kafka broker: run scripts/stack up kafka";
  ASSERT_FALSE(endpoint.empty()) << "no AWS endpoint: run scripts/stack up aws";
  ASSERT_FALSE(prometheus.empty()) << "no Prometheus: run scripts/stack up prometheus";
  const std::string stack = sourceDir() + "/scripts/stack";
  std::string prefix = "prom" + std::to_string(::getpid());
  fs::path dir = fs::temp_directory_path() / ("cdc-" + prefix);
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto here = [&](const std::string& c) { return "cd " + dir.string() + " && " + c; };

  // The workload in five parts: the first before the outage, the others produced during it
  // (the lag grows), and one record that is not JSON (a dead letter).
  ASSERT_EQ(run(here(cdcBinary() + " generate --products 200 --orders 1500 --topic-prefix " + prefix + " > events.jsonl"), false)
                .exitCode,
            0);
  {
    std::ifstream in(dir / "events.jsonl");
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    ASSERT_GT(lines.size(), 5000u);
    for (size_t part = 0; part < 5; ++part) {
      std::ofstream out(dir / ("part" + std::to_string(part) + ".jsonl"));
      for (size_t i = lines.size() * part / 5; i < lines.size() * (part + 1) / 5; ++i) out << lines[i] << "\n";
      if (part == 0) {
        out << R"({"topic":")" << prefix
            << R"(.public.products","partition":0,"offset":0,"key":"{\"id\":77}","payload":"not json at all"})"
            << "\n";
      }
    }
  }
  auto produce = [&](int part) {
    auto r =
        run(here(cdcBinary() + " produce --bootstrap-servers " + bootstrap + " --input part" + std::to_string(part) + ".jsonl"));
    ASSERT_EQ(r.exitCode, 0) << r.out;
  };

  // The three services, each scraped as the Kubernetes annotations have it (job cdc-consumers).
  // AWS requests time out after 2 s so that the circuit opens within the outage; statistics
  // and topic metadata every second so that lag and the first assignment come quickly.
  const std::map<std::string, std::string> names{
      {"inventory", "inventory-service"}, {"analytics", "analytics-service"}, {"search-indexer", "search-indexer"}};
  std::map<std::string, int> ports;
  std::map<std::string, std::unique_ptr<Process>> running;
  for (const auto& [s, name] : names) {
    ports[s] = freePort();
    ASSERT_GT(ports[s], 0);
    std::string cmd =
        "env AWS_ENDPOINT_URL=" + endpoint +
        " AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REQUEST_TIMEOUT=2"
        " STATS_INTERVAL=1 KAFKA_BOOTSTRAP_SERVERS=" +
        bootstrap + " KAFKA_STATISTICS_INTERVAL_MS=1000 KAFKA_TOPIC_METADATA_REFRESH_INTERVAL_MS=1000 METRICS_PORT=" +
        std::to_string(ports[s]) + " ALERTS_TOPIC=" + prefix + ".alerts DYNAMODB_TABLE=" + prefix + "-" + s +
        " CDC_STORE=dynamodb FLUSH_INTERVAL=2 " + cdcBinary() + " " + s + " --source kafka --topic-prefix " + prefix +
        " --group-id " + prefix + "-" + s + " --objects s3 --s3-bucket " + prefix +
        "-lake --batch-size 100 --log-format json --http-host 127.0.0.1" + (s == "search-indexer" ? " --http-port 0" : "");
    running[s] = std::make_unique<Process>(cmd, (dir / (s + ".log")).string(), dir.string());
    ASSERT_EQ(run(stack + " scrape " + prefix + "-" + s + " 127.0.0.1:" + std::to_string(ports[s])).exitCode, 0);
  }
  // Whatever happens, Prometheus stops scraping them and moto runs again at the end.
  struct Finally {
    std::function<void()> f;
    ~Finally() { f(); }
  };
  int moto = 0;
  Finally cleanup{[&] {
    if (moto > 0) ::kill(moto, SIGCONT);
    for (const auto& [s, name] : names) run(stack + " scrape " + prefix + "-" + s, false);
  }};
  PrometheusApi api(prometheus);
  const std::string ours = "app=~\"" + prefix + "-.*\"";

  // Before the first assignment (its topics do not exist yet): not ready, and Prometheus sees it.
  for (const auto& [s, port] : ports) {
    for (int i = 0; i < 100 && readyStatus(port) == 0; ++i) std::this_thread::sleep_for(100ms);
    httplib::Client client("127.0.0.1", port);
    auto ready = client.Get("/readyz");
    ASSERT_TRUE(ready) << running[s]->output();
    EXPECT_EQ(ready->status, 503) << s << ": " << ready->body;
    EXPECT_NE(ready->body.find(R"("source":"no partitions assigned)"), std::string::npos) << ready->body;
  }
  EXPECT_EQ(api.waitForSeries("cdc_ready{" + ours + "} == 0 and on (instance) cdc_readiness_check{check=\"source\"} == 0", 60s,
                              nullptr, 3),
            3);

  produce(0);
  EXPECT_TRUE(allReady(ports, 200, 120s)) << running["inventory"]->output();
  EXPECT_EQ(api.waitForSeries("cdc_ready{" + ours + "} == 1", 60s, nullptr, 3), 3);

  // Every panel returns series once the workload has gone through.
  for (const auto& [title, expr] : dashboardQueries()) {
    std::string error;
    EXPECT_GT(api.waitForSeries(expr, 90s, &error), 0) << "panel '" << title << "': " << expr << "\n" << error;
  }
  // Every rule evaluates without error; every recorded series exists; the dead letter raised
  // its alert.
  auto rules = loadedRules(api);
  EXPECT_EQ(rules.size(), 10u);
  std::map<std::string, std::string> alerts;
  for (const auto& r : rules) {
    EXPECT_EQ(r.health, "ok") << r.name;
    if (r.alert) {
      alerts[r.name] = r.expr;
    } else {
      EXPECT_GT(api.waitForSeries(r.name, 60s), 0) << "recording rule " << r.name;
    }
  }
  EXPECT_GT(api.waitForSeries(alerts["CdcDeadLetters"], 60s), 0) << alerts["CdcDeadLetters"];

  // moto stops: the outage shows in the probes and raises the alerts it should, while the
  // rest of the workload arrives (the lag grows).
  moto = std::stoi(run(stack + " pid aws").out);
  ASSERT_GT(moto, 0);
  ::kill(moto, SIGSTOP);
  for (int part = 1; part < 5; ++part) {
    produce(part);
    std::this_thread::sleep_for(3s);
  }
  bool notReady = allReady(ports, 503, 120s);
  EXPECT_TRUE(notReady) << "readiness did not follow the outage";
  for (const auto& [s, port] : ports) {
    httplib::Client client("127.0.0.1", port);
    auto ready = client.Get("/readyz");
    ASSERT_TRUE(ready);
    EXPECT_TRUE(ready->body.find(R"("dynamodb":)") != std::string::npos || ready->body.find(R"("s3":)") != std::string::npos)
        << s << ": " << ready->body;
    auto live = client.Get("/healthz");
    ASSERT_TRUE(live);
    EXPECT_EQ(live->status, 200) << s << " is waiting on its store, not wedged: " << live->body;
  }
  for (const char* alert : {"CdcConsumerNotReady", "CdcStoreCircuitOpen", "CdcAnalyticsFlushOverdue", "CdcConsumerLagGrowing"}) {
    EXPECT_GT(api.waitForSeries(alerts[alert], 120s), 0) << alert << ": " << alerts[alert];
  }
  // The firing and pending alerts as Prometheus holds them (those with a `for` are pending).
  EXPECT_GT(api.waitForSeries(R"(ALERTS{alertname="CdcConsumerNotReady",)" + ours + "}", 60s), 0);
  EXPECT_GT(api.waitForSeries(R"(ALERTS{alertname="CdcAnalyticsFlushOverdue",alertstate="firing"})", 60s), 0);
  ::kill(moto, SIGCONT);

  EXPECT_TRUE(allReady(ports, 200, 180s)) << "not ready again after the outage";
  EXPECT_EQ(api.waitForSeries("cdc_ready{" + ours + "} == 1", 60s, nullptr, 3), 3);

  // Their JSON logs have a stats line with the lag of the partitions they own (a member's lag
  // is known once it has committed an offset: the analytics service commits at its flushes).
  const std::regex statsWithLag(R"("msg":"stats","records":\d+,.*"lag":\d+)");
  for (auto& [s, p] : running) {
    auto until = std::chrono::steady_clock::now() + 60s;
    while (!std::regex_search(p->output(), statsWithLag) && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(500ms);
    }
    EXPECT_TRUE(std::regex_search(p->output(), statsWithLag)) << s << "\n" << p->output();
  }
  // Gone: the Python services' rule on `up` holds for them.
  for (auto& [s, p] : running) {
    p->signal(SIGTERM);
    EXPECT_EQ(p->wait(60s), 0) << p->output();
  }
  EXPECT_EQ(api.waitForSeries(R"(up{job="cdc-consumers",)" + ours + "} == 0", 60s, nullptr, 3), 3) << alerts["CdcConsumerDown"];
  EXPECT_NE(alerts["CdcConsumerDown"].find("up{job=\"cdc-consumers\"}"), std::string::npos);
  if (!::testing::Test::HasFailure()) fs::remove_all(dir);
}

}  // namespace
}  // namespace cdc::test
