#include "adapters/aws/s3_object_store.h"

#include <openssl/evp.h>

#include <pugixml.hpp>

#include "adapters/aws/client_metrics.h"
#include "core/base64.h"
#include "core/log.h"
#include "core/time.h"

namespace cdc::aws {
namespace {

std::string md5Base64(std::string_view body) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(body.data(), body.size(), digest, &len, EVP_md5(), nullptr);
  return base64Encode(std::string_view(reinterpret_cast<const char*>(digest), len));
}

}  // namespace

S3ObjectStore::S3ObjectStore(std::unique_ptr<AwsClient> client, S3Options options)
    : client_(std::move(client)), options_(std::move(options)) {}

HttpRequest S3ObjectStore::request(std::string method, std::string_view key) const {
  if (options_.pathStyle) {
    return client_->request(std::move(method), "/" + options_.bucket + (key.empty() ? "" : "/" + std::string(key)));
  }
  HttpRequest r = client_->request(std::move(method), "/" + std::string(key));
  r.host = options_.bucket + "." + r.host;
  return r;
}

HttpRequest S3ObjectStore::putRequest(std::string_view key, std::string_view body, std::string_view contentType) const {
  HttpRequest r = request("PUT", key);
  r.headers = {{"Content-Type", std::string(contentType)}, {"Content-MD5", md5Base64(body)}};
  r.body = std::string(body);
  return r;
}

Error S3ObjectStore::failure(const HttpResponse& r, std::string_view what, std::string_view key) const {
  std::string message = std::string(what) + " s3://" + options_.bucket + "/" + std::string(key) + ": " + describe(r);
  std::string code = errorCode(r);
  if (code == "NoSuchBucket") return Error::fatal(message + " (S3_BUCKET / DLQ_S3_BUCKET)");
  if (code == "InvalidArgument" || code == "KeyTooLongError" || code == "InvalidObjectName" || code == "EntityTooLarge") {
    return Error::poison(message);
  }
  if (code == "BadDigest" || code == "IncompleteBody") return Error::retry(message);  // damaged on the way
  return Error::fatal(message);
}

Status S3ObjectStore::ensureBucket() {
  HttpRequest head = request("HEAD", "");
  auto r = client_->send(head);
  if (!r) return fail(r.error());
  // 403: no s3:ListBucket permission (a service that only writes dead letters): the bucket
  // is taken to exist.
  if (r->status == 200 || r->status == 403) return {};
  if (r->status != 404) return fail(failure(*r, "HeadBucket", ""));
  HttpRequest create = request("PUT", "");
  if (client_->endpoint().region != "us-east-1") {
    create.body = "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>" +
                  client_->endpoint().region + "</LocationConstraint></CreateBucketConfiguration>";
  }
  auto c = client_->send(create);
  if (!c) return fail(c.error());
  if (c->status != 200 && errorCode(*c) != "BucketAlreadyOwnedByYou") return fail(failure(*c, "CreateBucket", ""));
  log::event(spdlog::level::info, "bucket_created", {{"bucket", options_.bucket}, {"endpoint", client_->endpoint().describe()}});
  return {};
}

Status S3ObjectStore::put(std::string_view key, std::string_view body, std::string_view contentType) {
  if (!store::isValidObjectKey(key)) return fail(Error::poison("invalid object key '" + std::string(key) + "'"));
  if (body.size() >= options_.multipartThreshold) return putMultipart(key, body, contentType);
  auto answer = client_->send(putRequest(key, body, contentType));
  if (!answer) return fail(answer.error());
  if (answer->status != 200) return fail(failure(*answer, "PutObject", key));
  return {};
}

Status S3ObjectStore::putMultipart(std::string_view key, std::string_view body, std::string_view contentType) {
  HttpRequest start = request("POST", key);
  start.query = {{"uploads", ""}};
  start.headers = {{"Content-Type", std::string(contentType)}};
  auto started = client_->send(start);
  if (!started) return fail(started.error());
  if (started->status != 200) return fail(failure(*started, "CreateMultipartUpload", key));
  pugi::xml_document doc;
  doc.load_buffer(started->body.data(), started->body.size());
  std::string uploadId = doc.select_node("//*[local-name()='UploadId']").node().child_value();
  if (uploadId.empty()) return fail(Error::retry("CreateMultipartUpload: no UploadId in the answer"));

  auto abort = [&](Error e) -> Status {
    HttpRequest a = request("DELETE", key);
    a.query = {{"uploadId", uploadId}};
    (void)client_->send(a);  // best effort; a lifecycle rule removes what remains
    return fail(std::move(e));
  };
  std::vector<HttpRequest> parts;
  for (size_t offset = 0, n = 1; offset < body.size(); offset += options_.partSize, ++n) {
    HttpRequest part = request("PUT", key);
    part.query = {{"partNumber", std::to_string(n)}, {"uploadId", uploadId}};
    part.body = std::string(body.substr(offset, options_.partSize));
    part.headers = {{"Content-MD5", md5Base64(part.body)}};
    parts.push_back(std::move(part));
  }
  auto uploaded = client_->sendAll(std::move(parts));
  if (!uploaded) return abort(uploaded.error());
  std::string complete = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
  for (size_t i = 0; i < uploaded->size(); ++i) {
    const HttpResponse& r = (*uploaded)[i];
    if (r.status != 200) return abort(failure(r, "UploadPart", key));
    const std::string* etag = r.header("ETag");
    if (!etag) return abort(Error::retry("UploadPart: no ETag in the answer"));
    complete += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" + *etag + "</ETag></Part>";
  }
  complete += "</CompleteMultipartUpload>";
  HttpRequest finish = request("POST", key);
  finish.query = {{"uploadId", uploadId}};
  finish.headers = {{"Content-Type", "application/xml"}};
  finish.body = std::move(complete);
  auto done = client_->send(finish);
  if (!done) return abort(done.error());
  // S3 may answer 200 with an <Error> body when completing fails late.
  if (done->status != 200 || done->body.find("<Error>") != std::string::npos)
    return abort(failure(*done, "CompleteMultipartUpload", key));
  return {};
}

Result<std::optional<std::string>> S3ObjectStore::get(std::string_view key) {
  auto r = client_->send(request("GET", key));
  if (!r) return fail(r.error());
  if (r->status == 404 && errorCode(*r) != "NoSuchBucket") return std::optional<std::string>{};
  if (r->status != 200) return fail(failure(*r, "GetObject", key));
  return std::optional<std::string>(std::move(r->body));
}

Result<std::optional<store::TaggedObject>> S3ObjectStore::getTagged(std::string_view key) {
  auto r = client_->send(request("GET", key));
  if (!r) return fail(r.error());
  if (r->status == 404 && errorCode(*r) != "NoSuchBucket") return std::optional<store::TaggedObject>{};
  if (r->status != 200) return fail(failure(*r, "GetObject", key));
  const std::string* etag = r->header("ETag");
  if (!etag) return fail(Error::retry("GetObject s3://" + options_.bucket + "/" + std::string(key) + ": no ETag in the answer"));
  return std::optional<store::TaggedObject>(store::TaggedObject{std::move(r->body), *etag});
}

Result<std::optional<std::string>> S3ObjectStore::putIf(std::string_view key, std::string_view body,
                                                        const std::optional<std::string>& ifMatch, std::string_view contentType) {
  if (!store::isValidObjectKey(key)) return fail(Error::poison("invalid object key '" + std::string(key) + "'"));
  HttpRequest r = putRequest(key, body, contentType);
  if (ifMatch) {
    r.headers.emplace_back("If-Match", *ifMatch);
  } else {
    r.headers.emplace_back("If-None-Match", "*");
  }
  auto answer = client_->send(std::move(r));
  if (!answer) return fail(answer.error());
  if (answer->status == 200) {
    const std::string* etag = answer->header("ETag");
    if (etag) return std::optional<std::string>(*etag);
    // No tag in the answer: read it back (the body is ours unless someone wrote since).
  } else if (answer->status == 409) {
    // ConditionalRequestConflict: another conditional write of the key was in flight; S3 asks
    // for the request again.
    return fail(Error::retry(failure(*answer, "PutObject", key).message));
  } else if (answer->status != 412 && !(answer->status == 404 && ifMatch && errorCode(*answer) == "NoSuchKey")) {
    return fail(failure(*answer, "PutObject", key));
  }
  // Refused (412, or 404: the object it had to match is gone), or written without a tag in the
  // answer. A retried request whose first try was applied (its answer lost) is refused too: if
  // the object now holds exactly this body, the write was ours.
  auto now = getTagged(key);
  if (!now) return fail(now.error());
  if (*now && (*now)->body == body) return std::optional<std::string>((*now)->etag);
  if (answer->status == 200)
    return fail(Error::retry("PutObject s3://" + options_.bucket + "/" + std::string(key) + ": no ETag in the answer"));
  return std::optional<std::string>{};
}

Result<store::ObjectPage> S3ObjectStore::list(std::string_view prefix, const std::optional<std::string>& token, int maxKeys) {
  HttpRequest r = request("GET", "");
  r.query = {{"list-type", "2"}, {"prefix", std::string(prefix)}, {"max-keys", std::to_string(maxKeys)}};
  if (token) r.query.emplace_back("continuation-token", *token);
  auto answer = client_->send(std::move(r));
  if (!answer) return fail(answer.error());
  if (answer->status != 200) return fail(failure(*answer, "ListObjectsV2", prefix));
  pugi::xml_document doc;
  if (!doc.load_buffer(answer->body.data(), answer->body.size())) return fail(Error::retry("ListObjectsV2: unreadable answer"));
  pugi::xml_node result = doc.first_child();
  store::ObjectPage page;
  for (pugi::xml_node c : result.children("Contents")) {
    store::ObjectInfo info;
    info.key = c.child_value("Key");
    info.size = std::strtoull(c.child_value("Size"), nullptr, 10);
    if (auto t = parseIsoTimestamp(c.child_value("LastModified"))) info.lastModifiedMs = t->millis();
    page.objects.push_back(std::move(info));
  }
  if (std::string_view(result.child_value("IsTruncated")) == "true") {
    page.continuationToken = result.child_value("NextContinuationToken");
  }
  return page;
}

Status S3ObjectStore::remove(std::string_view key) {
  auto r = client_->send(request("DELETE", key));
  if (!r) return fail(r.error());
  if (r->status != 204 && r->status != 200 && r->status != 404) return fail(failure(*r, "DeleteObject", key));
  return {};
}

std::shared_ptr<void> S3ObjectStore::instrument(metrics::Registry& registry, metrics::Health& health, const std::string& service,
                                                const std::string& role) {
  return instrumentClient(registry, health, *client_, backendLabel("s3", role), service);
}

std::string S3ObjectStore::requestSummary(const std::string& role) const {
  return aws::requestSummary(*client_, backendLabel("s3", role));
}

std::optional<store::Instrumented::RequestCounts> S3ObjectStore::requestCounts(const std::string& role) const {
  return aws::requestCounts(*client_, backendLabel("s3", role));
}

}  // namespace cdc::aws
