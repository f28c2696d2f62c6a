// The records of a Kafka dead-letter topic: what a letter carries (Kafka Connect's context
// headers and ours) and which letters are waiting once markers and rewrites are read.

#include "adapters/kafka/kafka_dead_letters.h"

#include <gtest/gtest.h>

namespace cdc::kafka {
namespace {

const std::string* header(const Headers& headers, std::string_view name) {
  for (const auto& [n, v] : headers) {
    if (n == name) return &v;
  }
  return nullptr;
}

runtime::Record failedRecord(int64_t offset, std::vector<std::pair<std::string, std::string>> headers = {}) {
  runtime::Record r;
  r.topic = "dbserver1.public.products";
  r.partition = 2;
  r.offset = offset;
  r.timestampMs = 1767225600123;
  r.key = R"({"id":7})";
  r.value = "{not json";
  r.headers = std::move(headers);
  return r;
}

// The record of the dead-letter topic a letter becomes when written at `offset` of `partition`.
DeadLetterRecord asRecord(const runtime::DeadLetter& d, int32_t partition, int64_t offset) {
  DeadLetterRecord r;
  r.partition = partition;
  r.offset = offset;
  r.timestampMs = d.timestampMs;
  r.key = d.key;
  r.value = d.value;
  r.headers = deadLetterHeaders(d);
  return r;
}

DeadLetterRecord marker(int32_t partition, int64_t offset, int32_t letterPartition, int64_t letterOffset) {
  DeadLetterRecord r;
  r.partition = partition;
  r.offset = offset;
  r.headers = {{std::string(kResolvesHeader), std::to_string(letterPartition) + "@" + std::to_string(letterOffset)},
               {std::string(kResolutionHeader), "purged"}};
  return r;
}

TEST(KafkaDeadLettersTest, ALetterKeepsTheRecordAndCarriesKafkaConnectsContextHeaders) {
  auto d = runtime::deadLetterOf(
      failedRecord(41, {{"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}, {"source", "pg"}}),
      "search-indexer", "invalid_json: expected a value", "decode", Timestamp::fromMillis(1767225700000));
  Headers h = deadLetterHeaders(d);
  // The record's own headers first, as they were.
  ASSERT_GE(h.size(), 2u);
  EXPECT_EQ(h[0].first, "traceparent");
  EXPECT_EQ(h[1], (std::pair<std::string, std::string>{"source", "pg"}));
  EXPECT_EQ(*header(h, "__connect.errors.topic"), "dbserver1.public.products");
  EXPECT_EQ(*header(h, "__connect.errors.partition"), "2");
  EXPECT_EQ(*header(h, "__connect.errors.offset"), "41");
  EXPECT_EQ(*header(h, "__connect.errors.connector.name"), "search-indexer");
  EXPECT_EQ(*header(h, "__connect.errors.stage"), "decode");
  EXPECT_EQ(*header(h, "__connect.errors.exception.message"), "invalid_json: expected a value");
  EXPECT_EQ(*header(h, "cdc-dlq-attempts"), "1");
  EXPECT_EQ(*header(h, "cdc-dlq-dead-lettered-at"), "2026-01-01T00:01:40Z");
  EXPECT_EQ(header(h, "cdc-dlq-first-error"), nullptr);

  // Read back, it is the same letter, at its place in the topic.
  auto scan = sortOut("search-indexer-dlq", {asRecord(d, 0, 5)}, {{0, 6}});
  ASSERT_EQ(scan.waiting.size(), 1u);
  const auto& back = scan.waiting[0];
  EXPECT_EQ(back.location, "search-indexer-dlq/0@5");
  EXPECT_EQ(back.service, "search-indexer");
  EXPECT_EQ(back.topic, d.topic);
  EXPECT_EQ(back.partition, 2);
  EXPECT_EQ(back.offset, 41);
  EXPECT_EQ(back.timestampMs, 1767225600123);
  EXPECT_EQ(back.key, d.key);
  EXPECT_EQ(back.value, d.value);
  EXPECT_EQ(back.error, d.error);
  EXPECT_EQ(back.stage, "decode");
  EXPECT_EQ(back.deadLetteredAt, d.deadLetteredAt);
  EXPECT_EQ(back.traceparent, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  EXPECT_EQ(back.headers, d.headers);
  EXPECT_EQ(scan.keepFrom.at(0), 5);
}

TEST(KafkaDeadLettersTest, AReplayThatFailsAgainCountsAttemptsAndKeepsTheFirstFailureNotTheOldHeaders) {
  auto first =
      runtime::deadLetterOf(failedRecord(41), "search-indexer", "invalid_json", "decode", Timestamp::fromMillis(1767225700000));
  runtime::TopicInterner topics;
  runtime::Record replayed = runtime::replayRecord(first, topics);
  auto again =
      runtime::deadLetterOf(replayed, "search-indexer", "invalid_json again", "decode", Timestamp::fromMillis(1767312000000));
  EXPECT_EQ(again.attempts, 2);
  EXPECT_EQ(again.firstError, "invalid_json");
  EXPECT_EQ(again.firstDeadLetteredAt, first.deadLetteredAt);
  // The replay's own headers are not kept as the record's: written once each.
  EXPECT_TRUE(again.headers.empty());
  Headers h = deadLetterHeaders(again);
  EXPECT_EQ(std::count_if(h.begin(), h.end(), [](const auto& kv) { return kv.first == "cdc-dlq-attempts"; }), 1);
  EXPECT_EQ(*header(h, "cdc-dlq-attempts"), "2");
  EXPECT_EQ(*header(h, "cdc-dlq-first-error"), "invalid_json");

  // The topic then holds both, and a marker for the first (its replay was committed): the
  // second is the one waiting.
  auto scan = sortOut("dlq", {asRecord(first, 0, 3), asRecord(again, 0, 8), marker(0, 9, 0, 3)}, {{0, 10}});
  ASSERT_EQ(scan.waiting.size(), 1u);
  EXPECT_EQ(scan.waiting[0].location, "dlq/0@8");
  EXPECT_EQ(scan.waiting[0].attempts, 2);
  EXPECT_EQ(scan.keepFrom.at(0), 8);
}

TEST(KafkaDeadLettersTest, ALetterWrittenTwiceIsReadOnceAndAMarkerOnItsLatestTakesItOut) {
  auto a = runtime::deadLetterOf(failedRecord(41), "search-indexer", "bad", "decode", Timestamp::fromMillis(1000));
  auto b = runtime::deadLetterOf(failedRecord(42), "search-indexer", "bad", "decode", Timestamp::fromMillis(1000));
  auto aAgain = runtime::deadLetterOf(failedRecord(41), "search-indexer", "bad", "decode", Timestamp::fromMillis(2000));
  // A crash after writing a's letter and before committing its batch writes it again.
  std::vector<DeadLetterRecord> records{asRecord(a, 0, 0), asRecord(b, 0, 1), asRecord(aAgain, 0, 2)};
  auto scan = sortOut("dlq", records, {{0, 3}});
  ASSERT_EQ(scan.waiting.size(), 2u);
  EXPECT_EQ(scan.waiting[0].location, "dlq/0@1");  // b
  EXPECT_EQ(scan.waiting[1].location, "dlq/0@2");  // a, its latest
  EXPECT_EQ(scan.keepFrom.at(0), 1);               // a's first copy may go

  records.push_back(marker(0, 3, 0, 1));  // b purged
  scan = sortOut("dlq", records, {{0, 4}});
  ASSERT_EQ(scan.waiting.size(), 1u);
  EXPECT_EQ(scan.waiting[0].offset, 41);
  EXPECT_EQ(scan.keepFrom.at(0), 2);

  records.push_back(marker(0, 4, 0, 2));  // a replayed
  scan = sortOut("dlq", records, {{0, 5}, {1, 0}});
  EXPECT_TRUE(scan.waiting.empty());
  EXPECT_EQ(scan.keepFrom.at(0), 5);  // all of it may go
  EXPECT_EQ(scan.keepFrom.at(1), 0);
}

TEST(KafkaDeadLettersTest, LettersOfOtherServicesAreApartAndForeignRecordsAreCountedNotRead) {
  auto mine = runtime::deadLetterOf(failedRecord(41), "search-indexer", "bad", "decode", Timestamp::fromMillis(1000));
  auto theirs = runtime::deadLetterOf(failedRecord(41), "inventory-service", "bad", "decode", Timestamp::fromMillis(1000));
  DeadLetterRecord foreign;
  foreign.partition = 0;
  foreign.offset = 2;
  foreign.value = "something another producer wrote";
  auto scan = sortOut("dlq", {asRecord(mine, 0, 0), asRecord(theirs, 0, 1), foreign}, {{0, 3}});
  ASSERT_EQ(scan.waiting.size(), 2u);  // the same record, dead-lettered by two services
  EXPECT_EQ(scan.waiting[0].service, "search-indexer");
  EXPECT_EQ(scan.waiting[1].service, "inventory-service");
  EXPECT_EQ(scan.foreign, 1u);
  runtime::DeadLetterFilter onlyMine{.service = "search-indexer"};
  EXPECT_TRUE(onlyMine.matches(scan.waiting[0]));
  EXPECT_FALSE(onlyMine.matches(scan.waiting[1]));
}

TEST(KafkaDeadLettersTest, AValueThatIsNotUtf8AndATombstoneKeepTheirBytes) {
  runtime::Record r = failedRecord(7);
  r.value = std::string("\xff\xfe\x00\x01", 4);
  auto d = runtime::deadLetterOf(r, "search-indexer", "not UTF-8", "decode", Timestamp::fromMillis(1000));
  runtime::Record tombstone = failedRecord(8);
  tombstone.value.reset();
  auto t = runtime::deadLetterOf(tombstone, "search-indexer", "key is not JSON", "decode", Timestamp::fromMillis(1000));
  auto scan = sortOut("dlq", {asRecord(d, 0, 0), asRecord(t, 0, 1)}, {{0, 2}});
  ASSERT_EQ(scan.waiting.size(), 2u);
  EXPECT_EQ(scan.waiting[0].value, std::string("\xff\xfe\x00\x01", 4));
  EXPECT_FALSE(scan.waiting[1].value.has_value());
}

}  // namespace
}  // namespace cdc::kafka
