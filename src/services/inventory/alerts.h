#pragma once

#include <atomic>
#include <cstdint>
#include <span>
#include <string>

#include "core/result.h"

namespace cdc::inventory {

// Available stock of a product fell below the threshold (once per downward crossing).
struct LowStockAlert {
  int64_t productId = 0;
  std::string name;
  int64_t stock = 0;
  int64_t threshold = 0;
  int64_t sourceTsMs = 0;   // when the change that crossed the threshold was committed
  std::string traceparent;  // the W3C trace context of that change's record, when it had one

  // {"type":"low_stock","product_id":…,"name":…,"stock_quantity":…,"threshold":…,"timestamp":…}
  std::string toJson() const;
};

// Where alerts go once the change that raised them is durable. Implementations: the
// structured log (always) and the Kafka topic ALERTS_TOPIC (with the Kafka adapter).
class AlertSink {
 public:
  virtual ~AlertSink() = default;
  // Hands the alerts over without waiting for a broker.
  virtual Status publish(std::span<const LowStockAlert> alerts) = 0;
  // Whether every alert published so far is delivered (or given up on, and logged), so that
  // the positions of the changes that raised them may be committed; `force`: wait for that now
  // (a bounded wait, then give up on what is left).
  virtual bool settled(bool force) {
    (void)force;
    return true;
  }
};

// Logs each alert as one structured line and counts them.
class LogAlertSink final : public AlertSink {
 public:
  Status publish(std::span<const LowStockAlert> alerts) override;
  uint64_t count() const { return count_.load(); }

 private:
  std::atomic<uint64_t> count_{0};
};

}  // namespace cdc::inventory
