#include "tracing/sampler.h"

#include <charconv>
#include <cmath>

#include <fmt/format.h>

namespace cdc::tracing {

Sampler::Sampler(Root root, bool parentBased, double ratio) : root_(root), parentBased_(parentBased), ratio_(ratio) {
  // ratio 1 samples every id; 0 none (an id of 0 in its lower half is still refused below).
  if (ratio >= 1.0) {
    bound_ = UINT64_MAX;
  } else if (ratio <= 0.0) {
    bound_ = 0;
  } else {
    bound_ = static_cast<uint64_t>(std::ldexp(ratio, 64));
  }
}

std::optional<Sampler> Sampler::parse(std::string_view name, std::string_view arg, std::string& why) {
  double ratio = 1.0;
  if (!arg.empty()) {
    auto [end, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), ratio);
    if (ec != std::errc() || end != arg.data() + arg.size() || !(ratio >= 0.0 && ratio <= 1.0)) {
      why = "expected a ratio from 0 to 1, got '" + std::string(arg) + "'";
      return std::nullopt;
    }
  }
  bool parentBased = name.starts_with("parentbased_");
  std::string_view rootName = parentBased ? name.substr(12) : name;
  if (rootName == "always_on") return Sampler(Root::AlwaysOn, parentBased);
  if (rootName == "always_off") return Sampler(Root::AlwaysOff, parentBased);
  if (rootName == "traceidratio") return Sampler(Root::Ratio, parentBased, ratio);
  why =
      "expected always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or "
      "parentbased_traceidratio, got '" +
      std::string(name) + "'";
  return std::nullopt;
}

bool Sampler::rootDecision(const TraceId& id) const {
  switch (root_) {
    case Root::AlwaysOn:
      return true;
    case Root::AlwaysOff:
      return false;
    case Root::Ratio:
      return bound_ == UINT64_MAX || id.lo < bound_;
  }
  return false;
}

bool Sampler::sample(const SpanContext* parent, const TraceId& id) const {
  if (parentBased_ && parent && parent->valid()) return parent->sampled;
  return rootDecision(id);
}

std::string Sampler::describe() const {
  const char* root = root_ == Root::AlwaysOn ? "always_on" : root_ == Root::AlwaysOff ? "always_off" : "traceidratio";
  std::string out = (parentBased_ ? "parentbased_" : "") + std::string(root);
  if (root_ == Root::Ratio) out += fmt::format("{{{}}}", ratio_);
  return out;
}

}  // namespace cdc::tracing
