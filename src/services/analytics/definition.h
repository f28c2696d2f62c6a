#pragma once

#include "services/analytics/analytics_service.h"
#include "services/service.h"

namespace cdc::analytics {

// analytics-service: orders and order_items into the reports of the data lake.
const services::ServiceDefinition& definition();
// Its options from the configuration (TOP_N, FLUSH_INTERVAL …).
AnalyticsOptions optionsFrom(const config::Config& c);

}  // namespace cdc::analytics
