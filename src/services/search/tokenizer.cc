#include "services/search/tokenizer.h"

#include <algorithm>
#include <array>

#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/uscript.h>
#include <unicode/utf8.h>

namespace cdc::search {
namespace {

constexpr std::array<std::string_view, 52> kStopWords = {
    "a",    "an",  "and", "are", "as", "at",   "be",      "by",   "for",  "from", "in",  "is",  "it",
    "of",   "on",  "or",  "the", "to", "with", "without", "this", "that", "your", "our", "its", "le",
    "la",   "les", "de",  "des", "du", "et",   "un",      "une",  "der",  "die",  "das", "und", "ein",
    "eine", "el",  "los", "las", "y",  "del",  "mit",     "für",  "pour", "avec", "con"};

// Lowercased, NFKC-normalised, accent-folded text (rules 1 and 2).
icu::UnicodeString normalise(std::string_view text) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* nfkc = icu::Normalizer2::getNFKCInstance(status);
  const icu::Normalizer2* nfd = icu::Normalizer2::getNFDInstance(status);
  icu::UnicodeString s = icu::UnicodeString::fromUTF8(icu::StringPiece(text.data(), static_cast<int32_t>(text.size())));
  if (U_FAILURE(status)) return s.toLower(icu::Locale::getRoot());
  icu::UnicodeString n = nfkc->normalize(s, status);
  n.toLower(icu::Locale::getRoot());
  icu::UnicodeString decomposed = nfd->normalize(n, status);
  // Accents are folded on Latin and Greek letters only: in Cyrillic, й is a letter of its own.
  icu::UnicodeString folded;
  bool foldable = false;
  for (int32_t i = 0; i < decomposed.length();) {
    UChar32 c = decomposed.char32At(i);
    if (u_charType(c) == U_NON_SPACING_MARK) {
      if (!foldable) folded.append(c);
    } else {
      UErrorCode scriptStatus = U_ZERO_ERROR;
      UScriptCode script = uscript_getScript(c, &scriptStatus);
      foldable = script == USCRIPT_LATIN || script == USCRIPT_GREEK;
      folded.append(c);
    }
    i += U16_LENGTH(c);
  }
  return nfkc->normalize(folded, status);
}

// Rule 3: the alphanumeric runs of normalised text, as UTF-8.
std::vector<std::string> words(const icu::UnicodeString& s) {
  std::vector<std::string> out;
  icu::UnicodeString current;
  auto flush = [&] {
    if (current.isEmpty()) return;
    std::string utf8;
    current.toUTF8String(utf8);
    out.push_back(std::move(utf8));
    current.remove();
  };
  for (int32_t i = 0; i < s.length();) {
    UChar32 c = s.char32At(i);
    if (u_isalnum(c)) {
      current.append(c);
    } else {
      flush();
    }
    i += U16_LENGTH(c);
  }
  flush();
  return out;
}

bool asciiLetters(std::string_view t) {
  return std::all_of(t.begin(), t.end(), [](char c) { return c >= 'a' && c <= 'z'; });
}

}  // namespace

std::string lowercase(std::string_view text) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* nfkc = icu::Normalizer2::getNFKCInstance(status);
  icu::UnicodeString s = icu::UnicodeString::fromUTF8(icu::StringPiece(text.data(), static_cast<int32_t>(text.size())));
  icu::UnicodeString n = U_SUCCESS(status) ? nfkc->normalize(s, status) : s;
  n.toLower(icu::Locale::getRoot());
  std::string out;
  n.toUTF8String(out);
  return out;
}

bool isStopWord(std::string_view token) { return std::find(kStopWords.begin(), kStopWords.end(), token) != kStopWords.end(); }

std::string stem(std::string_view t) {
  std::string s(t);
  if (s.size() <= 3 || !asciiLetters(s)) return s;
  if (s.ends_with("ies") && s.size() > 4) return s.substr(0, s.size() - 3) + "y";
  for (std::string_view suffix : {"sses", "xes", "zes", "ches", "shes"}) {
    if (s.ends_with(suffix)) return s.substr(0, s.size() - 2);
  }
  if (s.ends_with("s") && !s.ends_with("ss") && !s.ends_with("us") && !s.ends_with("is")) return s.substr(0, s.size() - 1);
  return s;
}

std::vector<std::string> tokenize(std::string_view text) {
  std::vector<std::string> out;
  for (auto& w : words(normalise(text))) {
    if (w.size() > kMaxTokenBytes || isStopWord(w)) continue;
    out.push_back(stem(w));
  }
  return out;
}

std::string prefixToken(std::string_view text) {
  icu::UnicodeString n = normalise(text);
  if (n.isEmpty() || !u_isalnum(n.char32At(n.length() - 1))) return {};
  auto w = words(n);
  return w.empty() ? std::string() : w.back();
}

}  // namespace cdc::search
