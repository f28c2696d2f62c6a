// Records real captures for the unit suite: a small workload written to PostgreSQL and sent by
// Debezium 3.6 in the four connector shapes of deploy/debezium (the Avro one with the stack's
// schema registry, its schemas kept beside); each shape's topics dumped as
// `kcat -C -J -e` lines (gzip), and PostgreSQL's answers to every fact the services are checked
// against. The captures are replayed through the three services, embedded, and must give those
// facts before anything is written.
//
//   eval "$(scripts/stack env)"; build/tests/e2e/e2e_capture tests/fixtures/captures
//
// The workload goes to a database of its own, so the captures hold nothing else.

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <set>

#include "e2e/facts.h"

namespace fs = std::filesystem;
using namespace cdc::test;
using namespace cdc::test::e2e;

namespace {

int fail(const std::string& why) {
  fmt::print(stderr, "e2e_capture: {}\n", why);
  return 1;
}

std::string writeFile(const fs::path& path, const std::string& text) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return "cannot write " + path.string();
  std::fputs(text.c_str(), f);
  std::fclose(f);
  return "";
}

// The registry's schema of every id the dumped records name, as {"id": "schema", …}: what an
// offline replay reads with --schema-registry-url file:PATH.
std::string saveSchemas(const Stack& stack, const std::string& lines, const fs::path& path) {
  std::set<int32_t> ids;
  simdjson::dom::parser parser;
  std::istringstream in(lines);
  for (std::string line; std::getline(in, line);) {
    simdjson::dom::element record;
    if (parser.parse(line).get(record) != simdjson::SUCCESS) return "a dumped line is not JSON: " + line;
    for (const char* field : {"key_base64", "payload_base64"}) {
      std::string_view text;
      std::string bytes;
      if (record[field].get_string().get(text) != simdjson::SUCCESS || !cdc::base64Decode(text, bytes)) continue;
      if (bytes.size() >= 5 && bytes[0] == '\0') {
        ids.insert(static_cast<int32_t>(static_cast<uint8_t>(bytes[1]) << 24 | static_cast<uint8_t>(bytes[2]) << 16 |
                                        static_cast<uint8_t>(bytes[3]) << 8 | static_cast<uint8_t>(bytes[4])));
      }
    }
  }
  std::string json = "{";
  for (int32_t id : ids) {
    auto r =
        run("curl -fsS -m 10 -u " + quote(stack.registryUserInfo) + " " + stack.registry + "/schemas/ids/" + std::to_string(id),
            false);
    std::string_view schema;
    if (r.exitCode != 0 || parser.parse(r.out)["schema"].get_string().get(schema) != simdjson::SUCCESS) {
      return "the registry has no schema " + std::to_string(id) + ": " + r.out;
    }
    json += (json.size() > 1 ? ",\n" : "\n") + fmt::format("\"{}\": \"", id);
    for (char c : schema) json += c == '"' || c == '\\' ? std::string("\\") + c : std::string(1, c);
    json += "\"";
  }
  return writeFile(path, json + "\n}\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    fmt::print(stderr, "usage: e2e_capture OUTDIR (with the stack up: scripts/stack up all)\n");
    return 2;
  }
  const Stack& stack = Stack::get();
  if (!stack.complete()) return fail("the stack is not up: scripts/stack up all");
  fs::path out = argv[1];
  fs::create_directories(out);
  fs::path work = fs::temp_directory_path() / ("cdc-capture-" + std::to_string(::getpid()));
  fs::create_directories(work);
  Steps step;

  const std::string tag = "cap" + std::to_string(::getpid() % 100000);
  const std::string& database = tag;  // a database of its own: the capture holds nothing else
  if (auto why = createDatabase(stack, database); !why.empty()) return fail(why);
  if (auto r = stack.psql("CALL e2e_catalogue(24, " + quote(tag) + ")", database); r.exitCode != 0) return fail(r.out);
  if (auto why = sessions(stack, work, 2, 25, database); !why.empty()) return fail(why);
  const std::vector<std::pair<std::string, std::string>> shapes = {{"production", "production.json"},
                                                                   {"envelope", "envelope.json"},
                                                                   {"tombstone-deletes", "unwrap-tombstone-deletes.json"},
                                                                   {"avro", "avro.json"}};
  std::vector<std::string> prefixes, names;
  for (const auto& [shape, file] : shapes) {
    prefixes.push_back(tag + shape.substr(0, 1));
    names.emplace_back();
    if (auto why = registerConnector(stack, file, prefixes.back(), names.back(), database); !why.empty()) return fail(why);
  }
  step("snapshots");
  if (auto why = sessions(stack, work, 3, 40, database); !why.empty()) return fail(why);
  auto alter =
      stack.psql("ALTER TABLE products ADD COLUMN weight_" + tag + " int DEFAULT 250; ALTER TABLE orders ADD COLUMN channel_" +
                     tag + " text DEFAULT 'web'; ALTER TABLE order_items ADD COLUMN gift_" + tag + " boolean DEFAULT false",
                 database);
  if (alter.exitCode != 0) return fail(alter.out);
  if (auto why = sessions(stack, work, 3, 40, database); !why.empty()) return fail(why);
  if (auto why = waitForConnectors(stack, tag, prefixes, database); !why.empty()) return fail(why);
  step("workload captured");

  // The topics, as a user dumps them, then replayed through the embedded services: the facts
  // recorded are PostgreSQL's answers, and the replay must already agree with them.
  LiveDatabase db(stack, database);
  std::string manifest = "{\"tag\":\"" + tag + "\",\"shapes\":{";
  for (size_t i = 0; i < shapes.size(); ++i) {
    const std::string& shape = shapes[i].first;
    const std::string& prefix = prefixes[i];
    fs::path lines = out / (shape + ".jsonl");
    std::string dump = "rm -f " + lines.string() + ";";
    std::string schemaFlag;
    if (shape == "avro") {
      // Avro is not text: the records' bytes in base64, and the registry's schemas of their ids.
      std::string text;
      for (const char* table : {"products", "orders", "order_items"}) text += dumpBinaryTopic(stack, prefix + ".public." + table);
      if (auto why = writeFile(lines, text); !why.empty()) return fail(why);
      if (auto why = saveSchemas(stack, text, out / "avro-schemas.json"); !why.empty()) return fail(why);
      schemaFlag = " --schema-registry-url file:" + (out / "avro-schemas.json").string();
      dump.clear();
    } else {
      for (const char* table : {"products", "orders", "order_items"}) {
        dump += " kcat -C -J -e -q -b " + stack.kafka + " -t " + prefix + ".public." + table + " >> " + lines.string() + " &&";
      }
    }
    if (auto r = run(dump + " gzip -9 -f " + lines.string()); r.exitCode != 0) return fail(r.out);
    manifest += std::string(i ? "," : "") + "\"" + shape + "\":\"" + prefix + "\"";

    Sinks sinks{"inventory-realtime", "product-search-index", ""};
    fs::path replay = work / shape;
    fs::create_directories(replay);
    std::string source =
        "gzip -dc " + lines.string() + ".gz > " + (replay / "in.jsonl").string() + " && cd " + replay.string() + " && ";
    for (std::string service : {"inventory", "analytics", "search-indexer"}) {
      auto r = run(source + cdcBinary() + " " + service + " --source file:in.jsonl --topic-prefix " + prefix +
                   storeFlag(service, "sqlite:cdc.db") + " --objects dir:lake --log-level warn" + schemaFlag +
                   (service == "search-indexer" ? " --http-port 0" : ""));
      if (r.exitCode != 0) return fail(service + ": " + r.out);
    }
    EmbeddedOutputs outputs((replay / "cdc.db").string(), (replay / "lake").string(), sinks);
    if (auto why = allDifferences(db, outputs, sinks, tag); !why.empty()) return fail(shape + ": " + why);
    step(shape + " replayed to the SQL facts");
  }
  manifest += "}}\n";
  std::FILE* f = std::fopen((out / "capture.json").c_str(), "w");
  std::fputs(manifest.c_str(), f);
  std::fclose(f);
  f = std::fopen((out / "facts.jsonl").c_str(), "w");
  std::fputs(db.recorded().c_str(), f);
  std::fclose(f);
  fs::remove_all(work);
  deleteConnectors(stack, names);
  dropDatabase(stack, database);
  step("written to " + out.string());
  return 0;
}
