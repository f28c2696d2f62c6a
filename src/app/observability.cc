#include "app/observability.h"

#include "app/services.h"
#include "core/log.h"

namespace cdc::app {
namespace {

using H = config::HttpSettings;
using Port = int64_t H::*;

// Whether a port setting was left at its default while the run picks a free port instead.
bool freePortByDefault(const H& s, Port port, Observability::PortDefaults defaults) {
  return defaults == Observability::PortDefaults::FreePort && s.origin(port) == "default";
}

int portOf(const H& s, Port port, Observability::PortDefaults defaults) {
  return freePortByDefault(s, port, defaults) ? 0 : static_cast<int>(s.*port);
}

// Where a setting's value came from, for an error and the http_listening line: "--metrics-port",
// "METRICS_PORT", "METRICS_PORT (default 8080)" or "METRICS_PORT (not set: a free port …)".
std::string originOf(const H& s, Port port, Observability::PortDefaults defaults) {
  const std::string& origin = s.origin(port);
  if (origin != "default") return origin;
  const std::string env(H::declaration(port).env);
  if (freePortByDefault(s, port, defaults)) return env + " (not set: a free port, the source is not Kafka)";
  return env + " (default " + std::to_string(s.*port) + ")";
}

}  // namespace

Observability::Observability(std::string service, const config::Config& c, PortDefaults defaults)
    : Observability(std::move(service), c.get<H>(), defaults) {}

Observability::Observability(std::string service, const config::HttpSettings& s, PortDefaults defaults)
    : service_(std::move(service)),
      host_(s.httpHost),
      hostOrigin_(s.origin(&H::httpHost)),
      enabled_(s.metricsEnabled),
      metricsPort_(portOf(s, &H::metricsPort, defaults)),
      metricsOrigin_(originOf(s, &H::metricsPort, defaults)),
      apiPort_(metricsPort_),
      apiOrigin_(metricsOrigin_) {
  // The search API shares the metrics port unless HTTP_PORT (or --http-port) says otherwise;
  // with no metrics port it keeps its own.
  if (s.has(&H::httpPort) && (s.origin(&H::httpPort) != "default" || !enabled_)) {
    apiPort_ = portOf(s, &H::httpPort, defaults);
    apiOrigin_ = originOf(s, &H::httpPort, defaults);
  }
  if (!enabled_) return;
  registry_ = std::make_unique<metrics::Registry>();
  health_ = std::make_unique<metrics::Health>(std::chrono::seconds(s.livenessTimeout));
  probe_ = std::make_unique<runtime::RunnerProbe>(*registry_, service_);
  collectors_.push_back(metrics::addProcessCollector(*registry_, service_));
  collectors_.push_back(health_->instrument(*registry_, service_));
  Bound& b = serverFor(metricsPort_, metricsOrigin_);
  metrics::Registry* registry = registry_.get();
  metrics::Health* health = health_.get();
  b.server->getInline("/metrics", [registry](const http::Params&) {
    return http::Response{200, registry->text(), "text/plain; version=0.0.4; charset=utf-8"};
  });
  b.server->getInline("/healthz", [health](const http::Params&) {
    auto [status, body] = health->liveness();
    return http::Response{status, std::move(body)};
  });
  b.server->getInline("/readyz", [health](const http::Params&) {
    auto [status, body] = health->readiness();
    return http::Response{status, std::move(body)};
  });
  b.paths.insert(b.paths.end(), {"/metrics", "/healthz", "/readyz"});
}

Observability::~Observability() {
  for (auto& [port, b] : servers_) b.server->stop();
}

Observability::Bound& Observability::serverFor(int port, const std::string& origin) {
  auto [it, inserted] = servers_.try_emplace(port);
  if (inserted) {
    it->second.server = std::make_unique<http::HttpServer>();
    it->second.origin = origin;
  }
  return it->second;
}

void Observability::watch(runtime::Source& source, app::ServiceContext& context, runtime::Handler& handler) {
  if (!enabled_) return;
  handler.instrument(*registry_, service_);
  runtime::Source* s = &source;
  health_->addReadinessCheck("source", [s] { return s->notReady(); });
  collectors_.push_back(source.instrument(*registry_, service_));
  if (context.tables) collectors_.push_back(context.tables->instrument(*registry_, *health_, service_));
  if (context.objects) collectors_.push_back(context.objects->instrument(*registry_, *health_, service_));
  if (context.deadLetterObjects)
    collectors_.push_back(context.deadLetterObjects->instrument(*registry_, *health_, service_, "dead-letters"));
}

http::HttpServer& Observability::apiServer() {
  Bound& b = serverFor(apiPort_, apiOrigin_);
  b.paths.emplace_back("/search");
  return *b.server;
}

void Observability::start() {
  for (auto& [port, b] : servers_) {
    if (auto s = b.server->start(host_, port); !s) {
      // An address that does not resolve is the host's fault, not the port's.
      const bool badHost = s.error().kind == ErrorKind::NotFound;
      std::string origin = badHost ? (hostOrigin_ == "default" ? "--http-host (default " + host_ + ")" : hostOrigin_) : b.origin;
      throw config::ConfigError(origin + ": cannot serve on " + host_ + ":" + std::to_string(port) + ": " + s.error().message);
    }
    std::string paths;
    for (const auto& p : b.paths) paths += (paths.empty() ? "" : ",") + p;
    log::event(spdlog::level::info, "http_listening",
               {{"port", std::to_string(b.server->port()), true}, {"path", paths}, {"chosen_by", b.origin}});
  }
}

}  // namespace cdc::app
