#pragma once

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "support/paths.h"

namespace cdc::test {

// Reads a file under tests/fixtures, without its trailing newline.
inline std::string fixture(const std::string& relative) {
  std::ifstream in(fixturesDir() + "/" + relative, std::ios::binary);
  if (!in) throw std::runtime_error("missing fixture " + relative);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

}  // namespace cdc::test
