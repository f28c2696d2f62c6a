#include "app/analytics_definition.h"

namespace cdc::app {

analytics::AnalyticsOptions analyticsOptions(const config::Config& c) {
  analytics::AnalyticsOptions o;
  o.topN = static_cast<int>(c.integer("top-n"));
  o.flushIntervalSeconds = c.integer("flush-interval");
  o.checkpointIntervalMs = c.integer("checkpoint-interval-ms");
  o.decoding = decoderOptions(c);
  return o;
}

const ServiceDefinition& analyticsService() {
  static const ServiceDefinition d{
      "analytics-service",
      "analytics",
      {"orders", "order_items"},
      /*usesTableStore=*/false,
      /*writesObjects=*/true,
      [](const config::Config& c, ServiceContext& ctx) -> std::unique_ptr<runtime::Handler> {
        return std::make_unique<analytics::AnalyticsHandler>(*ctx.objects, analyticsOptions(c));
      },
      nullptr,
      [](const config::Config& c) { return analytics::AnalyticsHandler::decoding(decoderOptions(c)); }};
  return d;
}

}  // namespace cdc::app
