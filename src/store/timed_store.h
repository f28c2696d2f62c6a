#pragma once

#include <array>
#include <memory>
#include <string>

#include "core/time.h"
#include "store/object_store.h"
#include "store/table_store.h"

namespace cdc::store {

// A table store that times each call of the one it wraps, for the latency histogram
// cdc_store_request_duration_seconds{service, backend, operation}: the backend ("sqlite",
// "dynamodb") is given, the operation is the call in DynamoDB's terms (get_item, batch_get_item,
// transact_write_items …), the same for every backend. A call is timed whole, retries included:
// the latency the service waits for. Timing starts with instrument(); before that (and with
// metrics off) calls only pass through. Everything else (series, readiness, the summary) is the
// wrapped store's.
std::unique_ptr<TableStore> timed(std::unique_ptr<TableStore> inner, std::string backend, const TimeSource& time = systemTime());
// The same for an object store ("directory", "s3"): put_object, get_object, list_objects,
// delete_object.
std::unique_ptr<ObjectStore> timed(std::unique_ptr<ObjectStore> inner, std::string backend,
                                   const TimeSource& time = systemTime());

}  // namespace cdc::store
