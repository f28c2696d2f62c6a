#include "debezium/file_schema_fetcher.h"

#include <fstream>
#include <sstream>
#include <stdexcept>

#include <simdjson.h>

namespace cdc::debezium {

FileSchemaFetcher::FileSchemaFetcher(const std::string& path) : path_(path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument("cannot read the schema file " + path);
  std::stringstream text;
  text << in.rdbuf();
  simdjson::dom::parser parser;
  simdjson::dom::object object;
  std::string content = text.str();
  if (parser.parse(content).get_object().get(object) != simdjson::SUCCESS) {
    throw std::invalid_argument("the schema file " + path + " is not a JSON object of schemas by id");
  }
  for (auto [key, value] : object) {
    int32_t id = 0;
    try {
      id = std::stoi(std::string(key));
    } catch (const std::exception&) {
      throw std::invalid_argument("the schema file " + path + " has a key that is not a schema id: " + std::string(key));
    }
    std::string_view schema;
    if (value.get_string().get(schema) == simdjson::SUCCESS) {
      schemas_[id] = std::string(schema);
    } else {
      schemas_[id] = simdjson::minify(value);
    }
  }
}

std::expected<std::string, SchemaFetchError> FileSchemaFetcher::fetch(int32_t id) {
  auto it = schemas_.find(id);
  if (it == schemas_.end()) {
    return std::unexpected(SchemaFetchError{true, "schema id " + std::to_string(id) + " is not in " + describe()});
  }
  return it->second;
}

std::vector<int32_t> FileSchemaFetcher::ids() const {
  std::vector<int32_t> out;
  out.reserve(schemas_.size());
  for (const auto& [id, schema] : schemas_) out.push_back(id);
  return out;
}

}  // namespace cdc::debezium
