// cdc dump: every item of a table, one JSON object per line, sorted by key.

#include <cstdio>

#include "cli/command.h"
#include "store/item_codec.h"

namespace cdc::cli {

void addDump(CLI::App& app, std::vector<std::unique_ptr<Command>>& commands) {
  auto cmd = std::make_unique<Command>();
  cmd->name = "dump";
  cmd->app = app.add_subcommand("dump", "Print every item of a table as JSON lines (numbers as JSON numbers), sorted by key");
  bindSettings(*cmd);
  cmd->run = [](const config::Config& c) {
    auto tables = openTableStore(c, /*existing=*/true);
    if (!c.has("table")) throw config::ConfigError("--table is required");
    store::ScanRequest scan;
    scan.table = c.str("table");
    std::string line;
    do {
      auto page = tables->scan(scan);
      if (!page) {
        if (page.error().kind == ErrorKind::NotFound) throw config::ConfigError("--table: " + page.error().message);
        reportError("dump", page.error().message, kExitFailure);
        return kExitFailure;
      }
      for (const auto& item : page->items) {
        line.clear();
        store::appendPlainJson(line, item);
        line.push_back('\n');
        std::fwrite(line.data(), 1, line.size(), stdout);
      }
      scan.exclusiveStartKey = std::move(page->lastEvaluatedKey);
    } while (scan.exclusiveStartKey);
    return kExitOk;
  };
  commands.push_back(std::move(cmd));
}

}  // namespace cdc::cli
