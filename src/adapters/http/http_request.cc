#include "adapters/http/http_request.h"

#include <algorithm>
#include <charconv>

namespace cdc::http {
namespace {

ParseResult error(int status, std::string why) {
  ParseResult r;
  r.kind = ParseResult::Kind::Error;
  r.status = status;
  r.error = std::move(why);
  return r;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x >= 'A' && x <= 'Z' ? x + 32 : x) == (y >= 'A' && y <= 'Z' ? y + 32 : y);
         });
}

bool containsToken(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    auto comma = value.find(',');
    std::string_view one = value.substr(0, comma);
    while (!one.empty() && (one.front() == ' ' || one.front() == '\t')) one.remove_prefix(1);
    while (!one.empty() && (one.back() == ' ' || one.back() == '\t')) one.remove_suffix(1);
    if (equalsIgnoreCase(one, token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// RFC 9110 §5.6.2: a field name is a token.
bool tokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<std::string> percentDecode(std::string_view s, bool plusIsSpace) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int hi = hexValue(s[i + 1]);
      int lo = hexValue(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plusIsSpace) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

namespace {

// Where a request's head ends in `buffer`: before its first empty line (CRLF CRLF; a bare LF is
// tolerated as clients do), and the bytes it takes with that line; nothing when it has not
// come within the first `limit` bytes.
struct HeadEnd {
  size_t end = 0;
  size_t bytes = 0;
};
std::optional<HeadEnd> findHeadEnd(std::string_view buffer, size_t limit) {
  for (size_t i = buffer.find('\n'); i != std::string_view::npos && i < limit; i = buffer.find('\n', i + 1)) {
    if (i + 1 < buffer.size() && buffer[i + 1] == '\n') return HeadEnd{i, i + 2};
    if (i + 2 < buffer.size() && buffer[i + 1] == '\r' && buffer[i + 2] == '\n') return HeadEnd{i, i + 3};
  }
  return std::nullopt;
}

// The request line's method, target and version; why it is refused otherwise.
struct RequestLine {
  std::string_view method, target, version;
};
std::optional<ParseResult> readRequestLine(std::string_view line, RequestLine& out) {
  auto sp1 = line.find(' ');
  auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos) return error(400, "malformed request line");
  out = {line.substr(0, sp1), line.substr(sp1 + 1, sp2 - sp1 - 1), line.substr(sp2 + 1)};
  if (out.method.empty() || out.target.empty() || out.target.front() != '/') return error(400, "malformed request line");
  if (out.version != "HTTP/1.1" && out.version != "HTTP/1.0") {
    if (!out.version.starts_with("HTTP/")) return error(400, "malformed request line");
    return error(505, "only HTTP/1.0 and HTTP/1.1 are served");
  }
  return std::nullopt;
}

// One header line into the head (the ones the server acts on: Connection, Content-Length,
// Transfer-Encoding); why it is refused otherwise.
std::optional<ParseResult> readHeader(std::string_view h, bool http10, RequestHead& head) {
  auto colon = h.find(':');
  if (colon == std::string_view::npos || colon == 0 || h.front() == ' ' || h.front() == '\t') {
    return error(400, "malformed header line");
  }
  std::string_view name = h.substr(0, colon);
  // Whitespace between the name and the colon must be refused (RFC 9112 §5.1): a proxy in
  // front may read such a line otherwise than we do.
  if (!std::all_of(name.begin(), name.end(), tokenChar)) {
    return error(400, name.back() == ' ' || name.back() == '\t' ? "whitespace before a header's colon" : "malformed header name");
  }
  std::string_view value = trim(h.substr(colon + 1));
  if (equalsIgnoreCase(name, "connection")) {
    if (containsToken(value, "close")) head.keepAlive = false;
    if (http10 && containsToken(value, "keep-alive")) head.keepAlive = true;
  } else if (equalsIgnoreCase(name, "content-length")) {
    uint64_t n = 0;
    auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc() || p != value.data() + value.size()) return error(400, "malformed Content-Length");
    if (n > 0) head.hasBody = true;
  } else if (equalsIgnoreCase(name, "transfer-encoding")) {
    head.hasBody = true;
  }
  return std::nullopt;
}

// The target's path and query parameters, percent-decoded, into the head.
std::optional<ParseResult> readTarget(std::string_view target, RequestHead& head) {
  auto decodedPath = percentDecode(target.substr(0, target.find('?')), false);
  if (!decodedPath) return error(400, "malformed percent-encoding in the path");
  head.path = std::move(*decodedPath);
  auto q = target.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    auto key = percentDecode(pair.substr(0, eq), true);
    auto value = percentDecode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1), true);
    if (!key || !value) return error(400, "malformed percent-encoding in the query");
    head.params[std::move(*key)] = std::move(*value);
  }
  return std::nullopt;
}

}  // namespace

ParseResult parseRequestHead(std::string_view buffer, size_t maxHeadBytes) {
  auto ends = findHeadEnd(buffer, std::min(buffer.size(), maxHeadBytes));
  if (!ends || ends->bytes > maxHeadBytes) {
    if (buffer.size() < maxHeadBytes) return ParseResult{};
    bool lineEnded = buffer.substr(0, maxHeadBytes).find('\n') != std::string_view::npos;
    return lineEnded ? error(431, "request headers exceed " + std::to_string(maxHeadBytes) + " bytes")
                     : error(414, "request line exceeds " + std::to_string(maxHeadBytes) + " bytes");
  }
  std::string_view head = buffer.substr(0, ends->end);
  // Leading empty lines before a request line are allowed (RFC 9112 §2.2).
  while (head.starts_with("\r\n") || head.starts_with("\n")) head.remove_prefix(head[0] == '\r' ? 2 : 1);
  size_t lineEnd = head.find('\n');
  std::string_view rest = lineEnd == std::string_view::npos ? std::string_view{} : head.substr(lineEnd + 1);
  RequestLine line;
  if (auto refused = readRequestLine(trim(head.substr(0, lineEnd)), line)) return *refused;

  ParseResult r;
  r.kind = ParseResult::Kind::Request;
  r.head.method = std::string(line.method);
  r.head.headBytes = ends->bytes;
  const bool http10 = line.version == "HTTP/1.0";
  r.head.keepAlive = !http10;
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    std::string_view h = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    if (!h.empty() && h.back() == '\r') h.remove_suffix(1);
    if (h.empty()) continue;
    if (auto refused = readHeader(h, http10, r.head)) return *refused;
  }
  if (auto refused = readTarget(line.target, r.head)) return *refused;
  return r;
}

const char* reasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

}  // namespace cdc::http
