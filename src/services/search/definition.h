#pragma once

#include "services/search/indexer.h"
#include "services/service.h"

namespace cdc::search {

// search-indexer: products into the search index, and GET /search beside it on its HTTP server.
const services::ServiceDefinition& definition();
// Its tables from the configuration (DYNAMODB_TABLE and the two beside it).
IndexTables tablesFrom(const config::Config& c);

}  // namespace cdc::search
