#include "app/service.h"

namespace cdc::app {

debezium::DecoderOptions decoderOptions(const config::Config& c) {
  const auto s = c.get<config::DecodingSettings>();
  using S = config::DecodingSettings;
  debezium::DecoderOptions d;
  d.schemalessDecimals = s.schemalessDecimals == "precise"  ? debezium::SchemalessDecimals::Precise
                         : s.schemalessDecimals == "string" ? debezium::SchemalessDecimals::String
                                                            : debezium::SchemalessDecimals::Auto;
  if (s.decimalScale < 0 || s.decimalScale > 18) throw config::ConfigError(s.origin(&S::decimalScale) + ": expected 0 to 18");
  d.defaultDecimalScale = static_cast<int32_t>(s.decimalScale);
  d.schemalessTimestamps = s.schemalessTimestamps == "micro"   ? debezium::SchemalessTimestamps::Micro
                           : s.schemalessTimestamps == "milli" ? debezium::SchemalessTimestamps::Milli
                           : s.schemalessTimestamps == "nano"  ? debezium::SchemalessTimestamps::Nano
                                                               : debezium::SchemalessTimestamps::Auto;
  return d;
}

kafka::Properties kafkaProperties(const config::Config& c) {
  const auto s = c.get<config::KafkaSettings>();
  kafka::Properties props;
  for (const auto& [name, value] : c.kafkaPassthrough()) props.push_back({name, value, kafka::environmentName(name)});
  if (s.bootstrapServers) {
    kafka::setProperty(props, "bootstrap.servers", *s.bootstrapServers, s.origin(&config::KafkaSettings::bootstrapServers));
  }
  return props;
}

}  // namespace cdc::app
