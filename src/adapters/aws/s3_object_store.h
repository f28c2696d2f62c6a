#pragma once

#include <memory>
#include <string>

#include "adapters/aws/aws_client.h"
#include "store/object_store.h"

namespace cdc::aws {

struct S3Options {
  std::string bucket;
  // Path-style addressing (endpoint/bucket/key): local emulators; AWS itself gets
  // virtual-hosted style (bucket.s3.region.amazonaws.com/key).
  bool pathStyle = false;
  size_t multipartThreshold = 16u << 20;  // bodies this large go up in parts
  size_t partSize = 8u << 20;             // S3's minimum is 5 MiB (all parts but the last)
};

// The object store on S3's REST API: PutObject with Content-MD5 (S3 checks the body it
// received), GetObject, ListObjectsV2 with continuation tokens, DeleteObject, and multipart
// upload (parts sent concurrently, aborted on failure) above `multipartThreshold`. A put is
// atomic for readers, as S3 guarantees. Throttling (SlowDown) and outages are Retry errors
// from the client; an answer about the object itself is Poison (an invalid key) or Fatal
// (a missing bucket, refused permissions after retries). One thread at a time.
class S3ObjectStore final : public store::ObjectStore {
 public:
  S3ObjectStore(std::unique_ptr<AwsClient> client, S3Options options);

  // Creates the bucket when it does not exist (local stacks; production buckets come from
  // infrastructure code).
  Status ensureBucket();

  Status put(std::string_view key, std::string_view body, std::string_view contentType = "application/json") override;
  Result<std::optional<std::string>> get(std::string_view key) override;
  // S3's conditional writes (If-Match, If-None-Match: *), one PutObject whatever the size.
  Result<std::optional<store::TaggedObject>> getTagged(std::string_view key) override;
  Result<std::optional<std::string>> putIf(std::string_view key, std::string_view body, const std::optional<std::string>& ifMatch,
                                           std::string_view contentType) override;
  Result<store::ObjectPage> list(std::string_view prefix, const std::optional<std::string>& continuationToken,
                                 int maxKeys = 1000) override;
  Status remove(std::string_view key) override;

  const std::string& bucket() const { return options_.bucket; }
  const AwsClient& client() const { return *client_; }
  std::shared_ptr<void> instrument(metrics::Registry& registry, metrics::Health& health, const std::string& service,
                                   const std::string& role = "") override;
  std::string requestSummary(const std::string& role = "") const override;
  std::optional<RequestCounts> requestCounts(const std::string& role = "") const override;

 private:
  HttpRequest request(std::string method, std::string_view key) const;
  // A single PutObject of `body` (Content-Type, Content-MD5).
  HttpRequest putRequest(std::string_view key, std::string_view body, std::string_view contentType) const;
  Status putMultipart(std::string_view key, std::string_view body, std::string_view contentType);
  Error failure(const HttpResponse& r, std::string_view what, std::string_view key) const;

  std::unique_ptr<AwsClient> client_;
  S3Options options_;
};

}  // namespace cdc::aws
