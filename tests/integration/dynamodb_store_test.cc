// The table store's contract on DynamoDB: the DynamoDB adapter against moto's server
// (`scripts/stack up aws`), the same tests the SQLite store passes.

#include <gtest/gtest.h>

#include <unistd.h>

#include "adapters/aws/dynamodb_table_store.h"
#include "support/stack.h"
#include "support/table_store_contract.h"

namespace cdc::aws {
namespace {

class StaticSource final : public CredentialsSource {
 public:
  std::string name() const override { return "test keys"; }
  Result<TimedCredentials> fetch() override { return TimedCredentials{{"testing", "testing", ""}, std::nullopt}; }
};

struct DynamoDbOnMoto {
  static std::unique_ptr<store::TableStore> make() {
    std::string url = test::awsEndpoint();
    EXPECT_FALSE(url.empty()) << "no AWS endpoint: run scripts/stack up aws";
    if (url.empty()) return nullptr;
    auto endpoint = AwsEndpoint::resolve("dynamodb", "us-east-1", url, "AWS_ENDPOINT_URL");
    if (!endpoint) return nullptr;
    auto credentials = std::make_shared<CredentialsProvider>(std::make_unique<StaticSource>());
    return std::make_unique<DynamoDbTableStore>(std::make_unique<AwsClient>(*endpoint, credentials));
  }
  // moto keeps its tables for the whole run: fresh names for every test.
  static std::string prefix() {
    static int n = 0;
    return "t" + std::to_string(::getpid()) + "-" + std::to_string(++n) + "-";
  }
};

}  // namespace
}  // namespace cdc::aws

namespace cdc::test {
INSTANTIATE_TYPED_TEST_SUITE_P(DynamoDb, TableStoreContract, cdc::aws::DynamoDbOnMoto);
}  // namespace cdc::test
