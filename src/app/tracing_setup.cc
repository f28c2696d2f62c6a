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

// "key=value,key=value" (W3C Baggage's form, values percent-encoded), as OTEL_RESOURCE_ATTRIBUTES
// and OTEL_EXPORTER_OTLP_HEADERS are written. `secret`: a refusal does not show the value.
std::vector<std::pair<std::string, std::string>> keyValues(const config::Config& c, std::string_view name, bool secret) {
  std::vector<std::pair<std::string, std::string>> out;
  if (!c.has(name)) return out;
  std::string_view list = c.str(name);
  while (!list.empty()) {
    auto comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    auto eq = item.find('=');
    std::string key = eq == std::string_view::npos ? std::string() : trim(item.substr(0, eq));
    auto value = eq == std::string_view::npos ? std::nullopt : http::percentDecode(trim(item.substr(eq + 1)), false);
    if (key.empty() || !value) {
      throw config::ConfigError(c.origin(name) + ": expected key=value,key=value (values percent-encoded)" +
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
tracing::Resource resourceOf(const config::Config& c, const std::string& service) {
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
  for (auto& [k, v] : keyValues(c, "otel-resource-attributes", false)) put(k, std::move(v));
  if (c.has("otel-service-name") && !c.str("otel-service-name").empty()) put("service.name", c.str("otel-service-name"));
  return r;
}

std::chrono::milliseconds millis(const config::Config& c, std::string_view name) {
  return std::chrono::milliseconds(c.integer(name));
}

}  // namespace

std::unique_ptr<Tracing> Tracing::open(const config::Config& c, const std::string& service) {
  if (c.has("otel-sdk-disabled") && c.boolean("otel-sdk-disabled")) return nullptr;
  if (c.has("traces-exporter") && c.str("traces-exporter") == "none") return nullptr;
  std::string endpoint, origin;
  if (c.has("otlp-traces-endpoint") && !c.str("otlp-traces-endpoint").empty()) {
    endpoint = c.str("otlp-traces-endpoint");
    origin = c.origin("otlp-traces-endpoint");
  } else if (c.has("otlp-endpoint") && !c.str("otlp-endpoint").empty()) {
    endpoint = c.str("otlp-endpoint");
    while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
    endpoint += "/v1/traces";
    origin = c.origin("otlp-endpoint");
  } else {
    return nullptr;
  }
  std::string why;
  auto sampler =
      tracing::Sampler::parse(c.str("traces-sampler"), c.has("traces-sampler-arg") ? c.str("traces-sampler-arg") : "", why);
  if (!sampler) {
    throw config::ConfigError(
        (why.starts_with("expected a ratio") ? c.origin("traces-sampler-arg") : c.origin("traces-sampler")) + ": " + why);
  }
  otlp::OtlpOptions o;
  o.endpoint = endpoint;
  o.json = c.str("otlp-protocol") == "http/json";
  o.gzip = c.str("otlp-compression") == "gzip";
  o.headers = keyValues(c, "otlp-headers", true);
  o.timeout = millis(c, "otlp-timeout");
  o.resource = resourceOf(c, service);
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
  b.maxQueueSize = static_cast<size_t>(c.integer("bsp-max-queue-size"));
  b.maxExportBatchSize = static_cast<size_t>(c.integer("bsp-max-export-batch-size"));
  b.scheduleDelay = millis(c, "bsp-schedule-delay");
  b.exportTimeout = millis(c, "bsp-export-timeout");
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
