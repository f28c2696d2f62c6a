#include "adapters/aws/resilience.h"

#include <algorithm>
#include <charconv>
#include <ctime>

#include <zlib.h>

#include "core/log.h"
#include "core/time.h"

namespace cdc::aws {
namespace {

// The text between <tag> and </tag>, or empty.
std::string_view xmlText(std::string_view body, std::string_view tag) {
  std::string open = "<" + std::string(tag) + ">";
  auto b = body.find(open);
  if (b == std::string_view::npos) return {};
  b += open.size();
  auto e = body.find("</", b);
  return e == std::string_view::npos ? std::string_view{} : body.substr(b, e - b);
}

// The value of "key":"…" in a small JSON error body, or empty.
std::string_view jsonText(std::string_view body, std::string_view key) {
  std::string needle = "\"" + std::string(key) + "\"";
  auto k = body.find(needle);
  if (k == std::string_view::npos) return {};
  auto q = body.find('"', body.find(':', k + needle.size()) + 1);
  if (q == std::string_view::npos) return {};
  auto e = body.find('"', q + 1);
  return e == std::string_view::npos ? std::string_view{} : body.substr(q + 1, e - q - 1);
}

bool oneOf(std::string_view code, std::initializer_list<std::string_view> codes) {
  return std::find(codes.begin(), codes.end(), code) != codes.end();
}

}  // namespace

std::chrono::milliseconds fullJitter(const RetryPolicy& policy, int attempt, std::mt19937_64& rng) {
  int64_t ceiling = policy.base.count() << std::min(attempt, 20);
  ceiling = std::min<int64_t>(ceiling, policy.cap.count());
  std::uniform_int_distribution<int64_t> pick(0, std::max<int64_t>(ceiling, 0));
  return std::chrono::milliseconds(pick(rng));
}

std::string errorCode(const HttpResponse& r) {
  std::string_view body = r.body;
  if (std::string_view type = jsonText(body, "__type"); !type.empty()) {
    auto hash = type.rfind('#');
    return std::string(hash == std::string_view::npos ? type : type.substr(hash + 1));
  }
  if (std::string_view code = xmlText(body, "Code"); !code.empty()) return std::string(code);
  if (const auto* h = r.header("x-amz-error-code")) return *h;  // HEAD answers have no body
  return {};
}

std::string describe(const HttpResponse& r) {
  if (r.status == 0) return r.timedOut ? "timeout: " + r.transportError : "connection failed: " + r.transportError;
  std::string code = errorCode(r);
  std::string_view message = jsonText(r.body, "message");
  if (message.empty()) message = jsonText(r.body, "Message");
  if (message.empty()) message = xmlText(r.body, "Message");
  std::string out = std::to_string(r.status);
  if (!code.empty()) out += " " + code;
  if (!message.empty()) out += ": " + std::string(message);
  return out;
}

Outcome classify(const HttpResponse& r) {
  if (r.status == 0) return Outcome::Retry;
  if (r.status >= 200 && r.status < 300) return Outcome::Ok;
  std::string code = errorCode(r);
  if (oneOf(code, {"RequestTimeTooSkewed", "RequestExpired"})) return Outcome::ClockSkew;
  if (code == "InvalidSignatureException") {
    // DynamoDB says "Signature expired: … is now earlier than …" for a clock behind.
    std::string_view message = jsonText(r.body, "message");
    if (message.empty()) message = jsonText(r.body, "Message");
    if (message.find("Signature expired") != std::string_view::npos ||
        message.find("Signature not yet current") != std::string_view::npos) {
      return Outcome::ClockSkew;
    }
    return Outcome::RefreshCredentials;
  }
  if (oneOf(code,
            {"ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId", "UnrecognizedClientException", "InvalidAccessKeyId",
             "SignatureDoesNotMatch", "InvalidToken", "TokenRefreshRequired", "MissingAuthenticationToken"})) {
    return Outcome::RefreshCredentials;
  }
  if (oneOf(code, {"AccessDenied", "AccessDeniedException", "AllAccessDisabled"})) return Outcome::Denied;
  if (r.status >= 500 || r.status == 429 ||
      oneOf(code, {"ThrottlingException", "Throttling", "ProvisionedThroughputExceededException", "RequestLimitExceeded",
                   "TooManyRequestsException", "LimitExceededException", "SlowDown", "RequestTimeout", "RequestThrottled",
                   "TransactionInProgressException", "InternalServerError", "ServiceUnavailable"})) {
    return Outcome::Retry;
  }
  if (r.status == 403) return Outcome::Denied;
  return Outcome::Final;
}

bool checksumMatches(const HttpResponse& r) {
  const std::string* header = r.header("x-amz-crc32");
  if (!header) return true;
  uint32_t expected = 0;
  auto [end, ec] = std::from_chars(header->data(), header->data() + header->size(), expected);
  if (ec != std::errc() || end != header->data() + header->size()) return false;
  uLong crc = ::crc32(0L, Z_NULL, 0);
  crc = ::crc32_z(crc, reinterpret_cast<const Bytef*>(r.body.data()), r.body.size());
  return static_cast<uint32_t>(crc) == expected;
}

std::optional<std::chrono::system_clock::time_point> serverTime(const HttpResponse& r) {
  if (const std::string* date = r.header("Date")) {
    std::tm tm{};
    const char* end = ::strptime(date->c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (end && *end == '\0') return std::chrono::system_clock::from_time_t(::timegm(&tm));
  }
  if (auto at = parseIsoTimestamp(xmlText(r.body, "ServerTime"))) {
    return std::chrono::system_clock::time_point(std::chrono::microseconds(at->micros));
  }
  return std::nullopt;
}

std::string requestedAction(const HttpRequest& request, std::string_view service) {
  if (service == "dynamodb") {
    std::string action = "dynamodb:";
    for (const auto& [name, value] : request.headers) {
      if (name == "X-Amz-Target" || name == "x-amz-target") action += value.substr(value.find('.') + 1);
    }
    std::string_view table = jsonText(request.body, "TableName");
    return table.empty() ? action : action + " on table " + std::string(table);
  }
  if (service != "s3") return std::string(service) + " " + request.method + " " + request.path;
  // The bucket is the host's first label (virtual-hosted) or the path's first segment.
  std::string bucket, key;
  std::string_view path = request.path;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  if (auto dot = request.host.find(".s3."); dot != std::string::npos) {
    bucket = request.host.substr(0, dot);
    key = std::string(path);
  } else {
    auto slash = path.find('/');
    bucket = std::string(path.substr(0, slash));
    key = slash == std::string_view::npos ? std::string() : std::string(path.substr(slash + 1));
  }
  auto has = [&](std::string_view name) {
    return std::any_of(request.query.begin(), request.query.end(), [&](const auto& kv) { return kv.first == name; });
  };
  std::string action;
  if (key.empty()) {
    if (request.method == "PUT") {
      action = "s3:CreateBucket";
    } else if (request.method == "POST" && has("delete")) {
      action = "s3:DeleteObject";
    } else {
      action = "s3:ListBucket";  // ListObjectsV2 and HeadBucket
    }
  } else if (request.method == "GET" || request.method == "HEAD") {
    action = "s3:GetObject";
  } else if (request.method == "DELETE") {
    action = has("uploadId") ? "s3:AbortMultipartUpload" : "s3:DeleteObject";
  } else {
    action = "s3:PutObject";  // PutObject and the multipart upload's parts
  }
  return action + " on arn:aws:s3:::" + bucket + (key.empty() ? "" : "/" + key);
}

bool CircuitBreaker::allow(Clock::time_point now, std::chrono::milliseconds& retryIn) {
  if (state_ == State::Closed || state_ == State::HalfOpen) return true;
  if (now >= openUntil_) {
    state_ = State::HalfOpen;
    return true;
  }
  retryIn = std::chrono::ceil<std::chrono::milliseconds>(openUntil_ - now);
  return false;
}

void CircuitBreaker::onSuccess() {
  if (state_ != State::Closed) {
    log::event(spdlog::level::info, "circuit_closed", {{"endpoint", endpoint_}, {"detail", "requests answer again"}});
  }
  state_ = State::Closed;
  failures_ = 0;
  openFor_ = std::chrono::milliseconds(0);
}

void CircuitBreaker::onFailure(Clock::time_point now, std::string_view why) {
  ++failures_;
  if (state_ == State::HalfOpen) {
    openFor_ = std::min(openFor_ * 2, options_.maxOpenFor);
  } else if (state_ == State::Closed && failures_ >= options_.threshold) {
    openFor_ = options_.openFor;
  } else {
    return;
  }
  state_ = State::Open;
  openUntil_ = now + openFor_;
  ++opened_;
  log::event(spdlog::level::err, "circuit_open",
             {{"endpoint", endpoint_},
              {"failures", std::to_string(failures_), true},
              {"open_ms", std::to_string(openFor_.count()), true},
              {"last_error", why}});
}

}  // namespace cdc::aws
