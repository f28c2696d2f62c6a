#include "metrics/health.h"

#include <fmt/format.h>

#include "core/json_writer.h"
#include "metrics/registry.h"

namespace cdc::metrics {

Health::Health(std::chrono::milliseconds stallAfter, const TimeSource& time)
    : time_(time), stallAfter_(stallAfter), lastBeatNs_(nowNs()) {}

int64_t Health::nowNs() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(time_.steady().time_since_epoch()).count();
}

void Health::beat() { lastBeatNs_.store(nowNs(), std::memory_order_relaxed); }

void Health::addReadinessCheck(std::string name, Check check) {
  std::lock_guard lock(mutex_);
  checks_.emplace_back(std::move(name), std::move(check));
}

std::pair<int, std::string> Health::liveness() const {
  auto since = std::chrono::nanoseconds(nowNs() - lastBeatNs_.load(std::memory_order_relaxed));
  std::string body;
  JsonWriter w(body);
  if (since < stallAfter_) {
    w.beginObject().field("status", "alive").endObject();
    return {200, body};
  }
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since).count();
  w.beginObject()
      .field("status", "wedged")
      .field("reason", fmt::format("the processing loop has not turned for {} s (limit {} s)", seconds,
                                   std::chrono::duration_cast<std::chrono::seconds>(stallAfter_).count()))
      .endObject();
  return {503, body};
}

std::pair<int, std::string> Health::readiness() const {
  std::vector<std::pair<std::string, std::string>> failing;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [name, check] : checks_) {
      if (auto reason = check()) failing.emplace_back(name, std::move(*reason));
    }
  }
  std::string body;
  JsonWriter w(body);
  if (failing.empty()) {
    w.beginObject().field("status", "ready").endObject();
    return {200, body};
  }
  w.beginObject().field("status", "not ready").key("reasons").beginObject();
  for (const auto& [name, reason] : failing) w.field(name, reason);
  w.endObject().endObject();
  return {503, body};
}

std::shared_ptr<void> Health::instrument(Registry& registry, const std::string& service) const {
  return registry.addCollector([this, service](std::vector<prometheus::MetricFamily>& out) {
    Labels self{{"service", service}};
    auto live = gaugeFamily("cdc_live", "1 while the processing loop turns (what /healthz answers 200 to), else 0.");
    addGauge(live, self, liveness().first == 200 ? 1 : 0);
    out.push_back(std::move(live));
    auto checks = gaugeFamily("cdc_readiness_check", "1 while the readiness check passes, 0 while it fails (/readyz gives why).");
    bool ready = true;
    {
      std::lock_guard lock(mutex_);
      for (const auto& [name, check] : checks_) {
        bool passing = !check().has_value();
        ready = ready && passing;
        addGauge(checks, {{"service", service}, {"check", name}}, passing ? 1 : 0);
      }
    }
    auto all = gaugeFamily("cdc_ready", "1 while every readiness check passes (what /readyz answers 200 to), else 0.");
    addGauge(all, self, ready ? 1 : 0);
    out.push_back(std::move(all));
    out.push_back(std::move(checks));
  });
}

}  // namespace cdc::metrics
