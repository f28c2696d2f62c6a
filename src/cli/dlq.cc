// cdc dlq: the dead-letter queue.

#include <cstdio>

#include "cli/command.h"
#include "core/log.h"
#include "core/json_writer.h"
#include "runtime/dead_letter.h"

namespace cdc::cli {

void addDlq(CLI::App& app, std::vector<std::unique_ptr<Command>>& commands) {
  auto* dlq = app.add_subcommand("dlq", "Dead letters: messages that could not be processed");
  dlq->require_subcommand(1);
  auto cmd = std::make_unique<Command>();
  cmd->name = "dlq list";
  cmd->app = dlq->add_subcommand("list", "List dead letters as JSON lines (object key, topic, partition, offset, error, attempts)");
  bindSettings(*cmd);
  cmd->run = [](const config::Config& c) {
    auto objects = openObjectStore(c, true);  // DLQ_S3_BUCKET with --objects s3
    std::optional<std::string_view> service;
    if (c.has("service")) service = c.str("service");
    auto letters = runtime::listDeadLetters(*objects, service);
    if (!letters) {
      reportError("dlq list", letters.error().message, kExitFailure);
      return kExitFailure;
    }
    std::string line;
    for (const auto& d : *letters) {
      line.clear();
      JsonWriter w(line);
      w.beginObject()
          .field("object", d.objectKey)
          .field("service", d.service)
          .field("topic", d.topic)
          .field("partition", d.partition)
          .field("offset", d.offset)
          .field("error", d.error)
          .field("attempts", d.attempts)
          .field("dead_lettered_at", d.deadLetteredAt);
      if (d.traceparent) w.field("traceparent", *d.traceparent);
      w.endObject();
      line.push_back('\n');
      std::fwrite(line.data(), 1, line.size(), stdout);
    }
    log::report(spdlog::level::info, "dead_letters_listed", std::to_string(letters->size()) + " dead letters",
                {{"dead_letters", std::to_string(letters->size()), true}});
    return kExitOk;
  };
  commands.push_back(std::move(cmd));
  addDlqReplay(*dlq, commands);
}

}  // namespace cdc::cli
