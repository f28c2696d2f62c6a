#include "runtime/shutdown.h"

#include <unistd.h>
#include <csignal>

namespace cdc::runtime {
namespace {

std::atomic<bool> gStop{false};
std::atomic<int> gInterrupts{0};

extern "C" void onSignal(int sig) {
  if (sig == SIGINT && gInterrupts.fetch_add(1) >= 1) _exit(130);
  gStop.store(true, std::memory_order_relaxed);
}

}  // namespace

void Shutdown::install() {
  struct sigaction sa{};
  sa.sa_handler = onSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

const std::atomic<bool>& Shutdown::flag() { return gStop; }
void Shutdown::request() { gStop.store(true, std::memory_order_relaxed); }
void Shutdown::reset() {
  gStop.store(false, std::memory_order_relaxed);
  gInterrupts.store(0);
}

}  // namespace cdc::runtime
