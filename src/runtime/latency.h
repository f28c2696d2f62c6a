#pragma once

#include <array>
#include <cstdint>

namespace cdc::runtime {

// A distribution of latencies in milliseconds, for quantiles: buckets of 1 ms below 100 ms,
// 10 ms below 1 s, 100 ms below 10 s and 1 s below 100 s, then one for everything longer.
// A quantile is the upper bound of the bucket that holds it (at most 10% above the truth from
// 100 ms on, exact to the millisecond below). Fixed size; not thread-safe.
class LatencyHistogram {
 public:
  void add(int64_t millis, uint64_t times = 1);
  uint64_t count() const { return count_; }
  int64_t max() const { return max_; }
  // The latency that `q` (0 < q <= 1) of the samples do not exceed; 0 with no sample.
  int64_t quantile(double q) const;

 private:
  static constexpr int kBuckets = 100 + 90 + 90 + 90 + 1;
  static int bucketOf(int64_t millis);
  static int64_t upperBound(int bucket);

  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  int64_t max_ = 0;
};

}  // namespace cdc::runtime
