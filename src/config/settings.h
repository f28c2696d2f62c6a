#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace cdc::config {

// What values a setting accepts.
// Switch: a bare --flag on the command line (true/false in the environment).
// Brokers: host:port[,host:port…]; TableName: a DynamoDB table name with room for the companion
// tables' suffixes; Port: 0 to 65535; Time: an ISO-8601 date or time (2026-12-01, 2026-12-01T12:00:00Z);
// Secret: a string never shown (`cdc config` prints ***); Url: http://… or https://… (or file:PATH).
enum class Kind : uint8_t {
  String,
  Int,
  PositiveInt,
  NonNegativeInt,
  Port,
  Bool,
  Switch,
  Choice,
  Uri,
  Brokers,
  TableName,
  Time,
  Secret,
  Url
};

// One configuration setting, declared once: its flag, its environment variable, default,
// description and validation. Two settings may share a flag name when no command takes both
// (cdc search's --limit and cdc dump's). --help, `cdc config` and README's table come from this list.
struct Setting {
  std::string_view name;          // flag without dashes: "batch-size"
  std::string_view env;           // environment variable, empty when flag-only
  std::string_view defaultValue;  // empty: no default
  std::string_view description;
  Kind kind = Kind::String;
  std::vector<std::string_view> choices;   // Choice only
  std::vector<std::string_view> commands;  // the commands that take it
};

// Every setting of every command.
std::span<const Setting> allSettings();
// Whether `command` ("inventory", "dlq list") takes the setting.
bool appliesTo(const Setting& s, std::string_view command);
const Setting& setting(std::string_view name);

// A bad flag or environment value. The message names the flag or the variable.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The settings of one command, resolved: flag over environment over default.
class Config {
 public:
  // `flags` holds the values given on the command line (by setting name).
  static Config resolve(std::string_view command, const std::map<std::string, std::string, std::less<>>& flags,
                        const std::function<const char*(const char*)>& getenv = nullptr);

  bool has(std::string_view name) const { return values_.contains(name); }
  const std::string& str(std::string_view name) const;
  int64_t integer(std::string_view name) const;
  bool boolean(std::string_view name) const;
  // Where a value came from, for messages: "--batch-size", "BATCH_SIZE", "default".
  const std::string& origin(std::string_view name) const;

  // Every KAFKA_* variable not declared as a setting, as librdkafka property names
  // (KAFKA_SECURITY_PROTOCOL -> security.protocol).
  std::map<std::string, std::string> kafkaPassthrough() const { return kafka_; }

 private:
  std::map<std::string, std::string, std::less<>> values_;
  std::map<std::string, std::string, std::less<>> origins_;
  std::map<std::string, std::string> kafka_;
};

// Checks one value against a setting; returns the error text, or nullopt when valid.
std::optional<std::string> validate(const Setting& s, std::string_view value);

// The Markdown table of all settings (README's configuration section).
std::string markdownTable();
// The settings one command takes, as a table without the commands column (each service's
// README holds its own); empty when no setting applies (an unknown command).
std::string markdownTable(std::string_view command);

}  // namespace cdc::config
