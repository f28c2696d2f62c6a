#include "app/analytics_definition.h"

namespace cdc::app {

analytics::AnalyticsOptions analyticsOptions(const config::Config& c) {
  const auto s = c.get<config::AnalyticsSettings>();
  analytics::AnalyticsOptions o;
  o.topN = static_cast<int>(s.topN);
  o.flushIntervalSeconds = s.flushInterval;
  o.checkpointIntervalMs = s.checkpointIntervalMs;
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
