// The runner's spans (BatchTrace): a batch's, its records', its store calls' and its commit's.

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <mutex>

#include "adapters/localfs/dir_object_store.h"
#include "runtime/runner.h"
#include "store/timed_store.h"
#include "support/item_records.h"
#include "support/vector_source.h"
#include "tracing/tracer.h"

namespace cdc::runtime {
namespace {

namespace fs = std::filesystem;
using test::item;
using tracing::SpanData;

// Keeps the spans that end.
class CollectingSink final : public tracing::SpanSink {
 public:
  void onEnd(SpanData&& span) override {
    std::lock_guard lock(mutex_);
    spans.push_back(std::move(span));
  }
  std::vector<const SpanData*> named(std::string_view name) const {
    std::vector<const SpanData*> out;
    for (const auto& s : spans) {
      if (s.name == name) out.push_back(&s);
    }
    return out;
  }
  std::vector<SpanData> spans;

 private:
  std::mutex mutex_;
};

const tracing::Value* attribute(const SpanData& s, std::string_view key) {
  for (const auto& a : s.attributes) {
    if (a.key == key) return &a.value;
  }
  return nullptr;
}

std::string text(const SpanData& s, std::string_view key) {
  const auto* v = attribute(s, key);
  return v && std::holds_alternative<std::string>(*v) ? std::get<std::string>(*v) : "";
}

int64_t number(const SpanData& s, std::string_view key) {
  const auto* v = attribute(s, key);
  return v && std::holds_alternative<int64_t>(*v) ? std::get<int64_t>(*v) : -1;
}

// Writes one object per batch (a store round) and remembers the trace context each event came
// with; its tick writes an object when told to.
class ObjectHandler final : public Handler {
 public:
  explicit ObjectHandler(store::ObjectStore& objects) : objects_(objects) {}
  std::string_view serviceName() const override { return "test-service"; }
  debezium::DecoderOptions decoderOptions() const override { return test::itemColumns(); }
  Status apply(std::span<const InputEvent> events, std::vector<Rejection>& rejected) override {
    for (const auto& e : events) traces.push_back(e.trace ? e.trace->traceparent() : "");
    return objects_.put("batch-" + std::to_string(++batches) + ".json", "{}", "application/json");
  }
  Status tick(Timestamp) override {
    if (!tickWrites) return {};
    return objects_.put("tick.json", "{}", "application/json");
  }
  std::vector<std::string> traces;  // by event, in order
  int batches = 0;
  bool tickWrites = false;

 private:
  store::ObjectStore& objects_;
};

constexpr std::string_view kA = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
constexpr std::string_view kB = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
constexpr std::string_view kUnsampled = "00-11111111111111111111111111111111-2222222222222222-00";

Record traced(Record r, std::string_view traceparent) {
  r.headers.emplace_back("traceparent", std::string(traceparent));
  return r;
}

class RunnerTracingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("cdc-tracing-" + std::to_string(::getpid()) + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    objects_ = store::timed(std::make_unique<localfs::DirObjectStore>(root_ / "objects"), "directory");
    deadLetters_ = std::make_unique<localfs::DirObjectStore>(root_ / "dead");
    options_.batchSize = 100;
    options_.retryInitial = std::chrono::milliseconds(1);
    options_.consumerGroup = "test-group";
  }
  void TearDown() override { fs::remove_all(root_); }

  void run(std::vector<Record> records, ObjectHandler& handler, tracing::Sampler sampler = {}) {
    tracing::Tracer tracer({sampler}, sink_);
    options_.tracer = &tracer;
    test::VectorSource source(std::move(records));
    Runner runner(source, handler, *deadLetters_, options_, stop_);
    auto stats = runner.run();
    ASSERT_TRUE(stats.has_value()) << stats.error().message;
    invalid_ = tracer.invalidParents();
  }

  fs::path root_;
  std::unique_ptr<store::ObjectStore> objects_;
  std::unique_ptr<store::ObjectStore> deadLetters_;
  RunnerOptions options_;
  std::atomic<bool> stop_{false};
  CollectingSink sink_;
  uint64_t invalid_ = 0;
};

TEST_F(RunnerTracingTest, ARecordOfASampledTraceGetsASpanUnderItsParentAndTheBatchLinksThemAll) {
  ObjectHandler handler(*objects_);
  run({traced(item(0, 0, 1, 1), kA), item(0, 1, 2, 1), traced(item(1, 7, 3, 1), kB), traced(item(1, 8, 4, 1), kUnsampled),
       traced(item(1, 9, 5, 1), "00-not-a-trace")},
      handler);
  auto records = sink_.named("process dbserver1.public.order_items");
  // The batch's span and the spans of the three records with a sampled (or a new) trace.
  ASSERT_EQ(records.size(), 4u);
  const SpanData* batch = nullptr;
  std::map<int64_t, const SpanData*> byOffset;
  for (const auto* s : records) {
    if (number(*s, "messaging.batch.message_count") == 5) {
      batch = s;
    } else {
      byOffset[number(*s, "messaging.kafka.offset")] = s;
    }
  }
  ASSERT_NE(batch, nullptr);
  // Many parents: the batch is a root with a link to each (the unsampled one included).
  EXPECT_EQ(batch->parentSpanId, 0u);
  EXPECT_EQ(batch->links.size(), 3u);
  EXPECT_EQ(batch->kind, tracing::SpanKind::Consumer);
  EXPECT_EQ(text(*batch, "messaging.system"), "kafka");
  EXPECT_EQ(text(*batch, "messaging.operation.type"), "process");
  EXPECT_EQ(text(*batch, "messaging.consumer.group.name"), "test-group");
  EXPECT_EQ(text(*batch, "messaging.destination.name"), "dbserver1.public.order_items");

  ASSERT_EQ(byOffset.size(), 3u);
  const SpanData& a = *byOffset.at(0);
  EXPECT_EQ(tracing::hex(a.context.traceId), "0af7651916cd43dd8448eb211c80319c");
  EXPECT_EQ(tracing::hex(a.parentSpanId), "b7ad6b7169203331");
  EXPECT_TRUE(a.parentRemote);
  EXPECT_EQ(text(a, "messaging.destination.partition.id"), "0");
  EXPECT_EQ(text(a, "messaging.consumer.group.name"), "test-group");
  ASSERT_EQ(a.links.size(), 1u);
  EXPECT_EQ(a.links[0].spanId, batch->context.spanId);
  const SpanData& b = *byOffset.at(7);
  EXPECT_EQ(tracing::hex(b.parentSpanId), "00f067aa0ba902b7");
  EXPECT_EQ(text(b, "messaging.destination.partition.id"), "1");
  // The malformed traceparent started a trace of its own (a root), and was counted.
  const SpanData& fresh = *byOffset.at(9);
  EXPECT_EQ(fresh.parentSpanId, 0u);
  EXPECT_NE(fresh.context.traceId, a.context.traceId);
  EXPECT_EQ(invalid_, 1u);

  // What the handler saw: each traced record's own span, to carry on (an alert's header).
  ASSERT_EQ(handler.traces.size(), 5u);
  EXPECT_EQ(handler.traces[0], a.context.traceparent());
  EXPECT_EQ(handler.traces[1], "");
  EXPECT_EQ(handler.traces[2], b.context.traceparent());
  EXPECT_EQ(handler.traces[3], "");  // not sampled: no span of ours
  EXPECT_EQ(handler.traces[4], fresh.context.traceparent());

  // The store round and the commit happened under the batch.
  auto puts = sink_.named("PutObject");
  ASSERT_EQ(puts.size(), 1u);
  EXPECT_EQ(puts[0]->parentSpanId, batch->context.spanId);
  EXPECT_EQ(puts[0]->context.traceId, batch->context.traceId);
  EXPECT_EQ(puts[0]->kind, tracing::SpanKind::Client);
  EXPECT_EQ(text(*puts[0], "db.operation.name"), "PutObject");
  EXPECT_EQ(text(*puts[0], "cdc.store.backend"), "directory");
  EXPECT_EQ(text(*puts[0], "aws.s3.key"), "batch-1.json");
  auto commits = sink_.named("commit");
  ASSERT_EQ(commits.size(), 1u);
  EXPECT_EQ(commits[0]->parentSpanId, batch->context.spanId);
  EXPECT_EQ(text(*commits[0], "messaging.operation.type"), "settle");
  EXPECT_GE(batch->endNs, puts[0]->endNs);
}

TEST_F(RunnerTracingTest, ABatchWhoseRecordsShareOneParentIsItsChild) {
  ObjectHandler handler(*objects_);
  run({traced(item(0, 0, 1, 1), kA), traced(item(0, 1, 2, 1), kA)}, handler);
  const SpanData* batch = nullptr;
  for (const auto* s : sink_.named("process dbserver1.public.order_items")) {
    if (number(*s, "messaging.batch.message_count") == 2) batch = s;
  }
  ASSERT_NE(batch, nullptr);
  EXPECT_EQ(tracing::hex(batch->context.traceId), "0af7651916cd43dd8448eb211c80319c");
  EXPECT_EQ(tracing::hex(batch->parentSpanId), "b7ad6b7169203331");
  EXPECT_TRUE(batch->links.empty());
}

TEST_F(RunnerTracingTest, ADeadLetterMarksItsRecordsSpanAsAnError) {
  ObjectHandler handler(*objects_);
  Record garbage = traced(item(0, 0, 1, 1), kA);
  garbage.value = "{\"id\":";
  run({garbage, traced(item(0, 1, 2, 1), kB)}, handler);
  std::map<int64_t, const SpanData*> byOffset;
  for (const auto* s : sink_.named("process dbserver1.public.order_items")) {
    if (number(*s, "messaging.kafka.offset") >= 0) byOffset[number(*s, "messaging.kafka.offset")] = s;
  }
  ASSERT_EQ(byOffset.size(), 2u);
  EXPECT_EQ(byOffset[0]->status, tracing::StatusCode::Error);
  EXPECT_EQ(text(*byOffset[0], "error.type"), "decode");
  EXPECT_FALSE(byOffset[0]->statusMessage.empty());
  EXPECT_EQ(byOffset[1]->status, tracing::StatusCode::Unset);
  // The dead letter's own write is a store call under the batch too (the batch counts it).
  for (const auto* s : sink_.named("process dbserver1.public.order_items")) {
    if (number(*s, "messaging.batch.message_count") == 2) {
      EXPECT_EQ(number(*s, "cdc.dead_letters"), 1);
    }
  }
}

TEST_F(RunnerTracingTest, ATickIsASpanOnlyWhenItWroteSomething) {
  options_.tickInterval = std::chrono::milliseconds(0);
  ObjectHandler idle(*objects_);
  run({item(0, 0, 1, 1)}, idle);
  EXPECT_TRUE(sink_.named("tick").empty());
  ObjectHandler writing(*objects_);
  writing.tickWrites = true;
  run({item(0, 0, 1, 1)}, writing);
  auto ticks = sink_.named("tick");
  ASSERT_FALSE(ticks.empty());
  bool under = false;
  for (const auto* s : sink_.named("PutObject")) under = under || s->parentSpanId == ticks[0]->context.spanId;
  EXPECT_TRUE(under);
}

TEST_F(RunnerTracingTest, TheSamplerOffRecordsNothingAndTheRecordsStillGoThrough) {
  ObjectHandler handler(*objects_);
  std::string why;
  run({traced(item(0, 0, 1, 1), kA), item(0, 1, 2, 1)}, handler, *tracing::Sampler::parse("always_off", "", why));
  EXPECT_TRUE(sink_.spans.empty());
  EXPECT_EQ(handler.batches, 1);
  EXPECT_EQ(handler.traces.size(), 2u);
}

}  // namespace
}  // namespace cdc::runtime
