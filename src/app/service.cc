#include "app/service.h"

namespace cdc::app {

debezium::DecoderOptions decoderOptions(const config::Config& c) {
  debezium::DecoderOptions d;
  const auto& dec = c.str("schemaless-decimals");
  d.schemalessDecimals = dec == "precise"  ? debezium::SchemalessDecimals::Precise
                         : dec == "string" ? debezium::SchemalessDecimals::String
                                           : debezium::SchemalessDecimals::Auto;
  int64_t scale = c.integer("decimal-scale");
  if (scale < 0 || scale > 18) throw config::ConfigError(c.origin("decimal-scale") + ": expected 0 to 18");
  d.defaultDecimalScale = static_cast<int32_t>(scale);
  const auto& ts = c.str("schemaless-timestamps");
  d.schemalessTimestamps = ts == "micro"   ? debezium::SchemalessTimestamps::Micro
                           : ts == "milli" ? debezium::SchemalessTimestamps::Milli
                           : ts == "nano"  ? debezium::SchemalessTimestamps::Nano
                                           : debezium::SchemalessTimestamps::Auto;
  return d;
}

kafka::Properties kafkaProperties(const config::Config& c) {
  kafka::Properties props;
  for (const auto& [name, value] : c.kafkaPassthrough()) props.push_back({name, value, kafka::environmentName(name)});
  if (c.has("bootstrap-servers")) {
    kafka::setProperty(props, "bootstrap.servers", c.str("bootstrap-servers"), c.origin("bootstrap-servers"));
  }
  return props;
}

}  // namespace cdc::app
