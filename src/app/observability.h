#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "adapters/http/http_server.h"
#include "config/components.h"
#include "metrics/health.h"
#include "metrics/registry.h"
#include "runtime/handler.h"
#include "runtime/runner_probe.h"
#include "runtime/source.h"

namespace cdc::app {
struct ServiceContext;
}  // namespace cdc::app

namespace cdc::app {

// A running service's metrics, probes and HTTP port: /metrics (Prometheus text), /healthz
// (liveness) and /readyz (readiness) on METRICS_PORT, and the search indexer's GET /search on
// the same port unless HTTP_PORT is set to another. With METRICS_ENABLED=false there is no
// port for them and no series (the search API keeps its port). The CLI builds one per service
// run; everything it watches must outlive it.
class Observability {
 public:
  // What a port left unset means: the setting's default (8080, as the seed's services and
  // manifests expect of a consumer), or a free port (a replay of a file or the generator: two
  // such runs on one machine must not collide); the http_listening line says which port and why.
  enum class PortDefaults : uint8_t { Declared, FreePort };
  Observability(std::string service, const config::Config& c, PortDefaults defaults = PortDefaults::Declared);
  ~Observability();
  Observability(const Observability&) = delete;
  Observability& operator=(const Observability&) = delete;

  runtime::RunnerProbe* probe() { return probe_.get(); }
  // The series' registry; null with METRICS_ENABLED=false.
  metrics::Registry* registry() { return registry_.get(); }
  metrics::Health* health() { return health_.get(); }
  // The readiness of the source (in its group with partitions) and the series and readiness
  // of the context's stores (a remote store's requests, retries, throttles, circuit).
  // And the handler's own series.
  void watch(runtime::Source& source, app::ServiceContext& context, runtime::Handler& handler);
  // The server GET /search is added to (before start()).
  http::HttpServer& apiServer();
  // Binds the port(s) and serves; a port that cannot be bound is a configuration error naming
  // its variable.
  void start();

 private:
  Observability(std::string service, const config::HttpSettings& s, PortDefaults defaults);
  struct Bound {
    std::unique_ptr<http::HttpServer> server;
    std::string origin;  // the setting that chose the port, for errors
    std::vector<std::string> paths;
  };
  Bound& serverFor(int port, const std::string& origin);

  std::string service_;
  std::string host_;
  std::string hostOrigin_;  // the flag or variable that set host_, for errors
  bool enabled_;
  int metricsPort_;
  std::string metricsOrigin_;
  int apiPort_;
  std::string apiOrigin_;
  std::unique_ptr<metrics::Registry> registry_;
  std::unique_ptr<metrics::Health> health_;
  std::unique_ptr<runtime::RunnerProbe> probe_;
  std::vector<std::shared_ptr<void>> collectors_;
  std::map<int, Bound> servers_;  // by port asked for (0: a free one)
};

}  // namespace cdc::app
