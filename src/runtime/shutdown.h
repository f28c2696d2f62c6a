#pragma once

#include <atomic>

namespace cdc::runtime {

// Process-wide stop flag set by SIGINT and SIGTERM. A second SIGINT ends the process at once
// (exit 130) for a person at a terminal who does not want to wait.
class Shutdown {
 public:
  // Installs the signal handlers; idempotent.
  static void install();
  static const std::atomic<bool>& flag();
  static bool requested() { return flag().load(std::memory_order_relaxed); }
  // Asks for a stop from inside the process (tests, --until-caught-up).
  static void request();
  static void reset();
};

}  // namespace cdc::runtime
