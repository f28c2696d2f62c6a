#pragma once

// Reading the typed fields of a Debezium message with simdjson On-Demand (integers, strings,
// decimals as Money, keys), each failure a DecodeError naming the field. Internal to the decoder
// (decoder.cc, field_reader.cc); inline, as the decoder's inner loop calls them per field.

#include <cstring>
#include <expected>
#include <string>
#include <string_view>

#include <simdjson.h>

#include "core/base64.h"
#include "core/decimal.h"
#include "core/time.h"
#include "debezium/decoder.h"
#include "debezium/schema.h"
#include "debezium/simdjson_errors.h"

namespace cdc::debezium::fields {

using detail::fromSimdjson;
using simdjson::ondemand::json_type;
using simdjson::ondemand::object;
using simdjson::ondemand::value;

using Failure = std::unexpected<DecodeError>;
// Decoding one field: true when it held a non-null value, false for JSON null.
using FieldResult = std::expected<bool, DecodeError>;

inline Failure failure(DecodeErrc code, std::string_view field, std::string detail = {}) {
  return Failure(DecodeError{code, std::string(field), std::move(detail)});
}

inline Failure failure(simdjson::error_code e, std::string_view field, std::string_view expected = {}) {
  return Failure(fromSimdjson(e, field, expected));
}

inline FieldResult isNull(value& v, std::string_view field) {
  bool null = false;
  if (auto e = v.is_null().get(null)) return failure(e, field);
  return !null;
}

inline FieldResult readInt64(value& v, std::string_view field, int64_t& out) {
  auto present = isNull(v, field);
  if (!present || !*present) return present;
  if (auto e = v.get_int64().get(out)) {
    // simdjson calls an integer beyond 64 bits a type error; for us it is a range error.
    json_type jt;
    if (e == simdjson::INCORRECT_TYPE && v.type().get(jt) == simdjson::SUCCESS && jt == json_type::number &&
        v.raw_json_token().find_first_of(".eE") == std::string_view::npos) {
      return failure(DecodeErrc::NumberOutOfRange, field, "integer beyond 64 bits");
    }
    return failure(e, field, "an integer");
  }
  return true;
}

inline FieldResult readInt32(value& v, std::string_view field, int32_t& out) {
  int64_t wide = 0;
  auto present = readInt64(v, field, wide);
  if (!present || !*present) return present;
  if (wide < INT32_MIN || wide > INT32_MAX) {
    return failure(DecodeErrc::NumberOutOfRange, field, std::to_string(wide) + " does not fit a 32-bit integer");
  }
  out = static_cast<int32_t>(wide);
  return true;
}

inline FieldResult readString(value& v, std::string_view field, std::string& out) {
  auto present = isNull(v, field);
  if (!present || !*present) return present;
  std::string_view s;
  if (auto e = v.get_string().get(s)) return failure(e, field, "a string");
  out.assign(s);
  return true;
}

inline std::expected<Money, DecodeError> moneyFromDecimal(const std::expected<Decimal, DecimalErrc>& d, std::string_view field) {
  if (!d) {
    auto code = d.error() == DecimalErrc::OutOfRange ? DecodeErrc::NumberOutOfRange : DecodeErrc::BadDecimal;
    return failure(code, field, toString(d.error()));
  }
  auto m = Money::fromDecimal(*d);
  if (!m) {
    auto code = m.error() == DecimalErrc::OutOfRange ? DecodeErrc::NumberOutOfRange : DecodeErrc::BadDecimal;
    return failure(code, field, std::string(toString(m.error())) + " in cents");
  }
  return *m;
}

inline std::expected<Money, DecodeError> moneyFromBase64(std::string_view text, int32_t scale, std::string_view field) {
  uint8_t bytes[32];
  if (text.size() / 4 * 3 > sizeof bytes) {
    return failure(DecodeErrc::NumberOutOfRange, field, "decimal of more than 32 bytes");
  }
  int n = base64DecodeInto(text, bytes, sizeof bytes);
  if (n <= 0) return failure(DecodeErrc::BadBase64, field, "'" + std::string(text.substr(0, 40)) + "' is not base64");
  return moneyFromDecimal(decimalFromTwosComplement({bytes, static_cast<size_t>(n)}, scale), field);
}

// A field's key without unescaping it: Debezium's keys are plain identifiers. A key that holds
// an escape sequence is returned as a string that matches none of ours (it is skipped).
inline std::string_view rawKey(simdjson::ondemand::field& field) {
  const char* start = field.key().raw();
  const char* end = static_cast<const char*>(std::memchr(start, '"', 256));
  if (end == nullptr) return "\x01";
  std::string_view k(start, static_cast<size_t>(end - start));
  if (k.find('\\') != std::string_view::npos) return "\x01";
  return k;
}

inline std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

// A decimal written as a string: base64 bytes (precise) or decimal digits, as the column's
// schema says (or, without one, as the schemaless settings say).
inline FieldResult readMoneyString(const DecoderOptions& options, value& v, std::string_view field, const ColumnType& type,
                                   Money& out) {
  std::string_view s;
  if (auto e = v.get_string().get(s)) return failure(e, field, "a decimal");
  bool base64 = false;
  switch (type.kind) {
    case ColumnKind::DecimalBytes:
      base64 = true;
      break;
    case ColumnKind::String:
    case ColumnKind::Double:
      base64 = false;
      break;
    case ColumnKind::Unknown:
      base64 = options.schemalessDecimals == SchemalessDecimals::Precise ||
               (options.schemalessDecimals == SchemalessDecimals::Auto && s.find('.') == std::string_view::npos);
      break;
    default:
      return failure(DecodeErrc::WrongType, field, "a string where the schema says otherwise");
  }
  int32_t scale = type.kind == ColumnKind::DecimalBytes ? type.scale : options.defaultDecimalScale;
  auto m = base64 ? moneyFromBase64(s, scale, field) : moneyFromDecimal(parseDecimal(s), field);
  if (!m) return std::unexpected(m.error());
  out = *m;
  return true;
}

// io.debezium.data.VariableScaleDecimal: {"scale": 2, "value": "AfvP"}.
inline FieldResult readVariableScaleDecimal(value& v, std::string_view field, Money& out) {
  object o;
  if (auto e = v.get_object().get(o)) return failure(e, field);
  int64_t scale = -1;
  std::string_view bytes;
  bool haveValue = false;
  for (auto member : o) {
    std::string_view k;
    if (auto e = member.unescaped_key().get(k)) return failure(e, field);
    if (k == "scale") {
      if (auto e = member.value().get_int64().get(scale)) return failure(e, std::string(field) + ".scale", "an integer");
    } else if (k == "value") {
      if (auto e = member.value().get_string().get(bytes)) return failure(e, std::string(field) + ".value", "a base64 string");
      haveValue = true;
    }
  }
  if (scale < 0) return failure(DecodeErrc::MissingField, std::string(field) + ".scale");
  if (!haveValue) return failure(DecodeErrc::MissingField, std::string(field) + ".value");
  if (scale > 38) return failure(DecodeErrc::NumberOutOfRange, std::string(field) + ".scale");
  auto m = moneyFromBase64(bytes, static_cast<int32_t>(scale), field);
  if (!m) return std::unexpected(m.error());
  out = *m;
  return true;
}

// A decimal column as Money: a precise (base64) or string decimal, or a double, as its schema
// says (or, without one, as the schemaless settings say).
inline FieldResult readMoney(const DecoderOptions& options, value& v, std::string_view field, const ColumnType& type,
                             Money& out) {
  json_type jt;
  if (auto e = v.type().get(jt)) return failure(e, field);
  switch (jt) {
    case json_type::null:
      return false;
    case json_type::string:
      return readMoneyString(options, v, field, type, out);
    case json_type::number: {
      // `double` mode: read the literal's digits, never the binary double.
      std::string_view token = v.raw_json_token();
      auto m = moneyFromDecimal(parseDecimal(trimmed(token)), field);
      if (!m) return std::unexpected(m.error());
      out = *m;
      return true;
    }
    case json_type::object:
      return readVariableScaleDecimal(v, field, out);
    default:
      return failure(DecodeErrc::WrongType, field, "expected a decimal");
  }
}

// The unit of a schemaless (or integer-typed) timestamp: as configured, or guessed from its
// magnitude (Auto).
inline ColumnKind timestampUnit(const DecoderOptions& options, int64_t n) {
  switch (options.schemalessTimestamps) {
    case SchemalessTimestamps::Micro:
      return ColumnKind::MicroTimestamp;
    case SchemalessTimestamps::Milli:
      return ColumnKind::MilliTimestamp;
    case SchemalessTimestamps::Nano:
      return ColumnKind::NanoTimestamp;
    case SchemalessTimestamps::Auto:
      break;
  }
  int64_t mag = n < 0 ? -n : n;
  return mag >= 100'000'000'000'000'000LL ? ColumnKind::NanoTimestamp
         : mag >= 100'000'000'000'000LL   ? ColumnKind::MicroTimestamp
         : mag >= 100'000'000'000LL       ? ColumnKind::MilliTimestamp
                                          : ColumnKind::Unknown;  // seconds
}

// A timestamp column, in whichever unit its schema (or the schemaless setting) names.
inline FieldResult readTimestamp(const DecoderOptions& options, value& v, std::string_view field, const ColumnType& type,
                                 Timestamp& out) {
  json_type jt;
  if (auto e = v.type().get(jt)) return failure(e, field);
  if (jt == json_type::null) return false;
  if (jt == json_type::string) {
    std::string_view s;
    if (auto e = v.get_string().get(s)) return failure(e, field);
    auto t = parseIsoTimestamp(s);
    if (!t) return failure(DecodeErrc::BadTimestamp, field, "'" + std::string(s.substr(0, 40)) + "' is not ISO-8601");
    out = *t;
    return true;
  }
  int64_t n = 0;
  if (auto e = v.get_int64().get(n)) return failure(e, field, "a timestamp");
  ColumnKind kind = type.kind;
  if (kind == ColumnKind::Unknown || kind == ColumnKind::Integer) kind = timestampUnit(options, n);
  constexpr int64_t kMaxMillis = INT64_MAX / 1000;
  constexpr int64_t kMaxSeconds = INT64_MAX / 1'000'000;
  constexpr int64_t kMaxDays = INT64_MAX / 86'400'000'000LL;
  switch (kind) {
    case ColumnKind::MicroTimestamp:
      out = Timestamp{n};
      break;
    case ColumnKind::NanoTimestamp:
      out = Timestamp::fromNanos(n);
      break;
    case ColumnKind::MilliTimestamp:
      if (n > kMaxMillis || n < -kMaxMillis) return failure(DecodeErrc::NumberOutOfRange, field);
      out = Timestamp::fromMillis(n);
      break;
    case ColumnKind::Date:
      if (n > kMaxDays || n < -kMaxDays) return failure(DecodeErrc::NumberOutOfRange, field);
      out = Timestamp::fromDays(n);
      break;
    case ColumnKind::Unknown:
      if (n > kMaxSeconds || n < -kMaxSeconds) return failure(DecodeErrc::NumberOutOfRange, field);
      out = Timestamp{n * 1'000'000};
      break;
    default:
      return failure(DecodeErrc::WrongType, field, "a number where the schema says otherwise");
  }
  return true;
}

// The `id` of a message key: {"id":1} or {"schema":…,"payload":{"id":1}}.
std::expected<int64_t, DecodeError> parseKeyId(simdjson::ondemand::parser& parser, std::string_view key);

}  // namespace cdc::debezium::fields
