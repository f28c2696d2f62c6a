// Each service over a replay file that mixes a generated workload with every kind of garbage
// a topic can hold: no crash, every bad line a dead letter with a clear reason, and the good
// lines applied exactly as in a run over the workload alone.

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "adapters/localfs/dir_object_store.h"
#include "core/json_writer.h"
#include "runtime/dead_letter.h"
#include "support/run.h"
#include "support/service_state.h"

namespace cdc::test {
namespace {

namespace fs = std::filesystem;

struct Garbage {
  std::string line;    // the replay line
  std::string reason;  // what its dead letter's error must say
};

struct Service {
  std::string command;  // inventory, analytics, search-indexer
  std::string name;     // as in dead letters
  std::string table;    // the table whose rows the garbage pretends to be
  friend void PrintTo(const Service& s, std::ostream* os) { *os << s.command; }
};

std::string jsonString(std::string_view s) {
  std::string out;
  appendJsonString(out, s);
  return out;
}

// A kcat line on partition 7 (the workload uses 0-2), so that its positions never interleave
// with the good records'.
std::string kcat(const std::string& topic, int64_t offset, const std::optional<std::string>& key,
                 const std::optional<std::string>& value) {
  return R"({"topic":")" + topic + R"(","partition":7,"offset":)" + std::to_string(offset) +
         R"(,"tstype":"create","ts":1767225600000,"broker":1,"key":)" + (key ? jsonString(*key) : "null") + R"(,"payload":)" +
         (value ? jsonString(*value) : "null") + "}";
}

// A flattened, schemaless row of `table` (string decimals) with `fields` set or replaced.
std::string row(const std::string& table, int64_t id, std::map<std::string, std::string> fields = {}) {
  std::map<std::string, std::string> base;
  if (table == "products") {
    base = {{"name", R"("Lamp")"}, {"description", R"("a lamp")"}, {"price", R"("12.50")"}, {"stock_quantity", "5"}};
  } else {
    base = {{"customer_id", "5"}, {"total_amount", R"("12.50")"}, {"status", R"("paid")"}};
  }
  base["created_at"] = base["updated_at"] = "1767225600000000";
  for (auto& [k, v] : fields) base[k] = v;
  std::string out = R"({"id":)" + std::to_string(id);
  for (const auto& [k, v] : base) {
    if (v != "<absent>") out += ",\"" + k + "\":" + v;
  }
  return out + R"(,"__op":"c","__deleted":"false","__table":")" + table + R"(","__source_ts_ms":1767225600000})";
}

std::vector<Garbage> garbageFor(const Service& s, const std::string& topic) {
  std::vector<Garbage> g;
  int64_t offset = 1000;
  auto next = [&] { return offset += 10; };
  auto value = [&](std::string v, std::string reason, std::optional<std::string> key = R"({"id":900001})") {
    g.push_back({kcat(topic, next(), key, std::move(v)), std::move(reason)});
  };
  // Lines that are no kcat record.
  g.push_back({"not json at all", "is not a kcat -J record"});
  g.push_back({"[1,2,3]", "is not a kcat -J record"});
  g.push_back({R"({"topic":")" + topic + R"(","partition":"seven","offset":1,"key":null,"payload":"{}"})",
               "partition is not an integer"});
  g.push_back({R"({"topic":")" + topic + R"(","partition":7,"key":null,"payload":"{}"})", "needs topic, partition and offset"});
  g.push_back({R"({"topic":")" + topic + R"(","partition":7,"offset":)" + std::to_string(next()) +
                   ","
                   R"("key":null,"payload":"{\"id\":1,\"name\":\"caf)"
                   "\xC3\x28"
                   R"(\"}"})",
               "malformed replay line"});
  g.push_back({kcat(topic, -4, std::nullopt, row(s.table, 900002)), "offset -4 is negative"});
  // Values that are no Debezium row.
  value(R"({"id":1,"name":")" + std::string(10 << 20, 'x'),
        "truncated_json: field 'value': A string is opened, but never closed");
  std::string deep = "{\"a\":" + std::string(5000, '[') + std::string(5000, ']') + "}";
  value(deep, "missing_field: field 'id'");
  value(row(s.table, 900003, {{"customer_id", std::string(400, '7')}, {"stock_quantity", std::string(400, '7')}}),
        "number_out_of_range");
  value(R"({"id":)" + std::string(400, '9') + "}", "number_out_of_range");
  value(R"({"foo":"bar"})", "missing_field: field 'id': the message is not a " + s.table + " row");
  value(R"({"id":900004,"foo":"bar","__op":"u"})", "the message is not a " + s.table + " row");
  value(R"("just a string")", "wrong_type: field 'value': expected a JSON object");
  value("[1,2]", "wrong_type");
  value(row(s.table, 900005, {{"__op", R"("x")"}}), "unknown_op");
  value(R"({"before":null,"after":null,"op":"d","source":{"ts_ms":1}})", "field 'key'", R"({"a":{})");
  value(R"({"before":null,"after":null,"op":"d","source":{"ts_ms":1}})", "invalid_json", R"({"id":1} trailing)");
  value(row(s.table, 900006,
            {{"price", R"("85070591730234615865843651857942052987.0")"},
             {"total_amount", R"("85070591730234615865843651857942052987.0")"}}),
        "number_out_of_range");
  value(row(s.table, 900007, {{"stock_quantity", "-5"}, {"total_amount", R"("-10.00")"}}), "negative");
  if (s.table == "products") {
    value(row(s.table, 900008, {{"description", jsonString(std::string(10 << 20, 'd'))}}), "exceeds DynamoDB's 400 KB item size");
  } else {
    value(row(s.table, 900008, {{"status", jsonString(std::string(10 << 20, 's'))}}), "status of 10485760 bytes");
  }
  // Offsets going backwards within the partition.
  g.push_back({kcat(topic, offset - 5, R"({"id":900009})", row(s.table, 900009)), "does not follow offset"});
  return g;
}

class BadInputTest : public ::testing::TestWithParam<Service> {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("cdc-bad-input-" + std::to_string(::getpid()) + "-" + GetParam().command);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  RunResult service(const std::string& file, const std::string& name) {
    return run("cd " + dir_.string() + " && " + cdcBinary() + " " + GetParam().command + " --source file:" + file +
               storeFlag(GetParam().command, "sqlite:" + name + ".db") + " --objects dir:" + name +
               " --batch-size 64 --log-level error" + (GetParam().command == "search-indexer" ? " --http-port 0" : ""));
  }

  // What a run produced, in a form two runs can be compared by: every table, or the reports.
  std::string produced(const std::string& name) {
    std::string out;
    if (GetParam().command == "analytics") {
      for (const auto& report : reportFolders()) {
        out += readWholeFile((dir_ / name / "analytics" / report / "latest.json").string()) + "\n";
      }
    } else {
      for (const auto& t : tablesOf(GetParam().command)) {
        out += run("cd " + dir_.string() + " && " + cdcBinary() + " dump --store sqlite:" + name + ".db --table " + t, false).out;
      }
    }
    return comparable(out);
  }

  fs::path dir_;
};

TEST_P(BadInputTest, EveryBadLineIsADeadLetterAndTheGoodOnesAreAppliedExactly) {
  const Service& s = GetParam();
  ASSERT_EQ(
      run("cd " + dir_.string() + " && " + cdcBinary() + " generate --products 80 --customers 200 --orders 300 > good.jsonl",
          false)
          .exitCode,
      0);
  std::ifstream in(dir_ / "good.jsonl");
  std::vector<std::string> good;
  for (std::string line; std::getline(in, line);) good.push_back(line);
  ASSERT_GT(good.size(), 1000u);
  auto garbage = garbageFor(s, "dbserver1.public." + s.table);
  {
    // Garbage spread over the workload, in order (partition 7's offsets increase but for the
    // one line that must go back).
    std::ofstream mixed(dir_ / "mixed.jsonl", std::ios::binary);
    size_t every = good.size() / (garbage.size() + 1);
    for (size_t i = 0, k = 0; i < good.size(); ++i) {
      mixed << good[i] << "\n";
      if ((i + 1) % every == 0 && k < garbage.size()) mixed << garbage[k++].line << "\n";
    }
  }
  auto clean = service("good.jsonl", "clean");
  ASSERT_EQ(clean.exitCode, 0) << clean.out;
  auto dirty = service("mixed.jsonl", "dirty");
  ASSERT_EQ(dirty.exitCode, 0) << dirty.out;
  EXPECT_NE(dirty.out.find(", " + std::to_string(garbage.size()) + " dead letters"), std::string::npos) << dirty.out;

  localfs::DirObjectStore objects(dir_ / "dirty");
  auto letters = runtime::listDeadLetters(objects, s.name);
  ASSERT_TRUE(letters.has_value()) << letters.error().message;
  ASSERT_EQ(letters->size(), garbage.size());
  // Dead letters list by topic, partition and offset; match each garbage line to its letter by
  // its raw line or value.
  for (const auto& g : garbage) {
    bool found = false;
    for (const auto& d : *letters) {
      if (d.error.find(g.reason) == std::string::npos) continue;
      found = true;
      EXPECT_FALSE(d.error.empty());
      break;
    }
    EXPECT_TRUE(found) << "no dead letter says '" << g.reason << "' for: " << g.line.substr(0, 160);
  }
  for (const auto& d : *letters) {
    EXPECT_GT(d.error.size(), 10u) << d.location;
    if (::testing::Test::HasFailure()) std::cerr << "dead letter: " << d.error << "\n";
  }
  std::string want = produced("clean");
  std::string got = produced("dirty");
  EXPECT_GT(want.size(), 1000u);
  EXPECT_TRUE(want == got) << "the good lines were not applied exactly: " << want.size() << " vs " << got.size() << " bytes";
  if (want != got) {
    std::ofstream(dir_ / ".." / ("bad-input-want-" + s.command)) << want;
    std::ofstream(dir_ / ".." / ("bad-input-got-" + s.command)) << got;
  }
}

INSTANTIATE_TEST_SUITE_P(Services, BadInputTest,
                         ::testing::Values(Service{"inventory", "inventory-service", "products"},
                                           Service{"analytics", "analytics-service", "orders"},
                                           Service{"search-indexer", "search-indexer", "products"}),
                         [](const auto& info) {
                           return std::string(info.param.command == "search-indexer" ? "search" : info.param.command);
                         });

}  // namespace
}  // namespace cdc::test
