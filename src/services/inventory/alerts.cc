#include "services/inventory/alerts.h"

#include "core/json_writer.h"
#include "core/log.h"
#include "core/time.h"

namespace cdc::inventory {

std::string LowStockAlert::toJson() const {
  std::string out;
  JsonWriter w(out);
  w.beginObject()
      .field("type", "low_stock")
      .field("product_id", productId)
      .field("name", name)
      .field("stock_quantity", stock)
      .field("threshold", threshold)
      .field("timestamp", formatIsoTimestamp(Timestamp::fromMillis(sourceTsMs)))
      .endObject();
  return out;
}

Status LogAlertSink::publish(std::span<const LowStockAlert> alerts) {
  for (const auto& a : alerts) {
    log::event(spdlog::level::warn, "low_stock_alert",
               {{"product_id", std::to_string(a.productId), true},
                {"name", a.name},
                {"stock_quantity", std::to_string(a.stock), true},
                {"threshold", std::to_string(a.threshold), true}},
               parseTraceParent(a.traceparent));
  }
  count_ += alerts.size();
  return {};
}

}  // namespace cdc::inventory
