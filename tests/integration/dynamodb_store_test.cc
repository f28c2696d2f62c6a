// The table store's contract on DynamoDB: the DynamoDB adapter against moto's server
// (`scripts/stack up aws`), the same tests the SQLite store passes.

#include <gtest/gtest.h>

#include <unistd.h>

#include "adapters/aws/dynamodb_table_store.h"
#include "support/moto.h"
#include "support/table_store_contract.h"

namespace cdc::aws {
namespace {

struct DynamoDbOnMoto {
  static std::unique_ptr<store::TableStore> make() {
    auto client = test::motoClient("dynamodb");
    return client ? std::make_unique<DynamoDbTableStore>(std::move(client)) : nullptr;
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
