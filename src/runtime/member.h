#pragma once

#include <string>

namespace cdc::runtime {

// How this process names itself as a member of its group in what it claims (the analytics
// checkpoints' owner, the search index's partition leases): host name and process id.
std::string memberName();

}  // namespace cdc::runtime
