#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/result.h"
#include "services/analytics/partition_state.h"
#include "store/object_store.h"

namespace cdc::analytics {

// Persists one partition's keyed state in the object store, with only S3's put/get/list/delete:
//   analytics/_state/<topic>/<partition>/manifest.json           the current checkpoint
//   analytics/_state/<topic>/<partition>/snapshot-<offset>.jsonl all rows at an offset
//   analytics/_state/<topic>/<partition>/delta-<from>-<to>.jsonl rows changed in [from, to)
//   analytics/_state/<topic>/<partition>/delta-<at>-<at>-<n>.jsonl rows changed at one offset
//                                                                  (dead letters replayed)
// A checkpoint writes the delta, then the manifest naming it with the new offset: the manifest
// put is the atomic commit point, so a crash at any moment leaves the previous checkpoint
// whole (a delta written without its manifest is rewritten under the same name on replay).
// When the deltas outgrow the snapshot, a new snapshot replaces them. Not thread-safe.
class PartitionCheckpoint {
 public:
  PartitionCheckpoint(store::ObjectStore& objects, std::string topic, int32_t partition);

  // Loads the last checkpoint into `state` (an empty state when there is none).
  Status load(PartitionState& state);
  // Records that these keys changed since the last checkpoint.
  void markDirty(int64_t key) { dirty_.insert(key); }
  // Writes the changes since the last checkpoint; durable when it returns Ok.
  Status save(const PartitionState& state);

  std::string prefix() const;

 private:
  std::string manifestKey() const { return prefix() + "manifest.json"; }
  // Loads the checkpoint a manifest body describes; NotFound when an object it names is gone.
  Status loadFrom(const std::optional<std::string>& manifest, PartitionState& state);
  void appendRows(const PartitionState& state, const std::vector<int64_t>& keys, std::string& out) const;

  store::ObjectStore& objects_;
  std::string topic_;
  int32_t partition_;
  int64_t savedOffset_ = 0;
  std::string snapshot_;
  size_t snapshotRows_ = 0;
  std::vector<std::string> deltas_;
  size_t deltaRows_ = 0;
  std::unordered_set<int64_t> dirty_;
};

// The partitions that have a checkpoint: (topic, partition) from the manifests' keys.
Result<std::vector<std::pair<std::string, int32_t>>> listCheckpoints(store::ObjectStore& objects);

}  // namespace cdc::analytics
