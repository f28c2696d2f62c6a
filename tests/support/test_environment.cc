// Linked into every test binary: the services a test starts bind their metrics port to a free
// one (METRICS_PORT=0) unless the test says otherwise, so that tests running side by side do
// not meet on the default 8080; and the folders of this build (support/paths.h).
#include <cstdlib>

#include "support/paths.h"

namespace {
const bool kMetricsPortSet = [] {
  ::setenv("METRICS_PORT", "0", 0);
  return true;
}();
}  // namespace

namespace cdc::test {

const std::string& sourceDir() {
  static const std::string kDir = CDC_SOURCE_DIR;
  return kDir;
}

const std::string& binaryDir() {
  static const std::string kDir = CDC_BINARY_DIR;
  return kDir;
}

const std::string& fixturesDir() {
  static const std::string kDir = CDC_FIXTURES_DIR;
  return kDir;
}

}  // namespace cdc::test
