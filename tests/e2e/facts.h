#pragma once

// What the three services must hold, computed with SQL from PostgreSQL's final state, and the
// comparison with what they wrote to DynamoDB and S3. Each check returns an empty string when
// everything agrees, else the first differences (for eventually() and the failure message).

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/json_writer.h"
#include "e2e/pipeline.h"

namespace cdc::test::e2e {

// An integer field of a JSON object, -1 when absent.
inline int64_t intField(simdjson::dom::element e, const char* name) {
  int64_t v = 0;
  if (e[name].get_int64().get(v)) return -1;
  return v;
}

// Where one run of the three services writes.
struct Sinks {
  std::string inventoryTable;
  std::string searchTable;
  std::string lakeBucket;
};

// PostgreSQL's answers (psql's unaligned rows, fields split by '|').
class Database {
 public:
  virtual ~Database() = default;
  virtual std::string rows(const std::string& sql) = 0;
};

// The stack's PostgreSQL. Every answer is kept (query, rows), so that the same checks can run
// later against a capture of the topics, without a server.
class LiveDatabase final : public Database {
 public:
  LiveDatabase(const Stack& stack, std::string database = "ecommerce") : stack_(stack), database_(std::move(database)) {}
  std::string rows(const std::string& sql) override {
    auto r = stack_.psql(sql, database_);
    std::string out = r.exitCode == 0 ? r.out : "psql failed: " + r.out;
    recorded_[sql] = out;
    return out;
  }
  // The answers as JSON lines {"sql":…,"rows":…}.
  std::string recorded() const {
    std::string out;
    for (const auto& [sql, rows] : recorded_) {
      JsonWriter w(out);
      w.beginObject().field("sql", sql).field("rows", rows).endObject();
      out += "\n";
    }
    return out;
  }

 private:
  const Stack& stack_;
  std::string database_;
  std::map<std::string, std::string> recorded_;
};

// Answers kept by LiveDatabase::recorded().
class RecordedDatabase final : public Database {
 public:
  explicit RecordedDatabase(const std::string& jsonLines) {
    simdjson::dom::parser parser;
    std::istringstream in(jsonLines);
    for (std::string line; std::getline(in, line);) {
      simdjson::dom::element e;
      std::string_view sql, rows;
      if (line.empty() || parser.parse(line).get(e) || e["sql"].get(sql) || e["rows"].get(rows)) continue;
      answers_[std::string(sql)] = std::string(rows);
    }
  }
  std::string rows(const std::string& sql) override {
    auto it = answers_.find(sql);
    return it == answers_.end() ? "no recorded answer for: " + sql : it->second;
  }
  size_t size() const { return answers_.size(); }

 private:
  std::map<std::string, std::string> answers_;
};

// What a run of the services wrote, read back the way a user reads it.
class Outputs {
 public:
  virtual ~Outputs() = default;
  // `cdc dump` of a table: one JSON object per item.
  virtual std::optional<std::string> dump(const std::string& table) = 0;
  // An object of the data lake (`analytics/summary/latest.json`).
  virtual std::optional<std::string> object(const std::string& key) = 0;
  // `cdc search` with these arguments against the search table (one page).
  virtual std::optional<std::string> search(const std::string& args) = 0;
  // The seed's Scan with contains(name_lower, :name) (its Count); nullopt where there is no Scan.
  virtual std::optional<int64_t> scanNameContains(const std::string& word) = 0;
};

// DynamoDB and S3 (moto), read with cdc dump, cdc search and the AWS CLI.
class AwsOutputs final : public Outputs {
 public:
  AwsOutputs(const Stack& stack, Sinks sinks) : stack_(stack), sinks_(std::move(sinks)) {}
  std::optional<std::string> dump(const std::string& table) override {
    auto r = run(stack_.awsEnv() + cdcBinary() + " dump --store dynamodb --table " + table, false);
    return r.exitCode == 0 ? std::optional(r.out) : std::nullopt;
  }
  std::optional<std::string> object(const std::string& key) override {
    auto r = stack_.awsCliRun("s3 cp s3://" + sinks_.lakeBucket + "/" + key + " -");
    return r.exitCode == 0 && !r.out.empty() ? std::optional(r.out) : std::nullopt;
  }
  std::optional<std::string> search(const std::string& args) override {
    auto r =
        run(stack_.awsEnv() + cdcBinary() + " search --store dynamodb --table-name " + sinks_.searchTable + " " + args, false);
    return r.exitCode == 0 ? std::optional(r.out) : std::nullopt;
  }
  std::optional<int64_t> scanNameContains(const std::string& word) override {
    auto r = stack_.awsCliRun("dynamodb scan --table-name " + sinks_.searchTable +
                              " --filter-expression 'contains(name_lower, :name)' --expression-attribute-values "
                              "'{\":name\":{\"S\":\"" +
                              word + "\"}}' --select COUNT --output text --query Count");
    if (r.exitCode != 0) return -1;
    return std::atoll(r.out.c_str());
  }

 private:
  const Stack& stack_;
  Sinks sinks_;
};

// The embedded stores of a run: a SQLite file and a directory.
class EmbeddedOutputs final : public Outputs {
 public:
  EmbeddedOutputs(std::string database, std::string lake, Sinks sinks)
      : database_(std::move(database)), lake_(std::move(lake)), sinks_(std::move(sinks)) {}
  std::optional<std::string> dump(const std::string& table) override {
    auto r = run(cdcBinary() + " dump --store sqlite:" + database_ + " --table " + table, false);
    return r.exitCode == 0 ? std::optional(r.out) : std::nullopt;
  }
  std::optional<std::string> object(const std::string& key) override {
    std::ifstream in(lake_ + "/" + key);
    if (!in) return std::nullopt;
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::optional<std::string> search(const std::string& args) override {
    auto r = run(cdcBinary() + " search --store sqlite:" + database_ + " --table-name " + sinks_.searchTable + " " + args, false);
    return r.exitCode == 0 ? std::optional(r.out) : std::nullopt;
  }
  std::optional<int64_t> scanNameContains(const std::string&) override { return std::nullopt; }

 private:
  std::string database_, lake_;
  Sinks sinks_;
};

class Differences {
 public:
  template <class... Args>
  void add(fmt::format_string<Args...> f, Args&&... args) {
    if (++count_ <= 8) text_ += fmt::format(f, std::forward<Args>(args)...) + "\n";
  }
  std::string str() const {
    if (count_ == 0) return {};
    return text_ + (count_ > 8 ? fmt::format("… {} differences in all\n", count_) : "");
  }

 private:
  int count_ = 0;
  std::string text_;
};

// Every key of `want` with its value in `got`, and nothing else (`what {key}: …`).
template <class K>
void compareEntries(Differences& d, const char* what, const std::map<K, std::string>& want, const std::map<K, std::string>& got) {
  for (const auto& [k, w] : want) {
    auto it = got.find(k);
    if (it == got.end())
      d.add("{} {}: missing (want {})", what, k, w);
    else if (it->second != w)
      d.add("{} {}: {} (want {})", what, k, it->second, w);
  }
  for (const auto& [k, g] : got) {
    if (!want.contains(k)) d.add("{} {}: {} but nothing in the database", what, k, g);
  }
}

// inventory-realtime: an item for every product in the database (none for a deleted one), with
// its name, description (absent when NULL), exact price, and available stock: stock_quantity
// minus what the live order items hold.
inline std::string inventoryDifferences(Database& db, Outputs& out, const Sinks& sinks) {
  std::map<int64_t, std::string> want;
  for (const auto& r :
       rows(db.rows("SELECT p.id, p.name, coalesce(p.description, '<null>'), p.price, "
                    "p.stock_quantity - coalesce((SELECT sum(quantity) FROM order_items oi WHERE oi.product_id = p.id), 0) "
                    "FROM products p ORDER BY p.id"))) {
    if (r.size() != 5) return "unexpected SQL answer: " + r[0];
    want[std::stoll(r[0])] = r[1] + " | " + r[2] + " | " + r[3] + " | " + r[4];
  }
  auto dump = out.dump(sinks.inventoryTable);
  if (!dump) return "cdc dump of " + sinks.inventoryTable + " failed";
  std::map<int64_t, std::string> got;
  simdjson::dom::parser parser;
  std::istringstream in(*dump);
  for (std::string line; std::getline(in, line);) {
    simdjson::dom::element item;
    if (parser.parse(line).get(item)) return "not JSON: " + line;
    auto text = [&](const char* name) -> std::string {
      std::string_view s;
      return item[name].get_string().get(s) ? std::string("<null>") : std::string(s);
    };
    int64_t id = intField(item, "product_id"), stock = intField(item, "stock_quantity");
    got[id] = text("name") + " | " + text("description") + " | " + text("price") + " | " + std::to_string(stock);
  }
  Differences d;
  compareEntries(d, "inventory: product", want, got);  // name | description | price | available stock
  return d.str();
}

// The analytics reports of the bucket's latest.json objects against GROUP BYs over the tables.
inline std::string analyticsDifferences(Database& db, Outputs& out, int topN = 100) {
  simdjson::dom::parser parser;
  std::map<std::string, std::string> bodies;
  for (const char* folder : {"daily_sales", "product_sales", "customer_metrics", "order_status", "summary"}) {
    auto body = out.object(std::string("analytics/") + folder + "/latest.json");
    if (!body) return std::string("no analytics/") + folder + "/latest.json";
    bodies[folder] = *body;
  }
  Differences d;
  auto parse = [&](const std::string& folder) -> simdjson::dom::element {
    simdjson::dom::element e;
    if (parser.parse(bodies[folder]).get(e)) d.add("{}: not JSON", folder);
    return e;
  };

  // summary
  {
    auto s = rows(db.rows("SELECT count(*), coalesce(sum(total_amount), 0), count(DISTINCT customer_id) FROM orders"));
    auto p = rows(db.rows("SELECT count(DISTINCT product_id) FROM order_items"));
    if (s.empty() || p.empty()) return "psql failed";
    simdjson::dom::element m;
    if (parse("summary")["metrics"].get(m)) return "summary without metrics";
    int64_t orders = intField(m, "total_orders"), customers = intField(m, "unique_customers"),
            products = intField(m, "unique_products_sold");
    if (orders != std::stoll(s[0][0])) d.add("summary: total_orders {} (want {})", orders, s[0][0]);
    simdjson::dom::element revenue;
    if (!m["total_revenue"].get(revenue) && cents(revenue) != sqlCents(s[0][1])) {
      d.add("summary: total_revenue {} cents (want {})", cents(revenue), s[0][1]);
    }
    if (customers != std::stoll(s[0][2])) d.add("summary: unique_customers {} (want {})", customers, s[0][2]);
    if (products != std::stoll(p[0][0])) d.add("summary: unique_products_sold {} (want {})", products, p[0][0]);
  }
  // order_status
  {
    std::map<std::string, int64_t> want, got;
    for (const auto& r : rows(db.rows("SELECT status, count(*) FROM orders GROUP BY status"))) want[r[0]] = std::stoll(r[1]);
    simdjson::dom::object data;
    if (!parse("order_status")["data"].get(data)) {
      for (auto [k, v] : data) got[std::string(k)] = int64_t(v);
    }
    if (got != want) {
      std::string g, w;
      for (const auto& [k, v] : got) g += k + "=" + std::to_string(v) + " ";
      for (const auto& [k, v] : want) w += k + "=" + std::to_string(v) + " ";
      d.add("order_status: {}(want {})", g, w);
    }
  }
  // daily_sales
  {
    std::map<std::string, std::string> want, got;
    auto r = db.rows(
        "SELECT d, sum(oc), sum(ta), sum(us), sum(ir) FROM ("
        " SELECT created_at::date d, count(*) oc, sum(total_amount) ta, 0 us, 0 ir FROM orders GROUP BY 1"
        " UNION ALL SELECT created_at::date, 0, 0, sum(quantity), sum(quantity * price) FROM order_items GROUP BY 1) x "
        "GROUP BY d ORDER BY d");
    for (const auto& row : rows(r)) {
      want[row[0]] = fmt::format("{} {} {} {}", row[1], sqlCents(row[2]), row[3], sqlCents(row[4]));
    }
    simdjson::dom::object data;
    if (!parse("daily_sales")["data"].get(data)) {
      for (auto [day, v] : data) {
        got[std::string(day)] = fmt::format("{} {} {} {}", int64_t(v["order_count"]), cents(v["total_amount"]),
                                            int64_t(v["units_sold"]), cents(v["item_revenue"]));
      }
    }
    compareEntries(d, "daily_sales (orders, revenue, units, item revenue)", want, got);
  }
  // product_sales and customer_metrics: the top N, in rank order (ties by ascending id)
  auto ranking = [&](const std::string& folder, const std::string& sql, const char* count, const char* money) {
    std::vector<std::string> want, got;
    for (const auto& row : rows(db.rows(sql))) want.push_back(fmt::format("{}:{}:{}", row[0], row[1], sqlCents(row[2])));
    simdjson::dom::object data;
    if (!parse(folder)["data"].get(data)) {
      for (auto [id, v] : data) got.push_back(fmt::format("{}:{}:{}", std::string(id), int64_t(v[count]), cents(v[money])));
    }
    if (got.size() != want.size()) d.add("{}: {} entries (want {})", folder, got.size(), want.size());
    for (size_t i = 0; i < std::min(got.size(), want.size()); ++i) {
      if (got[i] != want[i]) d.add("{} rank {}: {} (want {}: id, count, cents)", folder, i + 1, got[i], want[i]);
    }
  };
  ranking("product_sales",
          fmt::format("SELECT product_id, sum(quantity), sum(quantity * price) FROM order_items GROUP BY product_id "
                      "ORDER BY 3 DESC, 1 LIMIT {}",
                      topN),
          "quantity_sold", "total_revenue");
  ranking("customer_metrics",
          fmt::format("SELECT customer_id, count(*), sum(total_amount) FROM orders GROUP BY customer_id "
                      "ORDER BY 3 DESC, 1 LIMIT {}",
                      topN),
          "order_count", "total_spent");
  return d.str();
}

// Every page of `cdc search` against the search table: the ids found.
inline std::set<int64_t> searchIds(Outputs& out, const std::string& args) {
  std::set<int64_t> ids;
  std::string cursor;
  simdjson::dom::parser parser;
  for (int page = 0; page < 100; ++page) {
    auto r = out.search("--limit 100 " + args + (cursor.empty() ? "" : " --cursor " + quote(cursor)));
    simdjson::dom::element e;
    simdjson::dom::array hits;
    if (!r || parser.parse(*r).get(e) || e["results"].get(hits)) return {-1};
    for (auto hit : hits) ids.insert(intField(hit, "product_id"));
    std::string_view next;
    if (e["next_cursor"].get_string().get(next)) break;
    cursor = std::string(next);
  }
  return ids;
}

// The search index answers what SQL finds: words (the last one as a prefix) in names and
// descriptions, in several scripts, accents folded (`lamp` finds "Lámpara"); price ranges; and
// the seed's own Scan on name_lower.
inline std::string searchDifferences(Database& db, Outputs& out, const std::string& tag) {
  Differences d;
  auto compare = [&](const std::string& what, const std::set<int64_t>& got, const std::string& sql) {
    std::set<int64_t> want;
    for (const auto& r : rows(db.rows(sql))) want.insert(std::stoll(r[0]));
    if (got != want) {
      std::string missing, extra;
      for (int64_t id : want)
        if (!got.contains(id)) missing += std::to_string(id) + " ";
      for (int64_t id : got)
        if (!want.contains(id)) extra += std::to_string(id) + " ";
      d.add("search {}: {} found, {} wanted; missing [{}] extra [{}]", what, got.size(), want.size(), missing, extra);
    }
  };
  for (const std::string& word : {std::string("zorblax"), std::string("wireless"), std::string("беспроводные"),
                                  std::string("蓝牙"), std::string("lamp"), std::string("keyb"), tag}) {
    compare("'" + word + "'", searchIds(out, "--query " + quote(word)),
            "SELECT id FROM products WHERE EXISTS (SELECT 1 FROM regexp_split_to_table(translate(lower(name || ' ' || "
            "coalesce(description, '')), 'áéíóúäëïöü', 'aeiouaeiou'), '\\s+') w WHERE w LIKE " +
                quote(word) + " || '%') ORDER BY id");
  }
  compare("$10-$20", searchIds(out, "--min-price 10 --max-price 20"),
          "SELECT id FROM products WHERE price BETWEEN 10 AND 20 ORDER BY id");
  compare("'zorblax' under $50", searchIds(out, "--query zorblax --max-price 50"),
          "SELECT id FROM products WHERE description LIKE 'zorblax%' AND price <= 50 ORDER BY id");
  // The seed's Testing step: a Scan with contains(name_lower, :name).
  if (auto count = out.scanNameContains("wireless")) {
    auto want = rows(db.rows("SELECT count(*) FROM products WHERE lower(name) LIKE '%wireless%'"));
    if (want.empty() || std::to_string(*count) != want[0][0]) {
      d.add("scan contains(name_lower, 'wireless'): {} (want {})", *count, want.empty() ? "?" : want[0][0]);
    }
  }
  return d.str();
}

inline std::string allDifferences(Database& db, Outputs& out, const Sinks& sinks, const std::string& tag) {
  return inventoryDifferences(db, out, sinks) + analyticsDifferences(db, out) + searchDifferences(db, out, tag);
}

}  // namespace cdc::test::e2e
