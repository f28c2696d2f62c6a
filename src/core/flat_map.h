#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

namespace cdc {

// A hash map from 64-bit ids to small values, with open addressing (linear probing,
// backward-shift deletion): one contiguous array, no node per entry. It grows by half when
// 85% full, so it holds 1.2x to 1.8x the bytes of its entries. Keys must not be INT64_MIN.
// Iteration order is unspecified. Not thread-safe.
template <class V>
class FlatMap {
 public:
  using Entry = std::pair<int64_t, V>;

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // Bytes held by the table (for memory accounting).
  size_t memoryBytes() const { return slots_.capacity() * sizeof(Entry); }

  V* find(int64_t key) {
    if (slots_.empty()) return nullptr;
    for (size_t i = slot(key);; i = next(i)) {
      if (slots_[i].first == key) return &slots_[i].second;
      if (slots_[i].first == kEmpty) return nullptr;
    }
  }
  const V* find(int64_t key) const { return const_cast<FlatMap*>(this)->find(key); }
  bool contains(int64_t key) const { return find(key) != nullptr; }

  // Inserts or replaces; returns the stored value.
  V& put(int64_t key, V value) {
    if ((size_ + 1) * 20 > slots_.size() * 17) grow();
    for (size_t i = slot(key);; i = next(i)) {
      if (slots_[i].first == key) {
        slots_[i].second = std::move(value);
        return slots_[i].second;
      }
      if (slots_[i].first == kEmpty) {
        slots_[i] = {key, std::move(value)};
        ++size_;
        return slots_[i].second;
      }
    }
  }

  bool erase(int64_t key) {
    if (slots_.empty()) return false;
    size_t i = slot(key);
    while (slots_[i].first != key) {
      if (slots_[i].first == kEmpty) return false;
      i = next(i);
    }
    // Shift back the entries of the probe run so that no lookup passes over a hole.
    size_t hole = i;
    for (size_t j = next(i); slots_[j].first != kEmpty; j = next(j)) {
      size_t home = slot(slots_[j].first);
      bool movable = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j);
      if (movable) {
        slots_[hole] = std::move(slots_[j]);
        hole = j;
      }
    }
    slots_[hole].first = kEmpty;
    slots_[hole].second = V{};
    --size_;
    return true;
  }

  template <class F>
  void forEach(F&& f) const {
    for (const auto& e : slots_) {
      if (e.first != kEmpty) f(e.first, e.second);
    }
  }

 private:
  static constexpr int64_t kEmpty = std::numeric_limits<int64_t>::min();

  // Maps the mixed key onto [0, capacity) with a multiply-shift, so any capacity works.
  size_t slot(int64_t key) const {
    uint64_t h = static_cast<uint64_t>(key) * 0x9E3779B97F4A7C15ULL;
    h ^= h >> 29;
    return static_cast<size_t>((static_cast<unsigned __int128>(h) * slots_.size()) >> 64);
  }
  size_t next(size_t i) const { return i + 1 == slots_.size() ? 0 : i + 1; }

  void grow() {
    std::vector<Entry> old = std::move(slots_);
    size_t capacity = old.empty() ? 16 : old.size() + old.size() / 2;
    slots_.assign(capacity, Entry{kEmpty, V{}});
    slots_.shrink_to_fit();
    size_ = 0;
    for (auto& e : old) {
      if (e.first != kEmpty) put(e.first, std::move(e.second));
    }
  }

  std::vector<Entry> slots_;
  size_t size_ = 0;
};

}  // namespace cdc
