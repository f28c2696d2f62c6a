#pragma once

#include <cmath>
#include <cstdint>

namespace cdc::workload {

// xoshiro256** seeded through splitmix64: fast, and the same sequence on every platform
// (std::mt19937 is portable but its distributions are not).
class Random {
 public:
  explicit Random(uint64_t seed) {
    for (auto& s : state_) {
      seed += 0x9E3779B97F4A7C15ULL;
      uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
      s = z ^ (z >> 31);
    }
  }

  uint64_t next() {
    uint64_t result = rotl(state_[1] * 5, 7) * 9;
    uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  // Uniform in [0, 1).
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // Uniform integer in [lo, hi].
  int64_t between(int64_t lo, int64_t hi) { return lo + static_cast<int64_t>(next() % static_cast<uint64_t>(hi - lo + 1)); }
  bool chance(double p) { return uniform() < p; }
  // Exponentially distributed with the given mean.
  double exponential(double mean) { return -mean * std::log(1.0 - uniform()); }
  // A Zipf-like rank in [1, n] (exponent 1): P(rank <= k) ~ ln(k + 1) / ln(n + 1).
  int64_t zipf(int64_t n) {
    double r = std::exp(uniform() * std::log(static_cast<double>(n) + 1.0));
    auto k = static_cast<int64_t>(r);
    return k < 1 ? 1 : (k > n ? n : k);
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t state_[4];
};

}  // namespace cdc::workload
