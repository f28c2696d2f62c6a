#pragma once

#include <string>
#include <vector>

#include "core/time.h"
#include "services/analytics/aggregates.h"

namespace cdc::analytics {

// One report object of SPEC §9: analytics/<folder>/<YYYYmmdd_HHMMSS>.json and latest.json.
struct Report {
  std::string folder;  // daily_sales, product_sales, customer_metrics, order_status, summary
  std::string body;    // {"report_type","generated_at","data"} ({"metrics"} for the summary)
};

// Renders the five reports of the Python service's shape from merged aggregates. Money is a
// JSON number with exactly two decimals; rankings break ties by ascending id.
std::vector<Report> renderReports(const Aggregates& aggregates, int topN, Timestamp generatedAt);

// The object keys of one flush: every timestamped object, then every latest.json (written
// last, so that a reader of latest.json never sees a flush half-done).
std::vector<std::pair<std::string, const Report*>> reportKeys(const std::vector<Report>& reports, Timestamp generatedAt);

// The latest.json key of every report renderReports() renders.
std::vector<std::string> latestReportKeys();

// Average of `total` over `count`, rounded half away from zero to the cent.
Money averageOf(Money total, int64_t count);

}  // namespace cdc::analytics
