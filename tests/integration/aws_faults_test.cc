// Transient AWS failures never lose a message: a proxy in front of moto's server throttles
// requests, leaves BatchWriteItem items unprocessed, and stops listening for a while; the
// services run through it and still end with the embedded run's tables.

#include <gtest/gtest.h>

#include <httplib.h>
#include <simdjson.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <mutex>
#include <regex>
#include <thread>

#include "support/process.h"
#include "support/run.h"
#include "support/same_lines.h"
#include "support/stack.h"

namespace cdc::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Forwards to moto (which does not check signatures, so a request can be changed on the way)
// and injects faults: every `throttleEvery`-th request is refused with a throttling error,
// BatchWriteItem gets only its first half through (the rest comes back as UnprocessedItems),
// and stop()/start() make the endpoint refuse connections for a while.
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
    for (int i = 0; i < 100 && !server_->bind_to_port("127.0.0.1", port_); ++i) std::this_thread::sleep_for(50ms);
    thread_ = std::thread([s = server_.get()] { s->listen_after_bind(); });
    while (!server_->is_running()) std::this_thread::sleep_for(5ms);
  }
  void stop() {
    if (!server_) return;
    server_->stop();
    thread_.join();
    server_.reset();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  int throttleEvery = 0;
  bool splitBatches = false;
  std::atomic<int> requests{0}, throttled{0}, split{0};

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
    int n = ++requests;
    std::string target = req.get_header_value("X-Amz-Target");
    if (throttleEvery > 0 && n % throttleEvery == 0) {
      ++throttled;
      if (target.empty()) {  // S3
        res.status = 503;
        res.set_content("<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>", "application/xml");
      } else {
        res.status = 400;
        res.set_content(R"({"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"Rate exceeded"})",
                        "application/x-amz-json-1.0");
      }
      return;
    }
    std::string body = req.body;
    std::string unprocessed;
    if (splitBatches && target.ends_with(".BatchWriteItem")) splitBatch(body, unprocessed);
    httplib::Client upstream(upstream_);
    httplib::Headers headers;
    for (const auto& [k, v] : req.headers) {
      if (k != "Host" && k != "Content-Length" && k != "REMOTE_ADDR" && k != "REMOTE_PORT" && k != "LOCAL_ADDR" && k != "LOCAL_PORT") {
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
  int port_ = 0;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
};

class AwsFaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    endpoint_ = awsEndpoint();
    ASSERT_FALSE(endpoint_.empty()) << "no AWS endpoint: run scripts/stack up aws";
    static int n = 0;
    prefix_ = "flt" + std::to_string(::getpid()) + "-" + std::to_string(++n);
    dir_ = fs::temp_directory_path() / ("cdc-aws-" + prefix_);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    proxy_ = std::make_unique<FaultProxy>(endpoint_);
    proxy_->start();
  }
  void TearDown() override {
    proxy_.reset();
    if (!HasFailure()) fs::remove_all(dir_);
  }
  void generate(const std::string& flags) {
    workload_ = (dir_ / "events.jsonl").string();
    ASSERT_EQ(run(cdcBinary() + " generate " + flags + " --topic-prefix " + prefix_ + " > " + workload_, false).exitCode, 0);
  }
  std::string command(const std::string& service, bool onAws) const {
    std::string args = service + " --source file:" + workload_ + " --topic-prefix " + prefix_ + " --table-name " + prefix_ + "-" +
                       service + " --log-level warn" + (service == "search-indexer" ? " --http-port 0" : "");
    if (!onAws) return cdcBinary() + " " + args + " --store sqlite:embedded.db --objects dir:lake";
    return "env AWS_ENDPOINT_URL=" + proxy_->url() +
           " AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing " + cdcBinary() + " " + args +
           " --store dynamodb --objects s3 --s3-bucket " + prefix_ + "-lake";
  }
  std::string dump(const std::string& table, bool onAws) {
    std::string store = onAws ? "env AWS_ENDPOINT_URL=" + endpoint_ +
                                    " AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing " + cdcBinary() +
                                    " dump --store dynamodb"
                              : cdcBinary() + " dump --store sqlite:embedded.db";
    auto r = run("cd " + dir_.string() + " && " + store + " --table " + table, false);
    EXPECT_EQ(r.exitCode, 0);
    EXPECT_GT(r.out.size(), 50u) << table << " is empty";
    return std::regex_replace(r.out, std::regex("\"(version|expires_at)\":[0-9]+,?"), "");
  }

  std::string endpoint_, prefix_, workload_;
  fs::path dir_;
  std::unique_ptr<FaultProxy> proxy_;
};

TEST_F(AwsFaultsTest, ThrottlingAndUnprocessedItemsAreRetriedWithoutLoss) {
  generate("--products 80 --orders 150");
  proxy_->throttleEvery = 4;
  proxy_->splitBatches = true;
  auto r = run("cd " + dir_.string() + " && " + command("search-indexer", true));
  ASSERT_EQ(r.exitCode, 0) << r.out;
  EXPECT_NE(r.out.find(" 0 dead letters"), std::string::npos) << r.out;
  EXPECT_GT(proxy_->throttled.load(), 10);
  EXPECT_GT(proxy_->split.load(), 5);
  ASSERT_EQ(run("cd " + dir_.string() + " && " + command("search-indexer", false)).exitCode, 0);
  for (const std::string suffix : {"", "-postings", "-tokens"}) {
    SCOPED_TRACE(suffix);
    std::string table = prefix_ + "-search-indexer" + suffix;
    EXPECT_TRUE(sameLines(dump(table, true), dump(table, false)));
  }
}

TEST_F(AwsFaultsTest, AnEndpointStoppedMidRunLosesNothingAndTheRunCompletesWhenItReturns) {
  generate("--products 60 --orders 600");
  Process service(command("inventory", true), (dir_ / "inventory.log").string(), dir_.string());
  std::this_thread::sleep_for(1500ms);
  ASSERT_TRUE(service.running()) << "finished before the outage: make the workload larger\n" << service.output();
  proxy_->stop();
  std::this_thread::sleep_for(5s);
  EXPECT_TRUE(service.running()) << "it waits for the endpoint\n" << service.output();
  proxy_->start();
  auto code = service.wait(240s);
  ASSERT_TRUE(code.has_value()) << "did not finish after the endpoint returned\n" << service.output();
  EXPECT_EQ(*code, 0) << service.output();
  std::string out = service.output();
  EXPECT_NE(out.find("circuit_open"), std::string::npos) << "the outage is visible in the log\n" << out;
  EXPECT_NE(out.find(" 0 dead letters"), std::string::npos) << out;
  ASSERT_EQ(run("cd " + dir_.string() + " && " + command("inventory", false)).exitCode, 0);
  for (const std::string suffix : {"", "-ledger"}) {
    SCOPED_TRACE(suffix);
    std::string table = prefix_ + "-inventory" + suffix;
    EXPECT_TRUE(sameLines(dump(table, true), dump(table, false)));
  }
}

}  // namespace
}  // namespace cdc::test
