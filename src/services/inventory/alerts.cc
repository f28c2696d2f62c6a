#include "services/inventory/alerts.h"

#include <charconv>

#include <simdjson.h>

#include "core/json_writer.h"
#include "core/log.h"
#include "core/time.h"

namespace cdc::inventory {

std::string LowStockAlert::id() const { return std::to_string(productId) + "-" + std::to_string(crossing); }

std::optional<std::pair<int64_t, int64_t>> LowStockAlert::parseId(std::string_view id) {
  // The product id may be negative ("-3-1"): the crossing follows the last dash.
  const size_t dash = id.rfind('-');
  if (dash == std::string_view::npos || dash == 0) return std::nullopt;
  int64_t product = 0, crossing = 0;
  const std::string_view p = id.substr(0, dash), c = id.substr(dash + 1);
  auto [pe, pec] = std::from_chars(p.data(), p.data() + p.size(), product);
  auto [ce, cec] = std::from_chars(c.data(), c.data() + c.size(), crossing);
  if (pec != std::errc() || pe != p.data() + p.size() || cec != std::errc() || ce != c.data() + c.size() || c.empty()) {
    return std::nullopt;
  }
  return std::pair{product, crossing};
}

std::string LowStockAlert::toJson() const {
  std::string out;
  JsonWriter w(out);
  w.beginObject()
      .field("type", "low_stock")
      .field("alert_id", id())
      .field("product_id", productId)
      .field("crossing", crossing)
      .field("name", name)
      .field("stock_quantity", stock)
      .field("threshold", threshold)
      .field("timestamp", formatIsoTimestamp(Timestamp::fromMillis(sourceTsMs)))
      .endObject();
  return out;
}

std::string LowStockAlert::toOutbox() const {
  std::string out;
  JsonWriter w(out);
  w.beginObject()
      .field("name", name)
      .field("stock", stock)
      .field("threshold", threshold)
      .field("ts", sourceTsMs)
      .field("traceparent", traceparent)
      .field("topic", sourceTopic)
      .field("partition", sourcePartition)
      .field("offset", sourceOffset)
      .endObject();
  return out;
}

std::optional<LowStockAlert> LowStockAlert::fromOutbox(int64_t productId, int64_t crossing, std::string_view text) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(text.data(), text.size()).get(doc) != simdjson::SUCCESS) return std::nullopt;
  LowStockAlert a;
  a.productId = productId;
  a.crossing = crossing;
  std::string_view name, traceparent, topic;
  int64_t partition = -1;
  if (doc["name"].get_string().get(name) || doc["stock"].get_int64().get(a.stock) ||
      doc["threshold"].get_int64().get(a.threshold) || doc["ts"].get_int64().get(a.sourceTsMs) ||
      doc["traceparent"].get_string().get(traceparent) || doc["topic"].get_string().get(topic) ||
      doc["partition"].get_int64().get(partition) || doc["offset"].get_int64().get(a.sourceOffset)) {
    return std::nullopt;
  }
  a.name = std::string(name);
  a.traceparent = std::string(traceparent);
  a.sourceTopic = std::string(topic);
  a.sourcePartition = static_cast<int32_t>(partition);
  return a;
}

Status LogAlertSink::publish(std::span<const LowStockAlert> alerts) {
  for (const auto& a : alerts) {
    log::event(spdlog::level::warn, "low_stock_alert",
               {{"alert_id", a.id()},
                {"product_id", std::to_string(a.productId), true},
                {"name", a.name},
                {"stock_quantity", std::to_string(a.stock), true},
                {"threshold", std::to_string(a.threshold), true}},
               parseTraceParent(a.traceparent));
    logged_.emplace_back(a.productId, a.crossing);
  }
  count_ += alerts.size();
  return {};
}

Status FanoutAlertSink::publish(std::span<const LowStockAlert> alerts) {
  for (auto* sink : sinks_) {
    if (auto s = sink->publish(alerts); !s) return s;
  }
  return {};
}

bool FanoutAlertSink::settled(bool force) {
  bool all = true;
  for (auto* sink : sinks_) all = sink->settled(force) && all;
  return all;
}

std::vector<std::pair<int64_t, int64_t>> FanoutAlertSink::takeAcknowledged() {
  std::vector<std::pair<int64_t, int64_t>> last;
  for (auto* sink : sinks_) last = sink->takeAcknowledged();
  return last;
}

}  // namespace cdc::inventory
