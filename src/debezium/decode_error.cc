#include "debezium/decode_error.h"

namespace cdc::debezium {

const char* toString(DecodeErrc e) {
  switch (e) {
    case DecodeErrc::InvalidJson:
      return "invalid_json";
    case DecodeErrc::Truncated:
      return "truncated_json";
    case DecodeErrc::InvalidUtf8:
      return "invalid_utf8";
    case DecodeErrc::WrongType:
      return "wrong_type";
    case DecodeErrc::MissingField:
      return "missing_field";
    case DecodeErrc::NumberOutOfRange:
      return "number_out_of_range";
    case DecodeErrc::BadBase64:
      return "bad_base64";
    case DecodeErrc::BadDecimal:
      return "bad_decimal";
    case DecodeErrc::BadTimestamp:
      return "bad_timestamp";
    case DecodeErrc::UnknownOp:
      return "unknown_op";
    case DecodeErrc::UnknownTable:
      return "unknown_table";
    case DecodeErrc::BadKey:
      return "bad_key";
    case DecodeErrc::UnknownSchema:
      return "unknown_schema";
    case DecodeErrc::IncompatibleSchema:
      return "incompatible_schema";
    case DecodeErrc::InvalidAvro:
      return "invalid_avro";
  }
  return "decode_error";
}

std::string DecodeError::message() const {
  std::string m = toString(code);
  if (!field.empty()) {
    m += ": field '";
    m += field;
    m += "'";
  }
  if (!detail.empty()) {
    m += ": ";
    m += detail;
  }
  return m;
}

}  // namespace cdc::debezium
