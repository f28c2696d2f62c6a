#pragma once

// The real pipeline of SPEC §8 for the end-to-end suite: PostgreSQL, Kafka Connect with
// Debezium, Kafka and moto, all started by `scripts/stack up all`; rows written with psql, the
// services run as users run them, and their results compared with what SQL computes from
// PostgreSQL's final state.

#include <fmt/format.h>
#include <simdjson.h>

#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/base64.h"
#include "support/paths.h"
#include "support/process.h"
#include "support/run.h"
#include "support/stack.h"

namespace cdc::test::e2e {

inline std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

// The stack's servers, read once from `scripts/stack env`.
struct Stack {
  std::string kafka, aws, awsCli, pgHost, pgPort, connectUrl, toolsPath;
  std::string registry, registryUserInfo;  // the schema registry's Confluent API and its credentials

  static const Stack& get() {
    static const Stack s = [] {
      Stack st;
      st.kafka = kafkaBootstrap();
      st.aws = awsEndpoint();
      st.awsCli = stackVariable("CDC_AWS_CLI");
      st.pgHost = stackVariable("PGHOST");
      st.pgPort = stackVariable("PGPORT");
      st.connectUrl = stackVariable("CONNECT_URL");
      st.registry = stackVariable("SCHEMA_REGISTRY_URL");
      std::string credentials = stackVariable("CDC_REGISTRY_CREDENTIALS_FILE");
      if (!credentials.empty()) {
        auto r = run("cat " + credentials, false);
        st.registryUserInfo = r.out.substr(0, r.out.find('\n'));
      }
      return st;
    }();
    return s;
  }
  bool complete() const { return !kafka.empty() && !aws.empty() && !pgPort.empty() && !connectUrl.empty() && !registry.empty(); }

  std::string awsEnv() const {
    return "env AWS_ENDPOINT_URL=" + aws +
           " AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing ";
  }
  std::string pgEnv(const std::string& database = "ecommerce") const {
    return "env PGHOST=" + pgHost + " PGPORT=" + pgPort + " PGUSER=postgres PGDATABASE=" + database + " ";
  }
  // The environment a service gets: the seed's variables, pointed at the stack (and its schema
  // registry, for the Avro shape).
  std::string serviceEnv() const {
    return awsEnv() + "KAFKA_BOOTSTRAP_SERVERS=" + kafka + " SCHEMA_REGISTRY_URL=" + registry +
           " SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO=" + registryUserInfo + " ";
  }

  // psql's unaligned output (fields split by '|'), failing the test on an SQL error.
  RunResult psql(const std::string& sql, const std::string& database = "ecommerce") const {
    return run(pgEnv(database) + "psql -X -q -At -v ON_ERROR_STOP=1 -c " + quote(sql), true);
  }
  RunResult awsCliRun(const std::string& args) const { return run(awsEnv() + awsCli + " " + args, false); }
  RunResult stackScript(const std::string& args) const { return run(sourceDir() + "/scripts/stack " + args); }
};

// Polls `check` (an empty string means done) until it holds or `timeout` passes; returns the
// last complaint.
template <class F>
std::string eventually(std::chrono::seconds timeout, F&& check,
                       std::chrono::milliseconds every = std::chrono::milliseconds(500)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string why;
  while (true) {
    why = check();
    if (why.empty() || std::chrono::steady_clock::now() >= deadline) return why;
    std::this_thread::sleep_for(every);
  }
}

// A topic's records as replay lines (what `kcat -C -J` gives, with keys and values that are not
// text, Avro, as key_base64/payload_base64): kcat prints each record's sizes, then its bytes.
inline std::string dumpBinaryTopic(const Stack& stack, const std::string& topic) {
  auto r = run("kcat -C -e -q -b " + stack.kafka + " -t " + topic + " -f '%t %p %o %T %K %S\n%k%s\n'", false);
  std::string lines;
  size_t at = 0;
  while (at < r.out.size()) {
    size_t eol = r.out.find('\n', at);
    if (eol == std::string::npos) break;
    std::istringstream head(r.out.substr(at, eol - at));
    std::string name;
    long long partition = 0, offset = 0, ts = 0, keySize = 0, valueSize = 0;
    head >> name >> partition >> offset >> ts >> keySize >> valueSize;
    at = eol + 1;
    auto take = [&](long long size) -> std::string {
      if (size < 0) return "null";
      std::string bytes = r.out.substr(at, static_cast<size_t>(size));
      at += static_cast<size_t>(size);
      return "\"" + base64Encode(bytes) + "\"";
    };
    std::string key = take(keySize);
    std::string value = take(valueSize);
    at += 1;  // the newline after the value
    lines += fmt::format(R"({{"topic":"{}","partition":{},"offset":{},"ts":{},"key_base64":{},"payload_base64":{}}})", name,
                         partition, offset, ts, key, value);
    lines += "\n";
  }
  return lines;
}

// Splits psql's unaligned output into rows of fields.
inline std::vector<std::vector<std::string>> rows(const std::string& out) {
  std::vector<std::vector<std::string>> result;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    std::vector<std::string> fields;
    size_t start = 0;
    while (true) {
      size_t bar = line.find('|', start);
      fields.push_back(line.substr(start, bar - start));
      if (bar == std::string::npos) break;
      start = bar + 1;
    }
    result.push_back(std::move(fields));
  }
  return result;
}

// A money value of a report (a JSON number with two decimals) as cents.
inline int64_t cents(simdjson::dom::element e) {
  double d = 0;
  if (e.is_double())
    d = double(e);
  else if (e.is_int64())
    d = double(int64_t(e));
  else if (e.is_uint64())
    d = double(uint64_t(e));
  return std::llround(d * 100);
}

// A decimal from SQL ("1299.99", "0.29") as cents.
inline int64_t sqlCents(const std::string& s) {
  if (s.empty()) return 0;
  bool negative = s[0] == '-';
  std::string t = negative ? s.substr(1) : s;
  auto dot = t.find('.');
  int64_t whole = std::stoll(t.substr(0, dot));
  int64_t frac = 0;
  if (dot != std::string::npos) {
    std::string f = t.substr(dot + 1);
    f.resize(2, '0');
    frac = std::stoll(f);
  }
  int64_t v = whole * 100 + frac;
  return negative ? -v : v;
}

// Prints how long the suite's steps take (to stderr, in the test's log).
class Steps {
 public:
  void operator()(const std::string& what) {
    auto now = std::chrono::steady_clock::now();
    fmt::print(stderr, "[e2e] {:7.1f} s  {}\n", std::chrono::duration<double>(now - start_).count(), what);
  }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

// Registers a connector configuration of deploy/debezium under its own topic prefix and waits
// until it runs; its name goes to `name`. Empty string when it runs.
inline std::string registerConnector(const Stack& stack, const std::string& file, const std::string& prefix, std::string& name,
                                     const std::string& database = "ecommerce") {
  (void)stack;
  auto r =
      run(sourceDir() + "/scripts/stack connector " + sourceDir() + "/deploy/debezium/" + file + " " + prefix + " " + database,
          /*withStderr=*/false);
  if (r.exitCode != 0) return "could not register " + file + " (scripts/stack connector " + file + " " + prefix + ")";
  name = r.out.substr(0, r.out.find('\n'));
  return {};
}

// Removes connectors with their replication slots (a slot left behind keeps the WAL forever).
inline void deleteConnectors(const Stack& stack, const std::vector<std::string>& names) {
  for (const auto& name : names) (void)stack.stackScript("connector-delete " + name);
}

// Waits until connectors have sent everything committed before this call: a product row written
// now must reach each one's products topic (Debezium sends the WAL in commit order).
inline std::string waitForConnectors(const Stack& stack, const std::string& tag, const std::vector<std::string>& prefixes,
                                     const std::string& database = "ecommerce") {
  auto id = stack.psql("INSERT INTO products (name, description, price, stock_quantity) VALUES ('sentinel " + tag +
                           "', NULL, 1.00, 1) RETURNING id",
                       database);
  if (id.exitCode != 0) return id.out;
  const int64_t sentinel = std::stoll(rows(id.out).at(0).at(0));
  std::string json = "\"id\":" + std::to_string(sentinel) + "}";
  // In Avro the key's record is the zig-zag varint of the id after the wire format's 5 bytes.
  std::string avro;
  for (uint64_t z = static_cast<uint64_t>(sentinel) << 1;; z >>= 7) {
    avro.push_back(static_cast<char>(z >= 0x80 ? (z & 0x7f) | 0x80 : z));
    if (z < 0x80) break;
  }
  auto reached = [&](const std::string& out) {
    // Each key as its size, a newline, its bytes and a newline.
    for (size_t at = 0; at < out.size();) {
      size_t eol = out.find('\n', at);
      if (eol == std::string::npos) break;
      long size = std::strtol(out.c_str() + at, nullptr, 10);
      at = eol + 1;
      if (size < 0) continue;
      std::string key = out.substr(at, static_cast<size_t>(size));
      at += static_cast<size_t>(size) + 1;
      if (key.find(json) != std::string::npos) return true;
      if (key.size() > 5 && key[0] == '\0' && key.substr(5) == avro) return true;
    }
    return false;
  };
  for (const auto& prefix : prefixes) {
    std::string why = eventually(std::chrono::seconds(180), [&]() -> std::string {
      auto r = run("kcat -C -q -e -b " + stack.kafka + " -t " + prefix + ".public.products -o -20 -f '%K\\n%k\\n'", false);
      return reached(r.out) ? "" : "the sentinel has not reached " + prefix + ".public.products";
    });
    if (!why.empty()) return why;
  }
  std::this_thread::sleep_for(std::chrono::seconds(1));  // what the producer sent just before, to other partitions
  return {};
}

// Runs the workload's sessions concurrently (tests/e2e/workload.sql), `steps` transactions
// each; their logs go to `dir`.
inline std::string sessions(const Stack& stack, const std::string& dir, int count, int steps,
                            const std::string& database = "ecommerce") {
  std::vector<std::unique_ptr<Process>> running;
  for (int s = 0; s < count; ++s) {
    running.push_back(std::make_unique<Process>(
        stack.pgEnv(database) + "psql -X -q -v ON_ERROR_STOP=1 -c " +
            quote("CALL e2e_session(" + std::to_string(s) + ", " + std::to_string(count) + ", " + std::to_string(steps) + ")"),
        dir + "/session" + std::to_string(s) + ".log"));
  }
  std::string errors;
  for (auto& p : running) {
    if (p->wait(std::chrono::seconds(300)) != std::optional<int>(0)) errors += p->output();
  }
  return errors;
}

// Loads the workload's procedures (CREATE OR REPLACE: any number of times).
inline std::string loadWorkload(const Stack& stack, const std::string& database = "ecommerce") {
  auto r = run(stack.pgEnv(database) + "psql -X -q -v ON_ERROR_STOP=1 -f " + sourceDir() + "/tests/e2e/workload.sql");
  return r.exitCode == 0 ? std::string() : r.out;
}

// A database of its own with the shop's schema (sql/schema.sql) and the workload's procedures:
// what one test writes and checks, whatever else the stack's `ecommerce` holds.
inline std::string createDatabase(const Stack& stack, const std::string& database) {
  auto r = stack.psql("CREATE DATABASE " + database, "postgres");
  if (r.exitCode != 0) return r.out;
  r = run(stack.pgEnv(database) + "psql -X -q -v ON_ERROR_STOP=1 -f " + sourceDir() + "/sql/schema.sql");
  if (r.exitCode != 0) return r.out;
  return loadWorkload(stack, database);
}

// Drops a test's database (its connectors deleted first: their slots hold it).
inline void dropDatabase(const Stack& stack, const std::string& database) {
  (void)stack.psql("DROP DATABASE IF EXISTS " + database + " WITH (FORCE)", "postgres");
}

}  // namespace cdc::test::e2e
