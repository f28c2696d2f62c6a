#include "config/settings.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>

#include "core/time.h"

extern char** environ;

namespace cdc::config {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  return out;
}

}  // namespace

bool appliesTo(const Setting& s, std::string_view command) {
  return std::any_of(s.commands.begin(), s.commands.end(), [&](std::string_view c) { return c == "*" || c == command; });
}

namespace {

using Why = std::optional<std::string>;  // why a value is refused, or nothing

Why checkUrl(std::string_view v) {
  auto scheme = v.find("://");
  bool web = scheme != std::string_view::npos && (v.substr(0, scheme) == "http" || v.substr(0, scheme) == "https") &&
             v.size() > scheme + 3 && v[scheme + 3] != '/' && v.find('@') == std::string_view::npos;
  if (v.empty() || web || (v.starts_with("file:") && v.size() > 5)) return std::nullopt;
  return "expected http://HOST[:PORT][/PATH], https://… (credentials in their own setting) or file:PATH, got '" +
         std::string(v.substr(0, 80)) + "'";
}

Why checkInteger(Kind kind, std::string_view v) {
  int64_t n = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  const bool parsed = ec == std::errc() && ptr == v.data() + v.size();
  switch (kind) {
    case Kind::PositiveInt:
      if (!parsed || n <= 0) return "expected a positive integer, got '" + std::string(v) + "'";
      break;
    case Kind::NonNegativeInt:
      if (!parsed || n < 0) return "expected an integer of 0 or more, got '" + std::string(v) + "'";
      break;
    case Kind::Port:
      if (!parsed || n < 0 || n > 65535) return "expected a port number (0 to 65535), got '" + std::string(v) + "'";
      break;
    default:
      if (!parsed) return "expected an integer, got '" + std::string(v) + "'";
  }
  return std::nullopt;
}

// host:port[,host:port…]: librdkafka takes an empty or comma-only list and then waits for
// brokers forever.
Why checkBrokers(std::string_view v) {
  std::string_view rest = v;
  bool any = false;
  while (true) {
    auto comma = rest.find(',');
    std::string_view one = rest.substr(0, comma);
    while (!one.empty() && one.front() == ' ') one.remove_prefix(1);
    while (!one.empty() && one.back() == ' ') one.remove_suffix(1);
    auto colon = one.rfind(':');
    if (!one.empty()) {
      std::string_view port = colon == std::string_view::npos ? std::string_view{} : one.substr(colon + 1);
      int n = 0;
      auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
      if (colon == 0 || port.empty() || ec != std::errc() || ptr != port.data() + port.size() || n <= 0 || n > 65535) {
        return "expected host:port[,host:port…], got '" + std::string(v) + "' ('" + std::string(one) + "' has no valid port)";
      }
      any = true;
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  if (!any) return "expected host:port[,host:port…], got '" + std::string(v) + "'";
  return std::nullopt;
}

// DynamoDB's rule (3 to 255 of [A-Za-z0-9_.-]), less the longest companion suffix.
Why checkTableName(std::string_view v) {
  constexpr size_t kMax = 255 - std::string_view("-postings").size();
  bool ok = v.size() >= 3 && v.size() <= kMax && std::all_of(v.begin(), v.end(), [](char ch) {
              return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' ||
                     ch == '.';
            });
  if (ok) return std::nullopt;
  return "expected a DynamoDB table name (3 to " + std::to_string(kMax) + " characters of A-Z, a-z, 0-9, '_', '-', '.'), got '" +
         std::string(v) + "'";
}

Why checkChoice(const Setting& s, std::string_view v) {
  if (std::find(s.choices.begin(), s.choices.end(), v) != s.choices.end()) return std::nullopt;
  std::string list;
  for (auto c : s.choices) list += (list.empty() ? "" : ", ") + std::string(c);
  return "expected one of " + list + ", got '" + std::string(v) + "'";
}

// SCHEME:PATH, or a remote store or source named alone; each URI setting's own forms named.
Why checkUri(const Setting& s, std::string_view v) {
  if (v.find(':') != std::string_view::npos || v == "dynamodb" || v == "s3" || v == "kafka" || v == "generate")
    return std::nullopt;
  if (s.name == "source") return "expected kafka, file:PATH (- for standard input) or generate, got '" + std::string(v) + "'";
  if (s.name == "objects") return "expected dir:PATH or s3, got '" + std::string(v) + "'";
  if (s.name == "store") return "expected sqlite:PATH or dynamodb, got '" + std::string(v) + "'";
  return "expected SCHEME:PATH (for example sqlite:./data/cdc.db), got '" + std::string(v) + "'";
}

}  // namespace

std::optional<std::string> validate(const Setting& s, std::string_view v) {
  switch (s.kind) {
    case Kind::String:
    case Kind::Secret:  // any text (OTLP's headers are checked where they are read)
      return std::nullopt;
    case Kind::UserInfo:
      if (!v.empty() && v.find(':') == std::string_view::npos) return "expected user:password";
      return std::nullopt;
    case Kind::Url:
      return checkUrl(v);
    case Kind::Int:
    case Kind::PositiveInt:
    case Kind::NonNegativeInt:
    case Kind::Port:
      return checkInteger(s.kind, v);
    case Kind::Brokers:
      return checkBrokers(v);
    case Kind::TableName:
      return checkTableName(v);
    case Kind::Time:
      if (parseIsoTimestamp(v)) return std::nullopt;
      return "expected a date or an ISO-8601 time (2026-12-01, 2026-12-01T12:00:00Z), got '" + std::string(v) + "'";
    case Kind::Bool:
    case Kind::Switch:
      if (v == "true" || v == "false" || v == "1" || v == "0" || v == "yes" || v == "no") return std::nullopt;
      return "expected true or false, got '" + std::string(v) + "'";
    case Kind::Choice:
      return checkChoice(s, v);
    case Kind::Uri:
      return checkUri(s, v);
  }
  return std::nullopt;
}

Config Config::resolve(std::string_view command, const Flags& flags, const std::function<const char*(const char*)>& getenvFn) {
  auto getenv = getenvFn ? getenvFn : [](const char* n) -> const char* { return std::getenv(n); };
  Config c;
  for (const Setting* s : allSettings()) {
    if (!appliesTo(*s, command)) continue;
    std::string value;
    std::string origin;
    if (auto it = flags.find(s->name); it != flags.end()) {
      value = it->second;
      origin = "--" + std::string(s->name);
    } else if (const char* e = s->env.empty() ? nullptr : getenv(std::string(s->env).c_str()); e != nullptr) {
      value = e;
      origin = std::string(s->env);
    } else if (!s->defaultValue.empty()) {
      value = std::string(s->defaultValue);
      origin = "default";
    } else {
      continue;
    }
    if (auto err = validate(*s, value)) {
      throw ConfigError(origin == "default" ? "default of --" + std::string(s->name) + ": " + *err : origin + ": " + *err);
    }
    c.entries_.push_back({s, std::move(value), std::move(origin)});
  }
  // KAFKA_* variables that are not settings of their own go to librdkafka.
  if (!getenvFn) {
    for (char** e = environ; e && *e; ++e) {
      std::string_view kv(*e);
      if (!kv.starts_with("KAFKA_")) continue;
      auto eq = kv.find('=');
      if (eq == std::string_view::npos) continue;
      std::string_view name = kv.substr(0, eq);
      bool declared = std::any_of(allSettings().begin(), allSettings().end(), [&](const Setting* s) { return s->env == name; });
      static constexpr std::string_view kReserved[] = {"KAFKA_BOOTSTRAP_SERVERS", "KAFKA_GROUP_ID", "KAFKA_TOPICS",
                                                       "KAFKA_TOPIC"};
      if (declared || std::find(std::begin(kReserved), std::end(kReserved), name) != std::end(kReserved)) continue;
      std::string prop = lower(name.substr(6));
      std::replace(prop.begin(), prop.end(), '_', '.');
      c.kafka_.emplace(std::move(prop), std::string(kv.substr(eq + 1)));
    }
  }
  return c;
}

const Config::Entry* Config::find(const Setting& s) const {
  for (const auto& e : entries_) {
    if (e.setting == &s) return &e;
  }
  return nullptr;
}

std::optional<std::string> Config::given(std::string_view command, const Flags& flags, const Setting& s) {
  if (!appliesTo(s, command)) return std::nullopt;
  if (auto it = flags.find(s.name); it != flags.end()) return it->second;
  if (const char* e = s.env.empty() ? nullptr : std::getenv(std::string(s.env).c_str()); e != nullptr && *e != '\0') {
    return std::string(e);
  }
  return std::nullopt;
}

namespace {

int64_t toInteger(std::string_view v) {
  int64_t n = 0;
  std::from_chars(v.data(), v.data() + v.size(), n);
  return n;
}

bool toBool(std::string_view v) { return v == "true" || v == "1" || v == "yes"; }

}  // namespace

// A value the command resolved (checked by then), else the declared default.
void Config::assign(std::string& to, const std::string* value, const Setting& s) {
  to = value ? *value : std::string(s.defaultValue);
}

void Config::assign(std::optional<std::string>& to, const std::string* value, const Setting&) {
  if (value) to = *value;
}

void Config::assign(int64_t& to, const std::string* value, const Setting& s) { to = toInteger(value ? *value : s.defaultValue); }

void Config::assign(std::optional<int64_t>& to, const std::string* value, const Setting&) {
  if (value) to = toInteger(*value);
}

void Config::assign(bool& to, const std::string* value, const Setting& s) { to = toBool(value ? *value : s.defaultValue); }

namespace {

// One row: flag, variable, default, [commands,] description (with a Choice's values).
std::string markdownRow(const Setting& s, bool withCommands) {
  std::string desc(s.description);
  if (s.kind == Kind::Choice) {
    desc += " (";
    for (size_t i = 0; i < s.choices.size(); ++i) desc += (i ? "|" : "") + std::string(s.choices[i]);
    desc += ")";
  }
  std::string commands;
  for (auto c : s.commands) commands += (commands.empty() ? "" : ", ") + std::string(c == "*" ? "all" : c);
  return "| `--" + std::string(s.name) + "` | " + (s.env.empty() ? "" : "`" + std::string(s.env) + "`") + " | " +
         (s.defaultValue.empty() ? "" : "`" + std::string(s.defaultValue) + "`") + " | " +
         (withCommands ? commands + " | " : "") + desc + " |\n";
}

}  // namespace

std::string markdownTable() {
  std::string out = "| flag | environment | default | commands | description |\n| --- | --- | --- | --- | --- |\n";
  for (const Setting* s : allSettings()) out += markdownRow(*s, true);
  return out;
}

std::string markdownTable(std::string_view command) {
  std::string rows;
  bool known = false;  // a setting names the command itself (not only "all")
  for (const Setting* s : allSettings()) {
    if (!appliesTo(*s, command)) continue;
    rows += markdownRow(*s, false);
    known = known || std::find(s->commands.begin(), s->commands.end(), command) != s->commands.end();
  }
  if (!known) return {};
  return "| flag | environment | default | description |\n| --- | --- | --- | --- |\n" + rows;
}

}  // namespace cdc::config
