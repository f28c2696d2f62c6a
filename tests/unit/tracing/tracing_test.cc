#include <gtest/gtest.h>

#include <thread>

#include <simdjson.h>

#include <atomic>
#include <condition_variable>
#include <mutex>

#include "adapters/otlp/otlp_exporter.h"
#include "metrics/registry.h"
#include "support/local_http_server.h"
#include "tracing/batch_processor.h"
#include "tracing/otlp_encoding.h"
#include "tracing/sampler.h"
#include "tracing/tracer.h"

namespace cdc::tracing {
namespace {

SpanContext parent(std::string_view traceparent) { return SpanContext::from(*parseTraceParent(traceparent)); }

TEST(SamplerTest, ParentBasedFollowsTheParentsFlagAndRatioKeepsItsShareOfIds) {
  std::string why;
  auto sampler = Sampler::parse("parentbased_traceidratio", "0.25", why);
  ASSERT_TRUE(sampler) << why;
  SpanContext sampled = parent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  SpanContext unsampled = parent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00");
  EXPECT_TRUE(sampled.sampled);
  EXPECT_FALSE(unsampled.sampled);
  EXPECT_TRUE(sampler->sample(&sampled, {1, UINT64_MAX}));  // the parent decides, not the id
  EXPECT_FALSE(sampler->sample(&unsampled, {1, 0}));
  // Roots: ids spread evenly over the lower half, a quarter of them kept.
  int kept = 0;
  for (uint64_t i = 0; i < 1000; ++i) kept += sampler->sample(nullptr, {7, i * (UINT64_MAX / 1000) + UINT64_MAX / 2000}) ? 1 : 0;
  EXPECT_EQ(kept, 250);
  auto plain = Sampler::parse("traceidratio", "0", why);
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->sample(&sampled, {1, 0}));  // not parent-based: the ratio alone
  EXPECT_FALSE(Sampler::parse("sometimes", "", why));
  EXPECT_NE(why.find("parentbased_always_on"), std::string::npos);
  EXPECT_FALSE(Sampler::parse("traceidratio", "1.5", why));
  EXPECT_FALSE(Sampler::parse("traceidratio", "half", why));
  EXPECT_EQ(Sampler().describe(), "parentbased_always_on");
}

TEST(SpanContextTest, ATraceparentComesBackAsItWent) {
  auto c = parent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  EXPECT_TRUE(c.remote);
  EXPECT_EQ(hex(c.traceId), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(hex(c.spanId), "00f067aa0ba902b7");
  EXPECT_EQ(c.traceparent(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
}

// A finished span with every kind of attribute, a link and an error.
SpanData sampleSpan() {
  SpanData s;
  s.context = {{0x0102030405060708, 0x090a0b0c0d0e0f10}, 0x1112131415161718, true, false};
  s.parentSpanId = 0x2122232425262728;
  s.parentRemote = true;
  s.name = "process dbserver1.public.products";
  s.kind = SpanKind::Consumer;
  s.startNs = 1767225600000000000;
  s.endNs = 1767225600001000000;
  s.attributes = {{"messaging.system", std::string("kafka")},
                  {"messaging.kafka.offset", int64_t{42}},
                  {"ratio", 0.5},
                  {"messaging.kafka.message.tombstone", true},
                  {"aws.dynamodb.table_names", std::vector<std::string>{"a", "b"}}};
  s.links = {parent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")};
  s.status = StatusCode::Error;
  s.statusMessage = "not JSON";
  return s;
}

TEST(OtlpEncodingTest, TheJsonMappingHasHexIdsStringIntegersAndNumberedEnums) {
  SpanData s = sampleSpan();
  std::string body = encodeJson({{"service.name", "inventory-service"}}, "cdc", "1.0", {&s, 1});
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(body).get(doc), simdjson::SUCCESS) << body;
  auto rs = doc["resourceSpans"].at(0);
  EXPECT_EQ(std::string_view(rs["resource"]["attributes"].at(0)["value"]["stringValue"]), "inventory-service");
  auto ss = rs["scopeSpans"].at(0);
  EXPECT_EQ(std::string_view(ss["scope"]["name"]), "cdc");
  auto span = ss["spans"].at(0);
  EXPECT_EQ(std::string_view(span["traceId"]), "0102030405060708090a0b0c0d0e0f10");
  EXPECT_EQ(std::string_view(span["spanId"]), "1112131415161718");
  EXPECT_EQ(std::string_view(span["parentSpanId"]), "2122232425262728");
  EXPECT_EQ(int64_t(span["kind"]), 5);
  EXPECT_EQ(std::string_view(span["startTimeUnixNano"]), "1767225600000000000");
  EXPECT_EQ(int64_t(span["flags"]), 0x301);  // sampled, the parent known to be remote
  auto attrs = span["attributes"];
  EXPECT_EQ(std::string_view(attrs.at(0)["value"]["stringValue"]), "kafka");
  EXPECT_EQ(std::string_view(attrs.at(1)["value"]["intValue"]), "42");
  EXPECT_EQ(double(attrs.at(2)["value"]["doubleValue"]), 0.5);
  EXPECT_EQ(bool(attrs.at(3)["value"]["boolValue"]), true);
  EXPECT_EQ(std::string_view(attrs.at(4)["value"]["arrayValue"]["values"].at(1)["stringValue"]), "b");
  EXPECT_EQ(std::string_view(span["links"].at(0)["spanId"]), "00f067aa0ba902b7");
  EXPECT_EQ(int64_t(span["status"]["code"]), 2);
  EXPECT_EQ(std::string_view(span["status"]["message"]), "not JSON");
}

TEST(OtlpEncodingTest, TheProtobufHasTheFieldsWhereTheProtoPutsThem) {
  SpanData s = sampleSpan();
  std::string body = encodeProtobuf({{"service.name", "svc"}}, "cdc", "1.0", {&s, 1});
  // resource_spans (1, length-delimited), its resource (1) with one attribute (1): key (1) …
  ASSERT_GT(body.size(), 100u);
  EXPECT_EQ(static_cast<uint8_t>(body[0]), 0x0a);
  auto at = body.find(std::string("\x0a\x10\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10", 18));
  EXPECT_NE(at, std::string::npos) << "trace_id (field 1, 16 bytes) of the span";
  EXPECT_NE(body.find(std::string("\x12\x08\x11\x12\x13\x14\x15\x16\x17\x18", 10)), std::string::npos) << "span_id (2)";
  EXPECT_NE(body.find(std::string("\x22\x08\x21\x22\x23\x24\x25\x26\x27\x28", 10)), std::string::npos) << "parent_span_id (4)";
  EXPECT_NE(body.find(std::string("\x30\x05", 2)), std::string::npos) << "kind (6) = CONSUMER";
  // start_time_unix_nano (7) as fixed64, little-endian.
  uint64_t start = 1767225600000000000;
  std::string fixed = "\x39";
  for (int i = 0; i < 8; ++i) fixed.push_back(static_cast<char>((start >> (8 * i)) & 0xff));
  EXPECT_NE(body.find(fixed), std::string::npos);
  EXPECT_NE(body.find("\x12\x02\x18\x2a"), std::string::npos) << "offset 42: KeyValue.value (2) with int_value (3)";
  EXPECT_NE(body.find(std::string("\x7a\x0c\x12\x08not JSON\x18\x02", 14)), std::string::npos) << "status (15)";
}

// An exporter a test holds up, to play a collector that is down or slow.
class HeldExporter final : public SpanExporter {
 public:
  Status exportSpans(std::span<const SpanData> spans) override {
    std::unique_lock lock(mutex_);
    entered = true;
    changed_.notify_all();
    changed_.wait(lock, [&] { return released; });
    received += spans.size();
    return failing ? fail(Error::retry("refused")) : Status{};
  }
  std::string describe() const override { return "a held exporter"; }
  void release() {
    std::lock_guard lock(mutex_);
    released = true;
    changed_.notify_all();
  }
  void waitEntered() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return entered; });
  }
  bool hasEntered() {
    std::lock_guard lock(mutex_);
    return entered;
  }
  bool entered = false, released = false, failing = false;
  size_t received = 0;

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
};

SpanData numbered(int i) {
  SpanData s = sampleSpan();
  s.context.spanId = static_cast<uint64_t>(i + 1);
  return s;
}

TEST(BatchSpanProcessorTest, ACollectorThatDoesNotAnswerCostsDroppedSpansNotAWait) {
  auto exporter = std::make_unique<HeldExporter>();
  HeldExporter* held = exporter.get();
  BatchSpanProcessor processor(std::move(exporter),
                               {.maxQueueSize = 8, .maxExportBatchSize = 4, .scheduleDelay = std::chrono::hours(1)});
  // The first full batch goes to the exporter, which does not come back.
  for (int i = 0; i < 4; ++i) processor.onEnd(numbered(i));
  held->waitEntered();
  // Meanwhile the queue fills (8) and the rest are dropped: onEnd never waits for the exporter.
  for (int i = 4; i < 24; ++i) processor.onEnd(numbered(i));
  EXPECT_EQ(processor.counts().droppedQueueFull.load(), 12u);
  EXPECT_EQ(processor.counts().queued.load(), 8u);
  held->release();
  EXPECT_TRUE(processor.flush(std::chrono::seconds(10)));
  EXPECT_EQ(processor.counts().exported.load(), 12u);
  EXPECT_EQ(held->received, 12u);
}

TEST(BatchSpanProcessorTest, AFailedExportDropsItsSpansAndTheNextOnesStillGo) {
  auto exporter = std::make_unique<HeldExporter>();
  HeldExporter* held = exporter.get();
  held->failing = true;
  held->release();
  BatchSpanProcessor processor(std::move(exporter), {.maxQueueSize = 16, .maxExportBatchSize = 4});
  for (int i = 0; i < 6; ++i) processor.onEnd(numbered(i));
  EXPECT_FALSE(processor.flush(std::chrono::seconds(10)) && processor.counts().exported.load() == 6);
  EXPECT_EQ(processor.counts().droppedExportFailed.load(), 6u);
  EXPECT_EQ(processor.counts().failedExports.load(), 2u);
  held->failing = false;
  processor.onEnd(numbered(7));
  processor.stop();  // exports what is queued
  EXPECT_EQ(processor.counts().exported.load(), 1u);
  processor.onEnd(numbered(8));  // after the stop: dropped
  EXPECT_EQ(processor.counts().droppedQueueFull.load(), 1u);
}

TEST(BatchSpanProcessorTest, QueuedSpansGoOutWhenTheScheduleDelayHasPassedOnItsClock) {
  ManualTime time;
  auto exporter = std::make_unique<HeldExporter>();
  HeldExporter* held = exporter.get();
  BatchSpanProcessor processor(
      std::move(exporter),
      {.maxQueueSize = 16, .maxExportBatchSize = 8, .scheduleDelay = std::chrono::seconds(5), .time = &time});
  // An empty flush: the thread has started, and its schedule counts from now on its clock.
  ASSERT_TRUE(processor.flush(std::chrono::seconds(10)));
  for (int i = 0; i < 3; ++i) processor.onEnd(numbered(i));
  time.advance(std::chrono::milliseconds(4999));
  // The thread looks at its clock every 100 ms: three looks, and still short of the delay.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(held->hasEntered());
  time.advance(std::chrono::milliseconds(1));
  held->waitEntered();  // the export starts once the clock has reached the delay
  held->release();
  ASSERT_TRUE(processor.flush(std::chrono::seconds(10)));
  EXPECT_EQ(processor.counts().exported.load(), 3u);
  EXPECT_EQ(processor.counts().exports.load(), 1u);
}

TEST(OtlpHttpExporterTest, PostsProtobufRetriesWhatOtlpCallsRetryableAndGivesUpOnTheRest) {
  test::LocalHttpServer receiver;
  std::atomic<int> calls{0};
  std::string contentType, encoding, apiKey, body;
  std::atomic<int> answer{503};
  receiver.server.Post("/v1/traces", [&](const httplib::Request& req, httplib::Response& res) {
    ++calls;
    contentType = req.get_header_value("Content-Type");
    encoding = req.get_header_value("Content-Encoding");
    apiKey = req.get_header_value("x-api-key");
    body = req.body;
    int status = answer.load();
    if (status == 503) answer = 200;  // one refusal, then accepted
    res.status = status;
  });
  receiver.start();
  otlp::OtlpOptions o;
  o.endpoint = receiver.url("/v1/traces");
  o.gzip = true;
  o.headers = {{"x-api-key", "secret"}};
  o.timeout = std::chrono::seconds(5);
  o.resource = {{"service.name", "svc"}};
  otlp::OtlpHttpExporter exporter(o);
  SpanData s = sampleSpan();
  ASSERT_TRUE(exporter.exportSpans({&s, 1}));
  EXPECT_EQ(calls.load(), 2);
  EXPECT_EQ(contentType, "application/x-protobuf");
  EXPECT_EQ(encoding, "gzip");
  EXPECT_EQ(apiKey, "secret");
  // The receiver (cpp-httplib) took the body out of its gzip: the protobuf request.
  EXPECT_EQ(body, encodeProtobuf(o.resource, "cdc-consumer-services", metrics::buildVersion(), {&s, 1}));

  answer = 400;  // a refusal OTLP does not retry
  auto refused = exporter.exportSpans({&s, 1});
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("HTTP 400"), std::string::npos);
  EXPECT_EQ(calls.load(), 3);
}

TEST(OtlpHttpExporterTest, AReceiverThatIsDownFailsTheExportWithinItsTimeout) {
  otlp::OtlpOptions o;
  o.endpoint = "http://127.0.0.1:1/v1/traces";
  o.json = true;
  o.timeout = std::chrono::milliseconds(300);
  otlp::OtlpHttpExporter exporter(o);
  SpanData s = sampleSpan();
  auto r = exporter.exportSpans({&s, 1});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::Retry);
  EXPECT_THROW(otlp::OtlpHttpExporter({.endpoint = "collector:4318"}), std::invalid_argument);
}

}  // namespace
}  // namespace cdc::tracing
