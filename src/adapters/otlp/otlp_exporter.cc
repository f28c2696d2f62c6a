#include "adapters/otlp/otlp_exporter.h"

#include <zlib.h>

#include <charconv>
#include <stdexcept>
#include <thread>

#include "metrics/registry.h"
#include "tracing/otlp_encoding.h"

namespace cdc::otlp {

std::string gzip(std::string_view body) {
  z_stream z{};
  // 15 window bits + 16: a gzip header and trailer instead of zlib's.
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return {};
  std::string out(deflateBound(&z, body.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(body.data()));
  z.avail_in = static_cast<uInt>(body.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return rc == Z_STREAM_END ? out : std::string();
}

OtlpHttpExporter::OtlpHttpExporter(OtlpOptions options) : options_(std::move(options)) {
  auto base = aws::requestForUrl(options_.endpoint);
  if (!base) throw std::invalid_argument("'" + options_.endpoint + "' is not an http:// or https:// URL with a host");
  base_ = std::move(*base);
  if (base_.path.empty()) base_.path = "/";
  base_.method = "POST";
  base_.headers.emplace_back("Content-Type", options_.json ? "application/json" : "application/x-protobuf");
  if (options_.gzip) base_.headers.emplace_back("Content-Encoding", "gzip");
  base_.headers.emplace_back("User-Agent", "cdc-consumer-services/" + std::string(metrics::buildVersion()));
  for (const auto& h : options_.headers) base_.headers.push_back(h);
  aws::HttpClientOptions http;
  http.requestTimeout = options_.timeout;
  http.connectTimeout = std::min(options_.timeout, std::chrono::milliseconds(3'000));
  http.maxConcurrent = 1;
  http_ = std::make_unique<aws::HttpClient>(http);
}

OtlpHttpExporter::~OtlpHttpExporter() = default;

std::string OtlpHttpExporter::describe() const {
  return "the OTLP receiver " + base_.scheme + "://" + base_.host + base_.path +
         (options_.json ? " (http/json)" : " (http/protobuf)");
}

Status OtlpHttpExporter::exportSpans(std::span<const tracing::SpanData> spans) {
  constexpr std::string_view kScope = "cdc-consumer-services";
  aws::HttpRequest request = base_;
  request.body = options_.json ? tracing::encodeJson(options_.resource, kScope, metrics::buildVersion(), spans)
                               : tracing::encodeProtobuf(options_.resource, kScope, metrics::buildVersion(), spans);
  if (options_.gzip) request.body = gzip(request.body);
  const auto deadline = options_.time->steady() + options_.timeout;
  auto backoff = std::chrono::milliseconds(100);
  std::string last;
  while (true) {
    aws::HttpResponse r = http_->send(request);
    if (r.status >= 200 && r.status < 300) return {};
    const bool retryable = r.status == 0 || r.status == 429 || r.status == 502 || r.status == 503 || r.status == 504;
    last = r.status == 0 ? (r.timedOut ? "no answer in time" : r.transportError)
                         : "HTTP " + std::to_string(r.status) + (r.body.empty() ? "" : ": " + r.body.substr(0, 200));
    if (!retryable) return fail(Error::fatal(describe() + " refused " + std::to_string(spans.size()) + " spans: " + last));
    auto wait = backoff;
    if (const std::string* after = r.header("Retry-After")) {
      int seconds = 0;
      auto [end, ec] = std::from_chars(after->data(), after->data() + after->size(), seconds);
      if (ec == std::errc() && seconds >= 0) wait = std::chrono::seconds(seconds);
    }
    if (options_.time->steady() + wait >= deadline) break;
    std::this_thread::sleep_for(wait);
    backoff = std::min(backoff * 4, std::chrono::milliseconds(2'000));
  }
  return fail(Error::retry(describe() + ": " + last));
}

}  // namespace cdc::otlp
