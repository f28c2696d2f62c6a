// Records real captures for the unit suite: a small workload written to PostgreSQL and sent by
// Debezium 3.6 in the three connector shapes of deploy/debezium; each shape's topics dumped as
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

#include "e2e/facts.h"

namespace fs = std::filesystem;
using namespace cdc::test;
using namespace cdc::test::e2e;

namespace {

int fail(const std::string& why) {
  fmt::print(stderr, "e2e_capture: {}\n", why);
  return 1;
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
  const std::vector<std::pair<std::string, std::string>> shapes = {
      {"production", "production.json"}, {"envelope", "envelope.json"}, {"tombstone-deletes", "unwrap-tombstone-deletes.json"}};
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
    for (const char* table : {"products", "orders", "order_items"}) {
      dump += " kcat -C -J -e -q -b " + stack.kafka + " -t " + prefix + ".public." + table + " >> " + lines.string() + " &&";
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
                   storeFlag(service, "sqlite:cdc.db") + " --objects dir:lake --log-level warn" +
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
