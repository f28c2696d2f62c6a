#include "core/json_writer.h"

#include <charconv>

namespace cdc {

void appendJsonString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  size_t runStart = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + runStart, i - runStart);
    runStart = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
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
