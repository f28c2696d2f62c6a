#include "core/json_writer.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <string>

namespace cdc {
namespace {

// What appendJsonString must produce, one byte at a time: RFC 8259's short escapes, \u00XX for
// the other control characters, every other byte as it is.
std::string reference(std::string_view s) {
  const std::map<char, std::string> shortEscapes{{'"', "\\\""}, {'\\', "\\\\"}, {'\n', "\\n"}, {'\r', "\\r"},
                                                 {'\t', "\\t"}, {'\b', "\\b"},  {'\f', "\\f"}};
  std::string out = "\"";
  for (char ch : s) {
    if (auto e = shortEscapes.find(ch); e != shortEscapes.end()) {
      out += e->second;
    } else if (static_cast<unsigned char>(ch) < 0x20) {
      char buf[16];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(ch)));
      out += buf;
    } else {
      out.push_back(ch);
    }
  }
  return out + "\"";
}

TEST(JsonStringTest, EveryByteThatNeedsEscapingIsFoundAtEveryPositionOfLongText) {
  // The writer skips eight clean bytes at a time: each special byte, at each offset within
  // and around an eight-byte word, beside UTF-8 and bytes just above the limits.
  const std::string specials = std::string("\"\\\n\r\t\b\f\x01\x1f", 9) + std::string(1, '\0');
  for (size_t length : {1u, 7u, 8u, 9u, 15u, 16u, 17u, 40u}) {
    for (size_t at = 0; at < length; ++at) {
      for (char special : specials) {
        std::string text(length, 'a');
        for (size_t i = 0; i < length; i += 3) text[i] = static_cast<char>(0x20 + i % 0x5f);  // printable, '"' and '\' included
        for (size_t i = 0; i < length; ++i) {
          if (text[i] == '"' || text[i] == '\\') text[i] = '#';
        }
        text[at] = special;
        std::string out;
        appendJsonString(out, text);
        ASSERT_EQ(out, reference(text)) << "length " << length << " at " << at << " byte " << int(special);
      }
    }
  }
  std::string utf8 = "prix: 12 € — café «crème» \xf0\x9f\x9b\x92 \x7f\x80\xff";
  std::string out;
  appendJsonString(out, utf8);
  EXPECT_EQ(out, reference(utf8));
  out.clear();
  appendJsonString(out, "");
  EXPECT_EQ(out, "\"\"");
}

}  // namespace
}  // namespace cdc
