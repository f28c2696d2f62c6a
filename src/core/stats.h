#pragma once

#include <atomic>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

namespace cdc {

// A count one thread adds to (the runner's) and any thread may read (a scrape of /metrics):
// relaxed loads and stores, no locked instruction on the counting path. Reads as a uint64_t.
class Count {
 public:
  Count() = default;
  Count(const Count& other) : value_(other.get()) {}
  Count& operator=(const Count& other) {
    value_.store(other.get(), std::memory_order_relaxed);
    return *this;
  }
  Count& operator+=(uint64_t n) {
    value_.store(get() + n, std::memory_order_relaxed);  // one writer: no read-modify-write needed
    return *this;
  }
  Count& operator++() { return *this += 1; }
  uint64_t operator++(int) {
    const uint64_t before = get();
    *this += 1;
    return before;
  }
  uint64_t get() const { return value_.load(std::memory_order_relaxed); }
  operator uint64_t() const { return get(); }  // NOLINT(google-explicit-constructor): a count reads as its number

 private:
  std::atomic<uint64_t> value_{0};
};

class JsonWriter;

// One count of a component (a runner's records, a handler's store transactions, a store's
// requests) by the name the run summary's JSON gives it ("store_transactions"). A component
// lists its counts from the one struct it keeps them in, so the run summary, the text line and
// the benches read the same numbers.
struct Stat {
  std::string_view name;
  uint64_t value = 0;
};
using Stats = std::vector<Stat>;

// {"name":value,…} into `w` (as the value of a key the caller wrote).
void writeStats(JsonWriter& w, std::span<const Stat> stats);

}  // namespace cdc

template <>
struct fmt::formatter<cdc::Count> : fmt::formatter<uint64_t> {
  auto format(const cdc::Count& c, format_context& ctx) const { return fmt::formatter<uint64_t>::format(c.get(), ctx); }
};
