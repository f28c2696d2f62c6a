#include "core/json_writer.h"

#include <cstdint>
#include <cstring>

#include <charconv>

namespace cdc {

namespace {

// Whether one of the eight bytes of `w` must be escaped in a JSON string: below 0x20, '"' or
// '\\' (each test is exact for "any byte": a borrow only starts at a byte that matches).
bool anyToEscape(uint64_t w) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL, kHighs = 0x8080808080808080ULL;
  uint64_t control = (w - kOnes * 0x20) & ~w;
  uint64_t quote = w ^ (kOnes * '"');
  quote = (quote - kOnes) & ~quote;
  uint64_t backslash = w ^ (kOnes * '\\');
  backslash = (backslash - kOnes) & ~backslash;
  return ((control | quote | backslash) & kHighs) != 0;
}

}  // namespace

void appendJsonString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  size_t runStart = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    // Eight bytes at a time while none needs escaping (most text).
    while (i + 8 <= s.size()) {
      uint64_t w;
      std::memcpy(&w, s.data() + i, 8);
      if (anyToEscape(w)) break;
      i += 8;
    }
    if (i >= s.size()) break;
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + runStart, i - runStart);
    runStart = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        out += "\\u00";
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 15]);
    }
  }
  out.append(s.data() + runStart, s.size() - runStart);
  out.push_back('"');
}

void JsonWriter::separator() {
  if (needComma_) out_.push_back(',');
}

JsonWriter& JsonWriter::beginObject() {
  separator();
  out_.push_back('{');
  needComma_ = false;
  return *this;
}

JsonWriter& JsonWriter::endObject() {
  out_.push_back('}');
  needComma_ = true;
  return *this;
}

JsonWriter& JsonWriter::beginArray() {
  separator();
  out_.push_back('[');
  needComma_ = false;
  return *this;
}

JsonWriter& JsonWriter::endArray() {
  out_.push_back(']');
  needComma_ = true;
  return *this;
}

JsonWriter& JsonWriter::key(std::string_view k) {
  separator();
  appendJsonString(out_, k);
  out_.push_back(':');
  needComma_ = false;
  return *this;
}

JsonWriter& JsonWriter::string(std::string_view v) {
  separator();
  appendJsonString(out_, v);
  needComma_ = true;
  return *this;
}

JsonWriter& JsonWriter::integer(int64_t v) {
  separator();
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out_.append(buf, end);
  needComma_ = true;
  return *this;
}

JsonWriter& JsonWriter::boolean(bool v) {
  separator();
  out_ += v ? "true" : "false";
  needComma_ = true;
  return *this;
}

JsonWriter& JsonWriter::null() {
  separator();
  out_ += "null";
  needComma_ = true;
  return *this;
}

JsonWriter& JsonWriter::raw(std::string_view json) {
  separator();
  out_ += json;
  needComma_ = true;
  return *this;
}

}  // namespace cdc
