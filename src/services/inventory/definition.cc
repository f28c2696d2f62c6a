#include "services/inventory/definition.h"

#include "adapters/kafka/alert_publisher.h"

namespace cdc::inventory {

InventoryOptions optionsFrom(const config::Config& c) {
  InventoryOptions o;
  if (c.has("table-name")) o.table = c.str("table-name");
  o.ledgerTable = c.has("ledger-table") ? c.str("ledger-table") : o.table + "-ledger";
  o.lowStockThreshold = c.integer("low-stock-threshold");
  o.tombstoneRetentionSeconds = c.integer("ledger-retention");
  o.createTables = c.boolean("create-tables");
  o.decoding = services::decoderOptions(c);
  return o;
}

namespace {

std::unique_ptr<runtime::Handler> makeHandler(const config::Config& c, services::ServiceContext& ctx) {
  auto logAlerts = std::make_shared<LogAlertSink>();
  ctx.resources.push_back(logAlerts);
  AlertSink* sink = logAlerts.get();
  // With a Kafka producer configured, alerts also go to ALERTS_TOPIC (empty disables).
  if (c.has("bootstrap-servers") && c.has("alerts-topic") && !c.str("alerts-topic").empty()) {
    kafka::Properties props = services::kafkaProperties(c);
    kafka::setDefault(props, "client.id", "inventory-service-alerts");
    auto producer = kafka::KafkaProducer::open(std::move(props));
    if (!producer) throw config::ConfigError(producer.error().message);
    auto kafkaAlerts = std::make_shared<kafka::KafkaAlertSink>(std::move(*producer), c.str("alerts-topic"));
    auto both = std::make_shared<kafka::FanoutAlertSink>(std::vector<AlertSink*>{logAlerts.get(), kafkaAlerts.get()});
    ctx.resources.push_back(kafkaAlerts);
    ctx.resources.push_back(both);
    sink = both.get();
  }
  return std::make_unique<InventoryHandler>(*ctx.tables, *sink, optionsFrom(c));
}

}  // namespace

const services::ServiceDefinition& definition() {
  static const services::ServiceDefinition d{
      "inventory-service",
      "inventory",
      {"products", "order_items"},
      true,
      false,
      makeHandler,
      nullptr,
      [](const config::Config& c) { return InventoryHandler::decoding(services::decoderOptions(c)); }};
  return d;
}

}  // namespace cdc::inventory
