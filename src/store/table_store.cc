#include "store/table_store.h"

namespace cdc::store {

Item keyOf(const TableSpec& spec, const Item& item) {
  Item key;
  if (const auto* h = find(item, spec.hash.name)) key.emplace(spec.hash.name, *h);
  if (spec.range) {
    if (const auto* r = find(item, spec.range->name)) key.emplace(spec.range->name, *r);
  }
  return key;
}

}  // namespace cdc::store
