#include "adapters/replay/replay_source.h"

#include <gtest/gtest.h>

#include <unistd.h>
#include <fstream>

namespace cdc::replay {
namespace {

std::string writeTemp(const std::string& content) {
  std::string path = ::testing::TempDir() + "/replay-" + std::to_string(::getpid()) + "-" +
                     ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".jsonl";
  std::ofstream(path) << content;
  return path;
}

TEST(ReplaySourceTest, ReadsKcatLinesIncludingTombstonesAndHeaders) {
  std::string path = writeTemp(
      R"({"topic":"dbserver1.public.products","partition":0,"offset":42,"tstype":"create","ts":1767225600130,"broker":1,"key":"{\"id\":1}","payload":"{\"id\":1,\"__op\":\"c\"}"})"
      "\n"
      R"({"topic":"dbserver1.public.products","partition":0,"offset":43,"tstype":"create","ts":1767225600131,"broker":1,"key":"{\"id\":1}","payload":null,"headers":["traceparent","00-abc-def-01","x",null]})"
      "\n"
      "\n"
      R"({"topic":"dbserver1.public.orders","partition":2,"offset":7,"ts":1,"key":null,"payload":"{}"})");
  auto src = ReplaySource::open(path);
  ASSERT_TRUE(src.has_value());
  std::vector<runtime::Record> records;
  auto status = (*src)->poll(records, 10, std::chrono::milliseconds(0));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, runtime::PollStatus::End);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].topic, "dbserver1.public.products");
  EXPECT_EQ(records[0].offset, 42);
  EXPECT_EQ(records[0].timestampMs, 1767225600130);
  EXPECT_EQ(*records[0].key, R"({"id":1})");
  EXPECT_EQ(*records[0].value, R"({"id":1,"__op":"c"})");
  EXPECT_FALSE(records[1].value.has_value());
  ASSERT_NE(records[1].header("traceparent"), nullptr);
  EXPECT_EQ(*records[1].header("traceparent"), "00-abc-def-01");
  EXPECT_EQ(records[2].partition, 2);
  EXPECT_FALSE(records[2].key.has_value());
  EXPECT_FALSE(records[2].sourceError.has_value());
}

TEST(ReplaySourceTest, MalformedLinesBecomeRecordsWithAnError) {
  std::string path = writeTemp("not json\n{\"topic\":\"t\"}\n");
  auto src = ReplaySource::open(path);
  std::vector<runtime::Record> records;
  ASSERT_TRUE((*src)->poll(records, 10, std::chrono::milliseconds(0)).has_value());
  ASSERT_EQ(records.size(), 2u);
  ASSERT_TRUE(records[0].sourceError.has_value());
  EXPECT_EQ(records[0].topic, "_replay");
  EXPECT_EQ(records[0].offset, 1);
  EXPECT_EQ(*records[0].value, "not json");
  EXPECT_NE(records[1].sourceError->find("needs topic, partition and offset"), std::string::npos);
}

TEST(ReplaySourceTest, BatchesAcrossPollsAndLongLines) {
  std::string big(3 << 20, 'x');  // longer than the read buffer
  std::string content;
  for (int i = 0; i < 5; ++i) {
    content += R"({"topic":"a.b.orders","partition":0,"offset":)" + std::to_string(i) + R"(,"key":null,"payload":")" +
               (i == 2 ? big : "v") + "\"}\n";
  }
  auto src = ReplaySource::open(writeTemp(content));
  std::vector<runtime::Record> records;
  EXPECT_EQ(*(*src)->poll(records, 2, std::chrono::milliseconds(0)), runtime::PollStatus::Ok);
  EXPECT_EQ(records.size(), 2u);
  EXPECT_EQ(*(*src)->poll(records, 2, std::chrono::milliseconds(0)), runtime::PollStatus::Ok);
  EXPECT_EQ(records[2].value->size(), big.size());
  EXPECT_EQ(*(*src)->poll(records, 2, std::chrono::milliseconds(0)), runtime::PollStatus::End);
  EXPECT_EQ(records.size(), 5u);
  EXPECT_EQ(records[4].offset, 4);
}

TEST(ReplaySourceTest, MissingFileIsAClearError) {
  auto src = ReplaySource::open("/nonexistent/events.jsonl");
  ASSERT_FALSE(src.has_value());
  EXPECT_NE(src.error().message.find("/nonexistent/events.jsonl"), std::string::npos);
}

// A position Kafka never gives (a negative offset or partition, an offset that goes back) is a
// malformed line: a dead letter, not a record at a made-up position.
TEST(ReplaySourceTest, PositionsKafkaNeverGivesAreMalformedLines) {
  auto line = [](int64_t partition, int64_t offset) {
    return R"({"topic":"dbserver1.public.products","partition":)" + std::to_string(partition) + R"(,"offset":)" +
           std::to_string(offset) + R"(,"key":null,"payload":"{}"})" + "\n";
  };
  std::string path =
      writeTemp(line(0, 5) + line(0, -3) + line(-1, 7) + line(0, 4) + line(0, 5) + line(1, 4) + line(0, 6) + line(4294967296, 1));
  auto src = ReplaySource::open(path);
  std::vector<runtime::Record> records;
  ASSERT_TRUE((*src)->poll(records, 20, std::chrono::milliseconds(0)).has_value());
  ASSERT_EQ(records.size(), 8u);
  std::vector<std::string> errors;
  for (const auto& r : records) errors.push_back(r.sourceError.value_or(""));
  EXPECT_EQ(errors[0], "");
  EXPECT_EQ(errors[1], "malformed replay line 2: offset -3 is negative");
  EXPECT_EQ(errors[2], "malformed replay line 3: partition -1 is not a Kafka partition number");
  EXPECT_EQ(errors[3],
            "malformed replay line 4: offset 4 of dbserver1.public.products[0] does not follow offset 5 "
            "(offsets increase within a partition)");
  EXPECT_NE(errors[4].find("offset 5 of dbserver1.public.products[0] does not follow offset 5"), std::string::npos);
  EXPECT_EQ(errors[5], "");  // another partition
  EXPECT_EQ(errors[6], "");
  EXPECT_NE(errors[7].find("partition 4294967296 is not a Kafka partition number"), std::string::npos);
  // Malformed lines stand at their line number in the "_replay" topic, with the line as value.
  EXPECT_EQ(records[1].topic, "_replay");
  EXPECT_EQ(records[1].offset, 2);
  EXPECT_EQ(*records[1].value + "\n", line(0, -3));
}

// `cdc produce` reads offsets it does not keep (the topic gives new ones): no position check.
TEST(ReplaySourceTest, WithoutOffsetChecksAnyOffsetIsARecord) {
  std::string path = writeTemp(R"({"topic":"t","partition":0,"offset":5,"key":null,"payload":"{}"})"
                               "\n"
                               R"({"topic":"t","partition":0,"offset":0,"key":null,"payload":"{}"})"
                               "\n"
                               R"({"topic":"t","partition":0,"offset":-1,"key":null,"payload":"{}"})"
                               "\n");
  auto src = ReplaySource::open(path, {}, {}, false);
  std::vector<runtime::Record> records;
  ASSERT_TRUE((*src)->poll(records, 10, std::chrono::milliseconds(0)).has_value());
  ASSERT_EQ(records.size(), 3u);
  for (const auto& r : records) EXPECT_FALSE(r.sourceError.has_value()) << *r.sourceError;
}

// json.dumps and jq write `"topic": "…"` with a space: records of other topics are skipped
// whatever the spacing, and a broken line of another topic is not the consumer's concern.
TEST(ReplaySourceTest, OtherTopicsAreSkippedWhateverTheSpacing) {
  std::string path =
      writeTemp(R"({"topic": "dbserver1.public.orders", "partition": 0, "offset": 1, "key": null, "payload": "{}"})"
                "\n"
                R"({ "topic" : "dbserver1.public.orders" , "partition" : 1, "offset" : 0, "key" : null, "payload" : "{}" })"
                "\n"
                R"({"partition": 0, "offset": 3, "topic": "dbserver1.public.orders", "payload": null})"
                "\n"
                R"({"topic": "dbserver1.public.orders", "partition": "x"})"
                "\n"
                R"({"topic": "dbserver1.public.orders", "partition": 0, "offset": 0, "key": null, "payload": "{}"})"
                "\n"
                R"({"topic": "dbserver1.public.products", "partition": 0, "offset": 9, "key": "{\"id\":1}", "payload": null})"
                "\n"
                R"({"topic": "dbserver1.public.products", "partition": "y"})"
                "\n");
  auto src = ReplaySource::open(path, {"dbserver1.public.products", "dbserver1.public.order_items"});
  ASSERT_TRUE(src.has_value());
  std::vector<runtime::Record> records;
  ASSERT_TRUE((*src)->poll(records, 10, std::chrono::milliseconds(0)).has_value());
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].topic, "dbserver1.public.products");
  EXPECT_EQ(records[0].offset, 9);
  EXPECT_FALSE(records[0].sourceError.has_value());
  ASSERT_TRUE(records[1].sourceError.has_value());  // a broken line of a subscribed topic
  EXPECT_NE(records[1].sourceError->find("partition is not an integer"), std::string::npos) << *records[1].sourceError;
}

}  // namespace
}  // namespace cdc::replay
