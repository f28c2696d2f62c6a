// cdc produce: kcat -J lines into Kafka, each record to its own topic and partition.

#include <chrono>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "adapters/kafka/kafka_producer.h"
#include "adapters/replay/replay_source.h"
#include "app/services.h"
#include "core/log.h"
#include "core/time.h"

namespace cdc::app {

namespace {

// What a run of cdc produce sent.
struct Produced {
  uint64_t records = 0;
  uint64_t unreadable = 0;  // lines that are no record, logged one by one
  uint64_t bytes = 0;
  std::set<std::string, std::less<>> topics;
};

// An idempotent producer for the configured brokers; a broker that stops answering mid-run
// fails the messages waiting for it after KAFKA_BROKER_TIMEOUT.
std::unique_ptr<kafka::KafkaProducer> openProducer(const config::Config& c) {
  kafka::Properties props = kafkaProperties(c);
  kafka::setDefault(props, "client.id", "cdc-produce");
  kafka::setDefault(props, "linger.ms", "20");
  kafka::setDefault(props, "message.timeout.ms", std::to_string(c.get<config::KafkaSettings>().brokerTimeout * 1000));
  auto producer = kafka::KafkaProducer::open(std::move(props));
  if (!producer) throw config::ConfigError(producer.error().message);
  return std::move(*producer);
}

// Every record of the source to its topic and partition, at most `rate` a second (0: no cap):
// record n leaves no earlier than n / rate seconds after `started`.
Status produceAll(runtime::Source& source, kafka::KafkaProducer& producer, int64_t rate,
                  std::chrono::steady_clock::time_point started, Produced& out) {
  std::vector<runtime::Record> batch;
  while (true) {
    batch.clear();
    auto polled = source.poll(batch, 10'000, std::chrono::milliseconds(200));  // a quiet pipe: wait a little
    if (!polled) return fail(polled.error());
    for (const auto& r : batch) {
      if (r.sourceError) {
        ++out.unreadable;
        log::event(spdlog::level::err, "unreadable_line", {{"line", std::to_string(r.offset), true}, {"error", *r.sourceError}});
        continue;
      }
      if (rate > 0) {
        auto due = started + std::chrono::nanoseconds(static_cast<int64_t>(out.records * 1e9 / static_cast<double>(rate)));
        if (due > systemTime().steady()) std::this_thread::sleep_until(due);
      }
      kafka::OutgoingMessage m{.topic = r.topic, .partition = r.partition, .headers = r.headers};
      if (r.key) m.key = *r.key;
      if (r.value) m.value = *r.value;
      if (auto s = producer.produce(m); !s) return s;
      ++out.records;
      out.bytes += r.value ? r.value->size() : 0;
      if (!out.topics.contains(r.topic)) out.topics.emplace(r.topic);
    }
    if (*polled == runtime::PollStatus::End) return {};
  }
}

int produce(const config::Config& c) {
  const auto kafka = c.get<config::KafkaSettings>();
  const auto settings = c.get<config::ProduceSettings>();
  if (!kafka.bootstrapServers) throw config::ConfigError("KAFKA_BOOTSTRAP_SERVERS (or --bootstrap-servers) is not set");
  auto source = replay::ReplaySource::open(settings.input, {}, {}, /*offsets=*/false);  // the topic gives new ones
  if (!source) throw config::ConfigError("--input: " + source.error().message);
  auto producer = openProducer(c);
  // Nothing is read before the brokers answer (and --rate starts its pace then: the messages
  // queued while the producer connects would otherwise go out in one burst).
  const std::chrono::seconds brokerTimeout(kafka.brokerTimeout);
  if (!producer->connected(brokerTimeout)) {
    std::string why = producer->lastError();
    reportError("produce",
                fmt::format("the Kafka brokers at {} did not answer within {} s (KAFKA_BROKER_TIMEOUT){}{}",
                            *kafka.bootstrapServers, brokerTimeout.count(), why.empty() ? "" : ": ", why),
                kExitFailure);
    return kExitFailure;
  }
  const auto started = systemTime().steady();
  Produced sent;
  if (auto s = produceAll(**source, *producer, settings.rate, started, sent); !s) {
    reportError("produce", s.error().message, kExitFailure);
    return kExitFailure;
  }
  auto flushed = producer->flush(std::chrono::minutes(2));
  double secs = std::chrono::duration<double>(systemTime().steady() - started).count();
  log::report(
      spdlog::level::info, "produce_summary",
      fmt::format("cdc produce: {} records ({:.1f} MB) to {} topics in {:.2f} s ({:.0f}/s), {} delivered, {} unreadable lines",
                  sent.records, sent.bytes / 1e6, sent.topics.size(), secs, sent.records / std::max(secs, 1e-9),
                  producer->delivered(), sent.unreadable),
      {{"records", std::to_string(sent.records), true},
       {"delivered", std::to_string(producer->delivered()), true},
       {"unreadable_lines", std::to_string(sent.unreadable), true}});
  if (!flushed) {
    reportError("produce", flushed.error().message, kExitFailure);
    return kExitFailure;
  }
  return sent.unreadable == 0 ? kExitOk : kExitFailure;
}

}  // namespace

void addProduce(CLI::App& app, std::vector<std::unique_ptr<Command>>& commands) {
  auto cmd = std::make_unique<Command>();
  cmd->name = "produce";
  cmd->app = app.add_subcommand(
      "produce",
      "Produce kcat -J lines (a replay file, a topic dump, `cdc generate`) to Kafka: each record to its topic and "
      "partition, with its key, value (null: tombstone) and headers");
  bindSettings(*cmd);
  cmd->run = produce;
  commands.push_back(std::move(cmd));
}

}  // namespace cdc::app
