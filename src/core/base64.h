#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace cdc {

// Strict standard base64 (RFC 4648 alphabet, `=` padding required when the length calls for it).
// Returns false on any character outside the alphabet, bad padding or a length that is not
// a multiple of four; `out` is then unspecified.
bool base64Decode(std::string_view in, std::string& out);

// Decodes into a fixed buffer; returns the byte count, or -1 on bad input or overflow.
int base64DecodeInto(std::string_view in, uint8_t* out, size_t capacity);

std::string base64Encode(std::string_view bytes);

}  // namespace cdc
