// Signature Version 4 against AWS's published test suite (aws-sig-v4-test-suite: credentials
// AKIDEXAMPLE, region us-east-1, service "service", 20150830T123600Z) and the S3 GetObject
// example of the S3 API reference.

#include <gtest/gtest.h>

#include "adapters/aws/sigv4.h"

namespace cdc::aws {
namespace {

const Credentials kSuite{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};

SigningOptions suiteOptions() { return {"us-east-1", "service", "20150830T123600Z", false, true}; }

HttpRequest get(std::string path, std::vector<std::pair<std::string, std::string>> query = {}) {
  HttpRequest r;
  r.method = "GET";
  r.host = "example.amazonaws.com";
  r.path = std::move(path);
  r.query = std::move(query);
  return r;
}

std::string signature(HttpRequest r, const Credentials& c = kSuite, const SigningOptions& o = suiteOptions()) {
  signV4(r, c, o);
  const std::string* auth = r.header("Authorization");
  EXPECT_NE(auth, nullptr);
  return auth ? auth->substr(auth->find("Signature=") + 10) : std::string();
}

TEST(SigV4Test, GetVanilla) {
  HttpRequest r = get("/");
  signV4(r, kSuite, suiteOptions());
  EXPECT_EQ(*r.header("Authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, "
            "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
  EXPECT_EQ(*r.header("x-amz-date"), "20150830T123600Z");
}

TEST(SigV4Test, QueryParametersAreSortedAndEncoded) {
  EXPECT_EQ(signature(get("/", {{"Param2", "value2"}, {"Param1", "value1"}})),
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
  std::string unreserved = "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  EXPECT_EQ(signature(get("/", {{unreserved, unreserved}})), "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197");
}

TEST(SigV4Test, HeaderValuesAreTrimmedAndPathsEncoded) {
  HttpRequest r = get("/");
  r.headers = {{"My-Header1", " value1"}, {"My-Header2", " \"a   b   c\""}};
  EXPECT_EQ(signature(r), "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736");
  // The suite's request lines carry these paths raw: their canonical form is encoded once.
  SigningOptions once = suiteOptions();
  once.doubleEncodePath = false;
  EXPECT_EQ(signature(get("/ሴ"), kSuite, once), "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85");
  EXPECT_EQ(signature(get("/example space/"), kSuite, once), "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741");
  std::string ignored;
  EXPECT_NE(canonicalRequest(get("/a b"), suiteOptions(), sha256Hex(""), ignored).find("\n/a%2520b\n"), std::string::npos)
      << "other services sign the encoded path encoded again";
}

TEST(SigV4Test, SessionTokenIsSentAndSigned) {
  Credentials c = kSuite;
  c.sessionToken = "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267";
  HttpRequest r = get("/");
  signV4(r, c, suiteOptions());
  EXPECT_EQ(*r.header("X-Amz-Security-Token"), c.sessionToken);
  EXPECT_NE(r.header("Authorization")->find("SignedHeaders=host;x-amz-date;x-amz-security-token,"), std::string::npos);
  EXPECT_EQ(signature(get("/"), c), "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8");
}

TEST(SigV4Test, PostWithABodyAndItsHash) {
  HttpRequest r;
  r.method = "POST";
  r.host = "example.amazonaws.com";
  r.headers = {{"Content-Type", "application/x-www-form-urlencoded"}, {"Content-Length", "13"}};
  r.body = "Param1=value1";
  SigningOptions o = suiteOptions();
  o.contentSha256Header = true;
  EXPECT_EQ(signature(r, kSuite, o), "d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b");
}

TEST(SigV4Test, S3GetObjectExample) {
  HttpRequest r;
  r.host = "examplebucket.s3.amazonaws.com";
  r.path = "/test.txt";
  r.headers = {{"Range", "bytes=0-9"}};
  Credentials c{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
  SigningOptions o{"us-east-1", "s3", "20130524T000000Z", true, false};
  EXPECT_EQ(signature(r, c, o), "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(SigV4Test, SigningTwiceReplacesTheFirstSignature) {
  HttpRequest r = get("/");
  signV4(r, kSuite, {"us-east-1", "service", "20150830T000000Z", false, true});
  signV4(r, kSuite, suiteOptions());
  int authorizations = 0;
  for (const auto& [k, v] : r.headers) authorizations += k == "Authorization";
  EXPECT_EQ(authorizations, 1);
  EXPECT_NE(r.header("Authorization")->find("5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
            std::string::npos);
}

TEST(SigV4Test, UrlsAreEncodedOnce) {
  HttpRequest r = get("/bucket/dlq/a b/ሴ.json", {{"list-type", "2"}, {"prefix", "dlq/x y"}});
  r.scheme = "http";
  r.host = "127.0.0.1:4566";
  EXPECT_EQ(r.url(), "http://127.0.0.1:4566/bucket/dlq/a%20b/%E1%88%B4.json?list-type=2&prefix=dlq%2Fx%20y");
}

}  // namespace
}  // namespace cdc::aws
