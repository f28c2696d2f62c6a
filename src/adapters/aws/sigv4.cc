#include "adapters/aws/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <ctime>

namespace cdc::aws {
namespace {

std::string hex(const unsigned char* data, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 15];
  }
  return out;
}

std::array<unsigned char, 32> hmac(std::string_view key, std::string_view data) {
  std::array<unsigned char, 32> out{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()), data.size(),
       out.data(), &len);
  return out;
}

std::string_view view(const std::array<unsigned char, 32>& a) { return {reinterpret_cast<const char*>(a.data()), a.size()}; }

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  return out;
}

// Header value for signing: leading/trailing spaces removed, runs of spaces made one.
std::string trimValue(std::string_view v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

std::string encodedQuery(const std::vector<std::pair<std::string, std::string>>& query, bool sorted) {
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(query.size());
  for (const auto& [k, v] : query) encoded.emplace_back(uriEncode(k, false), uriEncode(v, false));
  if (sorted) std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [k, v] : encoded) {
    if (!out.empty()) out += '&';
    out += k;
    out += '=';
    out += v;
  }
  return out;
}

}  // namespace

std::string uriEncode(std::string_view s, bool keepSlash) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                      c == '.' || c == '~';
    if (unreserved || (keepSlash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kDigits[c >> 4];
      out += kDigits[c & 15];
    }
  }
  return out;
}

std::string sha256Hex(std::string_view data) {
  unsigned char digest[32];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  return hex(digest, len);
}

std::string HttpRequest::url() const {
  std::string out = scheme + "://" + host + uriEncode(path.empty() ? "/" : path, true);
  if (!query.empty()) out += '?' + encodedQuery(query, false);
  return out;
}

const std::string* HttpRequest::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (lower(k) == lower(name)) return &v;
  }
  return nullptr;
}

std::string canonicalRequest(const HttpRequest& r, const SigningOptions& o, std::string_view payloadHash,
                             std::string& signedHeaders) {
  std::string path = uriEncode(r.path.empty() ? "/" : r.path, true);
  if (o.doubleEncodePath) path = uriEncode(path, true);
  // Headers by lower-case name; repeated names join their values with commas.
  std::vector<std::pair<std::string, std::string>> headers;
  for (const auto& [k, v] : r.headers) {
    std::string name = lower(k);
    auto it = std::find_if(headers.begin(), headers.end(), [&](const auto& h) { return h.first == name; });
    if (it == headers.end()) {
      headers.emplace_back(std::move(name), trimValue(v));
    } else {
      it->second += ',' + trimValue(v);
    }
  }
  std::sort(headers.begin(), headers.end());
  std::string canonicalHeaders;
  signedHeaders.clear();
  for (const auto& [k, v] : headers) {
    canonicalHeaders += k;
    canonicalHeaders += ':';
    canonicalHeaders += v;
    canonicalHeaders += '\n';
    if (!signedHeaders.empty()) signedHeaders += ';';
    signedHeaders += k;
  }
  return r.method + '\n' + path + '\n' + encodedQuery(r.query, true) + '\n' + canonicalHeaders + '\n' + signedHeaders + '\n' +
         std::string(payloadHash);
}

std::string stringToSign(std::string_view canonical, const SigningOptions& o) {
  std::string scope = o.amzDate.substr(0, 8) + '/' + o.region + '/' + o.service + "/aws4_request";
  return "AWS4-HMAC-SHA256\n" + o.amzDate + '\n' + scope + '\n' + sha256Hex(canonical);
}

void signV4(HttpRequest& r, const Credentials& c, const SigningOptions& o) {
  // Headers this signer owns are replaced, so that signing again (a retry) stays correct.
  std::erase_if(r.headers, [](const auto& h) {
    std::string name = lower(h.first);
    return name == "authorization" || name == "x-amz-date" || name == "x-amz-security-token" || name == "x-amz-content-sha256";
  });
  if (!r.header("host")) r.headers.emplace_back("Host", r.host);
  r.headers.emplace_back("X-Amz-Date", o.amzDate);
  if (!c.sessionToken.empty()) r.headers.emplace_back("X-Amz-Security-Token", c.sessionToken);
  std::string payloadHash = sha256Hex(r.body);
  if (o.contentSha256Header) r.headers.emplace_back("x-amz-content-sha256", payloadHash);

  std::string signedHeaders;
  std::string canonical = canonicalRequest(r, o, payloadHash, signedHeaders);
  std::string toSign = stringToSign(canonical, o);
  auto kDate = hmac("AWS4" + c.secretAccessKey, o.amzDate.substr(0, 8));
  auto kRegion = hmac(view(kDate), o.region);
  auto kService = hmac(view(kRegion), o.service);
  auto kSigning = hmac(view(kService), "aws4_request");
  auto signature = hmac(view(kSigning), toSign);
  r.headers.emplace_back("Authorization", "AWS4-HMAC-SHA256 Credential=" + c.accessKeyId + '/' + o.amzDate.substr(0, 8) + '/' +
                                              o.region + '/' + o.service + "/aws4_request, SignedHeaders=" + signedHeaders +
                                              ", Signature=" + hex(signature.data(), signature.size()));
}

std::string amzDate(std::chrono::system_clock::time_point at) {
  std::time_t t = std::chrono::system_clock::to_time_t(at);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[20];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

}  // namespace cdc::aws
