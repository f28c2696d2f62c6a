#pragma once

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace cdc::test {

// A file's whole text (empty when it cannot be read).
inline std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// An analytics report without its wall-clock `generated_at`.
inline std::string withoutGeneratedAt(const std::string& report) {
  static const std::regex generatedAt("\"generated_at\":\"[^\"]*\",");
  return std::regex_replace(report, generatedAt, "");
}

// The report folders of the analytics service (SPEC §9).
inline const std::vector<std::string>& reportFolders() {
  static const std::vector<std::string> folders{"daily_sales", "product_sales", "customer_metrics", "order_status", "summary"};
  return folders;
}

// The tables a service writes: its own (`table`, the service's default when empty) and its
// companions.
inline std::vector<std::string> tablesOf(const std::string& service, std::string table = "") {
  if (service == "inventory") {
    if (table.empty()) table = "inventory-realtime";
    return {table, table + "-ledger"};
  }
  if (table.empty()) table = "product-search-index";
  return {table, table + "-postings", table + "-tokens"};
}

// A dump or report without what depends on the wall clock or on how records fell into batches
// (an item's `version` counts its writes, `expires_at` and `generated_at` are wall-clock times,
// the inventory's `order_item_offsets` are raised to the end of each batch, a deleted order
// item's holding ends with its expiry time, a low-stock alert's outbox entry stays until the
// alert is acknowledged, and how often stock crossed the threshold depends on how the products
// and order_items topics interleaved) or on which process ran (the search indexer's
// partition leases, items "#lease/<topic>" of its postings table, name their owner and count
// the claims): what two runs over the same records must agree on.
inline std::string comparable(const std::string& text) {
  static const std::regex volatileFields(
      R"re("(version|expires_at)":[0-9]+,?|"generated_at":"[^"]*",?|"order_item_offsets":\{[^}]*\},?|"alert_outbox_[0-9]+":"(?:[^"\\]|\\.)*",?|"low_stock_crossings":[0-9]+,?)re");
  static const std::regex deletedHolding(R"re(("d:-?[0-9]+:[0-9]+):[0-9]+")re");
  // Lines without the leases, by hand: a regex that matches from a line's start would be
  // quadratic on the reports' long single lines.
  std::string kept;
  kept.reserve(text.size());
  for (size_t at = 0; at < text.size();) {
    size_t end = text.find('\n', at);
    end = end == std::string::npos ? text.size() : end + 1;
    std::string_view line(text.data() + at, end - at);
    if (line.find("\"token\":\"#lease/") == std::string_view::npos) kept.append(line);
    at = end;
  }
  return std::regex_replace(std::regex_replace(kept, volatileFields, ""), deletedHolding, "$1\"");
}

// The dumps of a service's tables (in tablesOf order) as one comparable text. The search
// indexer's vocabulary (<table>-tokens) is never cleaned, nor are posting shards whose sets all
// emptied, so which of them it keeps depends on how changes fell into batches: only shards that
// hold postings and the tokens they use are compared, and every one of those tokens must be in
// the vocabulary (a prefix search finds a token through it).
inline std::string comparableTables(const std::string& service, const std::vector<std::string>& dumps) {
  std::string out;
  if (service != "search-indexer" || dumps.size() != 3) {
    for (const auto& d : dumps) out += d;
    return comparable(out);
  }
  static const std::regex token(R"re("token":"((?:[^"\\]|\\.)*)")re");
  static const std::regex weightSet(R"re("w[0-9]+":)re");
  std::set<std::string> used;
  std::string postings;
  std::istringstream shards(dumps[1]);
  for (std::string line; std::getline(shards, line);) {
    std::smatch m;
    if (!std::regex_search(line, weightSet) || !std::regex_search(line, m, token)) continue;
    used.insert(m[1]);
    postings += line + "\n";
  }
  std::set<std::string> known;
  std::string vocabulary;
  std::istringstream lines(dumps[2]);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (!std::regex_search(line, m, token)) continue;
    known.insert(m[1]);
    if (used.contains(m[1])) vocabulary += line + "\n";
  }
  for (const auto& t : used) {
    if (!known.contains(t)) vocabulary += "MISSING FROM THE VOCABULARY: " + t + "\n";
  }
  return comparable(dumps[0] + postings + vocabulary);
}

inline std::string readWholeFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace cdc::test
