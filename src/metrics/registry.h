#pragma once

#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

#include "core/stats.h"

namespace cdc::metrics {

using prometheus::Counter;
using prometheus::Family;
using prometheus::Gauge;
using prometheus::Histogram;
using Labels = prometheus::Labels;

// The metrics of a process, served at /metrics in the Prometheus text format. Each component
// declares its series in one block, in a probe of its own (RunnerProbe, the AWS and Kafka
// probes …), against the registry it is given; values that are read rather than counted
// (consumer lag of the partitions owned now, memory) come from collectors called at each
// scrape, so nothing outlives what it describes. Names follow Prometheus conventions: base
// units, `_total` for counters, `_seconds`, `_bytes`. Thread-safe: counters, gauges and
// histograms from any thread; collectors are called on the scraping thread.
class Registry {
 public:
  Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  Family<Counter>& counter(const std::string& name, const std::string& help);
  Family<Gauge>& gauge(const std::string& name, const std::string& help);
  Family<Histogram>& histogram(const std::string& name, const std::string& help);

  // Appends the families it computes now to the scrape. The collector is called until the
  // returned handle goes (keep it beside what the collector reads).
  using Collector = std::function<void(std::vector<prometheus::MetricFamily>&)>;
  [[nodiscard]] std::shared_ptr<void> addCollector(Collector collector);

  // Every series, in the text exposition format (version 0.0.4).
  std::string text() const;

 private:
  struct Collectors;
  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<Collectors> collectors_;
};

// Builds a family of one gauge per label set, for collectors.
prometheus::MetricFamily gaugeFamily(std::string name, std::string help);
void addGauge(prometheus::MetricFamily& family, const Labels& labels, double value);
prometheus::MetricFamily counterFamily(std::string name, std::string help);
void addCounter(prometheus::MetricFamily& family, const Labels& labels, double value);
// A counter series read at each scrape from a component's own count (the one its run summary
// reads too), until the returned handle goes; the count must outlive the handle.
[[nodiscard]] std::shared_ptr<void> addCountSeries(Registry& registry, std::string name, std::string help, Labels labels,
                                                   const Count& count);

// Bucket bounds in seconds for latencies from 1 ms to 60 s (store requests, batches, flushes).
const Histogram::BucketBoundaries& latencyBuckets();
// Bounds for batch sizes in records (1 to 10,000).
const Histogram::BucketBoundaries& sizeBuckets();

// The process's own series, read from /proc at each scrape: process_resident_memory_bytes,
// process_virtual_memory_bytes, process_cpu_seconds_total, process_open_fds, process_max_fds,
// process_start_time_seconds; and cdc_build_info{version,revision,service} 1.
[[nodiscard]] std::shared_ptr<void> addProcessCollector(Registry& registry, std::string service);

// The version and git revision this binary was built from.
std::string_view buildVersion();
std::string_view buildRevision();

}  // namespace cdc::metrics
