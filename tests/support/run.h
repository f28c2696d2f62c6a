#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

#include "support/paths.h"

namespace cdc::test {

// How many times `word` occurs in `text` (events in a service's log …).
inline size_t occurrences(const std::string& text, const std::string& word) {
  size_t n = 0;
  for (size_t at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) ++n;
  return n;
}

struct RunResult {
  int exitCode = -1;
  std::string out;  // stdout and stderr together
};

// Runs a shell command line and captures its exit status and its output: stdout and stderr
// together, or stdout alone (stderr discarded) when `withStderr` is false.
inline RunResult run(const std::string& commandLine, bool withStderr = true) {
  RunResult r;
  FILE* p = ::popen((commandLine + (withStderr ? " 2>&1" : " 2>/dev/null")).c_str(), "r");
  if (!p) return r;
  std::array<char, 65536> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int status = ::pclose(p);
  r.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// " --store STORE" for a service that has tables; the analytics service takes no --store.
inline std::string storeFlag(const std::string& service, const std::string& store) {
  return service == "analytics" ? std::string() : " --store " + store;
}

// The cdc executable of this build.
inline std::string cdcBinary() { return binaryDir() + "/cdc"; }

}  // namespace cdc::test
