#include "core/base64.h"

#include <array>

namespace cdc {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<int16_t, 256> makeTable() {
  std::array<int16_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 64; ++i) t[static_cast<uint8_t>(kAlphabet[i])] = static_cast<int16_t>(i);
  return t;
}
constexpr auto kTable = makeTable();

// Decodes and calls sink(byte) for each byte; false on malformed input.
template <class Sink>
bool decode(std::string_view in, Sink&& sink) {
  if (in.size() % 4 != 0) return false;
  for (size_t i = 0; i < in.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int j = 0; j < 4; ++j) {
      char c = in[i + j];
      if (c == '=') {
        // Padding only in the last group, only in the last two places, and only trailing.
        if (i + 4 != in.size() || j < 2) return false;
        ++pad;
        v[j] = 0;
      } else {
        if (pad) return false;
        v[j] = kTable[static_cast<uint8_t>(c)];
        if (v[j] < 0) return false;
      }
    }
    uint32_t triple = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
    if (!sink(static_cast<uint8_t>(triple >> 16))) return false;
    if (pad < 2 && !sink(static_cast<uint8_t>((triple >> 8) & 0xFF))) return false;
    if (pad < 1 && !sink(static_cast<uint8_t>(triple & 0xFF))) return false;
  }
  return true;
}

}  // namespace

bool base64Decode(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size() / 4 * 3);
  return decode(in, [&](uint8_t b) {
    out.push_back(static_cast<char>(b));
    return true;
  });
}

int base64DecodeInto(std::string_view in, uint8_t* out, size_t capacity) {
  size_t n = 0;
  bool ok = decode(in, [&](uint8_t b) {
    if (n == capacity) return false;
    out[n++] = b;
    return true;
  });
  return ok ? static_cast<int>(n) : -1;
}

std::string base64Encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t t =
        (static_cast<uint8_t>(bytes[i]) << 16) | (static_cast<uint8_t>(bytes[i + 1]) << 8) | static_cast<uint8_t>(bytes[i + 2]);
    out.push_back(kAlphabet[(t >> 18) & 63]);
    out.push_back(kAlphabet[(t >> 12) & 63]);
    out.push_back(kAlphabet[(t >> 6) & 63]);
    out.push_back(kAlphabet[t & 63]);
  }
  size_t rest = bytes.size() - i;
  if (rest == 1) {
    uint32_t t = static_cast<uint8_t>(bytes[i]) << 16;
    out.push_back(kAlphabet[(t >> 18) & 63]);
    out.push_back(kAlphabet[(t >> 12) & 63]);
    out += "==";
  } else if (rest == 2) {
    uint32_t t = (static_cast<uint8_t>(bytes[i]) << 16) | (static_cast<uint8_t>(bytes[i + 1]) << 8);
    out.push_back(kAlphabet[(t >> 18) & 63]);
    out.push_back(kAlphabet[(t >> 12) & 63]);
    out.push_back(kAlphabet[(t >> 6) & 63]);
    out.push_back('=');
  }
  return out;
}

}  // namespace cdc
