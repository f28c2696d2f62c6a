#include "adapters/aws/aws_client.h"

#include <thread>

#include "core/log.h"

namespace cdc::aws {

Result<AwsEndpoint> AwsEndpoint::resolve(std::string service, std::string region, const std::string& url,
                                         const std::string& origin) {
  AwsEndpoint e;
  e.service = std::move(service);
  e.region = std::move(region);
  if (e.region.empty()) return fail(Error::fatal("AWS_REGION: not set (needed for " + e.service + ")"));
  if (url.empty()) {
    e.host = e.service + "." + e.region + ".amazonaws.com";
    return e;
  }
  auto sep = url.find("://");
  if (sep == std::string::npos || (url.compare(0, sep, "http") != 0 && url.compare(0, sep, "https") != 0)) {
    return fail(Error::fatal(origin + ": expected http(s)://host[:port], got '" + url + "'"));
  }
  e.scheme = url.substr(0, sep);
  std::string rest = url.substr(sep + 3);
  auto slash = rest.find('/');
  e.host = rest.substr(0, slash);
  if (slash != std::string::npos) e.pathPrefix = rest.substr(slash);
  while (!e.pathPrefix.empty() && e.pathPrefix.back() == '/') e.pathPrefix.pop_back();
  if (e.host.empty()) return fail(Error::fatal(origin + ": no host in '" + url + "'"));
  return e;
}

AwsClient::AwsClient(AwsEndpoint endpoint, std::shared_ptr<CredentialsProvider> credentials, AwsClientOptions options)
    : endpoint_(std::move(endpoint)),
      credentials_(std::move(credentials)),
      options_(options),
      http_(options.http),
      breaker_(endpoint_.describe(), options.breaker),
      rng_(options.seed) {}

HttpRequest AwsClient::request(std::string method, const std::string& path) const {
  HttpRequest r;
  r.method = std::move(method);
  r.scheme = endpoint_.scheme;
  r.host = endpoint_.host;
  r.path = endpoint_.pathPrefix + path;
  return r;
}

Result<HttpResponse> AwsClient::send(HttpRequest request) {
  std::vector<HttpRequest> one;
  one.push_back(std::move(request));
  auto r = sendAll(std::move(one));
  if (!r) return fail(r.error());
  return std::move(r->front());
}

Result<std::vector<HttpResponse>> AwsClient::sendAll(std::vector<HttpRequest> requests) {
  Exchange x(requests.size());
  for (int attempt = 0; attempt < options_.retry.maxAttempts; ++attempt) {
    if (auto s = beforeAttempt(attempt, x.lastError); !s) return fail(s.error());
    auto responses = sendPending(requests, x.pending);
    if (!responses) return fail(responses.error());
    Round round;
    for (size_t k = 0; k < responses->size(); ++k) {
      if (auto s = judge((*responses)[k], requests[x.pending[k]], x.pending[k], x, round); !s) return fail(s.error());
    }
    endRound(round, x);
    if (round.again.empty()) return std::move(x.results);
    x.pending = std::move(round.again);
  }
  return fail(Error::retry(endpoint_.describe() + ": " + std::to_string(x.pending.size()) + " requests still failing after " +
                           std::to_string(options_.retry.maxAttempts) + " attempts: " + x.lastError));
}

AwsClient::Exchange::Exchange(size_t n) : results(n), pending(n), uncertain(n) {
  for (size_t i = 0; i < n; ++i) pending[i] = i;
}

Status AwsClient::beforeAttempt(int attempt, const std::string& lastError) {
  if (attempt > 0) {
    ++probe_.retries;
    std::this_thread::sleep_for(fullJitter(options_.retry, attempt, rng_));
  }
  if (auto* health = health_.load(std::memory_order_relaxed)) health->beat();
  std::chrono::milliseconds wait{0};
  if (!breaker_.allow(options_.time->steady(), wait)) {
    probe_.circuitOpen = true;
    return fail(Error::retry(endpoint_.describe() + " is failing (circuit open, next try in " + std::to_string(wait.count()) +
                             " ms): " + lastError));
  }
  return {};
}

Result<std::vector<HttpResponse>> AwsClient::sendPending(std::vector<HttpRequest>& requests, const std::vector<size_t>& pending) {
  auto credentials = credentials_->get();
  if (!credentials) return fail(credentials.error());
  SigningOptions signing{endpoint_.region, endpoint_.service, "", endpoint_.service == "s3", endpoint_.service != "s3"};
  signing.amzDate = amzDate(toSystemClock(options_.time->wall()) + std::chrono::milliseconds(clockOffsetMs_.load()));
  std::vector<HttpRequest> batch;
  batch.reserve(pending.size());
  for (size_t i : pending) {
    signV4(requests[i], *credentials, signing);
    batch.push_back(requests[i]);
  }
  probe_.requests += batch.size();
  auto responses = http_.sendAll(batch);
  for (HttpResponse& r : responses) {
    if (r.status != 0 && !checksumMatches(r)) {
      // Damaged on its way (as the SDKs treat it: a transport error, retried). The request
      // reached the server: it may have been applied.
      ++probe_.checksumFailures;
      r.transportError = "the answer's x-amz-crc32 does not match its " + std::to_string(r.body.size()) + " bytes";
      r.status = 0;
    }
  }
  return responses;
}

Status AwsClient::judge(HttpResponse& r, const HttpRequest& request, size_t index, Exchange& x, Round& round) {
  switch (classify(r)) {
    case Outcome::Ok:
    case Outcome::Final:
      round.answered = true;
      r.uncertainBefore = std::move(x.uncertain[index]);
      x.results[index] = std::move(r);
      return {};
    case Outcome::RefreshCredentials:
      round.answered = true;
      if (x.refreshed) {
        return fail(
            Error::fatal(endpoint_.describe() + " refused the credentials again after new ones were fetched: " + describe(r)));
      }
      round.refresh = true;
      break;
    case Outcome::ClockSkew:
      round.answered = true;
      if (x.skewCorrected || !correctClock(r)) {
        return fail(Error::fatal(
            endpoint_.describe() + ": the request's signing time is refused (" + describe(r) +
            "): this machine's clock is off and " +
            (x.skewCorrected ? "correcting it from the server's Date did not help" : "the answer gives no server time") +
            "; synchronise it (NTP)"));
      }
      x.skewCorrected = true;
      break;
    case Outcome::Denied:
      // Not allowed: the first refused call names the action and resource, at start-up for
      // what a service needs from the beginning.
      return fail(Error::fatal("AccessDenied: " + endpoint_.describe() + " refused " +
                               requestedAction(request, endpoint_.service) + ": " + describe(r) +
                               " (the IAM policy of this service's role does not allow it: deploy/iam)"));
    case Outcome::Retry:
      noteRetry(r, x.uncertain[index], round);
      break;
  }
  x.lastError = describe(r);
  round.again.push_back(index);
  return {};
}

void AwsClient::noteRetry(const HttpResponse& r, std::string& uncertain, Round& round) {
  if (r.status == 0) {
    ++probe_.transportErrors;
    round.failed = true;
    // Sent, then no answer (not a refused connection): it may have been applied.
    if (r.timedOut || r.transportError.find("connect") == std::string::npos) uncertain = describe(r);
  } else if (r.status >= 500) {
    ++probe_.serverErrors;
    round.failed = true;
    uncertain = describe(r);
  } else {
    ++probe_.throttled;
    round.answered = true;
  }
}

void AwsClient::endRound(const Round& round, Exchange& x) {
  if (round.refresh) {
    x.refreshed = true;
    ++probe_.credentialRefreshes;
    credentials_->invalidate();
  }
  // The breaker counts an endpoint that does not answer (or answers 5xx), not throttling.
  if (round.failed && !round.answered) {
    breaker_.onFailure(options_.time->steady(), x.lastError);
    probe_.answering = false;
  } else {
    breaker_.onSuccess();
    probe_.answering = true;
  }
  probe_.circuitOpen = breaker_.state() == CircuitBreaker::State::Open;
  probe_.circuitOpened = breaker_.opened();
}

bool AwsClient::correctClock(const HttpResponse& r) {
  auto server = serverTime(r);
  if (!server) return false;
  auto offset = std::chrono::duration_cast<std::chrono::milliseconds>(*server - toSystemClock(options_.time->wall()));
  clockOffsetMs_.store(offset.count());
  log::event(spdlog::level::warn, "aws_clock_skew_corrected",
             {{"endpoint", endpoint_.describe()},
              {"offset_ms", std::to_string(offset.count()), true},
              {"detail", "requests are signed with the server's time from now on; synchronise this machine's clock (NTP)"}});
  return true;
}

}  // namespace cdc::aws
