// cdc produce: kcat -J lines into Kafka, each record to its own topic and partition.

#include <chrono>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "adapters/kafka/kafka_producer.h"
#include "adapters/replay/replay_source.h"
#include "app/services.h"
#include "core/log.h"

namespace cdc::app {

void addProduce(CLI::App& app, std::vector<std::unique_ptr<Command>>& commands) {
  auto cmd = std::make_unique<Command>();
  cmd->name = "produce";
  cmd->app = app.add_subcommand(
      "produce",
      "Produce kcat -J lines (a replay file, a topic dump, `cdc generate`) to Kafka: each record to its topic and "
      "partition, with its key, value (null: tombstone) and headers");
  bindSettings(*cmd);
  cmd->run = [](const config::Config& c) {
    if (!c.has("bootstrap-servers")) throw config::ConfigError("KAFKA_BOOTSTRAP_SERVERS (or --bootstrap-servers) is not set");
    auto source = replay::ReplaySource::open(c.str("input"), {}, {}, /*offsets=*/false);  // the topic gives new ones
    if (!source) throw config::ConfigError("--input: " + source.error().message);
    kafka::Properties props = app::kafkaProperties(c);
    kafka::setDefault(props, "client.id", "cdc-produce");
    kafka::setDefault(props, "linger.ms", "20");
    // A broker that stops answering mid-run fails the messages waiting for it after the same time.
    const std::chrono::seconds brokerTimeout(c.integer("broker-timeout"));
    kafka::setDefault(props, "message.timeout.ms", std::to_string(brokerTimeout.count() * 1000));
    const std::string& servers = c.str("bootstrap-servers");
    auto producer = kafka::KafkaProducer::open(std::move(props));
    if (!producer) throw config::ConfigError(producer.error().message);

    // Nothing is read before the brokers answer (and --rate starts its pace then: the messages
    // queued while the producer connects would otherwise go out in one burst).
    if (!(*producer)->connected(brokerTimeout)) {
      std::string why = (*producer)->lastError();
      reportError("produce",
                  fmt::format("the Kafka brokers at {} did not answer within {} s (KAFKA_BROKER_TIMEOUT){}{}", servers,
                              brokerTimeout.count(), why.empty() ? "" : ": ", why),
                  kExitFailure);
      return kExitFailure;
    }
    const int64_t rate = c.integer("rate");
    auto started = std::chrono::steady_clock::now();
    uint64_t records = 0, unreadable = 0, bytes = 0;
    // --rate: record n leaves no earlier than n / rate seconds after the start.
    auto pace = [&] {
      if (rate <= 0) return;
      auto due = started + std::chrono::nanoseconds(static_cast<int64_t>(records * 1e9 / static_cast<double>(rate)));
      if (due > std::chrono::steady_clock::now()) std::this_thread::sleep_until(due);
    };
    std::set<std::string, std::less<>> topics;
    std::vector<runtime::Record> batch;
    while (true) {
      batch.clear();
      auto polled = (*source)->poll(batch, 10'000, std::chrono::milliseconds(200));  // a quiet pipe: wait a little
      if (!polled) {
        reportError("produce", polled.error().message, kExitFailure);
        return kExitFailure;
      }
      for (const auto& r : batch) {
        if (r.sourceError) {
          ++unreadable;
          log::event(spdlog::level::err, "unreadable_line",
                     {{"line", std::to_string(r.offset), true}, {"error", *r.sourceError}});
          continue;
        }
        pace();
        kafka::OutgoingMessage m{.topic = r.topic, .partition = r.partition, .headers = r.headers};
        if (r.key) m.key = *r.key;
        if (r.value) m.value = *r.value;
        if (auto s = (*producer)->produce(m); !s) {
          reportError("produce", s.error().message, kExitFailure);
          return kExitFailure;
        }
        ++records;
        bytes += r.value ? r.value->size() : 0;
        if (!topics.contains(r.topic)) topics.emplace(r.topic);
      }
      if (*polled == runtime::PollStatus::End) break;
    }
    auto flushed = (*producer)->flush(std::chrono::minutes(2));
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    log::report(
        spdlog::level::info, "produce_summary",
        fmt::format("cdc produce: {} records ({:.1f} MB) to {} topics in {:.2f} s ({:.0f}/s), {} delivered, {} unreadable lines",
                    records, bytes / 1e6, topics.size(), secs, records / std::max(secs, 1e-9), (*producer)->delivered(),
                    unreadable),
        {{"records", std::to_string(records), true},
         {"delivered", std::to_string((*producer)->delivered()), true},
         {"unreadable_lines", std::to_string(unreadable), true}});
    if (!flushed) {
      reportError("produce", flushed.error().message, kExitFailure);
      return kExitFailure;
    }
    return unreadable == 0 ? kExitOk : kExitFailure;
  };
  commands.push_back(std::move(cmd));
}

}  // namespace cdc::app
