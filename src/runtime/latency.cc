#include "runtime/latency.h"

#include <algorithm>
#include <cmath>

namespace cdc::runtime {

int LatencyHistogram::bucketOf(int64_t millis) {
  if (millis < 0) millis = 0;
  if (millis < 100) return static_cast<int>(millis);                      // [m, m+1)
  if (millis < 1000) return 100 + static_cast<int>((millis - 100) / 10);  // 10 ms wide
  if (millis < 10'000) return 190 + static_cast<int>((millis - 1000) / 100);
  if (millis < 100'000) return 280 + static_cast<int>((millis - 10'000) / 1000);
  return kBuckets - 1;
}

int64_t LatencyHistogram::upperBound(int bucket) {
  if (bucket < 100) return bucket;  // whole milliseconds: the bucket is its value
  if (bucket < 190) return 100 + (bucket - 100 + 1) * 10;
  if (bucket < 280) return 1000 + (bucket - 190 + 1) * 100;
  if (bucket < 370) return 10'000 + (bucket - 280 + 1) * 1000;
  return INT64_MAX;
}

void LatencyHistogram::add(int64_t millis, uint64_t times) {
  if (times == 0) return;
  counts_[bucketOf(millis)] += times;
  count_ += times;
  max_ = std::max(max_, millis);
}

int64_t LatencyHistogram::quantile(double q) const {
  if (count_ == 0) return 0;
  auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (int b = 0; b < kBuckets; ++b) {
    seen += counts_[b];
    if (seen >= rank) return std::min(upperBound(b), max_);
  }
  return max_;
}

}  // namespace cdc::runtime
