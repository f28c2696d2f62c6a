#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <string>

namespace cdc {

// A strongly typed integer id: ProductId and OrderId cannot be mixed up.
template <class Tag, class Rep = int64_t>
struct StrongId {
  Rep value{};
  constexpr StrongId() = default;
  constexpr explicit StrongId(Rep v) : value(v) {}
  friend constexpr auto operator<=>(const StrongId&, const StrongId&) = default;
};

using ProductId = StrongId<struct ProductIdTag>;
using OrderId = StrongId<struct OrderIdTag>;
using OrderItemId = StrongId<struct OrderItemIdTag>;
using CustomerId = StrongId<struct CustomerIdTag>;
using Partition = StrongId<struct PartitionTag, int32_t>;
using Offset = StrongId<struct OffsetTag, int64_t>;

// A Kafka topic and partition.
struct TopicPartition {
  std::string topic;
  int32_t partition = 0;
  friend auto operator<=>(const TopicPartition&, const TopicPartition&) = default;
};

struct TopicPartitionHash {
  size_t operator()(const TopicPartition& tp) const noexcept {
    return std::hash<std::string>{}(tp.topic) * 31 + static_cast<size_t>(tp.partition);
  }
};

}  // namespace cdc

template <class Tag, class Rep>
struct std::hash<cdc::StrongId<Tag, Rep>> {
  size_t operator()(const cdc::StrongId<Tag, Rep>& id) const noexcept { return std::hash<Rep>{}(id.value); }
};
