#include "core/trace_context.h"

#include <algorithm>

namespace cdc {
namespace {

bool lowerHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool allZero(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == '0'; });
}

}  // namespace

std::optional<TraceParent> parseTraceParent(std::string_view header) {
  // version "-" trace-id "-" parent-id "-" flags: 2 + 1 + 32 + 1 + 16 + 1 + 2 = 55 characters.
  constexpr size_t kLength = 55;
  if (header.size() < kLength || header[2] != '-' || header[35] != '-' || header[52] != '-') return std::nullopt;
  std::string_view version = header.substr(0, 2), traceId = header.substr(3, 32), parentId = header.substr(36, 16),
                   flags = header.substr(53, 2);
  if (!lowerHex(version) || version == "ff" || !lowerHex(traceId) || !lowerHex(parentId) || !lowerHex(flags)) return std::nullopt;
  if (allZero(traceId) || allZero(parentId)) return std::nullopt;
  // Version 00 is exactly 55 characters; a later version may go on after a '-'.
  if (header.size() > kLength && (version == "00" || header[kLength] != '-')) return std::nullopt;
  return TraceParent{header.substr(0, kLength), traceId, parentId};
}

}  // namespace cdc
