// cdc: the command line of SPEC §11. This file only wires the subcommands.

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "adapters/kafka/kafka_config.h"
#include "app/command.h"
#include "app/services.h"
#include "core/log.h"
#include "metrics/registry.h"

namespace {

// Whether `command` ("inventory", "dlq list") is a command of `app`.
bool findCommandHelp(CLI::App& app, const std::string& command) {
  auto space = command.find(' ');
  try {
    CLI::App* sub = app.get_subcommand(command.substr(0, space));
    if (space != std::string::npos) sub = sub->get_subcommand(command.substr(space + 1));
    return sub != nullptr;
  } catch (const CLI::OptionNotFound&) {
    return false;
  }
}

// The arguments after the program's name. Run under a service's name (the images'
// entrypoints, a symlink to cdc), it runs that service: `inventory-service --batch-size 500` is
// `cdc inventory --batch-size 500`.
std::vector<std::string> argumentsOf(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string_view self = argv[0];
  self = self.substr(self.rfind('/') == std::string_view::npos ? 0 : self.rfind('/') + 1);
  const bool versionOnly = args.size() == 1 && args[0] == "--version";
  if (const auto* service = cdc::app::findService(self); service && service->name == self && !versionOnly) {
    args.insert(args.begin(), service->command);
  }
  return args;
}

// What comes before the command, named (CLI11 would only say that a subcommand is required).
std::optional<std::string> unknownCommand(CLI::App& app, const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "--help-all" || args[0] == "--version") {
    return std::nullopt;
  }
  std::string names;
  bool known = false;
  for (const auto* sub : app.get_subcommands({})) {
    known = known || sub->get_name() == args[0];
    names += (names.empty() ? "" : ", ") + sub->get_name();
  }
  if (known) return std::nullopt;
  std::string what =
      args[0].starts_with('-') ? "unknown option '" + args[0] + "' before the command" : "unknown command '" + args[0] + "'";
  return what + " (commands: " + names + "; cdc COMMAND --help for its flags)";
}

// A flag of another command, named as such (CLI11 would only say it was not expected): the
// command and what to say, or nothing.
std::optional<std::pair<std::string, std::string>> foreignFlag(CLI::App& app, const std::vector<std::string>& args) {
  if (args.empty()) return std::nullopt;
  std::string command = args[0];
  if (command == "dlq" && args.size() > 1 && !args[1].starts_with('-')) command += " " + args[1];
  for (const auto& arg : args) {
    if (!arg.starts_with("--")) continue;
    std::string_view name =
        std::string_view(arg).substr(2, arg.find('=') == std::string::npos ? std::string::npos : arg.find('=') - 2);
    bool declared = false, ours = false;
    std::string others;
    for (const cdc::config::Setting* s : cdc::config::allSettings()) {
      if (s->name != name) continue;
      declared = true;
      ours = ours || cdc::config::appliesTo(*s, command);
      for (auto c : s->commands) others += (others.empty() ? "" : ", ") + std::string(c);
    }
    if (declared && !ours && findCommandHelp(app, command)) {
      return std::pair{command, fmt::format("--{} is not a setting of {} (it is one of {}; cdc {} --help lists its own)", name,
                                            command, others, command)};
    }
  }
  return std::nullopt;
}

// Parses the arguments into `app`: nothing when a command is to run, else the exit status
// (help and version printed, a usage error reported).
std::optional<int> parse(CLI::App& app, std::vector<std::string> args) {
  std::reverse(args.begin(), args.end());  // CLI11 takes them last first
  try {
    app.parse(args);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return cdc::app::kExitUsage;
  }
  return std::nullopt;
}

// Runs the command the arguments named, with its configuration resolved.
int runCommand(cdc::app::Command& command) {
  using namespace cdc::app;
  try {
    startLogging(command);
    auto config = cdc::config::Config::resolve(command.name, command.flags);
    configureLogging(config);
    return command.run(config);
  } catch (const cdc::config::ConfigError& e) {
    reportError(command.name, e.what(), kExitUsage);
    return kExitUsage;
  } catch (const std::exception& e) {
    reportError(command.name, e.what(), kExitFailure);
    return kExitFailure;
  }
}

int run(int argc, char** argv) {
  using namespace cdc::app;
  CLI::App app{"CDC consumer services: Debezium changes from Kafka into DynamoDB, S3 and a search index", "cdc"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Help for every command");
  app.set_version_flag("--version", "cdc " + std::string(cdc::metrics::buildVersion()) + " (revision " +
                                        std::string(cdc::metrics::buildRevision()) + ", librdkafka " +
                                        std::string(cdc::kafka::clientVersion()) + ")");
  std::vector<std::unique_ptr<Command>> commands;
  for (auto add : {addServices, addSearch, addGenerate, addProduce, addDemo, addDump, addDlq, addConfig}) add(app, commands);
  const std::vector<std::string> args = argumentsOf(argc, argv);
  if (auto what = unknownCommand(app, args)) {
    cdc::log::configure(spdlog::level::info, cdc::log::Format::Text);
    reportError("", *what, kExitUsage);
    return kExitUsage;
  }
  if (auto foreign = foreignFlag(app, args)) {
    cdc::log::configure(spdlog::level::info, cdc::log::Format::Text);
    reportError(foreign->first, foreign->second, kExitUsage);
    return kExitUsage;
  }
  if (auto status = parse(app, args)) return *status;
  for (auto& command : commands) {
    if (command->app->parsed()) return runCommand(*command);
  }
  return kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  // Whatever escapes (a failure to write the error itself) still ends with a status.
  try {
    return run(argc, argv);
  } catch (...) {
    std::fputs("cdc: unexpected error\n", stderr);
    return 1;
  }
}
