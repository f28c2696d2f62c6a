#include "core/flat_map.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

namespace cdc {
namespace {

// Random inserts, overwrites and erases, checked against std::map after every step.
TEST(FlatMapTest, BehavesLikeAMapUnderRandomOperations) {
  std::mt19937_64 rng(7);
  FlatMap<int64_t> flat;
  std::map<int64_t, int64_t> ref;
  for (int step = 0; step < 200000; ++step) {
    int64_t key = static_cast<int64_t>(rng() % 5000);  // collisions and long probe runs
    switch (rng() % 3) {
      case 0:
      case 1:
        flat.put(key, step);
        ref[key] = step;
        break;
      case 2:
        EXPECT_EQ(flat.erase(key), ref.erase(key) == 1);
        break;
    }
    if (step % 997 == 0) {
      ASSERT_EQ(flat.size(), ref.size());
      for (const auto& [k, v] : ref) {
        const int64_t* got = flat.find(k);
        ASSERT_NE(got, nullptr) << k;
        ASSERT_EQ(*got, v);
      }
      size_t seen = 0;
      flat.forEach([&](int64_t k, int64_t v) {
        ++seen;
        ASSERT_EQ(ref.at(k), v);
      });
      ASSERT_EQ(seen, ref.size());
    }
  }
  EXPECT_FALSE(flat.contains(999999));
  EXPECT_GT(flat.memoryBytes(), 0u);
}

}  // namespace
}  // namespace cdc
