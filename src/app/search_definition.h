#pragma once

#include "app/service.h"
#include "services/search/indexer.h"

namespace cdc::app {

// search-indexer: products into the search index, and GET /search beside it on its HTTP server.
const ServiceDefinition& searchIndexerService();
// Its tables from the configuration (DYNAMODB_TABLE and the two beside it).
search::IndexTables searchTables(const config::Config& c);

}  // namespace cdc::app
