#include "services/analytics/definition.h"

namespace cdc::analytics {

AnalyticsOptions optionsFrom(const config::Config& c) {
  AnalyticsOptions o;
  o.topN = static_cast<int>(c.integer("top-n"));
  o.flushIntervalSeconds = c.integer("flush-interval");
  o.checkpointIntervalMs = c.integer("checkpoint-interval-ms");
  o.decoding = services::decoderOptions(c);
  return o;
}

const services::ServiceDefinition& definition() {
  static const services::ServiceDefinition d{
      "analytics-service",
      "analytics",
      {"orders", "order_items"},
      /*usesTableStore=*/false,
      /*writesObjects=*/true,
      [](const config::Config& c, services::ServiceContext& ctx) -> std::unique_ptr<runtime::Handler> {
        return std::make_unique<AnalyticsHandler>(*ctx.objects, optionsFrom(c));
      },
      nullptr,
      [](const config::Config& c) { return AnalyticsHandler::decoding(services::decoderOptions(c)); }};
  return d;
}

}  // namespace cdc::analytics
