#pragma once

#include <cstdint>
#include <string>

namespace cdc::debezium {

// Why a message could not be decoded. Every one of these makes the message a poison message.
enum class DecodeErrc : uint8_t {
  InvalidJson,  // not JSON at all, or trailing garbage
  Truncated,    // JSON that ends too early
  InvalidUtf8,
  WrongType,           // a field has the wrong JSON type
  MissingField,        // a field the shape requires is absent
  NumberOutOfRange,    // an integer or decimal too large for its column
  BadBase64,           // a `precise` decimal that is not valid base64
  BadDecimal,          // a decimal that is not a number or not exact in cents
  BadTimestamp,        // an unparseable temporal value
  UnknownOp,           // `op` / `__op` not one of c, u, d, r, t
  UnknownTable,        // the topic does not carry one of our tables
  BadKey,              // the message key is not {"id":…}
  UnknownSchema,       // a record in the Confluent wire format whose schema id the registry does not know
  IncompatibleSchema,  // its schema lacks a column the service reads, or types it so we cannot read it
  InvalidAvro,         // Avro bytes that do not match their schema
};

const char* toString(DecodeErrc e);

struct DecodeError {
  DecodeErrc code = DecodeErrc::InvalidJson;
  std::string field;   // the offending field, when there is one
  std::string detail;  // a human explanation

  // "wrong_type: field 'quantity': expected an integer".
  std::string message() const;
};

}  // namespace cdc::debezium
