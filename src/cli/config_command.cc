// cdc config: the declared settings, as a table (README's configuration section comes from it).

#include <cstdio>

#include "cli/command.h"

namespace cdc::cli {

void addConfig(CLI::App& app, std::vector<std::unique_ptr<Command>>& commands) {
  auto cmd = std::make_unique<Command>();
  cmd->name = "config";
  cmd->app = app.add_subcommand("config", "Print every setting (or a command's): flag, environment variable, default, description (Markdown)");
  bindSettings(*cmd);
  Command* raw = cmd.get();
  cmd->app->add_option_function<std::string>(
      "COMMAND", [raw](const std::string& v) { raw->flags.insert_or_assign("config-command", v); },
      "Only the settings of this command (inventory, analytics, search-indexer, …)");
  cmd->run = [raw](const config::Config&) {
    auto it = raw->flags.find("config-command");
    if (it == raw->flags.end()) {
      std::fputs(config::markdownTable().c_str(), stdout);
      return kExitOk;
    }
    std::string table = config::markdownTable(it->second);
    if (table.empty()) throw config::ConfigError("COMMAND: unknown command '" + it->second + "'");
    std::fputs(table.c_str(), stdout);
    return kExitOk;
  };
  commands.push_back(std::move(cmd));
}

}  // namespace cdc::cli
