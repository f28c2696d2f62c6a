// Linked into every test binary: the services a test starts bind their metrics port to a free
// one (METRICS_PORT=0) unless the test says otherwise, so that tests running side by side do
// not meet on the default 8080.
#include <cstdlib>

namespace {
const bool kMetricsPortSet = [] {
  ::setenv("METRICS_PORT", "0", 0);
  return true;
}();
}  // namespace
