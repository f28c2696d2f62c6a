#include "services/analytics/checkpoint.h"

#include <algorithm>
#include <charconv>

#include <simdjson.h>

#include "core/json_writer.h"
#include "core/log.h"

namespace cdc::analytics {
namespace {

constexpr std::string_view kStatePrefix = "analytics/_state/";

// Applies state rows: {"k":id,"o":[customer,cents,status,day]} | {"k":id,"i":[product,qty,cents,day]} | {"k":id,"x":1},
// each with "d":offset when the row's latest change is a dead letter at that offset.
Status applyRows(std::string_view body, PartitionState& state, const std::string& what) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(body);
  simdjson::dom::document_stream stream;
  if (parser.parse_many(padded).get(stream)) return fail(Error::fatal("unreadable state " + what));
  for (auto doc : stream) {
    simdjson::dom::element row;
    if (doc.get(row)) return fail(Error::fatal("corrupt state row in " + what));
    int64_t key = 0;
    if (row["k"].get_int64().get(key)) return fail(Error::fatal("state row without key in " + what));
    simdjson::dom::array a;
    if (!row["o"].get_array().get(a)) {
      OrderFacts o;
      std::string_view status;
      int64_t cents = 0, day = 0, customer = 0;
      if (a.at(0).get_int64().get(customer) || a.at(1).get_int64().get(cents) || a.at(2).get_string().get(status) ||
          a.at(3).get_int64().get(day)) {
        return fail(Error::fatal("corrupt order row in " + what));
      }
      o.total = Money::fromCents(cents);
      o.status = statusId(status);
      o.customerId = static_cast<int32_t>(customer);
      o.day = static_cast<uint16_t>(day);
      state.restoreOrder(key, o);
    } else if (!row["i"].get_array().get(a)) {
      ItemFacts i;
      int64_t cents = 0, quantity = 0, day = 0, product = 0;
      if (a.at(0).get_int64().get(product) || a.at(1).get_int64().get(quantity) || a.at(2).get_int64().get(cents) ||
          a.at(3).get_int64().get(day)) {
        return fail(Error::fatal("corrupt item row in " + what));
      }
      i.price = Money::fromCents(cents);
      i.productId = static_cast<int32_t>(product);
      i.quantity = static_cast<int32_t>(quantity);
      i.day = static_cast<int32_t>(day);
      state.restoreItem(key, i);
    } else {
      state.restoreRemoval(key);
    }
    int64_t deadLetter = 0;
    if (!row["d"].get_int64().get(deadLetter)) {
      state.restoreDeadLetter(key, deadLetter);
    } else {
      state.forgetDeadLetter(key);  // a later change of the row (a newer delta)
    }
  }
  return {};
}

// The generation in an object's name (".g<gen>.jsonl"); 0 for the names of before fencing.
int64_t generationOf(std::string_view key) {
  constexpr std::string_view kSuffix = ".jsonl";
  if (!key.ends_with(kSuffix)) return 0;
  key.remove_suffix(kSuffix.size());
  auto dot = key.rfind(".g");
  if (dot == std::string_view::npos) return 0;
  int64_t generation = 0;
  auto digits = key.substr(dot + 2);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), generation);
  return ec == std::errc{} && end == digits.data() + digits.size() ? generation : 0;
}

}  // namespace

PartitionCheckpoint::PartitionCheckpoint(store::ObjectStore& objects, std::string topic, int32_t partition)
    : objects_(objects), topic_(std::move(topic)), partition_(partition) {}

std::string PartitionCheckpoint::prefix() const {
  return std::string(kStatePrefix) + topic_ + "/" + std::to_string(partition_) + "/";
}

Status PartitionCheckpoint::load(PartitionState& state) {
  auto loaded = loadCurrent(state);
  if (!loaded) return fail(loaded.error());
  return {};
}

Result<std::optional<std::string>> PartitionCheckpoint::loadCurrent(PartitionState& state) {
  // Another replica may be checkpointing this partition while we read it (a flush merges every
  // partition's state; a partition's former owner may still be finishing): when an object the
  // manifest names is gone because a newer manifest replaced it, read the newer one.
  for (int attempt = 1;; ++attempt) {
    auto manifest = objects_.getTagged(manifestKey());
    if (!manifest) return fail(manifest.error());
    std::optional<std::string> body;
    std::optional<std::string> etag;
    if (*manifest) {
      body = std::move((*manifest)->body);
      etag = std::move((*manifest)->etag);
    }
    auto loaded = loadFrom(body, state);
    if (loaded) return etag;
    if (loaded.error().kind != ErrorKind::NotFound) return fail(loaded.error());
    auto now = objects_.get(manifestKey());
    if (!now) return fail(now.error());
    if (*now == body) return fail(Error::fatal(loaded.error().message));  // named and missing: corrupt
    if (attempt == 10) return fail(Error::retry(loaded.error().message));
  }
}

Status PartitionCheckpoint::claim(PartitionState& state, const std::string& owner) {
  for (int attempt = 1;; ++attempt) {
    auto etag = loadCurrent(state);
    if (!etag) return fail(etag.error());
    // The manifest as loaded, with the next generation and this member as its owner, written
    // only if nobody wrote it since it was read.
    ++generation_;
    owner_ = owner;
    auto written =
        objects_.putIf(manifestKey(), manifestBody(savedOffset_, snapshot_, snapshotRows_, deltas_, deltaRows_), *etag);
    if (!written) return fail(written.error());
    if (*written) {
      etag_ = std::move(**written);
      log::event(spdlog::level::info, "partition_claimed",
                 {{"topic", topic_},
                  {"partition", std::to_string(partition_), true},
                  {"generation", std::to_string(generation_), true},
                  {"next_offset", std::to_string(savedOffset_), true}});
      return removeUnnamed();
    }
    // Its owner saved or another member claimed it meanwhile: load the newer one.
    if (attempt == 10) {
      return fail(Error::retry("analytics state of " + topic_ + "[" + std::to_string(partition_) +
                               "]: the manifest changed under every one of 10 claims"));
    }
  }
}

Status PartitionCheckpoint::removeUnnamed() {
  auto listed = objects_.listAll(prefix());
  if (!listed) return fail(listed.error());
  for (const auto& o : *listed) {
    if (o.key == manifestKey() || o.key == snapshot_ || std::find(deltas_.begin(), deltas_.end(), o.key) != deltas_.end()) {
      continue;
    }
    // Only objects of this partition's folder itself (a topic name may contain '/': not those
    // of a deeper folder), and only of an earlier generation: a member that claims the
    // partition after us may be writing its own already.
    if (o.key.find('/', prefix().size()) != std::string::npos) continue;
    if (generationOf(o.key) >= generation_) continue;
    if (auto s = objects_.remove(o.key); !s) return s;
  }
  return {};
}

Status PartitionCheckpoint::loadFrom(const std::optional<std::string>& manifest, PartitionState& state) {
  state = PartitionState{};
  snapshot_.clear();
  snapshotRows_ = 0;
  deltaRows_ = 0;
  deltas_.clear();
  savedOffset_ = 0;
  generation_ = 0;
  owner_.clear();
  dirty_.clear();
  if (!manifest) return {};
  simdjson::dom::parser parser;
  simdjson::dom::element m;
  if (parser.parse(*manifest).get(m)) return fail(Error::fatal("unreadable " + manifestKey()));
  int64_t offset = 0, rows = 0;
  std::string_view text;
  if (m["next_offset"].get_int64().get(offset)) return fail(Error::fatal("manifest without next_offset: " + manifestKey()));
  if (!m["snapshot"].get_string().get(text)) snapshot_ = std::string(text);
  if (!m["snapshot_rows"].get_int64().get(rows)) snapshotRows_ = static_cast<size_t>(rows);
  if (!m["delta_rows"].get_int64().get(rows)) deltaRows_ = static_cast<size_t>(rows);
  int64_t generation = 0;
  if (!m["generation"].get_int64().get(generation)) generation_ = generation;  // none: written before fencing
  if (!m["owner"].get_string().get(text)) owner_ = std::string(text);
  simdjson::dom::array deltas;
  if (!m["deltas"].get_array().get(deltas)) {
    for (auto d : deltas) {
      std::string_view k;
      if (!d.get_string().get(k)) deltas_.emplace_back(k);
    }
  }
  std::vector<std::string> parts;
  if (!snapshot_.empty()) parts.push_back(snapshot_);
  parts.insert(parts.end(), deltas_.begin(), deltas_.end());
  for (const auto& key : parts) {
    auto body = objects_.get(key);
    if (!body) return fail(body.error());
    if (!*body) return fail(Error::notFound("checkpoint object missing: " + key));
    if (auto s = applyRows(**body, state, key); !s) return s;
  }
  state.restoreOffset(offset);
  savedOffset_ = offset;
  return {};
}

std::string PartitionCheckpoint::manifestBody(int64_t nextOffset, const std::string& snapshot, size_t snapshotRows,
                                              const std::vector<std::string>& deltas, size_t deltaRows) const {
  std::string manifest;
  JsonWriter w(manifest);
  w.beginObject()
      .field("topic", topic_)
      .field("partition", partition_)
      .field("next_offset", nextOffset)
      .field("generation", generation_)
      .field("owner", owner_)
      .field("snapshot", snapshot)
      .field("snapshot_rows", static_cast<int64_t>(snapshotRows))
      .field("delta_rows", static_cast<int64_t>(deltaRows))
      .key("deltas")
      .beginArray();
  for (const auto& d : deltas) w.string(d);
  w.endArray().endObject();
  return manifest;
}

void PartitionCheckpoint::appendRows(const PartitionState& state, const std::vector<int64_t>& keys, std::string& out) const {
  char buf[24];
  auto num = [&](int64_t v) { out.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr); };
  for (int64_t k : keys) {
    out += "{\"k\":";
    num(k);
    if (const OrderFacts* o = state.orderRows().find(k)) {
      out += ",\"o\":[";
      num(o->customerId);
      out.push_back(',');
      num(o->total.cents());
      out.push_back(',');
      appendJsonString(out, statusName(o->status));
      out.push_back(',');
      num(o->day);
      out += "]";
    } else if (const ItemFacts* i = state.itemRows().find(k)) {
      out += ",\"i\":[";
      num(i->productId);
      out.push_back(',');
      num(i->quantity);
      out.push_back(',');
      num(i->price.cents());
      out.push_back(',');
      num(i->day);
      out += "]";
    } else {
      out += ",\"x\":1";
    }
    if (auto d = state.deadLettered().find(k); d != state.deadLettered().end()) {
      out += ",\"d\":";
      num(d->second);
    }
    out += "}\n";
  }
}

PartitionCheckpoint::Plan PartitionCheckpoint::plan(const PartitionState& state) const {
  Plan p{.snapshot = snapshot_, .snapshotRows = snapshotRows_, .deltas = deltas_, .deltaRows = deltaRows_};
  const std::string generation = ".g" + std::to_string(generation_) + ".jsonl";
  // Compact when the deltas hold more rows than the snapshot: write every row once.
  if (deltaRows_ + dirty_.size() > std::max<size_t>(snapshotRows_, 2000)) {
    std::vector<int64_t> keys;
    keys.reserve(state.orders() + state.items());
    state.orderRows().forEach([&](int64_t k, const OrderFacts&) { keys.push_back(k); });
    state.itemRows().forEach([&](int64_t k, const ItemFacts&) { keys.push_back(k); });
    for (const auto& [k, offset] : state.deadLettered()) {
      if (!state.orderRows().find(k) && !state.itemRows().find(k)) keys.push_back(k);
    }
    std::sort(keys.begin(), keys.end());
    appendRows(state, keys, p.body);
    p.key = prefix() + "snapshot-" + std::to_string(state.nextOffset()) + generation;
    if (!p.snapshot.empty() && p.snapshot != p.key) p.obsolete.push_back(p.snapshot);
    p.obsolete.insert(p.obsolete.end(), p.deltas.begin(), p.deltas.end());
    p.snapshot = p.key;
    p.snapshotRows = keys.size();
    p.deltas.clear();
    p.deltaRows = 0;
    return p;
  }
  std::vector<int64_t> keys(dirty_.begin(), dirty_.end());
  std::sort(keys.begin(), keys.end());
  appendRows(state, keys, p.body);
  p.key = prefix() + "delta-" + std::to_string(savedOffset_) + "-" + std::to_string(state.nextOffset());
  // Rows changed without the offset moving (dead letters replayed): the name must not be that
  // of a delta the manifest names already.
  if (savedOffset_ == state.nextOffset()) p.key += "-" + std::to_string(p.deltas.size());
  p.key += generation;
  p.deltas.push_back(p.key);
  p.deltaRows += keys.size();
  return p;
}

Result<bool> PartitionCheckpoint::save(const PartitionState& state) {
  if (!etag_)
    return fail(
        Error::fatal("analytics state of " + topic_ + "[" + std::to_string(partition_) + "] saved before it was claimed"));
  if (state.nextOffset() == savedOffset_ && dirty_.empty()) return true;
  // The checkpoint after this save; the members change only once its manifest is written.
  Plan p = plan(state);
  if (auto s = objects_.put(p.key, p.body, "application/x-ndjson"); !s) return fail(s.error());
  auto written =
      objects_.putIf(manifestKey(), manifestBody(state.nextOffset(), p.snapshot, p.snapshotRows, p.deltas, p.deltaRows), etag_);
  if (!written) return fail(written.error());
  if (!*written) {
    // Claimed by another member since our last save: the partition is no longer ours. What
    // this save wrote is named by no manifest; the owner's next claim deletes it.
    etag_.reset();
    return false;
  }
  etag_ = std::move(**written);
  snapshot_ = std::move(p.snapshot);
  snapshotRows_ = p.snapshotRows;
  deltas_ = std::move(p.deltas);
  deltaRows_ = p.deltaRows;
  savedOffset_ = state.nextOffset();
  dirty_.clear();
  // Objects the new manifest no longer names; a crash before this leaves garbage, not errors.
  for (const auto& o : p.obsolete) {
    if (auto s = objects_.remove(o); !s) return fail(s.error());
  }
  return true;
}

Result<bool> PartitionCheckpoint::stillOwned() {
  if (!etag_) return false;
  auto manifest = objects_.getTagged(manifestKey());
  if (!manifest) return fail(manifest.error());
  return *manifest && (*manifest)->etag == *etag_;
}

Result<std::vector<std::pair<std::string, int32_t>>> listCheckpoints(store::ObjectStore& objects) {
  auto all = objects.listAll(kStatePrefix);
  if (!all) return fail(all.error());
  std::vector<std::pair<std::string, int32_t>> out;
  for (const auto& o : *all) {
    if (!o.key.ends_with("/manifest.json")) continue;
    std::string_view rest = std::string_view(o.key).substr(kStatePrefix.size());
    rest.remove_suffix(std::string_view("/manifest.json").size());
    auto slash = rest.rfind('/');
    if (slash == std::string_view::npos) continue;
    int32_t partition = 0;
    std::from_chars(rest.data() + slash + 1, rest.data() + rest.size(), partition);
    out.emplace_back(std::string(rest.substr(0, slash)), partition);
  }
  return out;
}

}  // namespace cdc::analytics
