#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace cdc::config {

// What values a setting accepts.
// Switch: a bare --flag on the command line (true/false in the environment).
// Brokers: host:port[,host:port…]; TableName: a DynamoDB table name with room for the companion
// tables' suffixes; Port: 0 to 65535; Time: an ISO-8601 date or time (2026-12-01, 2026-12-01T12:00:00Z);
// Secret: a string never shown (`cdc config` prints ***); UserInfo: user:password, never shown; Url: http://… or https://… (or
// file:PATH).
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
  UserInfo,
  Url
};

// One configuration setting, declared once, in its component's settings struct (config/components.h):
// its flag, its environment variable, default, description and validation. Two settings may share
// a flag name when no command takes both (cdc search's --limit and cdc dump's). --help,
// `cdc config` and README's table come from these declarations.
struct Setting {
  std::string_view name;          // flag without dashes: "batch-size"
  std::string_view env;           // environment variable, empty when flag-only
  std::string_view defaultValue;  // empty: no default
  std::string_view description;
  Kind kind = Kind::String;
  std::vector<std::string_view> choices;   // Choice only
  std::vector<std::string_view> commands;  // the commands that take it
};

// A field of a component's settings struct, bound to its declaration: the one place that says
// its flag, variable, default, help and check, and the member it fills. The member's type follows
// the kind: bool for Bool and Switch; int64_t for the integers and ports; std::string otherwise
// (a Time too: checked, kept as given). A member is std::optional when the setting has no default (unset is a
// value of its own); a plain member always holds a value (its default when the command does not
// take the setting).
template <class S>
struct Field {
  using Member =
      std::variant<std::string S::*, std::optional<std::string> S::*, int64_t S::*, std::optional<int64_t> S::*, bool S::*>;
  Member member;
  Setting setting;
};
template <class S>
using Fields = std::vector<Field<S>>;

// Every setting of every command, in the order --help and the tables show them.
const std::vector<const Setting*>& allSettings();
// Whether `command` ("inventory", "dlq list") takes the setting.
bool appliesTo(const Setting& s, std::string_view command);

// A bad flag or environment value. The message names the flag or the variable.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Config;

// The base of a component's settings struct S (struct KafkaSettings : Settings<KafkaSettings>):
// where each of its values came from, and each member's declaration, by member.
template <class S>
class Settings {
 public:
  // "--batch-size", "BATCH_SIZE", "default", or "unset" (no value, or not a setting of the command).
  template <class T>
  const std::string& origin(T S::* member) const {
    return origins_.at(index(member));
  }
  // Whether the command took a value for the member (given or by default).
  template <class T>
  bool has(T S::* member) const {
    return origin(member) != "unset";
  }
  template <class T>
  static const Setting& declaration(T S::* member) {
    return S::fields()[index(member)].setting;
  }

 private:
  friend S;
  friend class Config;
  Settings() = default;
  template <class T>
  static size_t index(T S::* member) {
    const auto& fields = S::fields();
    for (size_t i = 0; i < fields.size(); ++i) {
      if (const auto* m = std::get_if<T S::*>(&fields[i].member); m && *m == member) return i;
    }
    throw std::logic_error("a member without a declared setting");
  }
  std::vector<std::string> origins_;  // by field
};

// The settings of one command, resolved: flag over environment over default. Components read
// them as their typed structs (get<KafkaSettings>()); nothing reads a setting by its name.
class Config {
 public:
  using Flags = std::map<std::string, std::string, std::less<>>;
  // `flags` holds the values given on the command line (by setting name).
  static Config resolve(std::string_view command, const Flags& flags,
                        const std::function<const char*(const char*)>& getenv = nullptr);

  // The component's settings struct, filled from the resolved values.
  template <class S>
  S get() const {
    S out;
    const auto& fields = S::fields();
    out.origins_.reserve(fields.size());
    for (const auto& f : fields) {
      const Entry* e = find(f.setting);
      std::visit([&](auto member) { assign(out.*member, e ? &e->value : nullptr, f.setting); }, f.member);
      out.origins_.push_back(e ? e->origin : "unset");
    }
    return out;
  }

  // Before the settings are resolved (logging is set up first, so that an error in them is
  // logged in the format asked for): the member's flag or variable as given, unchecked.
  template <class S, class T>
  static std::optional<std::string> given(std::string_view command, const Flags& flags, T S::* member) {
    return given(command, flags, Settings<S>::declaration(member));
  }

  // Each setting the command takes and has a value for, in declaration order (`cdc config`).
  struct Entry {
    const Setting* setting;
    std::string value;
    std::string origin;  // "--batch-size", "BATCH_SIZE", "default"
  };
  const std::vector<Entry>& entries() const { return entries_; }

  // Every KAFKA_* variable not declared as a setting, as librdkafka property names
  // (KAFKA_SECURITY_PROTOCOL -> security.protocol).
  std::map<std::string, std::string> kafkaPassthrough() const { return kafka_; }

 private:
  const Entry* find(const Setting& s) const;
  static std::optional<std::string> given(std::string_view command, const Flags& flags, const Setting& s);
  static void assign(std::string& to, const std::string* value, const Setting& s);
  static void assign(std::optional<std::string>& to, const std::string* value, const Setting& s);
  static void assign(int64_t& to, const std::string* value, const Setting& s);
  static void assign(std::optional<int64_t>& to, const std::string* value, const Setting& s);
  static void assign(bool& to, const std::string* value, const Setting& s);

  std::vector<Entry> entries_;
  std::map<std::string, std::string> kafka_;
};

// Whether a setting's value is never shown (a password, a header with an API key).
inline bool secret(const Setting& s) { return s.kind == Kind::Secret || s.kind == Kind::UserInfo; }

// Checks one value against a setting; returns the error text, or nullopt when valid.
std::optional<std::string> validate(const Setting& s, std::string_view value);

// The Markdown table of all settings (README's configuration section).
std::string markdownTable();
// The settings one command takes, as a table without the commands column (each service's
// README holds its own); empty when no setting applies (an unknown command).
std::string markdownTable(std::string_view command);

}  // namespace cdc::config
