#pragma once

#include <initializer_list>
#include <memory>
#include <string_view>
#include <utility>

#include <spdlog/spdlog.h>

#include "core/trace_context.h"

namespace cdc::log {

enum class Format { Text, Json };

// Sets up the process-wide logger on stderr. JSON lines are
// {"ts":…,"level":…,"msg":…, …fields}; text is for a human at a terminal.
void configure(spdlog::level::level_enum level, Format format);

// One structured field of a log event; values are written as JSON strings unless `raw`.
struct Field {
  std::string_view key;
  std::string_view value;
  bool raw = false;  // value is already a JSON literal (a number, true/false)
};

// Logs a named event with fields: one line whichever format is active.
void event(spdlog::level::level_enum level, std::string_view name, std::initializer_list<Field> fields);
// The same about a record that carried a W3C trace context: the fields, then `traceparent`,
// `trace_id` and `span_id` (the producer's span) when `trace` is set.
void event(spdlog::level::level_enum level, std::string_view name, std::initializer_list<Field> fields,
           const std::optional<TraceParent>& trace);

// The service (or command) every line names from now on: "service" in JSON lines, after the
// level in text. Set once at start-up, before other threads log.
void setService(std::string_view service);
bool json();

// A line that is printed whatever the level (a run's summary, an error that ends the command):
// in JSON a line of the event `name` with its fields and "text"; in text, `text` alone.
void report(spdlog::level::level_enum level, std::string_view name, std::string_view text,
            std::initializer_list<Field> fields = {});

// A status line at the foot of a terminal (a run's progress): drawn now and again after every
// log line or report, which are written above it instead of after it; empty removes it.
void status(std::string_view line);

}  // namespace cdc::log
