// cdc config: the declared settings, as a table (README's configuration section comes from it).

#include <cstdio>

#include "cli/command.h"

namespace cdc::cli {

void addConfig(CLI::App& app, std::vector<std::unique_ptr<Command>>& commands) {
  auto cmd = std::make_unique<Command>();
  cmd->name = "config";
  cmd->app = app.add_subcommand("config", "Print every setting: flag, environment variable, default, description (Markdown)");
  bindSettings(*cmd);
  cmd->run = [](const config::Config&) {
    std::fputs(config::markdownTable().c_str(), stdout);
    return kExitOk;
  };
  commands.push_back(std::move(cmd));
}

}  // namespace cdc::cli
