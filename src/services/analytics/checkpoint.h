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

// Persists one partition's keyed state in the object store, with S3's put/get/list/delete and
// its conditional writes:
//   analytics/_state/<topic>/<partition>/manifest.json                 the current checkpoint
//   analytics/_state/<topic>/<partition>/snapshot-<offset>.g<gen>.jsonl all rows at an offset
//   analytics/_state/<topic>/<partition>/delta-<from>-<to>.g<gen>.jsonl rows changed in [from, to)
//   analytics/_state/<topic>/<partition>/delta-<at>-<at>-<n>.g<gen>.jsonl rows changed at one
//                                                                        offset (dead letters replayed)
// A checkpoint writes the delta, then the manifest naming it with the new offset: the manifest
// put is the atomic commit point, so a crash at any moment leaves the previous checkpoint
// whole. When the deltas outgrow the snapshot, a new snapshot replaces them.
//
// Fencing: a member takes a partition over with claim(), which writes the manifest again with
// the next generation and its own name, on the condition that it is still the manifest it
// loaded (If-Match; If-None-Match for a partition without one). Every save is conditional on
// the manifest its member wrote last, so once another member has claimed the partition, a save
// of the former owner (a zombie: paused past its session timeout, its partitions given away) is
// refused by the store, whatever the timing, and its member learns it no longer owns the
// partition. The objects a save writes before its manifest carry its generation in their names,
// so a zombie never overwrites an object of the owner; what a refused save left behind is
// deleted by the next claim. Not thread-safe.
class PartitionCheckpoint {
 public:
  PartitionCheckpoint(store::ObjectStore& objects, std::string topic, int32_t partition);

  // Loads the last checkpoint into `state` (an empty state when there is none), to read it.
  Status load(PartitionState& state);
  // Loads the last checkpoint into `state` and takes the partition over as `owner` (a name for
  // operators: host and process). Fails only on the store's errors.
  Status claim(PartitionState& state, const std::string& owner);
  // Records that these keys changed since the last checkpoint.
  void markDirty(int64_t key) { dirty_.insert(key); }
  // Writes the changes since the last checkpoint of a claimed partition; true when they are
  // durable, false when another member has claimed the partition since (nothing of it may be
  // written by this member any more).
  Result<bool> save(const PartitionState& state);
  // Whether the manifest is still the one this member wrote last (no other member claimed the
  // partition since).
  Result<bool> stillOwned();

  std::string prefix() const;
  int64_t generation() const { return generation_; }
  const std::string& owner() const { return owner_; }

 private:
  std::string manifestKey() const { return prefix() + "manifest.json"; }
  // Loads the current checkpoint, reading the manifest again when an object it names was
  // replaced meanwhile; the manifest's entity tag, nullopt when there is none.
  Result<std::optional<std::string>> loadCurrent(PartitionState& state);
  // Loads the checkpoint a manifest body describes; NotFound when an object it names is gone.
  Status loadFrom(const std::optional<std::string>& manifest, PartitionState& state);
  std::string manifestBody(int64_t nextOffset, const std::string& snapshot, size_t snapshotRows,
                           const std::vector<std::string>& deltas, size_t deltaRows) const;
  // Deletes the objects of the partition's folder the manifest does not name (left by saves
  // that a crash or a claim cut short).
  Status removeUnnamed();
  void appendRows(const PartitionState& state, const std::vector<int64_t>& keys, std::string& out) const;
  // The checkpoint a save writes: the object it puts (a snapshot of every row, or a delta of
  // the changed ones), the snapshot and deltas its manifest names, and the objects it retires.
  struct Plan {
    std::string key, body;
    std::string snapshot;
    size_t snapshotRows = 0;
    std::vector<std::string> deltas;
    size_t deltaRows = 0;
    std::vector<std::string> obsolete;
  };
  Plan plan(const PartitionState& state) const;

  store::ObjectStore& objects_;
  std::string topic_;
  int32_t partition_;
  int64_t savedOffset_ = 0;
  std::string snapshot_;
  size_t snapshotRows_ = 0;
  std::vector<std::string> deltas_;
  size_t deltaRows_ = 0;
  std::unordered_set<int64_t> dirty_;
  int64_t generation_ = 0;           // of the manifest loaded or written last
  std::string owner_;                // likewise
  std::optional<std::string> etag_;  // of the manifest this member wrote last (claimed)
};

// The partitions that have a checkpoint: (topic, partition) from the manifests' keys.
Result<std::vector<std::pair<std::string, int32_t>>> listCheckpoints(store::ObjectStore& objects);

}  // namespace cdc::analytics
