#include "metrics/registry.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include <prometheus/text_serializer.h>

#ifndef CDC_VERSION
#define CDC_VERSION "unknown"
#endif
#include "build_revision.h"  // CDC_GIT_REVISION, written at each build (cmake/BuildRevision.cmake)

namespace cdc::metrics {

struct Registry::Collectors {
  std::mutex mutex;
  std::list<Collector> list;
};

Registry::Registry() : registry_(std::make_shared<prometheus::Registry>()), collectors_(std::make_shared<Collectors>()) {}

Family<Counter>& Registry::counter(const std::string& name, const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(*registry_);
}

Family<Gauge>& Registry::gauge(const std::string& name, const std::string& help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(*registry_);
}

Family<Histogram>& Registry::histogram(const std::string& name, const std::string& help) {
  return prometheus::BuildHistogram().Name(name).Help(help).Register(*registry_);
}

std::shared_ptr<void> Registry::addCollector(Collector collector) {
  std::list<Collector>::iterator it;
  {
    std::lock_guard lock(collectors_->mutex);
    it = collectors_->list.insert(collectors_->list.end(), std::move(collector));
  }
  std::weak_ptr<Collectors> weak = collectors_;
  return {nullptr, [weak, it](void*) {
            if (auto c = weak.lock()) {
              std::lock_guard lock(c->mutex);
              c->list.erase(it);
            }
          }};
}

std::string Registry::text() const {
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  {
    std::lock_guard lock(collectors_->mutex);
    for (const auto& collect : collectors_->list) collect(families);
  }
  // Families with no series say nothing (and a revoked partition's family may be empty).
  std::erase_if(families, [](const prometheus::MetricFamily& f) { return f.metric.empty(); });
  return prometheus::TextSerializer().Serialize(families);
}

prometheus::MetricFamily gaugeFamily(std::string name, std::string help) {
  return prometheus::MetricFamily{std::move(name), std::move(help), prometheus::MetricType::Gauge, {}};
}

void addGauge(prometheus::MetricFamily& family, const Labels& labels, double value) {
  prometheus::ClientMetric m;
  for (auto& [name, v] : labels) m.label.push_back({name, v});
  m.gauge.value = value;
  family.metric.push_back(std::move(m));
}

prometheus::MetricFamily counterFamily(std::string name, std::string help) {
  return prometheus::MetricFamily{std::move(name), std::move(help), prometheus::MetricType::Counter, {}};
}

void addCounter(prometheus::MetricFamily& family, const Labels& labels, double value) {
  prometheus::ClientMetric m;
  for (auto& [name, v] : labels) m.label.push_back({name, v});
  m.counter.value = value;
  family.metric.push_back(std::move(m));
}

std::shared_ptr<void> addCountSeries(Registry& registry, std::string name, std::string help, Labels labels, const Count& count) {
  return registry.addCollector([name = std::move(name), help = std::move(help), labels = std::move(labels),
                                &count](std::vector<prometheus::MetricFamily>& out) {
    auto f = counterFamily(name, help);
    addCounter(f, labels, static_cast<double>(count.get()));
    out.push_back(std::move(f));
  });
}

const Histogram::BucketBoundaries& latencyBuckets() {
  static const Histogram::BucketBoundaries b = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
  return b;
}

const Histogram::BucketBoundaries& sizeBuckets() {
  static const Histogram::BucketBoundaries b = {1, 10, 50, 100, 250, 500, 1000, 2000, 5000, 10000};
  return b;
}

std::string_view buildVersion() { return CDC_VERSION; }
std::string_view buildRevision() { return CDC_GIT_REVISION; }

namespace {

// Fields of /proc/self/stat after the command name (field 3 on): state, ppid, …
std::vector<std::string> selfStat() {
  std::ifstream in("/proc/self/stat");
  std::string line;
  std::getline(in, line);
  std::vector<std::string> fields;
  auto close = line.rfind(')');  // the command name may hold spaces and parentheses
  if (close == std::string::npos) return fields;
  std::istringstream rest(line.substr(close + 2));
  for (std::string f; rest >> f;) fields.push_back(f);
  return fields;
}

double bootTime() {
  std::ifstream in("/proc/stat");
  for (std::string key; in >> key;) {
    if (key == "btime") {
      double t = 0;
      in >> t;
      return t;
    }
    in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return 0;
}

}  // namespace

std::shared_ptr<void> addProcessCollector(Registry& registry, std::string service) {
  const auto ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const auto page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  const double boot = bootTime();
  return registry.addCollector([ticks, page, boot, service](std::vector<prometheus::MetricFamily>& out) {
    auto stat = selfStat();
    if (stat.size() >= 22) {
      // Fields 14-15 (utime, stime), 22 (starttime), 23 (vsize), 24 (rss), counted from 1:
      // index = field - 3 here.
      double cpu = (std::stod(stat[11]) + std::stod(stat[12])) / ticks;
      auto f = counterFamily("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.");
      addCounter(f, {}, cpu);
      out.push_back(std::move(f));
      auto start = gaugeFamily("process_start_time_seconds", "Start time of the process since unix epoch in seconds.");
      addGauge(start, {}, boot + std::stod(stat[19]) / ticks);
      out.push_back(std::move(start));
      auto vsize = gaugeFamily("process_virtual_memory_bytes", "Virtual memory size in bytes.");
      addGauge(vsize, {}, std::stod(stat[20]));
      out.push_back(std::move(vsize));
      auto rss = gaugeFamily("process_resident_memory_bytes", "Resident memory size in bytes.");
      addGauge(rss, {}, std::stod(stat[21]) * page);
      out.push_back(std::move(rss));
    }
    std::error_code ec;
    double fds = 0;
    for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec); !ec && it != std::filesystem::directory_iterator();
         it.increment(ec)) {
      ++fds;
    }
    auto open = gaugeFamily("process_open_fds", "Number of open file descriptors.");
    addGauge(open, {}, fds);
    out.push_back(std::move(open));
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
      auto max = gaugeFamily("process_max_fds", "Maximum number of open file descriptors.");
      addGauge(max, {}, limit.rlim_cur == RLIM_INFINITY ? -1 : static_cast<double>(limit.rlim_cur));
      out.push_back(std::move(max));
    }
    auto info = gaugeFamily("cdc_build_info", "The version and git revision the service was built from (always 1).");
    addGauge(info, {{"service", service}, {"version", std::string(buildVersion())}, {"revision", std::string(buildRevision())}},
             1);
    out.push_back(std::move(info));
  });
}

}  // namespace cdc::metrics
