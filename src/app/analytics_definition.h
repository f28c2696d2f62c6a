#pragma once

#include "app/service.h"
#include "services/analytics/analytics_service.h"

namespace cdc::app {

// analytics-service: orders and order_items into the reports of the data lake.
const ServiceDefinition& analyticsService();
// Its options from the configuration (TOP_N, FLUSH_INTERVAL …).
analytics::AnalyticsOptions analyticsOptions(const config::Config& c);

}  // namespace cdc::app
