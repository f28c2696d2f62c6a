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

Status ensureTables(TableStore& store, std::span<const TableSpec> specs, bool create) {
  for (const auto& spec : specs) {
    if (create) {
      if (auto s = store.ensureTable(spec); !s) return s;
    } else if (auto d = store.describeTable(spec.name); !d) {
      if (d.error().kind == ErrorKind::NotFound) {
        return fail(Error::fatal("table " + spec.name + " does not exist and CREATE_TABLES is false"));
      }
      return fail(d.error());
    }
  }
  return {};
}

}  // namespace cdc::store
