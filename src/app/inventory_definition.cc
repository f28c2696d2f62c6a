#include "app/inventory_definition.h"

#include "adapters/kafka/kafka_source.h"
#include "adapters/kafka/transactional_publisher.h"
#include "app/kafka_alerts.h"
#include "runtime/member.h"

namespace cdc::app {

inventory::InventoryOptions inventoryOptions(const config::Config& c) {
  const auto s = c.get<config::InventorySettings>();
  const auto tables = c.get<config::TableSettings>();
  inventory::InventoryOptions o;
  if (tables.tableName) o.table = *tables.tableName;
  o.ledgerTable = s.ledgerTable ? *s.ledgerTable : o.table + "-ledger";
  o.lowStockThreshold = s.lowStockThreshold;
  o.tombstoneRetentionSeconds = tables.ledgerRetention;
  o.createTables = c.get<config::StoreSettings>().createTables;
  o.decoding = decoderOptions(c);
  return o;
}

namespace {

std::unique_ptr<runtime::Handler> makeHandler(const config::Config& c, ServiceContext& ctx) {
  auto logAlerts = std::make_shared<inventory::LogAlertSink>();
  ctx.resources.push_back(logAlerts);
  inventory::AlertSink* sink = logAlerts.get();
  const auto s = c.get<config::InventorySettings>();
  const auto source = c.get<config::SourceSettings>().source;
  // With a Kafka producer configured, alerts also go to ALERTS_TOPIC (empty disables).
  if (c.get<config::KafkaSettings>().bootstrapServers && !s.alertsTopic.empty()) {
    kafka::Properties props = kafkaProperties(c);
    kafka::setDefault(props, "client.id", "inventory-service-alerts");
    // Exactly once when reading Kafka: the alerts go in the transactions that commit the
    // consumer's positions; a member that lost its partitions is fenced by its group generation
    // (KIP-447). The transactional.id follows the member's static identity when it has one
    // (KAFKA_GROUP_INSTANCE_ID, a StatefulSet's pod name): a restarted member then aborts at once
    // what its killed predecessor left open. Otherwise it is this process's own (host name and
    // pid), and what a killed process left open is aborted after transaction.timeout.ms.
    const bool transactional = s.alertsExactlyOnce && (!source || *source == "kafka");
    if (transactional) {
      const auto* instance = kafka::findProperty(props, "group.instance.id");
      kafka::setDefault(props, "transactional.id",
                        "inventory-service-alerts-" + (instance ? instance->value : runtime::memberName()));
      kafka::setDefault(props, "transaction.timeout.ms", "10000");
    }
    std::shared_ptr<kafka::MessagePublisher> publisher;
    if (transactional) {
      auto opened = kafka::TransactionalPublisher::open(std::move(props), s.alertsTopic, "alert");
      if (!opened) throw config::ConfigError(opened.error().message);
      std::shared_ptr<kafka::TransactionalPublisher> t = std::move(*opened);
      ctx.attachSource = [t](runtime::Source& source) {
        if (auto* k = dynamic_cast<kafka::KafkaSource*>(&source)) k->useTransactions(t.get());
      };
      publisher = t;
    } else {
      auto producer = kafka::KafkaProducer::open(std::move(props));
      if (!producer) throw config::ConfigError(producer.error().message);
      publisher = std::make_shared<kafka::KafkaPublisher>(std::move(*producer), s.alertsTopic, "alert");
    }
    auto kafkaAlerts = std::make_shared<KafkaAlertSink>(publisher);
    auto both =
        std::make_shared<inventory::FanoutAlertSink>(std::vector<inventory::AlertSink*>{logAlerts.get(), kafkaAlerts.get()});
    ctx.resources.push_back(kafkaAlerts);
    ctx.resources.push_back(both);
    sink = both.get();
  }
  return std::make_unique<inventory::InventoryHandler>(*ctx.tables, *sink, inventoryOptions(c));
}

}  // namespace

const ServiceDefinition& inventoryService() {
  static const ServiceDefinition d{
      "inventory-service",
      "inventory",
      {"products", "order_items"},
      true,
      false,
      makeHandler,
      nullptr,
      [](const config::Config& c) { return inventory::InventoryHandler::decoding(decoderOptions(c)); }};
  return d;
}

}  // namespace cdc::app
