#pragma once

#include "app/service.h"
#include "services/inventory/inventory_service.h"

namespace cdc::app {

// inventory-service: products and order_items into the inventory table; low-stock alerts to
// the log and, with Kafka configured, to ALERTS_TOPIC.
const ServiceDefinition& inventoryService();
// Its options from the configuration (DYNAMODB_TABLE, LOW_STOCK_THRESHOLD …).
inventory::InventoryOptions inventoryOptions(const config::Config& c);

}  // namespace cdc::app
