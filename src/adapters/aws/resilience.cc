#include "adapters/aws/resilience.h"

#include <algorithm>

#include "core/log.h"

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
  if (oneOf(code, {"ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId", "UnrecognizedClientException",
                   "InvalidAccessKeyId", "SignatureDoesNotMatch", "RequestTimeTooSkewed", "RequestExpired",
                   "InvalidSignatureException", "AccessDenied", "AccessDeniedException", "MissingAuthenticationToken"})) {
    return Outcome::RefreshCredentials;
  }
  if (r.status >= 500 || r.status == 429 ||
      oneOf(code, {"ThrottlingException", "Throttling", "ProvisionedThroughputExceededException", "RequestLimitExceeded",
                   "TooManyRequestsException", "LimitExceededException", "SlowDown", "RequestTimeout", "RequestThrottled",
                   "TransactionInProgressException", "InternalServerError", "ServiceUnavailable"})) {
    return Outcome::Retry;
  }
  if (r.status == 403) return Outcome::RefreshCredentials;
  return Outcome::Final;
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
