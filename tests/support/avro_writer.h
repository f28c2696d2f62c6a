#pragma once
// Avro's binary encoding in Confluent's wire format, for tests that make records by hand: a zero
// byte, the schema id (4 bytes, big-endian), then the values in the schema's field order.

#include <cstdint>
#include <string>
#include <string_view>

namespace cdc::test {

struct AvroWriter {
  std::string bytes;
  explicit AvroWriter(int32_t schemaId) {
    bytes.push_back('\0');
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(static_cast<char>((schemaId >> shift) & 0xff));
  }
  // int, long, an enum's index or a union's branch: a zig-zag varint.
  AvroWriter& l(int64_t v) {
    uint64_t z = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
    while (z >= 0x80) {
      bytes.push_back(static_cast<char>((z & 0x7f) | 0x80));
      z >>= 7;
    }
    bytes.push_back(static_cast<char>(z));
    return *this;
  }
  // string or bytes: the length, then the bytes.
  AvroWriter& s(std::string_view v) {
    l(static_cast<int64_t>(v.size()));
    bytes.append(v);
    return *this;
  }
  AvroWriter& b(bool v) {
    bytes.push_back(v ? 1 : 0);
    return *this;
  }
  // A Connect Decimal's bytes: the unscaled value, big-endian two's complement, fewest bytes.
  AvroWriter& decimal(int64_t unscaled) {
    std::string out;
    for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((unscaled >> (8 * i)) & 0xff));
    while (out.size() > 1 && ((out[0] == 0 && (out[1] & 0x80) == 0) || (out[0] == '\xff' && (out[1] & 0x80) != 0))) {
      out.erase(0, 1);
    }
    return s(out);
  }
};

}  // namespace cdc::test
