#include "runtime/latency.h"

#include <gtest/gtest.h>

namespace cdc::runtime {
namespace {

TEST(LatencyHistogramTest, QuantilesAreExactBelowATenthOfASecondAndWithinATenthAbove) {
  LatencyHistogram h;
  EXPECT_EQ(h.quantile(0.99), 0);
  for (int ms = 1; ms <= 100; ++ms) h.add(ms);  // 1 … 100 ms
  EXPECT_EQ(h.count(), 100u);
  EXPECT_EQ(h.quantile(0.5), 50);
  EXPECT_EQ(h.quantile(0.99), 99);
  EXPECT_EQ(h.quantile(1.0), 100);
  EXPECT_EQ(h.max(), 100);

  LatencyHistogram slow;
  for (int i = 0; i < 98; ++i) slow.add(20);
  slow.add(437);     // in [430, 440)
  slow.add(12'345);  // in [12000, 13000)
  EXPECT_EQ(slow.quantile(0.5), 20);
  EXPECT_EQ(slow.quantile(0.99), 440);
  EXPECT_EQ(slow.quantile(1.0), 12'345);  // never above the largest sample
  EXPECT_EQ(slow.max(), 12'345);

  LatencyHistogram extremes;
  extremes.add(-5);  // a clock behind the broker's counts as 0
  extremes.add(500'000);
  EXPECT_EQ(extremes.quantile(0.5), 0);
  EXPECT_EQ(extremes.quantile(1.0), 500'000);

  LatencyHistogram weighted;  // a batch's records added at once
  weighted.add(3, 98);
  weighted.add(60, 2);
  weighted.add(900, 0);  // nothing
  EXPECT_EQ(weighted.count(), 100u);
  EXPECT_EQ(weighted.quantile(0.98), 3);
  EXPECT_EQ(weighted.quantile(0.99), 60);
  EXPECT_EQ(weighted.max(), 60);
}

}  // namespace
}  // namespace cdc::runtime
