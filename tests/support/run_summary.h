#pragma once

#include <simdjson.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace cdc::test {

// The value at a dotted path ("records", "stats.handler.already_applied",
// "stats.stores.dynamodb.requests") of a run's summary as `--summary-json FILE` wrote it.
inline simdjson::simdjson_result<simdjson::dom::element> summaryAt(simdjson::dom::parser& parser,
                                                                   const std::filesystem::path& file, std::string_view path) {
  std::string pointer = "/" + std::string(path);
  std::replace(pointer.begin(), pointer.end(), '.', '/');
  return parser.load(file.string()).at_pointer(pointer);
}

// A count of the summary; -1 when the file or the path is missing.
inline int64_t summaryCount(const std::filesystem::path& file, std::string_view path) {
  simdjson::dom::parser parser;
  int64_t value = 0;
  return summaryAt(parser, file, path).get_int64().get(value) ? -1 : value;
}

// A number of the summary ("seconds", "rate"); -1 when the file or the path is missing.
inline double summaryNumber(const std::filesystem::path& file, std::string_view path) {
  simdjson::dom::parser parser;
  double value = 0;
  return summaryAt(parser, file, path).get_double().get(value) ? -1 : value;
}

}  // namespace cdc::test
