#include "core/trace_context.h"

#include <array>
#include <cstdint>

namespace cdc {
namespace {

// Each byte's value as a lower-case hex digit, or -1.
constexpr std::array<int16_t, 256> kHexValue = [] {
  std::array<int16_t, 256> t{};
  t.fill(-1);
  for (int c = '0'; c <= '9'; ++c) t[static_cast<size_t>(c)] = static_cast<int16_t>(c - '0');
  for (int c = 'a'; c <= 'f'; ++c) t[static_cast<size_t>(c)] = static_cast<int16_t>(c - 'a' + 10);
  return t;
}();

// Whether `s` is lower-case hex digits, and (in `nonZero`) whether any of them is not 0. One
// pass with a table: this runs on every record's header when tracing is on.
bool lowerHex(std::string_view s, bool& nonZero) {
  int any = 0, invalid = 0;
  for (char c : s) {
    int v = kHexValue[static_cast<unsigned char>(c)];
    invalid |= v;  // -1 sets the sign bit
    any |= v;
  }
  nonZero = any > 0;
  return invalid >= 0;
}

bool lowerHex(std::string_view s) {
  bool nonZero = false;
  return lowerHex(s, nonZero);
}

}  // namespace

std::optional<TraceParent> parseTraceParent(std::string_view header) {
  // version "-" trace-id "-" parent-id "-" flags: 2 + 1 + 32 + 1 + 16 + 1 + 2 = 55 characters.
  constexpr size_t kLength = 55;
  if (header.size() < kLength || header[2] != '-' || header[35] != '-' || header[52] != '-') return std::nullopt;
  std::string_view version = header.substr(0, 2), traceId = header.substr(3, 32), parentId = header.substr(36, 16),
                   flags = header.substr(53, 2);
  bool traceSet = false, parentSet = false;
  if (!lowerHex(version) || version == "ff" || !lowerHex(traceId, traceSet) || !lowerHex(parentId, parentSet) ||
      !lowerHex(flags)) {
    return std::nullopt;
  }
  if (!traceSet || !parentSet) return std::nullopt;
  // Version 00 is exactly 55 characters; a later version may go on after a '-'.
  if (header.size() > kLength && (version == "00" || header[kLength] != '-')) return std::nullopt;
  return TraceParent{header.substr(0, kLength), traceId, parentId};
}

}  // namespace cdc
