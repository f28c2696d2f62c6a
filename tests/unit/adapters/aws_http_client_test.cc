// The libcurl client against a local HTTP server (cpp-httplib on port 0): methods, bodies and
// headers both ways, kept-alive connections, concurrent requests, transport errors, timeouts.

#include <gtest/gtest.h>

#include "support/local_http_server.h"

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "adapters/aws/http_client.h"

namespace cdc::aws {
namespace {

using namespace std::chrono_literals;

class HttpClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    http_.server.Get("/hello", [this](const httplib::Request& req, httplib::Response& res) {
      note(req);
      res.set_header("X-Answer", "42");
      res.set_content("hello " + req.get_header_value("X-Name"), "text/plain");
    });
    http_.server.Put(R"(/echo/(.*))", [this](const httplib::Request& req, httplib::Response& res) {
      note(req);
      res.set_content(req.method + " " + req.matches[1].str() + " " + req.body + " " + req.get_header_value("Content-Type"),
                      "text/plain");
    });
    http_.server.Post("/echo", [this](const httplib::Request& req, httplib::Response& res) {
      note(req);
      res.status = 400;
      res.set_content(req.body, "application/json");
    });
    http_.server.Delete("/thing", [this](const httplib::Request& req, httplib::Response& res) {
      note(req);
      res.status = 204;
    });
    http_.server.Get("/slow", [this](const httplib::Request& req, httplib::Response& res) {
      note(req);
      int now = ++inFlight_;
      int seen = maxInFlight_.load();
      while (now > seen && !maxInFlight_.compare_exchange_weak(seen, now)) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(std::stoi(req.get_param_value("ms"))));
      --inFlight_;
      res.set_content(req.get_param_value("i"), "text/plain");
    });
    http_.start();
    port_ = http_.port;
  }
  void note(const httplib::Request& req) {
    std::lock_guard lock(mutex_);
    clientPorts_.insert(req.remote_port);
  }
  HttpRequest request(std::string method, std::string path) const {
    HttpRequest r;
    r.method = std::move(method);
    r.scheme = "http";
    r.host = "127.0.0.1:" + std::to_string(port_);
    r.path = std::move(path);
    return r;
  }

  test::LocalHttpServer http_;
  int port_ = 0;
  std::mutex mutex_;
  std::set<int> clientPorts_;
  std::atomic<int> inFlight_{0};
  std::atomic<int> maxInFlight_{0};
};

TEST_F(HttpClientTest, MethodsBodiesAndHeadersBothWays) {
  HttpClient client;
  HttpRequest get = request("GET", "/hello");
  get.headers = {{"X-Name", "cdc"}};
  auto r = client.send(get);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello cdc");
  ASSERT_NE(r.header("x-answer"), nullptr);
  EXPECT_EQ(*r.header("x-answer"), "42");

  HttpRequest put = request("PUT", "/echo/a b");
  put.body = std::string("{\"k\":\"\0x\"}", 10);
  put.headers = {{"Content-Type", "application/json"}};
  r = client.send(put);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "PUT a b " + put.body + " application/json") << "binary-safe body, decoded path";

  HttpRequest post = request("POST", "/echo");
  post.body = "{\"__type\":\"x\"}";
  r = client.send(post);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, post.body);

  r = client.send(request("DELETE", "/thing"));
  EXPECT_EQ(r.status, 204);
  EXPECT_TRUE(r.body.empty());
}

TEST_F(HttpClientTest, SequentialRequestsReuseOneConnection) {
  HttpClient client;
  for (int i = 0; i < 5; ++i) EXPECT_EQ(client.send(request("GET", "/hello")).status, 200);
  EXPECT_EQ(clientPorts_.size(), 1u);
}

TEST_F(HttpClientTest, SendAllRunsRequestsConcurrentlyAndKeepsTheirOrder) {
  HttpClient client({.maxConcurrent = 6});
  std::vector<HttpRequest> requests;
  for (int i = 0; i < 12; ++i) {
    auto r = request("GET", "/slow");
    r.query = {{"ms", "150"}, {"i", std::to_string(i)}};
    requests.push_back(r);
  }
  auto responses = client.sendAll(requests);
  ASSERT_EQ(responses.size(), 12u);
  for (int i = 0; i < 12; ++i) {
    EXPECT_EQ(responses[i].status, 200);
    EXPECT_EQ(responses[i].body, std::to_string(i));
  }
  EXPECT_GE(maxInFlight_.load(), 4) << "requests overlapped at the server";
  EXPECT_LE(maxInFlight_.load(), 6);
}

TEST_F(HttpClientTest, TransportErrorsAndTimeoutsAreReported) {
  HttpClient client({.connectTimeout = 1s, .requestTimeout = 300ms});
  HttpRequest refused = request("GET", "/hello");
  refused.host = "127.0.0.1:1";
  auto r = client.send(refused);
  EXPECT_EQ(r.status, 0);
  EXPECT_FALSE(r.transportError.empty());
  EXPECT_FALSE(r.timedOut);

  auto slow = request("GET", "/slow");
  slow.query = {{"ms", "1500"}, {"i", "0"}};
  r = client.send(slow);
  EXPECT_EQ(r.status, 0);
  EXPECT_TRUE(r.timedOut) << r.transportError;
}

}  // namespace
}  // namespace cdc::aws
