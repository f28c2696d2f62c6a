#include "adapters/aws/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <mutex>

namespace cdc::aws {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  return out;
}

size_t onBody(char* data, size_t size, size_t n, void* user) {
  static_cast<HttpResponse*>(user)->body.append(data, size * n);
  return size * n;
}

size_t onHeader(char* data, size_t size, size_t n, void* user) {
  auto* r = static_cast<HttpResponse*>(user);
  std::string_view line(data, size * n);
  if (line.starts_with("HTTP/")) {
    r->headers.clear();  // a new response (after 100 Continue or a redirect)
    return size * n;
  }
  auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) value.remove_suffix(1);
    r->headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
  }
  return size * n;
}

void globalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

std::optional<HttpRequest> requestForUrl(std::string_view url) {
  auto sep = url.find("://");
  if (sep == std::string_view::npos) return std::nullopt;
  HttpRequest r;
  r.scheme = std::string(url.substr(0, sep));
  if (r.scheme != "http" && r.scheme != "https") return std::nullopt;
  std::string_view rest = url.substr(sep + 3);
  auto slash = rest.find('/');
  r.host = std::string(rest.substr(0, slash));
  if (r.host.empty() || r.host.find('@') != std::string::npos) return std::nullopt;
  r.path = slash == std::string_view::npos ? "" : std::string(rest.substr(slash));
  while (!r.path.empty() && r.path.back() == '/') r.path.pop_back();
  return r;
}

const std::string* HttpResponse::header(std::string_view name) const {
  std::string want = lower(name);
  for (const auto& [k, v] : headers) {
    if (lower(k) == want) return &v;
  }
  return nullptr;
}

// One transfer slot: an easy handle reused across requests (its connection stays in the
// multi handle's cache) and the header list that must outlive the transfer.
struct Slot {
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  HttpResponse* response = nullptr;
};

struct HttpClient::Impl {
  HttpClientOptions options;
  CURLM* multi = nullptr;
  std::vector<Slot> slots;

  void setup(Slot& slot, const HttpRequest& r, HttpResponse& response) {
    CURL* e = slot.easy;
    curl_easy_reset(e);
    slot.response = &response;
    std::string url = r.url();
    curl_easy_setopt(e, CURLOPT_URL, url.c_str());
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connectTimeout.count()));
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(options.requestTimeout.count()));
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, onBody);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &response);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, onHeader);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &response);
    if (r.method == "GET") {
      curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else if (r.method == "HEAD") {
      curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else {
      // The body is copied: the request may go away before a retry of the transfer.
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
      curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, r.body.c_str());
      curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r.method.c_str());
    }
    if (slot.headers) curl_slist_free_all(slot.headers);
    slot.headers = nullptr;
    bool hasContentType = false;
    for (const auto& [k, v] : r.headers) {
      if (lower(k) == "host") continue;  // curl writes Host from the URL (the same value)
      hasContentType = hasContentType || lower(k) == "content-type";
      std::string line = k;
      line += ": ";
      line += v;
      slot.headers = curl_slist_append(slot.headers, line.c_str());
    }
    // No "Expect: 100-continue" round trip for large bodies; no form content type by default.
    slot.headers = curl_slist_append(slot.headers, "Expect:");
    if (!hasContentType) slot.headers = curl_slist_append(slot.headers, "Content-Type:");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, slot.headers);
  }
};

HttpClient::HttpClient(HttpClientOptions options) : impl_(std::make_unique<Impl>()) {
  globalInit();
  impl_->options = options;
  impl_->multi = curl_multi_init();
  curl_multi_setopt(impl_->multi, CURLMOPT_MAXCONNECTS, static_cast<long>(options.maxConcurrent));
  impl_->slots.resize(std::max<size_t>(1, options.maxConcurrent));
  for (auto& s : impl_->slots) s.easy = curl_easy_init();
}

HttpClient::~HttpClient() {
  // Lifetime hazard: easy handles must leave the multi handle before either is cleaned up.
  for (auto& s : impl_->slots) {
    curl_multi_remove_handle(impl_->multi, s.easy);
    curl_easy_cleanup(s.easy);
    if (s.headers) curl_slist_free_all(s.headers);
  }
  curl_multi_cleanup(impl_->multi);
}

HttpResponse HttpClient::send(const HttpRequest& request) { return std::move(sendAll(std::span(&request, 1)).front()); }

std::vector<HttpResponse> HttpClient::sendAll(std::span<const HttpRequest> requests) {
  std::vector<HttpResponse> responses(requests.size());
  std::vector<Slot*> free;
  for (auto& s : impl_->slots) free.push_back(&s);
  size_t next = 0, active = 0;
  while (next < requests.size() || active > 0) {
    while (!free.empty() && next < requests.size()) {
      Slot* slot = free.back();
      free.pop_back();
      impl_->setup(*slot, requests[next], responses[next]);
      curl_easy_setopt(slot->easy, CURLOPT_PRIVATE, slot);
      curl_multi_add_handle(impl_->multi, slot->easy);
      ++next;
      ++active;
    }
    int running = 0;
    curl_multi_perform(impl_->multi, &running);
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(impl_->multi, &queued)) {
      if (msg->msg != CURLMSG_DONE) continue;
      Slot* slot = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &slot);
      HttpResponse& r = *slot->response;
      if (msg->data.result == CURLE_OK) {
        curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &r.status);
      } else {
        r.status = 0;
        r.transportError = curl_easy_strerror(msg->data.result);
        r.timedOut = msg->data.result == CURLE_OPERATION_TIMEDOUT;
      }
      curl_multi_remove_handle(impl_->multi, msg->easy_handle);
      free.push_back(slot);
      --active;
    }
    if (active > 0) curl_multi_poll(impl_->multi, nullptr, 0, 100, nullptr);
  }
  return responses;
}

}  // namespace cdc::aws
