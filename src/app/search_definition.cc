#include "app/search_definition.h"

#include <condition_variable>
#include <mutex>

#include "services/search/search_api.h"
#include "services/search/searcher.h"

namespace cdc::app {

search::IndexTables searchTables(const config::Config& c) {
  search::IndexTables t;
  if (auto name = c.get<config::TableSettings>().tableName) t.items = *name;
  t.postings = t.items + "-postings";
  t.tokens = t.items + "-tokens";
  return t;
}

namespace {

std::unique_ptr<runtime::Handler> makeHandler(const config::Config& c, ServiceContext& ctx) {
  search::IndexerOptions o;
  o.tables = searchTables(c);
  o.createTables = c.get<config::StoreSettings>().createTables;
  o.tombstoneRetentionSeconds = c.get<config::TableSettings>().ledgerRetention;
  o.decoding = decoderOptions(c);
  return std::make_unique<search::IndexerHandler>(*ctx.tables, o);
}

// GET /search on the service's HTTP server, answered on the server's workers, each with a
// store connection of its own (the consumer's is not shared across threads).
std::shared_ptr<void> searchApi(const config::Config& c, ServiceContext& ctx, http::HttpServer& server) {
  struct Api {
    struct Lane {
      std::unique_ptr<store::TableStore> tables;
      std::unique_ptr<search::Searcher> searcher;
    };
    std::mutex mutex;
    std::condition_variable freed;
    std::vector<Lane*> idle;  // guarded by mutex
    std::vector<std::unique_ptr<Lane>> all;
  };
  http::HttpServerOptions options;
  auto api = std::make_shared<Api>();
  for (size_t i = 0; i < options.workers; ++i) {
    auto lane = std::make_unique<Api::Lane>();
    lane->tables = ctx.openTables();
    lane->searcher = std::make_unique<search::Searcher>(*lane->tables, searchTables(c));
    api->idle.push_back(lane.get());
    api->all.push_back(std::move(lane));
  }
  Api* raw = api.get();
  server.get("/search", [raw](const http::Params& params) {
    Api::Lane* lane = nullptr;
    {
      std::unique_lock lock(raw->mutex);
      raw->freed.wait(lock, [raw] { return !raw->idle.empty(); });
      lane = raw->idle.back();
      raw->idle.pop_back();
    }
    auto [status, body] = handleSearch(*lane->searcher, params);
    {
      std::lock_guard lock(raw->mutex);
      raw->idle.push_back(lane);
    }
    raw->freed.notify_one();
    return http::Response{status, std::move(body)};
  });
  return api;
}

}  // namespace

const ServiceDefinition& searchIndexerService() {
  static const ServiceDefinition d{"search-indexer",
                                   "search-indexer",
                                   {"products"},
                                   true,
                                   false,
                                   makeHandler,
                                   searchApi,
                                   [](const config::Config& c) { return search::IndexerHandler::decoding(decoderOptions(c)); },
                                   // The seed grants it DynamoDB only: its dead letters go to a Kafka topic.
                                   "kafka"};
  return d;
}

}  // namespace cdc::app
