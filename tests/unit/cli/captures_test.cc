// Real captures of Debezium 3.6.1 (tests/fixtures/captures, recorded by tests/e2e/capture.cc
// from the stack's PostgreSQL and Kafka Connect), one per connector shape of deploy/debezium,
// replayed through the three services on the embedded stores: each must give exactly the facts
// PostgreSQL computed from its final state when the capture was taken. No server is needed.

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>

#include "e2e/facts.h"
#include "support/paths.h"

namespace cdc::test::e2e {
namespace {

namespace fs = std::filesystem;

const fs::path kCaptures = fs::path(sourceDir()) / "tests/fixtures/captures";

std::string readFile(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class CapturesTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    simdjson::dom::parser parser;
    simdjson::dom::element manifest;
    ASSERT_FALSE(parser.parse(readFile(kCaptures / "capture.json")).get(manifest));
    tag_ = std::string(std::string_view(manifest["tag"]));
    prefix_ = std::string(std::string_view(manifest["shapes"][GetParam()]));
    dir_ = fs::temp_directory_path() / ("cdc-capture-" + std::to_string(::getpid()) + "-" + GetParam());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto unzip = run("gzip -dc " + (kCaptures / (GetParam() + ".jsonl.gz")).string() + " > " + (dir_ / "in.jsonl").string());
    ASSERT_EQ(unzip.exitCode, 0) << unzip.out;
    lines_ = readFile(dir_ / "in.jsonl");
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }

  std::string tag_, prefix_, lines_;
  fs::path dir_;
};

INSTANTIATE_TEST_SUITE_P(Shapes, CapturesTest, ::testing::Values("production", "envelope", "tombstone-deletes", "avro"),
                         [](const auto& info) {
                           std::string name = info.param;
                           std::erase(name, '-');
                           return name;
                         });

// What makes each capture the shape it stands for, as the real connector sent it.
TEST_P(CapturesTest, TheCaptureIsTheRealConnectorsShape) {
  size_t records = std::count(lines_.begin(), lines_.end(), '\n');
  EXPECT_GT(records, 500u);
  if (GetParam() == "avro") {
    // Confluent's wire format (a zero byte and a 4-byte schema id: base64 "AAAAA…"), tombstones,
    // and a second value schema per table after ALTER TABLE added a column with its default.
    EXPECT_NE(lines_.find(R"("payload_base64":"AAAAA)"), std::string::npos);
    EXPECT_NE(lines_.find(R"("payload_base64":null)"), std::string::npos);
    std::string schemas = readFile(kCaptures / "avro-schemas.json");
    for (const std::string added : {"weight_", "channel_", "gift_"}) {
      EXPECT_NE(schemas.find(R"(\"name\":\")" + added + tag_), std::string::npos) << added;
    }
    EXPECT_NE(schemas.find("org.apache.kafka.connect.data.Decimal"), std::string::npos);
    EXPECT_NE(schemas.find("io.debezium.time.MicroTimestamp"), std::string::npos);
    return;
  }
  EXPECT_NE(lines_.find("__debezium.context.connectorLogicalName"), std::string::npos);  // Debezium's headers
  if (GetParam() == "production") {
    EXPECT_NE(lines_.find(R"(\"__deleted\":\"true\")"), std::string::npos);  // the rewritten delete …
    EXPECT_NE(lines_.find(R"("payload":null)"), std::string::npos);          // … then a Kafka tombstone
    EXPECT_NE(lines_.find(R"(\"__op\":\"r\")"), std::string::npos);          // the snapshot
  } else if (GetParam() == "envelope") {
    EXPECT_NE(lines_.find(R"(\"before\":{)"), std::string::npos);  // REPLICA IDENTITY FULL
    EXPECT_NE(lines_.find(R"(\"op\":\"d\")"), std::string::npos);
    EXPECT_NE(lines_.find(R"(\"op\":\"r\")"), std::string::npos);
    EXPECT_EQ(lines_.find(R"(\"schema\":{)"), std::string::npos);  // schemas.enable=false
  } else {
    EXPECT_EQ(lines_.find(R"(\"__deleted\":\"true\")"), std::string::npos);  // no row for a delete …
    EXPECT_NE(lines_.find(R"(,\"payload\":null})"), std::string::npos);      // … only `payload: null`
  }
}

TEST_P(CapturesTest, ReplayGivesThePostgresFacts) {
  for (std::string service : {"inventory", "analytics", "search-indexer"}) {
    auto r = run("cd " + dir_.string() + " && " + cdcBinary() + " " + service + " --source file:in.jsonl --topic-prefix " +
                 prefix_ + storeFlag(service, "sqlite:cdc.db") + " --objects dir:lake --log-level warn" +
                 (service == "search-indexer" ? " --http-port 0" : "") +
                 (GetParam() == "avro" ? " --schema-registry-url file:" + (kCaptures / "avro-schemas.json").string() : ""));
    ASSERT_EQ(r.exitCode, 0) << service << ":\n" << r.out;
    EXPECT_NE(r.out.find(", 0 dead letters"), std::string::npos) << service << ":\n" << r.out;
  }
  RecordedDatabase db(readFile(kCaptures / "facts.jsonl"));
  ASSERT_GT(db.size(), 15u);
  Sinks sinks{"inventory-realtime", "product-search-index", ""};
  EmbeddedOutputs outputs((dir_ / "cdc.db").string(), (dir_ / "lake").string(), sinks);
  std::string why = allDifferences(db, outputs, sinks, tag_);
  EXPECT_EQ(why, "") << why;
}

}  // namespace
}  // namespace cdc::test::e2e
