// The services' spans as a real collector receives them: Jaeger (`scripts/stack up tracing`,
// OTLP/HTTP in, its query API out), with records from Kafka carrying W3C traceparent headers
// and the inventory on DynamoDB (moto) (P17).

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <httplib.h>
#include <simdjson.h>

#include "support/paths.h"
#include "support/run.h"
#include "support/service_state.h"
#include "support/stack.h"

namespace cdc::test {
namespace {

namespace fs = std::filesystem;

// A span as Jaeger's API gives it: its tags as text, its parent (CHILD_OF) and links.
struct JaegerSpan {
  std::string traceId, spanId, operation, service;
  std::string parent;              // CHILD_OF: empty for a root
  std::vector<std::string> links;  // FOLLOWS_FROM
  std::map<std::string, std::string> tags;
  // A tag's value as text; empty when the span has none.
  std::string tag(const std::string& key) const {
    auto it = tags.find(key);
    return it == tags.end() ? std::string() : it->second;
  }
};

// The spans of the traces in a /api/traces answer.
std::vector<JaegerSpan> parseTraces(const std::string& body) {
  std::vector<JaegerSpan> out;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(body).get(doc) != simdjson::SUCCESS) return out;
  simdjson::dom::array traces;
  if (doc["data"].get_array().get(traces) != simdjson::SUCCESS) return out;
  for (auto trace : traces) {
    std::map<std::string, std::string> services;
    for (auto [id, process] : trace["processes"].get_object()) {
      services[std::string(id)] = std::string(std::string_view(process["serviceName"]));
    }
    for (auto span : trace["spans"]) {
      JaegerSpan s;
      s.traceId = std::string(std::string_view(span["traceID"]));
      s.spanId = std::string(std::string_view(span["spanID"]));
      s.operation = std::string(std::string_view(span["operationName"]));
      s.service = services[std::string(std::string_view(span["processID"]))];
      for (auto ref : span["references"]) {
        std::string kind{std::string_view(ref["refType"])}, id{std::string_view(ref["spanID"])};
        if (kind == "CHILD_OF") {
          s.parent = id;
        } else {
          s.links.push_back(id);
        }
      }
      for (auto tag : span["tags"]) {
        std::string key{std::string_view(tag["key"])};
        simdjson::dom::element v = tag["value"];
        std::string_view text;
        int64_t n = 0;
        bool b = false;
        if (v.get_string().get(text) == simdjson::SUCCESS) {
          s.tags[key] = std::string(text);
        } else if (v.get_int64().get(n) == simdjson::SUCCESS) {
          s.tags[key] = std::to_string(n);
        } else if (v.get_bool().get(b) == simdjson::SUCCESS) {
          s.tags[key] = b ? "true" : "false";
        } else {
          s.tags[key] = simdjson::minify(v);
        }
      }
      out.push_back(std::move(s));
    }
  }
  return out;
}

class TracingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bootstrap_ = kafkaBootstrap();
    aws_ = awsEndpoint();
    otlp_ = stackVariable("OTEL_EXPORTER_OTLP_ENDPOINT");
    query_ = stackVariable("CDC_TRACING_QUERY_URL");
    ASSERT_FALSE(bootstrap_.empty() || aws_.empty() || otlp_.empty() || query_.empty())
        << "run scripts/stack up kafka aws tracing";
    static int n = 0;
    prefix_ = "trace" + std::to_string(::getpid()) + "-" + std::to_string(++n);
    dir_ = fs::temp_directory_path() / ("cdc-" + prefix_);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }

  // The spans Jaeger has for `path` (/api/traces/<id>, /api/traces?service=…), asked until
  // `enough` says they are all there (spans arrive in batches) or 30 s have passed.
  std::vector<JaegerSpan> query(const std::string& path, const std::function<bool(const std::vector<JaegerSpan>&)>& enough) {
    httplib::Client client(query_);
    std::vector<JaegerSpan> spans;
    for (int i = 0; i < 60; ++i) {
      auto r = client.Get(path);
      if (r && r->status == 200) {
        spans = parseTraces(r->body);
        if (enough(spans)) return spans;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    return spans;
  }

  std::string bootstrap_, aws_, otlp_, query_, prefix_;
  fs::path dir_;
};

// Trace and parent ids of record i, all distinct and known to the test.
std::string traceIdOf(int i) { return fmt::format("{:08x}{:024x}", static_cast<uint32_t>(::getpid()), i + 1); }
std::string parentIdOf(int i) { return fmt::format("{:016x}", 0x5000 + i); }

TEST_F(TracingTest, TheInventorysSpansReachJaegerUnderTheRecordsTraceparents) {
  // The workload: every record the inventory reads but each tenth with a sampled traceparent,
  // one malformed.
  auto g = run(cdcBinary() + " generate --products 30 --orders 120 --seed 7 --topic-prefix " + prefix_, false);
  ASSERT_EQ(g.exitCode, 0);
  std::istringstream lines(g.out);
  std::ofstream workload(dir_ / "events.jsonl");
  std::string line;
  std::map<std::string, std::string> parentByTrace;  // trace id -> parent span id
  std::string malformedAt;                           // "topic offset" of the malformed one
  // Three products' stock set below the threshold at the end: their alerts come from traced
  // records (the workload alone crosses it rarely).
  std::vector<std::string> generated;
  while (std::getline(lines, line)) generated.push_back(line);
  std::vector<std::string> lowered;
  for (const auto& l : generated) {
    if (lowered.size() == 3 || l.find(".public.products\"") == std::string::npos) continue;
    std::string low =
        std::regex_replace(l, std::regex(R"re((\\"stock_quantity\\":)[0-9]+)re"), "$013");  // group 1, then the digit 3
    if (low != l) lowered.push_back(low);
  }
  ASSERT_EQ(lowered.size(), 3u);
  generated.insert(generated.end(), lowered.begin(), lowered.end());
  int i = 0;
  for (; i < static_cast<int>(generated.size()); ++i) {
    line = generated[static_cast<size_t>(i)];
    ASSERT_EQ(line.back(), '}');
    line.pop_back();
    const bool consumed = line.find(".public.orders\"") == std::string::npos;  // the inventory reads the two others
    if (!consumed) {
      line += "}";
    } else if (i == 5) {
      line += R"(,"headers":["traceparent","00-not-a-trace-01"]})";
      malformedAt = line;
    } else if (i % 10 != 9 || i >= static_cast<int>(generated.size()) - 3) {
      parentByTrace[traceIdOf(i)] = parentIdOf(i);
      line += R"(,"headers":["traceparent","00-)" + traceIdOf(i) + "-" + parentIdOf(i) + R"(-01"]})";
    } else {
      line += "}";
    }
    workload << line << "\n";
  }
  workload.close();
  auto p = run(cdcBinary() + " produce --bootstrap-servers " + bootstrap_ + " --input " + (dir_ / "events.jsonl").string());
  ASSERT_EQ(p.exitCode, 0) << p.out;

  const std::string service = prefix_ + "-inventory", group = prefix_ + "-group", table = prefix_ + "-inventory";
  auto r =
      run("cd " + dir_.string() + " && env AWS_ENDPOINT_URL=" + aws_ +
          " AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing KAFKA_BOOTSTRAP_SERVERS=" + bootstrap_ +
          " OTEL_EXPORTER_OTLP_ENDPOINT=" + otlp_ + " OTEL_SERVICE_NAME=" + service +
          " OTEL_RESOURCE_ATTRIBUTES=deployment.environment.name=test OTEL_BSP_SCHEDULE_DELAY=200 ALERTS_TOPIC=" + prefix_ +
          ".alerts LOG_FORMAT=json " + cdcBinary() + " inventory --source kafka --until-caught-up --topic-prefix " + prefix_ +
          " --group-id " + group + " --store dynamodb --table-name " + table +
          " --objects dir:lake --metrics-port 0 --batch-size 200");
  ASSERT_EQ(r.exitCode, 0) << r.out;
  EXPECT_NE(r.out.find("\"msg\":\"invalid_traceparent\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"msg\":\"tracing_summary\""), std::string::npos);
  EXPECT_EQ(r.out.find("trace_export_failed"), std::string::npos) << r.out;

  // Every traced record has its span in its own trace, a child of the producer's span.
  int checked = 0;
  for (const auto& [traceId, parentId] : parentByTrace) {
    if (checked++ % 7 != 0) continue;  // a sample: one request per trace
    auto spans = query("/api/traces/" + traceId, [](const auto& s) { return !s.empty(); });
    ASSERT_EQ(spans.size(), 1u) << traceId;
    const JaegerSpan& s = spans[0];
    EXPECT_EQ(s.parent, parentId);
    EXPECT_EQ(s.service, service);
    EXPECT_TRUE(s.operation == "process " + prefix_ + ".public.products" ||
                s.operation == "process " + prefix_ + ".public.order_items")
        << s.operation;
    EXPECT_EQ(s.tag("span.kind"), "consumer");
    EXPECT_EQ(s.tag("messaging.system"), "kafka");
    EXPECT_EQ(s.tag("messaging.operation.type"), "process");
    EXPECT_EQ(s.tag("messaging.consumer.group.name"), group);
    EXPECT_EQ("process " + s.tag("messaging.destination.name"), s.operation);
    EXPECT_FALSE(s.tag("messaging.destination.partition.id").empty());
    EXPECT_FALSE(s.tag("messaging.kafka.offset").empty());
    EXPECT_EQ(s.links.size(), 1u) << "a link to its batch's span";
  }

  // The batches: roots linking their records' producers, their store rounds on DynamoDB and
  // their commits beneath them.
  // Jaeger shows spans as their exports arrive: a store call ends (and may be exported) before
  // its tick or batch span does, so the test waits until every store call's parent is there too.
  auto all = query("/api/traces?limit=5000&service=" + service, [&](const auto& spans) {
    std::set<std::string> ids;
    for (const auto& s : spans) ids.insert(s.spanId);
    int stores = 0;
    for (const auto& s : spans) {
      if (s.tag("db.system.name") != "aws.dynamodb") continue;
      if (!ids.contains(s.parent)) return false;
      ++stores;
    }
    return stores >= 4;
  });
  std::map<std::string, const JaegerSpan*> batches;  // by span id
  for (const auto& s : all) {
    if (!s.tag("messaging.batch.message_count").empty()) batches[s.spanId] = &s;
  }
  ASSERT_FALSE(batches.empty());
  for (const auto& [id, b] : batches) {
    EXPECT_TRUE(b->parent.empty()) << "a batch of many parents is a root";
    EXPECT_GE(b->links.size(), 2u);
    EXPECT_EQ(b->tag("messaging.consumer.group.name"), group);
  }
  // Store calls outside a batch (the outbox's clean-up on a tick, the end of the run) sit under
  // their own tick or finish span.
  std::set<std::string> periodic;
  for (const auto& s : all) {
    if (s.operation == "tick" || s.operation == "finish" || s.operation == "revoke") periodic.insert(s.spanId);
  }
  std::set<std::string> methods;
  int commits = 0;
  for (const auto& s : all) {
    if (s.operation == "commit" && batches.contains(s.parent)) ++commits;
    if (s.tag("db.system.name") != "aws.dynamodb") continue;
    EXPECT_TRUE(batches.contains(s.parent) || periodic.contains(s.parent)) << s.operation << " is under no batch or tick";
    if (!batches.contains(s.parent)) continue;
    EXPECT_EQ(s.tag("span.kind"), "client");
    EXPECT_EQ(s.tag("rpc.system"), "aws-api");
    EXPECT_EQ(s.tag("rpc.service"), "DynamoDB");
    EXPECT_NE(s.tag("aws.dynamodb.table_names").find(table), std::string::npos) << s.tag("aws.dynamodb.table_names");
    methods.insert(s.tag("rpc.method"));
  }
  EXPECT_TRUE(methods.contains("BatchGetItem") && methods.contains("TransactWriteItems"));
  EXPECT_GT(commits, 0);

  // The malformed traceparent: its record's span is the root of a trace of its own.
  auto at = malformedAt.find("\"offset\":");
  ASSERT_NE(at, std::string::npos);
  std::string offset = malformedAt.substr(at + 9, malformedAt.find(',', at) - at - 9);
  auto pat = malformedAt.find("\"partition\":");
  ASSERT_NE(pat, std::string::npos);
  std::string partition = malformedAt.substr(pat + 12, malformedAt.find(',', pat) - pat - 12);
  bool found = false;
  for (const auto& s : all) {
    if (s.tag("messaging.kafka.offset") == offset && s.tag("messaging.destination.partition.id") == partition &&
        s.tag("messaging.batch.message_count").empty() &&
        malformedAt.find("\"topic\":\"" + s.tag("messaging.destination.name") + "\"") != std::string::npos) {
      found = true;
      EXPECT_TRUE(s.parent.empty());
      EXPECT_FALSE(parentByTrace.contains(s.traceId));
    }
  }
  EXPECT_TRUE(found) << "no span for the record with the malformed traceparent (offset " << offset << ")";

  // The alerts carry their record's span on: each alert's traceparent names the span Jaeger
  // has for the record that crossed the threshold.
  auto alerts = run("kcat -C -q -e -b " + bootstrap_ + " -t " + prefix_ + ".alerts -f '%h\\n'", false);
  ASSERT_EQ(alerts.exitCode, 0);
  std::map<std::string, std::string> recordSpans;  // span id -> trace id
  for (const auto& s : all) {
    if (s.operation.starts_with("process ") && s.tag("messaging.batch.message_count").empty()) recordSpans[s.spanId] = s.traceId;
  }
  std::istringstream headers(alerts.out);
  int traced = 0;
  while (std::getline(headers, line)) {
    auto tp = line.find("traceparent=00-");
    if (tp == std::string::npos) continue;
    std::string traceId = line.substr(tp + 15, 32), spanId = line.substr(tp + 48, 16);
    if (!parentByTrace.contains(traceId)) continue;
    ++traced;
    ASSERT_TRUE(recordSpans.contains(spanId)) << line;
    EXPECT_EQ(recordSpans[spanId], traceId);
  }
  EXPECT_GT(traced, 0) << "no alert came from a traced record: " << alerts.out << r.out.substr(r.out.find("run_summary"));
}

TEST_F(TracingTest, ACollectorThatIsDownCostsTheRunNothingButDroppedSpans) {
  auto g = run(cdcBinary() + " generate --products 30 --orders 120 --seed 7 > " + (dir_ / "events.jsonl").string(), false);
  ASSERT_EQ(g.exitCode, 0);
  auto inventory = [&](const std::string& where, const std::string& env) {
    return run("cd " + dir_.string() + " && env LOG_FORMAT=json " + env + " " + cdcBinary() +
               " inventory --source file:events.jsonl --store sqlite:" + where + ".db --objects dir:" + where +
               " --metrics-port 0 --batch-size 50");
  };
  auto plain = inventory("plain", "");
  ASSERT_EQ(plain.exitCode, 0) << plain.out;
  // Nothing listens on port 1: every export fails at once, the run goes on.
  auto down = inventory("down",
                        "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:1 OTEL_EXPORTER_OTLP_TIMEOUT=200 "
                        "OTEL_BSP_SCHEDULE_DELAY=50 OTEL_BSP_MAX_QUEUE_SIZE=16 OTEL_BSP_MAX_EXPORT_BATCH_SIZE=8");
  ASSERT_EQ(down.exitCode, 0) << down.out;
  EXPECT_NE(down.out.find("\"msg\":\"trace_export_failed\""), std::string::npos) << down.out;
  auto summary = down.out.find("\"msg\":\"tracing_summary\"");
  ASSERT_NE(summary, std::string::npos) << down.out;
  EXPECT_NE(down.out.find("\"spans_exported\":0", summary), std::string::npos) << down.out.substr(summary);
  EXPECT_EQ(down.out.find("\"spans_dropped_export_failed\":0,", summary), std::string::npos) << down.out.substr(summary);
  // The same tables as without tracing.
  std::vector<std::string> a, b;
  for (const char* t : {"inventory-realtime", "inventory-realtime-ledger"}) {
    a.push_back(run("cd " + dir_.string() + " && " + cdcBinary() + " dump --store sqlite:plain.db --table " + t, false).out);
    b.push_back(run("cd " + dir_.string() + " && " + cdcBinary() + " dump --store sqlite:down.db --table " + t, false).out);
  }
  EXPECT_EQ(comparableTables("inventory", a), comparableTables("inventory", b));
}

}  // namespace
}  // namespace cdc::test
