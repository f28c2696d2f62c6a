#include "runtime/run_counts.h"

#include <algorithm>

namespace cdc::runtime {
namespace {

template <size_t N>
size_t indexOf(const std::array<std::string_view, N>& names, std::string_view name) {
  auto at = std::find(names.begin(), names.end(), name);
  return at == names.end() ? N - 1 : static_cast<size_t>(at - names.begin());
}

}  // namespace

void RunCounts::expect(const std::vector<std::string>& topics) {
  for (const auto& name : topics) topic(name).expected = true;
}

RunCounts::Topic& RunCounts::topic(std::string_view name) {
  // Only this thread adds: the look-up needs no lock (a service has a few topics).
  for (auto& t : topics_) {
    if (t.name == name) return t;
  }
  std::lock_guard lock(mutex_);
  Topic& t = topics_.emplace_back();
  t.name = name;
  return t;
}

Count& RunCounts::retried(std::string_view what) {
  for (auto& r : retried_) {
    if (r.what == what) return r.times;
  }
  std::lock_guard lock(mutex_);
  Retried& r = retried_.emplace_back();
  r.what = what;
  return r.times;
}

size_t RunCounts::op(std::string_view name) { return indexOf(kOps, name); }

size_t RunCounts::opIndex(char code) {
  switch (code) {
    case 'c':
      return 0;
    case 'u':
      return 1;
    case 'd':
      return 2;
    case 'r':
      return 3;
    default:
      return 4;  // 't'
  }
}
size_t RunCounts::reason(std::string_view name) { return indexOf(kReasons, name); }
size_t RunCounts::move(std::string_view name) { return indexOf(kMoves, name); }

uint64_t RunCounts::records() const {
  uint64_t n = 0;
  forEachTopic([&](const Topic& t) { n += t.consumed; });
  return n;
}

uint64_t RunCounts::deadLetters() const {
  uint64_t n = 0;
  forEachTopic([&](const Topic& t) {
    for (const Count& c : t.deadLetters) n += c;
  });
  return n;
}

uint64_t RunCounts::retries() const {
  uint64_t n = 0;
  forEachRetried([&](const Retried& r) { n += r.times; });
  return n;
}

void RunCounts::forEachTopic(const std::function<void(const Topic&)>& f) const {
  std::lock_guard lock(mutex_);
  for (const auto& t : topics_) f(t);
}

void RunCounts::forEachRetried(const std::function<void(const Retried&)>& f) const {
  std::lock_guard lock(mutex_);
  for (const auto& r : retried_) f(r);
}

}  // namespace cdc::runtime
