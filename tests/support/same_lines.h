#pragma once

// Compares two large line-oriented texts (table dumps, reports) and, when they differ, says
// how in a few lines: gtest's own string diff needs memory in the product of the line counts,
// which a dump of a hundred thousand lines does not fit.

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

namespace cdc::test {

inline std::vector<std::string> sortedLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(std::move(line));
  std::sort(lines.begin(), lines.end());
  return lines;
}

// Usage: EXPECT_TRUE(sameLines(actual, expected)).
inline ::testing::AssertionResult sameLines(const std::string& actual, const std::string& expected) {
  if (actual == expected) return ::testing::AssertionSuccess();
  auto a = sortedLines(actual), e = sortedLines(expected);
  std::vector<std::string> onlyActual, onlyExpected;
  std::set_difference(a.begin(), a.end(), e.begin(), e.end(), std::back_inserter(onlyActual));
  std::set_difference(e.begin(), e.end(), a.begin(), a.end(), std::back_inserter(onlyExpected));
  auto result = ::testing::AssertionFailure();
  result << a.size() << " lines, expected " << e.size() << "; " << onlyActual.size() << " only in the actual text, "
         << onlyExpected.size() << " only in the expected one";
  if (onlyActual.empty() && onlyExpected.empty()) result << " (same lines in another order)";
  auto show = [&](const char* what, const std::vector<std::string>& lines) {
    for (size_t i = 0; i < std::min<size_t>(lines.size(), 5); ++i) {
      result << "\n  " << what << ": " << lines[i].substr(0, 400);
    }
  };
  show("actual only", onlyActual);
  show("expected only", onlyExpected);
  return result;
}

}  // namespace cdc::test
