#pragma once

#include <initializer_list>
#include <memory>
#include <string_view>
#include <utility>

#include <spdlog/spdlog.h>

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

}  // namespace cdc::log
