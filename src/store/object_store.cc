#include "store/object_store.h"

namespace cdc::store {

Result<std::vector<ObjectInfo>> ObjectStore::listAll(std::string_view prefix) {
  std::vector<ObjectInfo> all;
  std::optional<std::string> token;
  do {
    auto page = list(prefix, token);
    if (!page) return fail(page.error());
    for (auto& o : page->objects) all.push_back(std::move(o));
    token = std::move(page->continuationToken);
  } while (token);
  return all;
}

bool isValidObjectKey(std::string_view key) {
  if (key.empty() || key.size() > 1024 || key.front() == '/') return false;
  size_t start = 0;
  while (start <= key.size()) {
    size_t end = key.find('/', start);
    if (end == std::string_view::npos) end = key.size();
    std::string_view seg = key.substr(start, end - start);
    if (seg.empty() || seg == "." || seg == "..") return false;
    start = end + 1;
  }
  for (char c : key) {
    if (c == '\0') return false;
  }
  return true;
}

}  // namespace cdc::store
