#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace cdc::http {

// Query parameters of a GET request (the last value of a repeated name).
using Params = std::map<std::string, std::string, std::less<>>;

// One parsed HTTP/1.x request head (request line and headers; we accept no body).
struct RequestHead {
  std::string method;
  std::string path;  // percent-decoded, without the query
  Params params;
  bool keepAlive = true;  // HTTP/1.1 unless `Connection: close`; HTTP/1.0 only with `keep-alive`
  bool hasBody = false;   // Content-Length above 0, or Transfer-Encoding
  size_t headBytes = 0;   // bytes of the head, its blank line included
};

// What parsing the bytes received so far gave.
struct ParseResult {
  enum class Kind { Incomplete, Request, Error } kind = Kind::Incomplete;
  RequestHead head;   // Request
  int status = 0;     // Error: the status to answer before closing (400, 414, 431, 505)
  std::string error;  // Error: why
};

// Parses the head of the first request in `buffer`. A head longer than `maxHeadBytes` is an
// error as soon as that many bytes have come without its end (414 when the request line alone
// is that long, else 431), so a client can never make the server buffer more.
ParseResult parseRequestHead(std::string_view buffer, size_t maxHeadBytes);

// Percent-decoding ('+' as a space when `plusIsSpace`); nullopt for a malformed escape.
std::optional<std::string> percentDecode(std::string_view s, bool plusIsSpace);

// The standard reason phrase of a status code ("Not Found").
const char* reasonPhrase(int status);

}  // namespace cdc::http
