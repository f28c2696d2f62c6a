#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "adapters/kafka/rdkafka_handles.h"
#include "core/result.h"

namespace cdc::kafka {

// One librdkafka property and where its value came from ("KAFKA_SECURITY_PROTOCOL",
// "--bootstrap-servers", "default"), so that a value librdkafka refuses is reported by the
// name the user gave it.
struct Property {
  std::string name;
  std::string value;
  std::string origin;
};
using Properties = std::vector<Property>;

// Sets `name` to `value` unless it is already there (defaults go after the user's values).
void setDefault(Properties& props, std::string_view name, std::string_view value);
// Sets `name` to `value`, replacing a previous value.
void setProperty(Properties& props, std::string_view name, std::string_view value, std::string_view origin);
const Property* findProperty(const Properties& props, std::string_view name);

// `props` without the consumer-only properties (group.id, session.timeout.ms, fetch.*, …) that
// KAFKA_* variables may hold, for a producer sharing the same settings.
Properties producerProperties(Properties props);

// The version of the librdkafka `cdc` links ("2.14.2").
std::string_view clientVersion();

// The environment variable a librdkafka property passes through from: security.protocol ->
// KAFKA_SECURITY_PROTOCOL.
std::string environmentName(std::string_view property);

// A librdkafka configuration holding `props`, with librdkafka's log lines routed to our
// structured log. A refused property is a Fatal error naming its origin.
Result<ConfPtr> makeConf(const Properties& props);

// "bootstrap.servers=…" for logs: values of properties that may hold secrets are masked.
std::string describe(const Properties& props);
// Whether a property's value may be a secret (a password, key, token, JAAS config): masked.
bool secret(std::string_view name);

}  // namespace cdc::kafka
