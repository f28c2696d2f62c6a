// The end-to-end suite (label e2e): PostgreSQL → Debezium 3.6 (Kafka Connect) → Kafka → the
// three services → DynamoDB and S3 (moto), every server real and started by `scripts/stack up
// all`. Rows are written with psql, as the seed's "Testing" section does, and the services'
// results are read back through the AWS APIs and compared with SQL over PostgreSQL's final state.

#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <regex>

#include "e2e/facts.h"
#include "support/paths.h"

namespace cdc::test::e2e {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class PipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(stack().complete()) << "the stack is not up: scripts/stack up all";
    static int n = 0;
    tag_ = "e2e" + std::to_string(::getpid()) + "x" + std::to_string(++n);
    dir_ = fs::temp_directory_path() / ("cdc-" + tag_);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto loaded = loadWorkload(stack());
    ASSERT_EQ(loaded, "") << loaded;
  }
  void registerConnector(const std::string& file, const std::string& prefix) {
    std::string name;
    auto why = e2e::registerConnector(stack(), file, prefix, name, database_);
    ASSERT_EQ(why, "") << why;
    connectors_.push_back(name);
  }
  void waitForConnectors(const std::vector<std::string>& prefixes) {
    auto why = e2e::waitForConnectors(stack(), tag_, prefixes, database_);
    ASSERT_EQ(why, "") << why;
  }
  void sessions(int count, int steps) {
    auto why = e2e::sessions(stack(), dir_.string(), count, steps, database_);
    ASSERT_EQ(why, "") << why;
  }

  // This test's own database (with the schema and the workload's procedures), captured by
  // connectors of its own: its facts are its own whatever ran before on the stack.
  void ownDatabase() {
    database_ = tag_;
    auto why = createDatabase(stack(), database_);
    ASSERT_EQ(why, "") << why;
  }
  RunResult psql(const std::string& sql) { return stack().psql(sql, database_); }

  void TearDown() override {
    deleteConnectors(stack(), connectors_);
    if (database_ != "ecommerce") dropDatabase(stack(), database_);
    if (!HasFailure()) fs::remove_all(dir_);
  }

  static const Stack& stack() { return Stack::get(); }

  Sinks sinks(const std::string& name) const {
    return {tag_ + "-" + name + "-inventory", tag_ + "-" + name + "-search", tag_ + "-" + name + "-lake"};
  }

  // A service as a user runs it on Kafka, DynamoDB and S3: the seed's variables (pointed at the
  // stack) and --store dynamodb --objects s3.
  std::string serviceCommand(const std::string& service, const std::string& prefix, const Sinks& s, const std::string& group,
                             const std::string& extra = "") const {
    std::string env = stack().serviceEnv() + "TOPIC_PREFIX=" + prefix + " KAFKA_GROUP_ID=" + group +
                      " DLQ_S3_BUCKET=" + s.lakeBucket + "-dlq S3_BUCKET=" + s.lakeBucket + " LOG_LEVEL=warn ";
    std::string table = service == "search-indexer" ? s.searchTable : service == "inventory" ? s.inventoryTable : "";
    if (!table.empty()) env += "DYNAMODB_TABLE=" + table + " ";
    if (service == "analytics") env += "FLUSH_INTERVAL=5 ";
    if (service == "search-indexer") env += "HTTP_PORT=0 ";
    return env + cdcBinary() + " " + service + storeFlag(service, "dynamodb") + " --objects s3 " + extra;
  }
  std::unique_ptr<Process> startService(const std::string& service, const std::string& prefix, const Sinks& s,
                                        const std::string& group, const std::string& logName) {
    return std::make_unique<Process>(serviceCommand(service, prefix, s, group), (dir_ / (logName + ".log")).string());
  }

  static void stop(Process& p, const std::string& name) {
    p.signal(SIGTERM);
    auto code = p.wait(60s);
    EXPECT_EQ(code, std::optional<int>(0)) << name << ":\n" << p.output();
  }

  std::string tag_;
  fs::path dir_;
  std::vector<std::string> connectors_;
  std::string database_ = "ecommerce";
};

// The seed's "Testing" section, step by step: insert a product, an order and an order item with
// psql; read the inventory item with `aws dynamodb get-item`, the analytics summary in S3 after a
// flush, and the product with the seed's Scan on name_lower; and the seed's Monitoring step,
// `kafka-consumer-groups.sh --describe --group inventory-service-group`.
TEST_F(PipelineTest, TheSeedsTestingStepsWithTheServicesRunning) {
  // The seed's groups start from the beginning of its topics (a run before this one on the same
  // stack left their offsets; these tables are new).
  // (Members of a run that was killed hold a group until their session times out.)
  for (std::string group : {"inventory-service-group", "analytics-service-group", "search-indexer-group"}) {
    std::string why = eventually(
        120s,
        [&]() -> std::string {
          auto r = run("eval \"$(" + sourceDir() + "/scripts/stack env)\"; kafka-consumer-groups.sh --bootstrap-server " +
                       stack().kafka + " --delete --group " + group);
          bool gone = r.out.find("successful") != std::string::npos || r.out.find("does not exist") != std::string::npos;
          return gone ? "" : r.out;
        },
        2s);
    ASSERT_EQ(why, "") << group << ": " << why;
  }
  Sinks s = sinks("seed");
  auto inventory = startService("inventory", "dbserver1", s, "inventory-service-group", "inventory");
  auto analytics = startService("analytics", "dbserver1", s, "analytics-service-group", "analytics");
  auto search = startService("search-indexer", "dbserver1", s, "search-indexer-group", "search");

  std::string name = "Test Product " + tag_;
  auto product = stack().psql("INSERT INTO products (name, description, price, stock_quantity) VALUES (" + quote(name) +
                              ", 'CDC Test', 99.99, 100) RETURNING id");
  ASSERT_EQ(product.exitCode, 0) << product.out;
  std::string productId = rows(product.out).at(0).at(0);
  auto order =
      stack().psql("INSERT INTO orders (customer_id, total_amount, status) VALUES (9999, 199.98, 'pending') RETURNING id");
  ASSERT_EQ(order.exitCode, 0) << order.out;
  std::string orderId = rows(order.out).at(0).at(0);
  auto item = stack().psql("INSERT INTO order_items (order_id, product_id, quantity, price) SELECT " + orderId +
                           ", id, 2, price FROM products WHERE name = " + quote(name));
  ASSERT_EQ(item.exitCode, 0) << item.out;

  // aws dynamodb get-item --table-name inventory-realtime --key '{"product_id": {"N": "<id>"}}'
  std::string why = eventually(120s, [&]() -> std::string {
    auto got = stack().awsCliRun("dynamodb get-item --table-name " + s.inventoryTable + " --key '{\"product_id\": {\"N\": \"" +
                                 productId + "\"}}' --output json");
    if (got.out.find("\"stock_quantity\": {\n            \"N\": \"98\"") == std::string::npos) return "get-item: " + got.out;
    if (got.out.find("\"price\": {\n            \"S\": \"99.99\"") == std::string::npos) return "price: " + got.out;
    if (got.out.find(name) == std::string::npos) return "name: " + got.out;
    return "";
  });
  EXPECT_EQ(why, "") << why;

  // aws s3 ls s3://<lake>/analytics/summary/ | tail -1, then the summary itself.
  why = eventually(120s, [&]() -> std::string {
    auto ls = stack().awsCliRun("s3 ls s3://" + s.lakeBucket + "/analytics/summary/");
    if (!std::regex_search(ls.out, std::regex("[0-9]{8}_[0-9]{6}\\.json"))) return "no summary: " + ls.out;
    LiveDatabase db(stack());
    AwsOutputs out(stack(), s);
    return analyticsDifferences(db, out);
  });
  EXPECT_EQ(why, "") << why;

  // aws dynamodb scan --table-name product-search-index --filter-expression "contains(name_lower, :name)"
  why = eventually(120s, [&]() -> std::string {
    auto scan = stack().awsCliRun("dynamodb scan --table-name " + s.searchTable +
                                  " --filter-expression 'contains(name_lower, :name)' --expression-attribute-values "
                                  "'{\":name\":{\"S\":\"" +
                                  tag_ + "\"}}' --output json");
    if (scan.out.find("\"N\": \"" + productId + "\"") == std::string::npos) return "scan: " + scan.out;
    if (scan.out.find("\"price_display\": {\n                \"S\": \"$99.99\"") == std::string::npos)
      return "price_display: " + scan.out;
    return "";
  });
  EXPECT_EQ(why, "") << why;

  // bin/kafka-consumer-groups.sh --bootstrap-server … --group inventory-service-group --describe
  why = eventually(120s, [&]() -> std::string {
    auto describe = run("eval \"$(" + sourceDir() + "/scripts/stack env)\"; kafka-consumer-groups.sh --bootstrap-server " +
                        stack().kafka + " --group inventory-service-group --describe");
    // GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID
    std::regex row(
        "inventory-service-group\\s+dbserver1\\.public\\.(products|order_items)\\s+[0-9]+\\s+([0-9-]+)\\s+([0-9]+)\\s+([0-9-]+)");
    int partitions = 0;
    for (auto it = std::sregex_iterator(describe.out.begin(), describe.out.end(), row); it != std::sregex_iterator(); ++it) {
      bool caughtUp = (*it)[4].str() == "0" || (*it)[3].str() == "0";
      if (!caughtUp) return "lag on a partition:\n" + describe.out;
      ++partitions;
    }
    if (partitions < 2) return "describe:\n" + describe.out;
    if (describe.out.find("rdkafka") == std::string::npos && describe.out.find("inventory-service") == std::string::npos) {
      return "no member listed:\n" + describe.out;
    }
    return "";
  });
  EXPECT_EQ(why, "") << why;

  stop(*inventory, "inventory");
  stop(*analytics, "analytics");
  stop(*search, "search-indexer");
}

// The larger workload through the four connector shapes we support (deploy/debezium): the
// production unwrap with rewrite-with-tombstone, the plain envelope, the unwrap whose deletes
// are only tombstones (Debezium 3.x's default), and the production shape in Avro. A snapshot first (the connectors are registered
// on a catalogue already there), then concurrent sessions with every kind of change, a column
// added with ALTER TABLE mid-stream, the Connect worker killed and restarted, and the inventory
// and analytics services killed with SIGKILL and restarted. Each shape must give exactly the SQL
// facts.
TEST_F(PipelineTest, EveryConnectorShapeGivesTheSqlFactsThroughKillsAndRestarts) {
  Steps step;
  ownDatabase();
  auto catalogue = psql("CALL e2e_catalogue(30, " + quote(tag_) + ")");
  ASSERT_EQ(catalogue.exitCode, 0) << catalogue.out;
  // Orders of the catalogue before the connectors start (snapshot rows, op r).
  sessions(2, 40);
  const std::string production = tag_ + "p", envelope = tag_ + "e", tombstones = tag_ + "t", avro = tag_ + "a";
  registerConnector("production.json", production);
  registerConnector("envelope.json", envelope);
  registerConnector("unwrap-tombstone-deletes.json", tombstones);
  registerConnector("avro.json", avro);
  step("four connectors registered (snapshots)");

  // The production shape is consumed live, through the kills and restarts.
  Sinks live = sinks("p");
  auto inventory = startService("inventory", production, live, tag_ + "-inventory", "inventory-1");
  auto analytics = startService("analytics", production, live, tag_ + "-analytics", "analytics-1");
  auto search = startService("search-indexer", production, live, tag_ + "-search", "search");

  sessions(3, 120);
  // A column added while the connectors stream: the embedded schema changes partway through
  // every partition.
  auto alter = psql("ALTER TABLE products ADD COLUMN weight_" + tag_ +
                    " int DEFAULT 250; "
                    "ALTER TABLE orders ADD COLUMN channel_" +
                    tag_ +
                    " text DEFAULT 'web'; "
                    "ALTER TABLE order_items ADD COLUMN gift_" +
                    tag_ + " boolean DEFAULT false");
  ASSERT_EQ(alter.exitCode, 0) << alter.out;
  sessions(3, 60);
  step("sessions and ALTER TABLE written");

  // The Connect worker killed mid-stream and started again: Debezium resends from its last
  // committed offset (at-least-once), which the services must not count twice. (Killed once its
  // connectors stream and have committed offsets past their snapshots: a connector killed before
  // that snapshots again, and a re-snapshot cannot tell about rows deleted meanwhile.)
  waitForConnectors({production, envelope, tombstones, avro});
  std::this_thread::sleep_for(3s);  // offset.flush.interval.ms is 1 s on the stack's worker
  step("connectors streaming with committed offsets");
  auto pid = stack().stackScript("pid connect");
  ASSERT_EQ(pid.exitCode, 0) << pid.out;
  ASSERT_EQ(::kill(std::stoi(pid.out), SIGKILL), 0);
  sessions(3, 40);  // written while no connector runs: captured once it is back
  auto up = stack().stackScript("up connect");
  ASSERT_EQ(up.exitCode, 0) << up.out;
  step("connect killed and restarted");

  // The inventory and analytics services killed mid-stream and started again.
  std::thread writer([&] { sessions(3, 120); });
  std::this_thread::sleep_for(2s);
  inventory->signal(SIGKILL);
  analytics->signal(SIGKILL);
  ASSERT_TRUE(inventory->wait(10s).has_value());
  ASSERT_TRUE(analytics->wait(10s).has_value());
  inventory = startService("inventory", production, live, tag_ + "-inventory", "inventory-2");
  analytics = startService("analytics", production, live, tag_ + "-analytics", "analytics-2");
  writer.join();
  step("services killed and restarted");
  waitForConnectors({production, envelope, tombstones, avro});
  step("connectors caught up");

  LiveDatabase db(stack(), database_);
  AwsOutputs liveOutputs(stack(), live);
  std::string why = eventually(300s, [&] { return allDifferences(db, liveOutputs, live, tag_); }, 2s);
  EXPECT_EQ(why, "") << "production shape, consumed live:\n" << why;
  step("production shape checked");
  stop(*inventory, "inventory");
  stop(*analytics, "analytics");
  stop(*search, "search-indexer");

  // The other shapes, each consumed in one catch-up run per service (Avro with the stack's schema
  // registry: its schemas fetched by id, the second one of each table after the ALTER TABLE).
  for (const auto& [prefix, name] :
       {std::pair{envelope, std::string("e")}, std::pair{tombstones, std::string("t")}, std::pair{avro, std::string("a")}}) {
    SCOPED_TRACE(prefix);
    Sinks s = sinks(name);
    for (const char* service : {"inventory", "analytics", "search-indexer"}) {
      auto r = run(serviceCommand(service, prefix, s, tag_ + "-" + name + "-" + service, "--until-caught-up"));
      ASSERT_EQ(r.exitCode, 0) << service << ":\n" << r.out;
      step(prefix + " " + service + ": " + r.out.substr(r.out.rfind(": ", r.out.find(" records in")) + 2, 60));
      EXPECT_NE(r.out.find(", 0 dead letters"), std::string::npos) << service << ":\n" << r.out;
    }
    AwsOutputs outputs(stack(), s);
    why = allDifferences(db, outputs, s, tag_);
    EXPECT_EQ(why, "") << prefix << ":\n" << why;
    step(prefix + " checked");
  }
  // No dead letters in the live run either.
  auto dlq = stack().awsCliRun("s3 ls s3://" + live.lakeBucket + "-dlq/ --recursive");
  EXPECT_EQ(dlq.out.find("dlq/"), std::string::npos) << dlq.out;
}

}  // namespace
}  // namespace cdc::test::e2e
