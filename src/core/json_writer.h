#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace cdc {

// Appends a JSON string literal (with quotes) to `out`, escaping as RFC 8259 requires.
void appendJsonString(std::string& out, std::string_view s);

// A minimal streaming JSON writer over a caller-owned string. It inserts commas itself;
// the caller is responsible for balanced begin/end calls. Not thread-safe.
class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  JsonWriter& beginObject();
  JsonWriter& endObject();
  JsonWriter& beginArray();
  JsonWriter& endArray();
  JsonWriter& key(std::string_view k);
  JsonWriter& string(std::string_view v);
  JsonWriter& integer(int64_t v);
  JsonWriter& boolean(bool v);
  JsonWriter& null();
  // Writes pre-formatted JSON (a number literal, a nested document) as one value.
  JsonWriter& raw(std::string_view json);

  // key + value shorthands.
  JsonWriter& field(std::string_view k, std::string_view v) { return key(k).string(v); }
  JsonWriter& field(std::string_view k, const char* v) { return key(k).string(v); }
  JsonWriter& field(std::string_view k, int64_t v) { return key(k).integer(v); }
  JsonWriter& field(std::string_view k, int32_t v) { return key(k).integer(v); }
  JsonWriter& field(std::string_view k, bool v) { return key(k).boolean(v); }

 private:
  void separator();

  std::string& out_;
  bool needComma_ = false;
};

}  // namespace cdc
