#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "config/components.h"
#include "store/object_store.h"
#include "store/table_store.h"

namespace cdc::app {

// Exit statuses of SPEC §11.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// A subcommand: its CLI11 app, the flags given for it, and what it runs.
struct Command {
  std::string name;  // "generate", "dlq list"
  CLI::App* app = nullptr;
  std::map<std::string, std::string, std::less<>> flags;
  std::function<int(const config::Config&)> run;
};

// Adds a --flag for every declared setting of `command` to `app`, recording given values.
void bindSettings(Command& command);

// Sets up logging before the settings are resolved (so that an error in them is logged in the
// format asked for): the format from --log-format or LOG_FORMAT as given, and the service's
// name on every line for a service command.
void startLogging(const Command& command);
// Sets up logging from the log-level and log-format settings.
void configureLogging(const config::Config& config);
// The error that ends a command: "cdc <command>: <error>", or a JSON line in JSON mode.
void reportError(std::string_view command, std::string_view error, int exitCode);

// A store's URI and what chose it (a flag, a variable, or a rule), for errors.
struct StoreChoice {
  std::string uri;
  std::string origin;
};

// --store and --objects (CDC_STORE, CDC_OBJECTS) as resolved.
StoreChoice tableStoreChoice(const config::Config& c);
StoreChoice objectStoreChoice(const config::Config& c);

// The table store a choice names (sqlite:PATH or dynamodb); a bad value is a ConfigError
// naming the flag or variable. Without a choice: --store (CDC_STORE) as resolved.
// A SQLite database is created where none is (its folder too, when that folder's parent
// exists), unless `existing`: a command that only reads (dump, search) refuses a path with no
// database rather than leave an empty one behind.
std::unique_ptr<store::TableStore> openTableStore(const config::Config& c, const StoreChoice& choice, bool existing = false);
std::unique_ptr<store::TableStore> openTableStore(const config::Config& c, bool existing = false);
// The object store a choice names (dir:PATH or s3). With s3, the reports' bucket S3_BUCKET,
// or for `deadLetters` DLQ_S3_BUCKET (S3_BUCKET when unset). Without a choice: --objects.
std::unique_ptr<store::ObjectStore> openObjectStore(const config::Config& c, const StoreChoice& choice, bool deadLetters);
std::unique_ptr<store::ObjectStore> openObjectStore(const config::Config& c, bool deadLetters = false);

// The registered subcommands.
void addGenerate(CLI::App& app, std::vector<std::unique_ptr<Command>>& commands);
void addDump(CLI::App& app, std::vector<std::unique_ptr<Command>>& commands);
void addDlq(CLI::App& app, std::vector<std::unique_ptr<Command>>& commands);
void addDemo(CLI::App& app, std::vector<std::unique_ptr<Command>>& commands);
void addConfig(CLI::App& app, std::vector<std::unique_ptr<Command>>& commands);
void addServices(CLI::App& app, std::vector<std::unique_ptr<Command>>& commands);
void addSearch(CLI::App& app, std::vector<std::unique_ptr<Command>>& commands);
void addProduce(CLI::App& app, std::vector<std::unique_ptr<Command>>& commands);

}  // namespace cdc::app
