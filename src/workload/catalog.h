#pragma once

#include <cstdint>
#include <string>

namespace cdc::workload {

// Deterministic product names and descriptions built from word lists, with accents and
// non-Latin scripts among them so that every consumer meets real-world text.
std::string productName(int64_t id, uint64_t variant);
std::string productDescription(int64_t id, uint64_t variant);

}  // namespace cdc::workload
