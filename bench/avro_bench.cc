// The real captures of tests/fixtures/captures side by side: the same changes as Debezium 3.6.1
// sent them in the production JSON shape (flattened rows, embedded schemas) and in Avro
// (Confluent's wire format, the registry's schemas), decoded by our decoders into ChangeEvents;
// and the Avro bytes read by Debian's Avro C library (libavro, 1.11) into its generic values,
// touching nothing, which is where a decoder built on it would start.
// Run: build/bench/avro_bench

#include <benchmark/benchmark.h>

#include <zlib.h>

#include <avro.h>
#include <simdjson.h>

#include <map>
#include <memory>

#include "core/base64.h"
#include "debezium/avro.h"
#include "debezium/decoder.h"
#include "debezium/file_schema_fetcher.h"
#include "debezium/schema_cache.h"

namespace {

using namespace cdc;

const std::string kCaptures = std::string(CDC_SOURCE_DIR) + "/tests/fixtures/captures/";

struct Capture {
  std::vector<std::string> topics, keys, values;
  size_t bytes = 0;
};

// A capture's records with a value (tombstones left out, as in decode_bench).
const Capture& capture(const std::string& shape) {
  static std::map<std::string, Capture> cache;
  Capture& c = cache[shape];
  if (!c.values.empty()) return c;
  gzFile f = gzopen((kCaptures + shape + ".jsonl.gz").c_str(), "rb");
  std::string text;
  char buf[65536];
  for (int n; f && (n = gzread(f, buf, sizeof buf)) > 0;) text.append(buf, static_cast<size_t>(n));
  if (f) gzclose(f);
  simdjson::dom::parser parser;
  for (size_t at = 0; at < text.size();) {
    size_t eol = text.find('\n', at);
    std::string line = text.substr(at, eol - at);
    at = eol == std::string::npos ? text.size() : eol + 1;
    simdjson::dom::element record;
    if (parser.parse(line).get(record)) continue;
    std::string_view topic, key, value;
    std::string rawKey, rawValue;
    if (record["payload_base64"].get_string().get(value) == simdjson::SUCCESS) {
      if (!base64Decode(value, rawValue)) continue;
      if (record["key_base64"].get_string().get(key) == simdjson::SUCCESS) base64Decode(key, rawKey);
    } else if (record["payload"].get_string().get(value) == simdjson::SUCCESS) {
      rawValue = value;
      if (record["key"].get_string().get(key) == simdjson::SUCCESS) rawKey = key;
    } else {
      continue;
    }
    if (record["topic"].get_string().get(topic)) continue;
    c.topics.emplace_back(topic);
    c.keys.push_back(rawKey);
    rawValue.reserve(rawValue.size() + debezium::kDecoderPadding);  // as the sources allocate values
    c.bytes += rawValue.size();
    c.values.push_back(std::move(rawValue));
  }
  return c;
}

struct Schemas {
  debezium::FileSchemaFetcher fetcher{kCaptures + "avro-schemas.json"};
  debezium::SchemaCache cache{fetcher};
  Schemas() {
    const Capture& c = capture("avro");
    std::vector<int32_t> ids;
    for (const auto& v : c.values) ids.push_back(*debezium::avro::wireSchemaId(v));
    (void)cache.load(ids);
  }
};

Schemas& schemas() {
  static Schemas s;
  return s;
}

void decode(benchmark::State& state, const std::string& shape) {
  const Capture& c = capture(shape);
  debezium::Decoder decoder;
  decoder.useSchemas(&schemas().cache);
  debezium::ChangeEvent ev;
  for (auto _ : state) {
    for (size_t i = 0; i < c.values.size(); ++i) {
      auto r = decoder.decode(c.topics[i], c.keys[i], std::string_view(c.values[i]), ev, c.values[i].capacity());
      if (!r) state.SkipWithError(r.error().message().c_str());
      benchmark::DoNotOptimize(ev);
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * c.values.size()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * c.bytes));
}

void BM_CaptureProductionJson(benchmark::State& state) { decode(state, "production"); }
void BM_CaptureAvro(benchmark::State& state) { decode(state, "avro"); }

// libavro: each schema parsed once (avro_schema_from_json), then every record read into a
// generic value of its schema (avro_value_read), nothing converted.
void BM_CaptureAvroLibavroGeneric(benchmark::State& state) {
  const Capture& c = capture("avro");
  struct Reader {
    avro_schema_t schema = nullptr;
    avro_value_iface_t* iface = nullptr;
    avro_value_t value{};
  };
  std::map<int32_t, Reader> readers;
  for (const auto& v : c.values) {
    int32_t id = *debezium::avro::wireSchemaId(v);
    if (readers.contains(id)) continue;
    auto text = schemas().fetcher.fetch(id);
    Reader r;
    if (!text || avro_schema_from_json_length(text->data(), text->size(), &r.schema) != 0) {
      state.SkipWithError("libavro cannot read a schema");
      return;
    }
    r.iface = avro_generic_class_from_schema(r.schema);
    avro_generic_value_new(r.iface, &r.value);
    readers.emplace(id, r);
  }
  for (auto _ : state) {
    for (const auto& v : c.values) {
      Reader& r = readers.at(*debezium::avro::wireSchemaId(v));
      avro_reader_t in = avro_reader_memory(v.data() + debezium::avro::kWireHeader,
                                            static_cast<int64_t>(v.size() - debezium::avro::kWireHeader));
      avro_value_reset(&r.value);
      if (avro_value_read(in, &r.value) != 0) state.SkipWithError(avro_strerror());
      avro_reader_free(in);
      benchmark::DoNotOptimize(r.value);
    }
  }
  for (auto& [id, r] : readers) {
    avro_value_decref(&r.value);
    avro_value_iface_decref(r.iface);
    avro_schema_decref(r.schema);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * c.values.size()));
}

BENCHMARK(BM_CaptureProductionJson)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_CaptureAvro)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_CaptureAvroLibavroGeneric)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
