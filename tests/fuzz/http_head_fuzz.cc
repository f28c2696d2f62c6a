// libFuzzer target over the HTTP request-head parser, the first code a client's bytes reach
// on every port the services serve (/metrics, /healthz, /readyz, /search). It fails on a crash,
// a sanitizer report, or a result that breaks the parser's promises:
//   - a request's head lies within the bytes given and within the head limit; its method is
//     a word, its path absolute; parsing exactly its head bytes gives the same request (what
//     follows, a pipelined request, does not change it);
//   - an error is one of the statuses the server answers with, and says why;
//   - "incomplete" only while fewer bytes than the head limit have come (a client can never
//     make the server buffer more).
//
// Input layout: byte 0 picks the head limit (64 << (byte % 8): 64 B to 8 KiB, the server's
// default), the rest is what the client sent.

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "adapters/http/http_request.h"

namespace {

using cdc::http::ParseResult;

void check(bool ok) {
  if (!ok) std::abort();
}

bool sameHead(const cdc::http::RequestHead& a, const cdc::http::RequestHead& b) {
  return a.method == b.method && a.path == b.path && a.params == b.params && a.keepAlive == b.keepAlive &&
         a.hasBody == b.hasBody && a.headBytes == b.headBytes;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const size_t limit = size_t{64} << (data[0] % 8);
  std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  ParseResult r = cdc::http::parseRequestHead(bytes, limit);
  switch (r.kind) {
    case ParseResult::Kind::Incomplete:
      check(bytes.size() < limit);
      break;
    case ParseResult::Kind::Error:
      check(r.status == 400 || r.status == 414 || r.status == 431 || r.status == 505);
      check(!r.error.empty());
      break;
    case ParseResult::Kind::Request: {
      const auto& h = r.head;
      check(h.headBytes > 0 && h.headBytes <= bytes.size() && h.headBytes <= limit);
      check(!h.method.empty() && h.method.find(' ') == std::string::npos);
      check(!h.path.empty() && h.path.front() == '/');
      ParseResult alone = cdc::http::parseRequestHead(bytes.substr(0, h.headBytes), limit);
      check(alone.kind == ParseResult::Kind::Request && sameHead(alone.head, h));
      break;
    }
  }
  return 0;
}
