#pragma once

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <simdjson.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace cdc::test {

// Forwards to moto (which does not check signatures, so a request can be changed on the way)
// and injects faults: every `throttleEvery`-th request is refused with a throttling error, every
// `conflictEvery`-th TransactWriteItems is cancelled as conflicting with another transaction,
// BatchWriteItem gets only its first half through (the rest comes back as UnprocessedItems),
// stop()/start() make the endpoint refuse connections for a while, and `delay` makes every
// request wait before it is forwarded (with `oneAtATime`, requests wait for each other too: an
// endpoint that serves one request per `delay`, as a table at its capacity).
class FaultProxy {
 public:
  explicit FaultProxy(std::string upstream) : upstream_(std::move(upstream)) {
    // A free port, kept across restarts. (A socket left bound on it would share the port's
    // connections: the probe socket is closed here.)
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    ::close(fd);
  }
  ~FaultProxy() { stop(); }

  void start() {
    server_ = std::make_unique<httplib::Server>();
    server_->Post(".*", [this](const httplib::Request& req, httplib::Response& res) { handle(req, res); });
    server_->Put(".*", [this](const httplib::Request& req, httplib::Response& res) { handle(req, res); });
    server_->Get(".*", [this](const httplib::Request& req, httplib::Response& res) { handle(req, res); });
    server_->Delete(".*", [this](const httplib::Request& req, httplib::Response& res) { handle(req, res); });
    server_->Options(".*", [this](const httplib::Request& req, httplib::Response& res) { handle(req, res); });
    for (int i = 0; i < 100 && !server_->bind_to_port("127.0.0.1", port_); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    thread_ = std::thread([s = server_.get()] { s->listen_after_bind(); });
    while (!server_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  void stop() {
    if (!server_) return;
    server_->stop();
    thread_.join();
    server_.reset();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  int throttleEvery = 0;
  int conflictEvery = 0;
  // Every Nth TransactWriteItems is applied upstream, then answered 500: the caller cannot know
  // it was applied (moto ignores ClientRequestToken, so the retry's conditions fail).
  int failAfterApplyEvery = 0;
  bool splitBatches = false;
  std::chrono::milliseconds delay{0};
  bool oneAtATime = false;
  // A delay that may change while requests flow (a store that turns slow for a while), added to
  // `delay`.
  std::atomic<int> slowMs{0};
  std::atomic<int> requests{0}, throttled{0}, split{0}, transactions{0}, conflicts{0}, appliedThenFailed{0};
  // DynamoDB requests seen, by operation ("GetItem", "Scan" …).
  int operations(const std::string& name) const {
    std::lock_guard lock(operationsMutex_);
    auto it = operations_.find(name);
    return it == operations_.end() ? 0 : it->second;
  }

 private:
  void handle(const httplib::Request& req, httplib::Response& res) {
    try {
      forward(req, res);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "proxy: %s %s: %s\n", req.method.c_str(), req.target.c_str(), e.what());
      res.status = 502;
    }
  }

  void forward(const httplib::Request& req, httplib::Response& res) {
    std::unique_lock<std::mutex> serial(serial_, std::defer_lock);
    if (oneAtATime) serial.lock();
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
    if (int slow = slowMs.load(); slow > 0) std::this_thread::sleep_for(std::chrono::milliseconds(slow));
    int n = ++requests;
    std::string target = req.get_header_value("X-Amz-Target");
    if (auto dot = target.rfind('.'); dot != std::string::npos) {
      std::lock_guard lock(operationsMutex_);
      ++operations_[target.substr(dot + 1)];
    }
    if (throttleEvery > 0 && n % throttleEvery == 0) {
      ++throttled;
      if (target.empty()) {  // S3
        res.status = 503;
        res.set_content("<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>",
                        "application/xml");
      } else {
        res.status = 400;
        res.set_content(
            R"({"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"Rate exceeded"})",
            "application/x-amz-json-1.0");
      }
      return;
    }
    if (conflictEvery > 0 && target.ends_with(".TransactWriteItems") && ++transactions % conflictEvery == 0) {
      ++conflicts;
      res.status = 400;
      res.set_content(
          R"({"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException",)"
          R"("Message":"Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict]",)"
          R"("CancellationReasons":[{"Code":"TransactionConflict","Message":"Transaction is ongoing for the item"}]})",
          "application/x-amz-json-1.0");
      return;
    }
    std::string body = req.body;
    std::string unprocessed;
    if (splitBatches && target.ends_with(".BatchWriteItem")) splitBatch(body, unprocessed);
    httplib::Client upstream(upstream_);
    httplib::Headers headers;
    for (const auto& [k, v] : req.headers) {
      if (k != "Host" && k != "Content-Length" && k != "REMOTE_ADDR" && k != "REMOTE_PORT" && k != "LOCAL_ADDR" &&
          k != "LOCAL_PORT") {
        headers.emplace(k, v);
      }
    }
    std::string path = req.target;
    std::string type = req.get_header_value("Content-Type");
    httplib::Result r = req.method == "GET"      ? upstream.Get(path, headers)
                        : req.method == "HEAD"   ? upstream.Head(path, headers)
                        : req.method == "DELETE" ? upstream.Delete(path, headers, body, type)
                        : req.method == "PUT"    ? upstream.Put(path, headers, body, type)
                                                 : upstream.Post(path, headers, body, type);
    if (!r) {
      res.status = 502;
      return;
    }
    if (failAfterApplyEvery > 0 && target.ends_with(".TransactWriteItems") && r->status == 200 &&
        ++appliedUnanswered_ % failAfterApplyEvery == 0) {
      ++appliedThenFailed;
      res.status = 500;
      res.set_content(R"({"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"Internal server error"})",
                      "application/x-amz-json-1.0");
      return;
    }
    res.status = r->status;
    for (const auto& [k, v] : r->headers) {
      if (k != "Content-Length" && k != "Transfer-Encoding" && k != "Connection") res.set_header(k, v);
    }
    std::string answer = r->body;
    if (!unprocessed.empty() && r->status == 200) answer = R"({"UnprocessedItems":)" + unprocessed + "}";
    res.set_content(answer, r->get_header_value("Content-Type"));
  }

  // Keeps the first half of each table's requests in `body`; the rest goes to `unprocessed`.
  void splitBatch(std::string& body, std::string& unprocessed) {
    simdjson::dom::parser parser;
    simdjson::dom::object tables;
    if (parser.parse(body)["RequestItems"].get_object().get(tables)) return;
    std::string kept = "{\"RequestItems\":{", left = "{";
    bool any = false;
    for (auto [table, requests] : tables) {
      simdjson::dom::array list;
      if (requests.get_array().get(list)) return;
      size_t n = list.size(), keep = n > 1 ? n / 2 : n, i = 0;
      std::string quoted = "\"" + std::string(table) + "\"";
      kept += (kept.back() == '{' ? "" : ",") + quoted + ":[";
      std::string rest;
      for (auto r : list) {
        std::string json = simdjson::minify(r);
        if (i++ < keep) {
          kept += (kept.back() == '[' ? "" : ",") + json;
        } else {
          rest += (rest.empty() ? "" : ",") + json;
        }
      }
      kept += "]";
      if (!rest.empty()) {
        left += (left.size() > 1 ? "," : "") + quoted + ":[" + rest + "]";
        any = true;
      }
    }
    if (!any) return;
    body = kept + "}}";
    unprocessed = left + "}";
    ++split;
  }

  std::string upstream_;
  std::mutex serial_;
  std::atomic<int> appliedUnanswered_{0};
  mutable std::mutex operationsMutex_;
  std::map<std::string, int> operations_;
  int port_ = 0;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
};

}  // namespace cdc::test
