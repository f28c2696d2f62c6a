// cdc config COMMAND: the values that command would run with, and where each comes from.
// cdc config --markdown [COMMAND]: the declared settings as a table (README's configuration
// section and each service's README come from it).

#include <algorithm>
#include <cstdio>
#include <vector>

#include <fmt/format.h>

#include "adapters/kafka/kafka_config.h"
#include "app/command.h"

namespace cdc::app {

void addConfig(CLI::App& app, std::vector<std::unique_ptr<Command>>& commands) {
  auto cmd = std::make_unique<Command>();
  cmd->name = "config";
  cmd->app = app.add_subcommand("config",
                                "What COMMAND would run with: each setting's value and where it comes from (flag default, "
                                "environment); --markdown: the reference table of every setting (or COMMAND's)");
  bindSettings(*cmd);
  Command* raw = cmd.get();
  cmd->app->add_option_function<std::string>(
      "COMMAND", [raw](const std::string& v) { raw->flags.insert_or_assign("config-command", v); },
      "The command (inventory, analytics, search-indexer, …)");
  cmd->app->add_flag_function(
      "--markdown", [raw](int64_t) { raw->flags.insert_or_assign("config-markdown", "true"); },
      "The reference table (flag, environment variable, default, description) instead of the values");
  cmd->run = [raw](const config::Config&) {
    auto it = raw->flags.find("config-command");
    const bool markdown = raw->flags.contains("config-markdown");
    if (it == raw->flags.end()) {
      if (!markdown) throw config::ConfigError("COMMAND: name the command whose settings to show (or give --markdown)");
      std::fputs(config::markdownTable().c_str(), stdout);
      return kExitOk;
    }
    std::string table = config::markdownTable(it->second);
    if (table.empty()) throw config::ConfigError("COMMAND: unknown command '" + it->second + "'");
    if (markdown) {
      std::fputs(table.c_str(), stdout);
      return kExitOk;
    }
    // Resolved as the command itself resolves them: a bad value fails here the same way.
    auto effective = config::Config::resolve(it->second, {});
    std::vector<const config::Setting*> taken;
    size_t width = 0;
    for (const config::Setting* s : config::allSettings()) {
      if (std::find(s->commands.begin(), s->commands.end(), it->second) == s->commands.end()) continue;
      taken.push_back(s);
      width = std::max(width, s->name.size() + 2);
    }
    for (const config::Setting* s : taken) {
      std::string name = "--" + std::string(s->name);
      auto entry = std::find_if(effective.entries().begin(), effective.entries().end(),
                                [s](const config::Config::Entry& e) { return e.setting == s; });
      if (entry == effective.entries().end()) {
        fmt::print("{:<{}}  (unset)\n", name, width);
        continue;
      }
      const std::string shown = config::secret(*s) ? "***" : entry->value;
      fmt::print("{:<{}}  {}  ({})\n", name, width, shown, entry->origin == "default" ? "default" : "from " + entry->origin);
    }
    for (const auto& [property, value] : effective.kafkaPassthrough()) {
      fmt::print("librdkafka {}={}  (from {})\n", property, kafka::secret(property) ? "***" : value,
                 kafka::environmentName(property));
    }
    return kExitOk;
  };
  commands.push_back(std::move(cmd));
}

}  // namespace cdc::app
