#pragma once

#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace cdc::test {

// The report folders of the analytics service (SPEC §9).
inline const std::vector<std::string>& reportFolders() {
  static const std::vector<std::string> folders{"daily_sales", "product_sales", "customer_metrics", "order_status",
                                                "summary"};
  return folders;
}

// The tables a service writes: its own (`table`, the service's default when empty) and its
// companions.
inline std::vector<std::string> tablesOf(const std::string& service, std::string table = "") {
  if (service == "inventory") {
    if (table.empty()) table = "inventory-realtime";
    return {table, table + "-order-items"};
  }
  if (table.empty()) table = "product-search-index";
  return {table, table + "-postings", table + "-tokens"};
}

// A dump or report without what depends on the wall clock or on how records fell into batches
// (an item's `version` counts its writes, `expires_at` and `generated_at` are wall-clock times):
// what two runs over the same records must agree on.
inline std::string comparable(const std::string& text) {
  static const std::regex volatileFields(R"re("(version|expires_at)":[0-9]+,?|"generated_at":"[^"]*",?)re");
  return std::regex_replace(text, volatileFields, "");
}

inline std::string readWholeFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace cdc::test
