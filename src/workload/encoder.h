#pragma once

#include <string>

#include "debezium/event.h"

namespace cdc::workload {

enum class MessageShape : uint8_t { Unwrap, Envelope };
enum class DecimalMode : uint8_t { Precise, String, Double };
enum class TimeMode : uint8_t { Micro, Milli, Nano, Zoned };
enum class BeforeImage : uint8_t { Full, Key };

// How the Debezium connector is configured, which decides the bytes of every message.
struct EncoderOptions {
  MessageShape shape = MessageShape::Unwrap;  // ExtractNewRecordState, as in production
  bool schemas = true;                        // JsonConverter schemas.enable
  DecimalMode decimals = DecimalMode::Precise;
  TimeMode times = TimeMode::Micro;        // time.precision.mode adaptive: MicroTimestamp
  BeforeImage before = BeforeImage::Full;  // REPLICA IDENTITY FULL, or DEFAULT (key only)
  std::string topicPrefix = "dbserver1";
};

// Writes change events as Debezium's PostgreSQL connector and Kafka Connect's JsonConverter
// would: the production flattened shape or the plain envelope, with or without schemas, in
// every decimal and temporal mode. Schemas are built once. Not thread-safe.
class DebeziumEncoder {
 public:
  explicit DebeziumEncoder(EncoderOptions options);

  std::string topic(debezium::Table table) const;
  // The record key: {"id":…}, with its schema when schemas are on.
  void key(debezium::Table table, int64_t id, std::string& out) const;
  // The record value of a change (never a tombstone: that is a null value).
  void value(const debezium::ChangeEvent& change, std::string& out) const;

  const EncoderOptions& options() const { return options_; }

 private:
  void row(const debezium::Row& row, bool keyOnly, std::string& out) const;
  void money(Money m, std::string& out) const;
  void time(Timestamp t, std::string& out) const;
  void source(const debezium::ChangeEvent& change, std::string& out) const;

  EncoderOptions options_;
  std::string valueSchemas_[debezium::kTableCount];
  std::string keySchemas_[debezium::kTableCount];
};

// Kafka's default partitioner (murmur2 of the key bytes), which Kafka Connect uses for
// Debezium's records: the same key lands in the same partition as in a real deployment.
int32_t kafkaPartition(std::string_view keyBytes, int32_t partitions);
int32_t murmur2(std::string_view data);

}  // namespace cdc::workload
