#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "adapters/aws/aws_client.h"
#include "support/stack.h"

namespace cdc::test {

// A client of moto's server (`scripts/stack up aws`) for one service, with the test keys moto
// accepts; null (and a failure) when no server runs.
inline std::unique_ptr<aws::AwsClient> motoClient(const std::string& service) {
  struct TestKeys final : aws::CredentialsSource {
    std::string name() const override { return "test keys"; }
    Result<aws::TimedCredentials> fetch() override { return aws::TimedCredentials{{"testing", "testing", ""}, std::nullopt}; }
  };
  std::string url = awsEndpoint();
  EXPECT_FALSE(url.empty()) << "no AWS endpoint: run scripts/stack up aws";
  if (url.empty()) return nullptr;
  auto endpoint = aws::AwsEndpoint::resolve(service, "us-east-1", url, "AWS_ENDPOINT_URL");
  if (!endpoint) return nullptr;
  return std::make_unique<aws::AwsClient>(*endpoint, std::make_shared<aws::CredentialsProvider>(std::make_unique<TestKeys>()));
}

}  // namespace cdc::test
