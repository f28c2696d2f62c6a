// cdc dump: the items of a table, one JSON object per line (all, a limit, or one key), or the
// analytics checkpoints.

#include <cstdio>

#include "app/command.h"
#include "core/json_writer.h"
#include "core/log.h"
#include "services/analytics/analytics_service.h"
#include "store/item_codec.h"

namespace cdc::app {
namespace {

bool decimalLiteral(std::string_view v) {
  size_t i = v.starts_with('-') ? 1 : 0;
  size_t digits = 0, dots = 0;
  for (; i < v.size(); ++i) {
    if (v[i] >= '0' && v[i] <= '9') {
      ++digits;
    } else if (v[i] == '.' && dots == 0 && digits > 0) {
      ++dots;
    } else {
      return false;
    }
  }
  return digits > 0 && !v.ends_with('.');
}

// --key as the table's partition key: "5" or "product_id=5".
store::AttributeValue keyValue(const config::DumpSettings& s, const store::KeyAttribute& hash) {
  std::string_view v = *s.key;
  const std::string& table = *s.table;
  if (auto eq = v.find('='); eq != std::string_view::npos) {
    if (v.substr(0, eq) != hash.name) {
      throw config::ConfigError("--key: " + table + "'s partition key is " + hash.name + ", not " + std::string(v.substr(0, eq)));
    }
    v.remove_prefix(eq + 1);
  }
  switch (hash.type) {
    case store::AttributeValue::Type::N:
      if (!decimalLiteral(v)) {
        throw config::ConfigError("--key: " + hash.name + " of " + table + " is a number, got '" + std::string(v) + "'");
      }
      return store::AttributeValue::n(v);
    case store::AttributeValue::Type::S:
      return store::AttributeValue::s(std::string(v));
    default:
      throw config::ConfigError("--key: " + hash.name + " of " + table + " is binary: dump the table instead");
  }
}

class Printer {
 public:
  explicit Printer(std::optional<int64_t> limit) : limit_(limit) {}
  bool full() const { return limit_ && printed_ >= *limit_; }
  // How many more may come (0: no limit).
  int room() const { return limit_ ? static_cast<int>(std::min<int64_t>(*limit_ - printed_, 1000)) : 0; }
  void print(const store::Item& item) {
    if (full()) return;
    line_.clear();
    store::appendPlainJson(line_, item);
    line_.push_back('\n');
    std::fwrite(line_.data(), 1, line_.size(), stdout);
    ++printed_;
  }

 private:
  std::optional<int64_t> limit_;
  int64_t printed_ = 0;
  std::string line_;
};

int storeError(const Error& e) {
  if (e.kind == ErrorKind::NotFound) throw config::ConfigError("--table: " + e.message);
  reportError("dump", e.message, kExitFailure);
  return kExitFailure;
}

int dumpTable(const config::Config& c) {
  const auto s = c.get<config::DumpSettings>();
  if (!s.table) throw config::ConfigError("--table is required (or --checkpoints)");
  auto tables = openTableStore(c, /*existing=*/true);
  const std::string& table = *s.table;
  Printer out(s.limit);
  if (s.key) {
    auto spec = tables->describeTable(table);
    if (!spec) return storeError(spec.error());
    store::AttributeValue value = keyValue(s, spec->hash);
    if (!spec->range) {
      // One item: GetItem.
      auto item = tables->get(table, store::Item{{spec->hash.name, value}});
      if (!item) return storeError(item.error());
      if (*item) out.print(**item);
      return kExitOk;
    }
    // Every item of the partition key, in sort-key order: Query.
    store::QueryRequest query;
    query.table = table;
    query.hashValue = value;
    do {
      query.limit = out.room();
      auto page = tables->query(query);
      if (!page) return storeError(page.error());
      for (const auto& item : page->items) out.print(item);
      query.exclusiveStartKey = std::move(page->lastEvaluatedKey);
    } while (query.exclusiveStartKey && !out.full());
    return kExitOk;
  }
  store::ScanRequest scan;
  scan.table = table;
  do {
    scan.limit = out.room();
    auto page = tables->scan(scan);
    if (!page) return storeError(page.error());
    for (const auto& item : page->items) out.print(item);
    scan.exclusiveStartKey = std::move(page->lastEvaluatedKey);
  } while (scan.exclusiveStartKey && !out.full());
  return kExitOk;
}

int dumpCheckpoints(const config::Config& c) {
  using D = config::DumpSettings;
  const auto s = c.get<D>();
  for (const auto& [given, member] :
       {std::pair{s.has(&D::table), D::declaration(&D::table).name}, std::pair{s.has(&D::key), D::declaration(&D::key).name},
        std::pair{s.has(&D::limit), D::declaration(&D::limit).name}}) {
    if (given) throw config::ConfigError("--" + std::string(member) + " is for a table, not with --checkpoints");
  }
  const StoreChoice objectsChoice = objectStoreChoice(c);
  auto objects = openObjectStore(c, objectsChoice, false);
  auto views = analytics::describeCheckpoints(*objects);
  if (!views) {
    reportError("dump", views.error().message, kExitFailure);
    return kExitFailure;
  }
  std::string line;
  for (const auto& v : *views) {
    line.clear();
    JsonWriter w(line);
    w.beginObject()
        .field("topic", v.topic)
        .field("partition", v.partition)
        .field("next_offset", v.nextOffset)
        .field("orders", static_cast<int64_t>(v.orders))
        .field("order_items", static_cast<int64_t>(v.items))
        .field("dead_lettered_rows", static_cast<int64_t>(v.deadLetteredRows));
    w.key("reported_next_offset");
    v.reportedNextOffset ? w.integer(*v.reportedNextOffset) : w.null();
    w.endObject();
    line.push_back('\n');
    std::fwrite(line.data(), 1, line.size(), stdout);
  }
  log::report(spdlog::level::info, "checkpoints_listed",
              std::to_string(views->size()) + " partitions checkpointed under " + objectsChoice.uri,
              {{"partitions", std::to_string(views->size()), true}});
  return kExitOk;
}

}  // namespace

void addDump(CLI::App& app, std::vector<std::unique_ptr<Command>>& commands) {
  auto cmd = std::make_unique<Command>();
  cmd->name = "dump";
  cmd->app =
      app.add_subcommand("dump",
                         "Print the items of a table as JSON lines (numbers as JSON numbers): all, --limit N, or one --key; or "
                         "the analytics checkpoints (--checkpoints)");
  bindSettings(*cmd);
  cmd->run = [](const config::Config& c) {
    return c.get<config::DumpSettings>().checkpoints ? dumpCheckpoints(c) : dumpTable(c);
  };
  commands.push_back(std::move(cmd));
}

}  // namespace cdc::app
