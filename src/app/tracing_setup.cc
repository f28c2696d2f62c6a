#include "app/tracing_setup.h"

#include <unistd.h>

#include "adapters/http/http_request.h"
#include "adapters/otlp/otlp_exporter.h"
#include "core/log.h"
#include "metrics/registry.h"

namespace cdc::app {
namespace {

std::string trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return std::string(s);
}

using S = config::TracingSettings;

// "key=value,key=value" (W3C Baggage's form, values percent-encoded), as OTEL_RESOURCE_ATTRIBUTES
// and OTEL_EXPORTER_OTLP_HEADERS are written. `secret`: a refusal does not show the value.
std::vector<std::pair<std::string, std::string>> keyValues(const S& s, std::optional<std::string> S::* member, bool secret) {
  std::vector<std::pair<std::string, std::string>> out;
  if (!(s.*member)) return out;
  std::string_view list = *(s.*member);
  while (!list.empty()) {
    auto comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    auto eq = item.find('=');
    std::string key = eq == std::string_view::npos ? std::string() : trim(item.substr(0, eq));
    auto value = eq == std::string_view::npos ? std::nullopt : http::percentDecode(trim(item.substr(eq + 1)), false);
    if (key.empty() || !value) {
      throw config::ConfigError(s.origin(member) + ": expected key=value,key=value (values percent-encoded)" +
                                (secret ? std::string() : ", got '" + std::string(item) + "'"));
    }
    if (!trim(item).empty()) out.emplace_back(std::move(key), std::move(*value));
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return out;
}

// service.name, service.version, service.instance.id (the host name: a pod's name) and the
// SDK's, then OTEL_RESOURCE_ATTRIBUTES; OTEL_SERVICE_NAME wins over a service.name there.
tracing::Resource resourceOf(const S& s, const std::string& service) {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  tracing::Resource r = {{"service.name", service},         {"service.version", std::string(metrics::buildVersion())},
                         {"service.instance.id", host},     {"telemetry.sdk.name", "cdc-consumer-services"},
                         {"telemetry.sdk.language", "cpp"}, {"telemetry.sdk.version", std::string(metrics::buildVersion())}};
  auto put = [&](const std::string& key, std::string value) {
    for (auto& [k, v] : r) {
      if (k == key) {
        v = std::move(value);
        return;
      }
    }
    r.emplace_back(key, std::move(value));
  };
  for (auto& [k, v] : keyValues(s, &S::otelResourceAttributes, false)) put(k, std::move(v));
  if (s.otelServiceName && !s.otelServiceName->empty()) put("service.name", *s.otelServiceName);
  return r;
}

// Where spans are posted: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as given, else <OTEL_EXPORTER_OTLP_ENDPOINT>/v1/traces;
// and the setting it came from. Nothing when neither is set.
std::optional<std::pair<std::string, std::string>> endpointOf(const S& s) {
  if (s.otlpTracesEndpoint && !s.otlpTracesEndpoint->empty()) {
    return std::pair{*s.otlpTracesEndpoint, s.origin(&S::otlpTracesEndpoint)};
  }
  if (!s.otlpEndpoint || s.otlpEndpoint->empty()) return std::nullopt;
  std::string endpoint = *s.otlpEndpoint;
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  return std::pair{endpoint + "/v1/traces", s.origin(&S::otlpEndpoint)};
}

}  // namespace

std::unique_ptr<Tracing> Tracing::open(const config::Config& c, const std::string& service) {
  const auto s = c.get<S>();
  if (s.otelSdkDisabled || s.tracesExporter == "none") return nullptr;
  auto where = endpointOf(s);
  if (!where) return nullptr;
  const auto& [endpoint, origin] = *where;
  std::string why;
  auto sampler = tracing::Sampler::parse(s.tracesSampler, s.tracesSamplerArg.value_or(""), why);
  if (!sampler) {
    throw config::ConfigError(
        (why.starts_with("expected a ratio") ? s.origin(&S::tracesSamplerArg) : s.origin(&S::tracesSampler)) + ": " + why);
  }
  otlp::OtlpOptions o;
  o.endpoint = endpoint;
  o.json = s.otlpProtocol == "http/json";
  o.gzip = s.otlpCompression == "gzip";
  o.headers = keyValues(s, &S::otlpHeaders, true);
  o.timeout = std::chrono::milliseconds(s.otlpTimeout);
  o.resource = resourceOf(s, service);
  std::string serviceName = o.resource.front().second;
  for (const auto& [k, v] : o.resource) {
    if (k == "service.name") serviceName = v;
  }
  std::unique_ptr<otlp::OtlpHttpExporter> exporter;
  try {
    exporter = std::make_unique<otlp::OtlpHttpExporter>(std::move(o));
  } catch (const std::invalid_argument& e) {
    throw config::ConfigError(origin + ": " + e.what());
  }
  tracing::BatchOptions b;
  b.maxQueueSize = static_cast<size_t>(s.bspMaxQueueSize);
  b.maxExportBatchSize = static_cast<size_t>(s.bspMaxExportBatchSize);
  b.scheduleDelay = std::chrono::milliseconds(s.bspScheduleDelay);
  b.exportTimeout = std::chrono::milliseconds(s.bspExportTimeout);
  std::unique_ptr<Tracing> t(new Tracing());
  std::string describe = exporter->describe();
  t->processor_ = std::make_unique<tracing::BatchSpanProcessor>(std::move(exporter), b);
  t->tracer_ = std::make_unique<tracing::Tracer>(tracing::TracerOptions{*sampler}, *t->processor_);
  log::event(spdlog::level::info, "tracing",
             {{"exporter", describe},
              {"sampler", sampler->describe()},
              {"service_name", serviceName},
              {"queue", std::to_string(b.maxQueueSize), true}});
  return t;
}

Tracing::~Tracing() {
  collector_.reset();
  if (!processor_) return;
  processor_->stop();
  const auto& n = processor_->counts();
  log::event(spdlog::level::info, "tracing_summary",
             {{"exporter", processor_->exporter().describe()},
              {"spans_exported", std::to_string(n.exported.load()), true},
              {"spans_dropped_queue_full", std::to_string(n.droppedQueueFull.load()), true},
              {"spans_dropped_export_failed", std::to_string(n.droppedExportFailed.load()), true},
              {"invalid_traceparents", std::to_string(tracer_->invalidParents()), true}});
}

void Tracing::instrument(metrics::Registry& registry, const std::string& service) {
  const tracing::ExportCounts* counts = &processor_->counts();
  const tracing::Tracer* tracer = tracer_.get();
  collector_ = registry.addCollector([counts, tracer, service](std::vector<prometheus::MetricFamily>& out) {
    const metrics::Labels labels{{"service", service}};
    auto exported = metrics::counterFamily("cdc_trace_spans_exported_total", "Spans the OTLP receiver accepted.");
    metrics::addCounter(exported, labels, static_cast<double>(counts->exported.load()));
    auto dropped = metrics::counterFamily("cdc_trace_spans_dropped_total",
                                          "Spans dropped rather than slowing the pipeline: the queue was full (queue_full) or "
                                          "their export failed (export_failed).");
    metrics::addCounter(dropped, {{"service", service}, {"reason", "queue_full"}},
                        static_cast<double>(counts->droppedQueueFull.load()));
    metrics::addCounter(dropped, {{"service", service}, {"reason", "export_failed"}},
                        static_cast<double>(counts->droppedExportFailed.load()));
    auto failures = metrics::counterFamily("cdc_trace_export_failures_total", "OTLP exports that failed (after their retries).");
    metrics::addCounter(failures, labels, static_cast<double>(counts->failedExports.load()));
    auto queued = metrics::gaugeFamily("cdc_trace_queue_spans", "Spans waiting for their export.");
    metrics::addGauge(queued, labels, static_cast<double>(counts->queued.load()));
    auto invalid = metrics::counterFamily("cdc_trace_invalid_traceparent_total",
                                          "Records whose traceparent header was not valid W3C Trace Context (a new trace "
                                          "was started for each).");
    metrics::addCounter(invalid, labels, static_cast<double>(tracer->invalidParents()));
    for (auto* f : {&exported, &dropped, &failures, &queued, &invalid}) out.push_back(std::move(*f));
  });
}

}  // namespace cdc::app
