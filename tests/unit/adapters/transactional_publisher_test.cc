// The alerts' transactional publisher against librdkafka's in-process mock cluster (a broker
// that answers the transactional protocol and can be told to fail a request): a transaction
// commits its messages once; a producer that meets a fatal error is replaced by a new one of the
// same transactional.id and the batch counts as aborted; a fenced producer stops. (The mock
// cluster writes no abort markers: what a read_committed reader sees through broker faults is
// checked on a real broker by the reliability suite.)

#include "adapters/kafka/transactional_publisher.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka_mock.h>

#include <memory>
#include <string>
#include <vector>

#include "adapters/kafka/rdkafka_handles.h"

namespace cdc::kafka {
namespace {

using Outcome = TransactionalCommitter::Outcome;

// Kafka protocol request types (the mock cluster fails requests by type).
constexpr int16_t kEndTxn = 26;

class TransactionalPublisherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "0", err, sizeof err);
    owner_.reset(rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err));
    ASSERT_TRUE(owner_) << err;
    cluster_ = rd_kafka_mock_cluster_new(owner_.get(), 1);
    ASSERT_NE(cluster_, nullptr);
    ASSERT_EQ(rd_kafka_mock_topic_create(cluster_, "alerts", 1, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
    ASSERT_EQ(rd_kafka_mock_topic_create(cluster_, "orders", 1, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
    group_ = rd_kafka_consumer_group_metadata_new("inventory-service");
  }
  void TearDown() override {
    publisher_.reset();
    if (group_) rd_kafka_consumer_group_metadata_destroy(group_);
    if (cluster_) rd_kafka_mock_cluster_destroy(cluster_);
  }

  TransactionalPublisher& open() {
    Properties props{{"bootstrap.servers", rd_kafka_mock_cluster_bootstraps(cluster_), "test"},
                     {"transactional.id", "inventory-service-alerts-test", "test"},
                     {"log_level", "0", "test"}};
    auto opened = TransactionalPublisher::open(std::move(props), "alerts", "alert", std::chrono::seconds(10));
    EXPECT_TRUE(opened) << (opened ? "" : opened.error().message);
    publisher_ = std::move(*opened);
    return *publisher_;
  }

  // Commits the position `offset` of orders[0] with what was published since the last commit.
  Result<Outcome> commitAt(int64_t offset) {
    PartitionListPtr list(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(list.get(), "orders", 0)->offset = offset;
    return publisher_->commitTransaction(list.get(), group_);
  }

  // The values a read_committed consumer reads from the alerts topic.
  std::vector<std::string> committedAlerts() {
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    for (auto [k, v] : {std::pair{"bootstrap.servers", rd_kafka_mock_cluster_bootstraps(cluster_)},
                        {"group.id", "reader"},
                        {"isolation.level", "read_committed"},
                        {"auto.offset.reset", "earliest"},
                        {"enable.partition.eof", "true"},
                        {"log_level", "0"}}) {
      rd_kafka_conf_set(conf, k, v, err, sizeof err);
    }
    std::unique_ptr<rd_kafka_t, ClientDeleter> consumer(rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err));
    PartitionListPtr list(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(list.get(), "alerts", 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(consumer.get(), list.get());
    std::vector<std::string> values;
    for (int i = 0; i < 100; ++i) {
      MessagePtr m(rd_kafka_consumer_poll(consumer.get(), 100));
      if (!m) continue;
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) break;
      if (!m->err) values.emplace_back(static_cast<const char*>(m->payload), m->len);
    }
    rd_kafka_consumer_close(consumer.get());
    return values;
  }

  static std::vector<Publication> alerts(std::initializer_list<const char*> ids) {
    std::vector<Publication> out;
    for (const char* id : ids) out.push_back({id, "7", std::string(R"({"alert_id":")") + id + "\"}", {}});
    return out;
  }

  std::unique_ptr<rd_kafka_t, ClientDeleter> owner_;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  rd_kafka_consumer_group_metadata_t* group_ = nullptr;
  std::unique_ptr<TransactionalPublisher> publisher_;
};

TEST_F(TransactionalPublisherTest, ATransactionCommitsEachMessageOnceWithItsPosition) {
  auto& p = open();
  auto batch = alerts({"7-1", "8-1"});
  ASSERT_TRUE(p.publish(batch));
  ASSERT_TRUE(p.publish(alerts({"7-1"})));  // a retried batch queues its alert again: it goes once
  auto outcome = commitAt(10);
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_EQ(*outcome, Outcome::Committed);
  EXPECT_EQ(p.takeAcknowledged(), (std::vector<std::string>{"7-1", "8-1"}));
  EXPECT_EQ(p.committed(), 2u);
  EXPECT_EQ(p.reopened(), 0u);
  EXPECT_EQ(committedAlerts(), (std::vector<std::string>{R"({"alert_id":"7-1"})", R"({"alert_id":"8-1"})"}));
}

TEST_F(TransactionalPublisherTest, AProducerThatMeetsAFatalErrorIsReplacedAndTheBatchIsReadAgain) {
  auto& p = open();
  ASSERT_TRUE(commitAt(5));  // the producer's transactions have started
  // The coordinator lost the transaction (its broker was killed): librdkafka's producer cannot
  // go on after INVALID_TXN_STATE.
  rd_kafka_mock_push_request_errors(cluster_, kEndTxn, 1, RD_KAFKA_RESP_ERR_INVALID_TXN_STATE);
  ASSERT_TRUE(p.publish(alerts({"7-1"})));
  auto outcome = commitAt(10);
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_EQ(*outcome, Outcome::Aborted) << "the records are read again";
  EXPECT_EQ(p.reopened(), 1u);
  EXPECT_TRUE(p.takeAcknowledged().empty()) << "nothing of the failed transaction is acknowledged";

  // Read again, the record raises its alert again: the new producer commits it.
  ASSERT_TRUE(p.publish(alerts({"7-1"})));
  outcome = commitAt(10);
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_EQ(*outcome, Outcome::Committed);
  EXPECT_EQ(p.takeAcknowledged(), (std::vector<std::string>{"7-1"}));
  EXPECT_EQ(p.committed(), 1u);
  // (The mock cluster writes no abort markers, so a read_committed reader would see the first
  // try too: that a reader sees each alert once through broker faults is the reliability
  // suite's, on a real broker.)
}

TEST_F(TransactionalPublisherTest, AFencedProducerStopsTheService) {
  auto& p = open();
  ASSERT_TRUE(commitAt(5));
  // Another producer of the same transactional.id took over: this one is a zombie.
  rd_kafka_mock_push_request_errors(cluster_, kEndTxn, 1, RD_KAFKA_RESP_ERR_PRODUCER_FENCED);
  ASSERT_TRUE(p.publish(alerts({"7-1"})));
  auto outcome = commitAt(10);
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error().kind, ErrorKind::Fatal);
  EXPECT_NE(outcome.error().message.find("fenced"), std::string::npos) << outcome.error().message;
  EXPECT_EQ(p.reopened(), 0u);
}

TEST_F(TransactionalPublisherTest, AFatalErrorAfterEveryReplacementStopsTheService) {
  auto& p = open();
  ASSERT_TRUE(commitAt(5));
  int aborted = 0;
  Result<Outcome> outcome = Outcome::Committed;
  for (int i = 0; i < 10; ++i) {
    rd_kafka_mock_push_request_errors(cluster_, kEndTxn, 1, RD_KAFKA_RESP_ERR_INVALID_TXN_STATE);
    ASSERT_TRUE(p.publish(alerts({"7-1"})));
    outcome = commitAt(10);
    if (!outcome) break;
    EXPECT_EQ(*outcome, Outcome::Aborted);
    ++aborted;
  }
  ASSERT_FALSE(outcome) << "replaced without end";
  EXPECT_EQ(outcome.error().kind, ErrorKind::Fatal);
  EXPECT_NE(outcome.error().message.find("times in a row"), std::string::npos) << outcome.error().message;
  EXPECT_EQ(aborted, 5);
  EXPECT_EQ(p.reopened(), 5u);
}

}  // namespace
}  // namespace cdc::kafka
