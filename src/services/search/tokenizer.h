#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace cdc::search {

// The search tokenizer. Rules, applied in this order (documented in the README):
//  1. Unicode normalisation (NFKC) and full Unicode lowercasing (ICU, root locale), so that
//     "ÜBER", "Über" and "über" are one token and full-width "ＵＳＢ" is "usb".
//  2. Accents folded away on Latin and Greek letters (NFD, combining marks removed): "crème"
//     and "creme" match, "μέλι" and "μελι" too; Cyrillic keeps й (a letter, not an accent).
//  3. Split on every code point that is not a letter or a digit (ICU u_isalnum): spaces,
//     punctuation, hyphens, symbols. Scripts without spaces (日本茶) stay one token per run.
//  4. Stop words dropped (a short English list plus common French, German and Spanish articles).
//  5. Light stemming of English plurals: "batteries"→"battery", "boxes"→"box",
//     "cables"→"cable"; words ending in ss/us/is and words of three letters or less are kept.
//     Irregular plurals ("mice", "children") are not mapped: a search for "mouse" does not
//     find "mice".
//  6. Words longer than kMaxTokenBytes (UTF-8) are not indexed: such a run is a code or a blob,
//     not a search term, and DynamoDB bounds the key values that tokens become.
// Tokens keep their order of appearance; duplicates are kept (callers count them).
std::vector<std::string> tokenize(std::string_view text);

inline constexpr size_t kMaxTokenBytes = 64;

// A query's last word as typed (rules 1-3 only, no stemming), for prefix matching:
// "Lapt" -> "lapt". Empty when the text ends in a separator.
std::string prefixToken(std::string_view text);

// Rule 1 only, on the whole text: the `name_lower` attribute ("Café Crème" -> "café crème").
std::string lowercase(std::string_view text);

// Whether `token` (already normalised) is a stop word.
bool isStopWord(std::string_view token);

// Rule 5 on one normalised token.
std::string stem(std::string_view token);

}  // namespace cdc::search
