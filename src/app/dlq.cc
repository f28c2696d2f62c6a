// cdc dlq: the dead-letter queue (list, replay, purge, export).

#include <cstdio>

#include "app/command.h"
#include "app/services.h"
#include "core/json_writer.h"
#include "core/log.h"
#include "debezium/avro.h"
#include "debezium/decoder.h"
#include "runtime/dead_letter.h"

namespace cdc::app {
namespace {

std::string serviceNames() {
  std::string names;
  for (const auto* s : serviceDefinitions()) names += (names.empty() ? "" : ", ") + s->name;
  return names;
}

// The letters the flags select: --service (a service or its command), --topic, --error,
// --since, --before.
runtime::DeadLetterFilter filterFrom(const config::Config& c) {
  const auto s = c.get<config::DlqSettings>();
  runtime::DeadLetterFilter f;
  if (s.service) {
    const ServiceDefinition* def = findService(*s.service);
    if (!def) throw config::ConfigError("--service: unknown service '" + *s.service + "' (" + serviceNames() + ")");
    f.service = def->name;
  }
  f.topic = s.topic;
  f.errorText = s.error;
  if (s.since) f.since = parseIsoTimestamp(*s.since);
  if (s.before) f.before = parseIsoTimestamp(*s.before);
  if (f.since && f.before && f.before->micros <= f.since->micros) {
    throw config::ConfigError("--before: " + *s.before + " is not after --since " + *s.since);
  }
  return f;
}

// The dead letters the commands read: objects (DLQ_S3_BUCKET with --objects s3), or the
// service's Kafka topic (DLQ=kafka, or the search indexer's by default with Kafka).
struct DeadLetters {
  std::unique_ptr<store::ObjectStore> objects;
  std::unique_ptr<runtime::DeadLetterStore> store;
};

DeadLetters openDeadLetters(const config::Config& c, const runtime::DeadLetterFilter& filter) {
  DeadLetters d;
  const ServiceDefinition* service = filter.service ? findService(*filter.service) : nullptr;
  StoreChoice choice = deadLetterChoice(c, service);
  if (choice.uri == "kafka") {
    d.store = openKafkaDeadLetters(c, service ? service->name : std::string(), false, choice.origin);
  } else {
    d.objects = openObjectStore(c, true);  // DLQ_S3_BUCKET with --objects s3
    d.store = std::make_unique<runtime::ObjectDeadLetterStore>(*d.objects);
  }
  return d;
}

// One letter as a JSON line of `cdc dlq list`; `more` adds fields (a dry run's verdict).
void printLetter(const runtime::DeadLetterStore& store, const runtime::DeadLetter& d,
                 const std::function<void(JsonWriter&)>& more = nullptr) {
  std::string line;
  JsonWriter w(line);
  w.beginObject()
      .field(store.locationName(), d.location)
      .field("service", d.service)
      .field("topic", d.topic)
      .field("partition", d.partition)
      .field("offset", d.offset)
      .field("error", d.error)
      .field("attempts", d.attempts)
      .field("dead_lettered_at", d.deadLetteredAt);
  if (d.firstError) w.field("first_error", *d.firstError);
  if (d.firstDeadLetteredAt) w.field("first_dead_lettered_at", *d.firstDeadLetteredAt);
  if (!d.stage.empty()) w.field("stage", d.stage);
  if (d.traceparent) w.field("traceparent", *d.traceparent);
  if (more) more(w);
  w.endObject();
  line.push_back('\n');
  std::fwrite(line.data(), 1, line.size(), stdout);
}

Command* add(CLI::App& dlq, std::vector<std::unique_ptr<Command>>& commands, const char* name, const char* help) {
  auto cmd = std::make_unique<Command>();
  cmd->name = std::string("dlq ") + name;
  cmd->app = dlq.add_subcommand(name, help);
  bindSettings(*cmd);
  commands.push_back(std::move(cmd));
  return commands.back().get();
}

int list(const config::Config& c) {
  auto filter = filterFrom(c);
  auto dlq = openDeadLetters(c, filter);
  auto letters = dlq.store->list(filter);
  if (!letters) {
    reportError("dlq list", letters.error().message, kExitFailure);
    return kExitFailure;
  }
  for (const auto& d : *letters) printLetter(*dlq.store, d);
  log::report(spdlog::level::info, "dead_letters_listed", std::to_string(letters->size()) + " dead letters",
              {{"dead_letters", std::to_string(letters->size()), true}});
  return kExitOk;
}

int purge(const config::Config& c) {
  auto filter = filterFrom(c);
  if (filter.empty() && !c.get<config::DlqSettings>().all) {
    throw config::ConfigError(
        "dlq purge needs --service, --topic, --error, --since or --before (or --all for every dead letter)");
  }
  const bool dryRun = c.get<config::DlqSettings>().dryRun;
  auto dlq = openDeadLetters(c, filter);
  auto letters = dlq.store->list(filter);
  if (!letters) {
    reportError("dlq purge", letters.error().message, kExitFailure);
    return kExitFailure;
  }
  size_t purged = 0;
  for (const auto& d : *letters) {
    printLetter(*dlq.store, d);
    if (dryRun) continue;
    if (auto s = dlq.store->remove(d, runtime::Resolution::Purged); !s) {
      reportError("dlq purge", d.location + ": " + s.error().message + " (" + std::to_string(purged) + " purged before it)",
                  kExitFailure);
      return kExitFailure;
    }
    ++purged;
  }
  if (!dryRun && purged > 0) {
    // A Kafka topic keeps what was taken out until its records before the first waiting letter
    // are deleted.
    auto reclaimed = dlq.store->reclaim();
    if (!reclaimed) {
      reportError("dlq purge", "purged " + std::to_string(purged) + " dead letters, but " + reclaimed.error().message,
                  kExitFailure);
      return kExitFailure;
    }
    if (!reclaimed->empty()) log::event(spdlog::level::info, "dead_letters_reclaimed", {{"detail", *reclaimed}});
  }
  if (dryRun) {
    log::report(spdlog::level::info, "dead_letters_purged",
                std::to_string(letters->size()) + " dead letters would be purged (dry run: nothing removed)",
                {{"dead_letters", std::to_string(letters->size()), true}, {"dry_run", "true", true}});
  } else {
    log::report(spdlog::level::info, "dead_letters_purged", "purged " + std::to_string(purged) + " dead letters",
                {{"dead_letters", std::to_string(purged), true}});
  }
  return kExitOk;
}

int exportLines(const config::Config& c) {
  auto filter = filterFrom(c);
  auto dlq = openDeadLetters(c, filter);
  auto letters = dlq.store->list(filter);
  if (!letters) {
    reportError("dlq export", letters.error().message, kExitFailure);
    return kExitFailure;
  }
  size_t exported = 0;
  std::vector<std::string> leftOut;
  for (const auto& d : *letters) {
    auto line = runtime::kcatLine(d);
    if (!line) {
      leftOut.push_back(d.location);
      continue;
    }
    line->push_back('\n');
    std::fwrite(line->data(), 1, line->size(), stdout);
    ++exported;
  }
  log::report(spdlog::level::info, "dead_letters_exported",
              "exported " + std::to_string(exported) + " dead letters as kcat lines",
              {{"dead_letters", std::to_string(exported), true}});
  if (!leftOut.empty()) {
    std::string names;
    for (const auto& k : leftOut) names += (names.empty() ? "" : ", ") + k;
    reportError("dlq export",
                std::to_string(leftOut.size()) +
                    " dead letters hold a key or value that is not UTF-8 and cannot be a JSON line: " + names,
                kExitFailure);
    return kExitFailure;
  }
  return kExitOk;
}

// Dry run of a replay: the letters it would take, and whether each decodes now with the
// service's current configuration (a letter that decodes may still be refused when applied,
// an impossible value for instance).
int replayDryRun(const config::Config& c, const ServiceDefinition& def, const runtime::DeadLetterStore& store,
                 std::vector<runtime::DeadLetter>& letters) {
  debezium::Decoder decoder(def.decoding(c));
  ServiceContext schemas;
  openSchemas(c, schemas);
  decoder.useSchemas(schemas.schemas.get());
  size_t decoding = 0;
  debezium::ChangeEvent change;
  for (auto& d : letters) {
    std::optional<std::string_view> key, value;
    std::string padded;
    if (d.key) key = *d.key;
    if (d.value) {
      padded.reserve(d.value->size() + debezium::kDecoderPadding);
      padded.assign(*d.value);
      value = padded;
    }
    if (schemas.schemas) {
      // Avro letters: their schemas first (a registry that does not answer leaves them undecoded).
      std::vector<int32_t> ids;
      for (const auto& bytes : {key, value}) {
        if (auto id = bytes ? debezium::avro::wireSchemaId(*bytes) : std::nullopt) ids.push_back(*id);
      }
      (void)schemas.schemas->load(ids);
    }
    auto decoded = decoder.decode(d.topic, key, value, change, padded.capacity());
    if (decoded) ++decoding;
    printLetter(store, d, [&](JsonWriter& w) {
      w.field("decodes_now", decoded.has_value());
      if (!decoded) w.field("decode_error", decoded.error().message());
    });
  }
  log::report(spdlog::level::info, "dead_letters_replay_planned",
              std::to_string(letters.size()) + " dead letters would be replayed, " + std::to_string(decoding) +
                  " decode now (dry run: nothing applied or removed)",
              {{"dead_letters", std::to_string(letters.size()), true},
               {"decode_now", std::to_string(decoding), true},
               {"dry_run", "true", true}});
  return kExitOk;
}

int replay(const config::Config& c) {
  if (!c.get<config::DlqSettings>().service) throw config::ConfigError("--service is required (" + serviceNames() + ")");
  auto filter = filterFrom(c);
  const ServiceDefinition* def = findService(*filter.service);
  if (c.get<config::DlqSettings>().dryRun) {
    auto dlq = openDeadLetters(c, filter);
    auto letters = dlq.store->list(filter);
    if (!letters) {
      reportError("dlq replay", letters.error().message, kExitFailure);
      return kExitFailure;
    }
    return replayDryRun(c, *def, *dlq.store, *letters);
  }
  // The stores as given (the dead letters are the source: no Kafka rule applies to the
  // stores); a failure is written again where the letter came from.
  Wiring stores{"dlq", tableStoreChoice(c), objectStoreChoice(c), deadLetterChoice(c, def), def->name};
  ServiceContext ctx = openContext(c, stores, def->usesTableStore, def->writesObjects);
  auto letters = ctx.deadLetters().list(filter);
  if (!letters) {
    reportError("dlq replay", letters.error().message, kExitFailure);
    return kExitFailure;
  }
  runtime::DeadLetterSource source(ctx.deadLetters(), std::move(*letters));
  auto handler = def->makeHandler(c, ctx);
  return runService(*def, source, *handler, ctx, c);
}

}  // namespace

void addDlq(CLI::App& app, std::vector<std::unique_ptr<Command>>& commands) {
  auto* dlq = app.add_subcommand("dlq", "Dead letters: messages that could not be processed");
  dlq->require_subcommand(1);
  add(*dlq, commands, "list",
      "List dead letters as JSON lines (object key, topic, partition, offset, error, attempts, first error)")
      ->run = list;
  add(*dlq, commands, "replay",
      "Re-process the dead letters of a service; those that succeed are removed, those that fail again keep their "
      "first error")
      ->run = replay;
  add(*dlq, commands, "purge", "Remove dead letters that will never succeed (listed as they go; --dry-run removes nothing)")
      ->run = purge;
  add(*dlq, commands, "export",
      "Print dead letters as kcat -J lines, for --source file: or cdc produce (headers keep attempts and first error)")
      ->run = exportLines;
}

}  // namespace cdc::app
