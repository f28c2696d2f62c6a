#include "debezium/field_reader.h"

#include <optional>

namespace cdc::debezium::fields {

// The `id` of a message key: {"id":1} or {"schema":…,"payload":{"id":1}}. Every field is read
// in order and every error is returned at once: simdjson's iterator must not be used again
// after an error (a truncated key such as {"a":{} once crashed a second field look-up).
std::expected<int64_t, DecodeError> parseKeyId(simdjson::ondemand::parser& parser, std::string_view key) {
  simdjson::padded_string padded(key);
  simdjson::ondemand::document doc;
  if (auto e = parser.iterate(padded).get(doc)) return failure(e, "key");
  object o;
  if (doc.get_object().get(o)) return failure(DecodeErrc::BadKey, "key", "not an object");
  std::optional<int64_t> id;
  bool wrapped = false;
  auto readId = [&](value& v, std::string_view field) -> std::expected<void, DecodeError> {
    int64_t n = 0;
    auto present = readInt64(v, field, n);
    if (!present) return std::unexpected(present.error());
    if (!*present) return failure(DecodeErrc::BadKey, field, "null");
    id = n;
    return {};
  };
  for (auto member : o) {
    simdjson::ondemand::field f;
    if (auto e = std::move(member).get(f)) return failure(e, "key");
    std::string_view k = rawKey(f);
    value v = f.value();
    if (k == "payload") {
      object p;
      if (v.get_object().get(p) != simdjson::SUCCESS) return failure(DecodeErrc::BadKey, "key.payload", "not an object");
      wrapped = true;
      id.reset();
      for (auto inner : p) {
        simdjson::ondemand::field pf;
        if (auto e = std::move(inner).get(pf)) return failure(e, "key.payload");
        value pv = pf.value();
        if (rawKey(pf) != "id") continue;
        if (auto r = readId(pv, "key.id"); !r) return std::unexpected(r.error());
      }
    } else if (k == "id" && !wrapped) {
      if (auto r = readId(v, "key.id"); !r) return std::unexpected(r.error());
    }
  }
  if (doc.current_location().error() == simdjson::SUCCESS)
    return failure(DecodeErrc::InvalidJson, "key", "trailing content after the JSON object");
  if (!id) return failure(DecodeErrc::MissingField, "key.id", "the key has no id");
  return *id;
}

}  // namespace cdc::debezium::fields
