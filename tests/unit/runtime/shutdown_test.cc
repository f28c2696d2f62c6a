#include "runtime/shutdown.h"

#include <gtest/gtest.h>

#include <csignal>

namespace cdc::runtime {
namespace {

TEST(ShutdownTest, SigtermAndSigintRequestAStop) {
  Shutdown::install();
  Shutdown::reset();
  EXPECT_FALSE(Shutdown::requested());
  std::raise(SIGTERM);
  EXPECT_TRUE(Shutdown::requested());
  Shutdown::reset();
  std::raise(SIGINT);  // the first SIGINT stops gracefully; only a second one exits at once
  EXPECT_TRUE(Shutdown::requested());
  Shutdown::reset();
}

}  // namespace
}  // namespace cdc::runtime
