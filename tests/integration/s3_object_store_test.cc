// The object store's contract on S3: the S3 adapter against moto's server (`scripts/stack up
// aws`), the same tests the local-directory store passes, multipart upload included.

#include <gtest/gtest.h>

#include <unistd.h>

#include "adapters/aws/s3_object_store.h"
#include "support/moto.h"
#include "support/object_store_contract.h"

namespace cdc::aws {
namespace {

struct FreshBucketOnMoto {
  static std::unique_ptr<store::ObjectStore> make() {
    auto client = test::motoClient("s3");
    if (!client) return nullptr;
    static int n = 0;
    S3Options o;
    o.bucket = "cdc-test-" + std::to_string(::getpid()) + "-" + std::to_string(++n);
    o.pathStyle = true;
    o.multipartThreshold = 6u << 20;  // the 12 MiB object goes up in three parts
    o.partSize = 5u << 20;
    auto s3 = std::make_unique<S3ObjectStore>(std::move(client), o);
    auto created = s3->ensureBucket();
    EXPECT_TRUE(created.has_value()) << created.error().message;
    return s3;
  }
};

}  // namespace
}  // namespace cdc::aws

namespace cdc::test {
INSTANTIATE_TYPED_TEST_SUITE_P(S3, ObjectStoreContract, cdc::aws::FreshBucketOnMoto);
}  // namespace cdc::test
