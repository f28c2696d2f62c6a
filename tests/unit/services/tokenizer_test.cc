#include "services/search/tokenizer.h"

#include <gtest/gtest.h>

namespace cdc::search {
namespace {

using V = std::vector<std::string>;

TEST(TokenizerTest, RealProductNames) {
  EXPECT_EQ(tokenize("Wireless Mouse 2.4 GHz"), (V{"wireless", "mouse", "2", "4", "ghz"}));
  EXPECT_EQ(tokenize("USB-C Cable, 1 m (braided)"), (V{"usb", "c", "cable", "1", "m", "braided"}));
  EXPECT_EQ(tokenize("Noise-Cancelling Headphones for the Office"), (V{"noise", "cancelling", "headphone", "office"}));
  EXPECT_EQ(tokenize("AA Batteries, 24 boxes of glasses"), (V{"aa", "battery", "24", "box", "glass"}));
}

TEST(TokenizerTest, UnicodeLowercasingAndAccentFolding) {
  EXPECT_EQ(tokenize("Café Crème – 1 kg"), (V{"cafe", "creme", "1", "kg"}));
  EXPECT_EQ(tokenize("ÜBERZUG Über über"), (V{"uberzug", "uber", "uber"}));
  EXPECT_EQ(tokenize("Smørrebrød Board"), (V{"smørrebrød", "board"}));  // ø is a letter, not an accent
  EXPECT_EQ(tokenize("Niño Backpack"), (V{"nino", "backpack"}));
  EXPECT_EQ(tokenize("ＵＳＢ Ｈｕｂ"), (V{"usb", "hub"}));  // full-width forms (NFKC)
  EXPECT_EQ(tokenize("Straße"), (V{"straße"}));
}

TEST(TokenizerTest, NonLatinScripts) {
  EXPECT_EQ(tokenize("Чайник электрический"), (V{"чайник", "электрический"}));
  EXPECT_EQ(tokenize("日本茶 セット"), (V{"日本茶", "セット"}));
  EXPECT_EQ(tokenize("Ελληνικό Μέλι"), (V{"ελληνικο", "μελι"}));
}

TEST(TokenizerTest, StopWordsAndStemmingRules) {
  EXPECT_EQ(tokenize("The Art of the Deal"), (V{"art", "deal"}));
  EXPECT_EQ(tokenize("Le Café et les Croissants"), (V{"cafe", "croissant"}));
  EXPECT_EQ(stem("bus"), "bus");
  EXPECT_EQ(stem("glass"), "glass");
  EXPECT_EQ(stem("analysis"), "analysis");
  EXPECT_EQ(stem("gas"), "gas");
  EXPECT_EQ(stem("mice"), "mice");  // documented miss: irregular plurals
  EXPECT_EQ(stem("watches"), "watch");
  EXPECT_EQ(stem("кошки"), "кошки");  // only English plurals
  EXPECT_TRUE(isStopWord("the"));
  EXPECT_FALSE(isStopWord("thermos"));
}

TEST(TokenizerTest, PrefixOfTheLastWord) {
  EXPECT_EQ(prefixToken("wireless Lapt"), "lapt");
  EXPECT_EQ(prefixToken("Cré"), "cre");
  EXPECT_EQ(prefixToken("cable "), "");
  EXPECT_EQ(prefixToken(""), "");
}

}  // namespace
}  // namespace cdc::search
