#include "cli/command.h"

#include <unistd.h>

#include <filesystem>

#include "adapters/localfs/dir_object_store.h"
#include "adapters/sqlite/sqlite_table_store.h"
#include "core/log.h"

namespace cdc::cli {

void bindSettings(Command& command) {
  for (const auto& s : config::allSettings()) {
    bool applies = false;
    for (auto c : s.commands) applies = applies || c == "*" || c == command.name;
    if (!applies) continue;
    std::string help(s.description);
    if (!s.env.empty()) help += " [env " + std::string(s.env) + "]";
    if (!s.defaultValue.empty()) help += " (default " + std::string(s.defaultValue) + ")";
    std::string key(s.name);
    if (s.kind == config::Kind::Switch) {
      command.app->add_flag_function(
          "--" + key, [&command, key](std::int64_t) { command.flags.insert_or_assign(key, "true"); }, help);
      continue;
    }
    auto* opt = command.app->add_option_function<std::string>(
        "--" + key, [&command, key](const std::string& v) { command.flags.insert_or_assign(key, v); }, help);
    if (s.kind == config::Kind::Choice) {
      std::string typeName;
      for (auto c : s.choices) typeName += (typeName.empty() ? "" : "|") + std::string(c);
      opt->type_name(typeName);
    } else if (s.kind == config::Kind::Int || s.kind == config::Kind::PositiveInt) {
      opt->type_name("N");
    } else if (s.kind == config::Kind::Bool) {
      opt->type_name("true|false");
    }
  }
}

void configureLogging(const config::Config& config) {
  const std::string& level = config.str("log-level");
  const std::string& format = config.str("log-format");
  bool json = format == "json" || (format == "auto" && !::isatty(STDERR_FILENO));
  log::configure(spdlog::level::from_str(level), json ? log::Format::Json : log::Format::Text);
}

std::unique_ptr<store::TableStore> openTableStore(const std::string& uri, const std::string& origin) {
  if (uri.starts_with("sqlite:")) {
    std::filesystem::path path = uri.substr(7);
    if (path.empty()) throw config::ConfigError(origin + ": sqlite: needs a path");
    std::error_code ec;
    if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
    auto s = sqlite::SqliteTableStore::open(path.string());
    if (!s) throw config::ConfigError(origin + ": " + s.error().message);
    return std::move(*s);
  }
  throw config::ConfigError(origin + ": unknown table store '" + uri + "' (supported: sqlite:PATH)");
}

std::unique_ptr<store::ObjectStore> openObjectStore(const std::string& uri, const std::string& origin) {
  if (uri.starts_with("dir:")) {
    std::string path = uri.substr(4);
    if (path.empty()) throw config::ConfigError(origin + ": dir: needs a path");
    return std::make_unique<localfs::DirObjectStore>(path);
  }
  throw config::ConfigError(origin + ": unknown object store '" + uri + "' (supported: dir:PATH)");
}

}  // namespace cdc::cli
