// Debezium decoding throughput for each message shape, side by side with a raw simdjson parse
// (DOM, the whole document) of the same bytes. Run: build/bench/decode_bench

#include <benchmark/benchmark.h>

#include <simdjson.h>

#include "debezium/decoder.h"
#include "workload/generator.h"

namespace {

using namespace cdc;

struct Corpus {
  std::vector<std::string> topics;
  std::vector<std::string> values;
  size_t bytes = 0;
};

struct ShapeCase {
  const char* name;
  workload::MessageShape shape;
  bool schemas;
  workload::DecimalMode decimals;
  workload::TimeMode times;
};

constexpr ShapeCase kShapes[] = {
    {"unwrap_schema_precise", workload::MessageShape::Unwrap, true, workload::DecimalMode::Precise, workload::TimeMode::Micro},
    {"unwrap_noschema_string", workload::MessageShape::Unwrap, false, workload::DecimalMode::String, workload::TimeMode::Micro},
    {"unwrap_noschema_double", workload::MessageShape::Unwrap, false, workload::DecimalMode::Double, workload::TimeMode::Micro},
    {"envelope_schema_precise", workload::MessageShape::Envelope, true, workload::DecimalMode::Precise,
     workload::TimeMode::Micro},
    {"envelope_noschema_string", workload::MessageShape::Envelope, false, workload::DecimalMode::String,
     workload::TimeMode::Micro},
    {"envelope_noschema_zoned", workload::MessageShape::Envelope, false, workload::DecimalMode::String,
     workload::TimeMode::Zoned},
};

const Corpus& corpus(int shape) {
  static std::vector<Corpus> cache(std::size(kShapes));
  Corpus& c = cache[static_cast<size_t>(shape)];
  if (!c.values.empty()) return c;
  workload::WorkloadOptions o;
  o.products = 2000;
  o.events = 20000;
  o.deletes = workload::WorkloadOptions::Deletes::Rewrite;
  o.encoder.shape = kShapes[shape].shape;
  o.encoder.schemas = kShapes[shape].schemas;
  o.encoder.decimals = kShapes[shape].decimals;
  o.encoder.times = kShapes[shape].times;
  workload::WorkloadGenerator g(o);
  workload::GeneratedRecord r;
  while (g.next(r)) {
    c.bytes += r.value->size();
    c.topics.push_back(r.topic);
    std::string v;
    v.reserve(r.value->size() + debezium::kDecoderPadding);  // as the sources allocate values
    v.assign(*r.value);
    c.values.push_back(std::move(v));
  }
  return c;
}

void runDecode(benchmark::State& state, const debezium::DecoderOptions& options) {
  const Corpus& c = corpus(static_cast<int>(state.range(0)));
  debezium::Decoder decoder(options);
  debezium::ChangeEvent ev;
  for (auto _ : state) {
    for (size_t i = 0; i < c.values.size(); ++i) {
      auto r = decoder.decode(c.topics[i], std::nullopt, std::string_view(c.values[i]), ev, c.values[i].capacity());
      if (!r) state.SkipWithError(r.error().message().c_str());
      benchmark::DoNotOptimize(ev);
    }
  }
  state.SetLabel(kShapes[state.range(0)].name);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * c.values.size()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * c.bytes));
}

void BM_Decode(benchmark::State& state) { runDecode(state, {}); }

// Only the columns the inventory service needs (id, name, price, stock; item quantity, product).
void BM_DecodeInventoryColumns(benchmark::State& state) {
  using namespace debezium;
  DecoderOptions opts;
  opts.wanted[static_cast<int>(Table::Products)] =
      bit(ProductColumn::Name) | bit(ProductColumn::Price) | bit(ProductColumn::StockQuantity);
  opts.wanted[static_cast<int>(Table::OrderItems)] = bit(OrderItemColumn::ProductId) | bit(OrderItemColumn::Quantity);
  runDecode(state, opts);
}

void BM_SimdjsonDomParse(benchmark::State& state) {
  const Corpus& c = corpus(static_cast<int>(state.range(0)));
  simdjson::dom::parser parser;
  std::vector<simdjson::padded_string> padded;
  for (const auto& v : c.values) padded.emplace_back(v);
  for (auto _ : state) {
    for (const auto& p : padded) {
      simdjson::dom::element doc;
      auto err = parser.parse(p).get(doc);
      benchmark::DoNotOptimize(err);
      benchmark::DoNotOptimize(doc);
    }
  }
  state.SetLabel(kShapes[state.range(0)].name);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * c.values.size()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * c.bytes));
}

// Every value of a document read once through simdjson's On-Demand API (keys and strings
// unescaped, numbers parsed): what a decoder that touches everything at least costs.
simdjson::error_code walk(simdjson::ondemand::value v, size_t& sink);

simdjson::error_code walkObject(simdjson::ondemand::object o, size_t& sink) {
  for (auto field : o) {
    std::string_view key;
    if (auto e = field.unescaped_key().get(key)) return e;
    sink += key.size();
    simdjson::ondemand::value v;
    if (auto e = field.value().get(v)) return e;
    if (auto e = walk(v, sink)) return e;
  }
  return simdjson::SUCCESS;
}

simdjson::error_code walk(simdjson::ondemand::value v, size_t& sink) {
  simdjson::ondemand::json_type type;
  if (auto e = v.type().get(type)) return e;
  switch (type) {
    case simdjson::ondemand::json_type::object: {
      simdjson::ondemand::object o;
      if (auto e = v.get_object().get(o)) return e;
      return walkObject(o, sink);
    }
    case simdjson::ondemand::json_type::array: {
      simdjson::ondemand::array a;
      if (auto e = v.get_array().get(a)) return e;
      for (auto element : a) {
        simdjson::ondemand::value x;
        if (auto e = element.get(x)) return e;
        if (auto e = walk(x, sink)) return e;
      }
      return simdjson::SUCCESS;
    }
    case simdjson::ondemand::json_type::string: {
      std::string_view s;
      if (auto e = v.get_string().get(s)) return e;
      sink += s.size();
      return simdjson::SUCCESS;
    }
    case simdjson::ondemand::json_type::number: {
      simdjson::ondemand::number n;
      if (auto e = v.get_number().get(n)) return e;
      sink += static_cast<size_t>(n.get_number_type());
      return simdjson::SUCCESS;
    }
    case simdjson::ondemand::json_type::boolean: {
      bool b = false;
      if (auto e = v.get_bool().get(b)) return e;
      sink += b;
      return simdjson::SUCCESS;
    }
    case simdjson::ondemand::json_type::null: {
      bool null = false;
      return v.is_null().get(null);
    }
  }
  return simdjson::SUCCESS;
}

void BM_SimdjsonOnDemandWalk(benchmark::State& state) {
  const Corpus& c = corpus(static_cast<int>(state.range(0)));
  simdjson::ondemand::parser parser;
  std::vector<simdjson::padded_string> padded;
  for (const auto& v : c.values) padded.emplace_back(v);
  size_t sink = 0;
  for (auto _ : state) {
    for (const auto& p : padded) {
      simdjson::ondemand::document doc;
      simdjson::ondemand::object o;
      auto err = parser.iterate(p).get(doc);
      if (!err) err = doc.get_object().get(o);
      if (!err) err = walkObject(o, sink);
      if (err) state.SkipWithError(simdjson::error_message(err));
    }
  }
  benchmark::DoNotOptimize(sink);
  state.SetLabel(kShapes[state.range(0)].name);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * c.values.size()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * c.bytes));
}

void shapes(benchmark::internal::Benchmark* b) {
  for (int i = 0; i < static_cast<int>(std::size(kShapes)); ++i) b->Arg(i);
}

BENCHMARK(BM_Decode)->Apply(shapes)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DecodeInventoryColumns)->Apply(shapes)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SimdjsonDomParse)->Apply(shapes)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SimdjsonOnDemandWalk)->Apply(shapes)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
