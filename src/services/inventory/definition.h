#pragma once

#include "services/inventory/inventory_service.h"
#include "services/service.h"

namespace cdc::inventory {

// inventory-service: products and order_items into the inventory table; low-stock alerts to
// the log and, with Kafka configured, to ALERTS_TOPIC.
const services::ServiceDefinition& definition();
// Its options from the configuration (DYNAMODB_TABLE, LOW_STOCK_THRESHOLD …).
InventoryOptions optionsFrom(const config::Config& c);

}  // namespace cdc::inventory
