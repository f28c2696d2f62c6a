// Avro against the real schema registry that `scripts/stack up registry` starts (Apicurio
// Registry, its Confluent-compatible API, basic auth): schemas fetched by id with the
// credentials, and a service on Kafka whose Avro records wait while the registry does not
// answer (not ready, saying why; nothing dead-lettered) and go through once it does, while a
// record whose schema id the registry does not know is a dead letter naming the id.

#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include <httplib.h>
#include <simdjson.h>

#include "adapters/registry/schema_registry.h"
#include "core/base64.h"
#include "debezium/avro.h"
#include "support/avro_writer.h"
#include "support/endpoints.h"
#include "support/fixtures.h"
#include "support/process.h"
#include "support/run.h"
#include "support/stack.h"

namespace cdc::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// The captured products schemas (Debezium 3.6.1's, through Apicurio's converter).
std::string capturedSchema(const char* id) {
  simdjson::dom::parser parser;
  auto doc = parser.parse(simdjson::padded_string(fixture("avro/sample-schemas.json")));
  return std::string(doc[id].get_string().value());
}

class SchemaRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = stackVariable("SCHEMA_REGISTRY_URL");
    ASSERT_FALSE(url_.empty()) << "no schema registry: run scripts/stack up registry";
    std::ifstream credentials(stackVariable("CDC_REGISTRY_CREDENTIALS_FILE"));
    std::getline(credentials, userInfo_);
    ASSERT_NE(userInfo_.find(':'), std::string::npos);
    bootstrap_ = kafkaBootstrap();
    static int n = 0;
    prefix_ = "sr" + std::to_string(::getpid()) + "x" + std::to_string(++n);
    dir_ = fs::temp_directory_path() / ("cdc-" + prefix_);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (registryStopped_) ::kill(registryPid(), SIGCONT);
    if (!HasFailure()) fs::remove_all(dir_);
  }

  static int registryPid() {
    auto r = run(sourceDir() + "/scripts/stack pid registry", false);
    return r.exitCode == 0 ? std::stoi(r.out) : -1;
  }

  // Registers `schema` under `subject` (the way a producer's serializer does) and gives its id.
  int32_t registerSchema(const std::string& subject, const std::string& schema) {
    std::string escaped;
    for (char c : schema) escaped += c == '"' || c == '\\' ? std::string("\\") + c : std::string(1, c);
    std::ofstream(dir_ / "schema.json") << R"({"schema":")" << escaped << R"("})";
    auto r = run("curl -fsS -m 10 -u '" + userInfo_ + "' -H 'Content-Type: application/vnd.schemaregistry.v1+json' --data @" +
                     (dir_ / "schema.json").string() + " " + url_ + "/subjects/" + subject + "/versions",
                 false);
    EXPECT_EQ(r.exitCode, 0) << r.out;
    simdjson::dom::parser parser;
    int64_t id = -1;
    EXPECT_EQ(parser.parse(r.out)["id"].get_int64().get(id), simdjson::SUCCESS) << r.out;
    return static_cast<int32_t>(id);
  }

  std::string url_, userInfo_, bootstrap_, prefix_;
  fs::path dir_;
  bool registryStopped_ = false;
};

TEST_F(SchemaRegistryTest, SchemasComeByIdWithTheCredentialsAndFailuresSayWhichKind) {
  int32_t id = registerSchema(prefix_ + ".public.products-value", capturedSchema("4"));
  ASSERT_GT(id, 0);

  registry::RegistryFetcher fetcher(url_, userInfo_);
  auto schema = fetcher.fetch(id);
  ASSERT_TRUE(schema.has_value()) << schema.error().message;
  auto parsed = debezium::avro::Schema::parse(*schema);
  ASSERT_TRUE(parsed.has_value()) << parsed.error();
  EXPECT_NE(parsed->field(parsed->root(), "stock_quantity"), nullptr);
  EXPECT_FALSE(fetcher.problem().has_value());

  auto unknown = fetcher.fetch(987'654'321);
  ASSERT_FALSE(unknown.has_value());
  EXPECT_TRUE(unknown.error().notFound) << unknown.error().message;

  // Wrong credentials: the registry is there but refuses; the records would wait, and the reason
  // (never the password) is what readiness shows.
  std::string password = "not-" + userInfo_.substr(userInfo_.find(':') + 1);
  registry::RegistryFetcher wrong(url_, "cdc:" + password);
  auto refused = wrong.fetch(id);
  ASSERT_FALSE(refused.has_value());
  EXPECT_FALSE(refused.error().notFound);
  EXPECT_NE(refused.error().message.find("refused our credentials"), std::string::npos) << refused.error().message;
  EXPECT_EQ(refused.error().message.find(password), std::string::npos);
  ASSERT_TRUE(wrong.problem().has_value());

  // Nobody there.
  registry::RegistryFetcher nobody("http://127.0.0.1:" + std::to_string(freePort()) + "/apis/ccompat/v7", userInfo_,
                                   std::chrono::milliseconds(2000));
  auto down = nobody.fetch(id);
  ASSERT_FALSE(down.has_value());
  EXPECT_FALSE(down.error().notFound);
}

TEST_F(SchemaRegistryTest, AvroRecordsWaitForTheRegistryAndAnUnknownSchemaIsADeadLetter) {
  ASSERT_FALSE(bootstrap_.empty()) << "no Kafka broker: run scripts/stack up kafka";
  const std::string topic = prefix_ + ".public.products";
  int32_t keyId = registerSchema(topic + "-key", capturedSchema("3"));
  int32_t valueId = registerSchema(topic + "-value", capturedSchema("4"));
  ASSERT_GT(keyId, 0);
  ASSERT_GT(valueId, 0);

  // Three products as Debezium's flattened Avro rows (id, name, description, price, stock,
  // created_at, updated_at, __deleted, __op, __table, __source_ts_ms), and one whose schema id
  // the registry has never seen.
  std::string lines;
  auto line = [&](int64_t offsetId, const std::string& key, const std::string& value) {
    lines += R"({"topic":")" + topic + R"(","partition":0,"offset":)" + std::to_string(offsetId) + R"(,"key_base64":")" +
             base64Encode(key) + R"(","payload_base64":")" + base64Encode(value) + "\"}\n";
  };
  for (int id = 1; id <= 3; ++id) {
    AvroWriter key(keyId);
    key.l(id);
    AvroWriter value(valueId);
    value.l(id).s("Widget " + std::to_string(id)).l(1).s("made in a test").decimal(1299 + id).l(10 * id);
    value.l(0).l(1767225600000000).l(0).l(1767225600000000).l(1).s("false").l(1).s("c").l(1).s("products").l(1).l(1767225600123);
    line(id, key.bytes, value.bytes);
  }
  AvroWriter strangerKey(keyId);
  strangerKey.l(4);
  line(4, strangerKey.bytes, AvroWriter(987'654'321).l(4).bytes);
  std::ofstream(dir_ / "records.jsonl") << lines;
  auto produced =
      run(cdcBinary() + " produce --bootstrap-servers " + bootstrap_ + " --input " + (dir_ / "records.jsonl").string());
  ASSERT_EQ(produced.exitCode, 0) << produced.out;

  // The registry stops answering before the service has any schema.
  int registry = registryPid();
  ASSERT_GT(registry, 0);
  ASSERT_EQ(::kill(registry, SIGSTOP), 0);
  registryStopped_ = true;

  std::string password = userInfo_.substr(userInfo_.find(':') + 1);
  Process service("env KAFKA_BOOTSTRAP_SERVERS=" + bootstrap_ + " SCHEMA_REGISTRY_URL=" + url_ +
                      " SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO=" + userInfo_ +
                      " LOG_FORMAT=json METRICS_PORT=0 TOPIC_PREFIX=" + prefix_ + " KAFKA_GROUP_ID=" + prefix_ + " " +
                      cdcBinary() + " inventory --store sqlite:inv.db --objects dir:lake",
                  (dir_ / "inventory.log").string(), dir_.string());
  int port = listeningPort(service, "/readyz");
  ASSERT_GT(port, 0) << service.output();
  httplib::Client client("127.0.0.1", port);
  std::string reason;
  for (int i = 0; i < 120 && reason.find("schema_registry") == std::string::npos; ++i) {
    std::this_thread::sleep_for(500ms);
    if (auto r = client.Get("/readyz"); r && r->status == 503) reason = r->body;
  }
  EXPECT_NE(reason.find(R"("schema_registry":)"), std::string::npos) << reason << "\n" << service.output();
  EXPECT_NE(reason.find("no answer in time"), std::string::npos) << reason;
  EXPECT_EQ(appliedEvents(port), 0);
  EXPECT_EQ(service.output().find("dead_letter"), std::string::npos) << "records were dead-lettered while waiting";

  ASSERT_EQ(::kill(registry, SIGCONT), 0);
  registryStopped_ = false;
  for (int i = 0; i < 120 && appliedEvents(port) < 3; ++i) std::this_thread::sleep_for(500ms);
  EXPECT_EQ(appliedEvents(port), 3) << service.output();
  std::string ready;
  for (int i = 0; i < 60; ++i) {
    auto r = client.Get("/readyz");
    if (r && r->status == 200) {
      ready = r->body;
      break;
    }
    std::this_thread::sleep_for(500ms);
  }
  EXPECT_NE(ready.find("ready"), std::string::npos) << ready;
  service.signal(SIGTERM);
  EXPECT_EQ(service.wait(60s), std::optional<int>(0)) << service.output();

  // The inventory holds the three products; the stranger is a dead letter naming its schema id.
  auto dump = run("cd " + dir_.string() + " && " + cdcBinary() + " dump --store sqlite:inv.db --table inventory-realtime", false);
  ASSERT_EQ(dump.exitCode, 0) << dump.out;
  for (const char* name : {"Widget 1", "Widget 2", "Widget 3"}) EXPECT_NE(dump.out.find(name), std::string::npos) << dump.out;
  EXPECT_NE(dump.out.find("13.01"), std::string::npos) << dump.out;  // 1301 cents at scale 2
  auto dlq =
      run("cd " + dir_.string() + " && " + cdcBinary() + " dlq list --service inventory-service --objects dir:lake", false);
  EXPECT_NE(dlq.out.find("unknown_schema"), std::string::npos) << dlq.out;
  EXPECT_NE(dlq.out.find("schema id 987654321"), std::string::npos) << dlq.out;
  EXPECT_EQ(service.output().find(password), std::string::npos) << "the registry's password was logged";
}

}  // namespace
}  // namespace cdc::test
