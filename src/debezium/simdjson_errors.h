#pragma once

// Internal to the decoder: maps simdjson's error codes onto our typed decode errors.

#include <string_view>

#include <simdjson.h>

#include "debezium/decode_error.h"

namespace cdc::debezium::detail {

inline DecodeError fromSimdjson(simdjson::error_code e, std::string_view field, std::string_view expected = {}) {
  DecodeError out;
  out.field = std::string(field);
  switch (e) {
    case simdjson::UTF8_ERROR:
      out.code = DecodeErrc::InvalidUtf8;
      break;
    case simdjson::INCOMPLETE_ARRAY_OR_OBJECT:
    case simdjson::UNCLOSED_STRING:
    case simdjson::EMPTY:
      out.code = DecodeErrc::Truncated;
      break;
    case simdjson::INCORRECT_TYPE:
      out.code = DecodeErrc::WrongType;
      if (!expected.empty()) out.detail = "expected " + std::string(expected);
      return out;
    case simdjson::NUMBER_OUT_OF_RANGE:
      out.code = DecodeErrc::NumberOutOfRange;
      break;
    case simdjson::NO_SUCH_FIELD:
      out.code = DecodeErrc::MissingField;
      return out;
    case simdjson::NUMBER_ERROR:
      out.code = DecodeErrc::WrongType;
      break;
    default:
      out.code = DecodeErrc::InvalidJson;
      break;
  }
  out.detail = simdjson::error_message(e);
  return out;
}

}  // namespace cdc::debezium::detail
