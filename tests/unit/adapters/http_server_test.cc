// The HTTP server against raw sockets: what slow, idle, greedy and pipelining clients get,
// and that none of them keeps the others (or the probes) from an answer.

#include "adapters/http/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace cdc::http {
namespace {

using namespace std::chrono_literals;

// A blocking loopback client socket. Reads give up after `patience` (a liveness guard: every
// expectation below is an answer that must come while other clients hold their connections,
// long before any server timeout could have freed a worker).
class Client {
 public:
  explicit Client(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~Client() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool connected() const { return connected_; }
  void send(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
  }
  // Everything received until `count` responses are complete or the peer closes.
  std::vector<std::string> responses(size_t count, std::chrono::milliseconds patience = 5000ms) {
    std::vector<std::string> out;
    auto deadline = std::chrono::steady_clock::now() + patience;
    while (out.size() < count) {
      // A response is complete once its head and Content-Length bytes are here.
      auto headEnd = buffer_.find("\r\n\r\n");
      if (headEnd != std::string::npos) {
        auto cl = buffer_.find("Content-Length: ");
        size_t length = cl == std::string::npos || cl > headEnd ? 0 : std::stoul(buffer_.substr(cl + 16));
        bool head = lastWasHead_;
        size_t total = headEnd + 4 + (head ? 0 : length);
        if (buffer_.size() >= total) {
          out.push_back(buffer_.substr(0, total));
          buffer_.erase(0, total);
          continue;
        }
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left <= 0ms) break;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      char buf[65536];
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        closedByPeer_ = true;
        break;
      }
      buffer_.append(buf, static_cast<size_t>(n));
    }
    return out;
  }
  std::string response(std::chrono::milliseconds patience = 5000ms) {
    auto r = responses(1, patience);
    return r.empty() ? std::string() : r.front();
  }
  // True when the server closes the connection within `patience`.
  bool closed(std::chrono::milliseconds patience = 5000ms) {
    if (closedByPeer_) return true;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(patience.count())) <= 0) return false;
    char buf[4096];
    while (true) {
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return true;
      if (::poll(&p, 1, static_cast<int>(patience.count())) <= 0) return false;
    }
  }
  void expectHeadOnly() { lastWasHead_ = true; }

 private:
  int fd_ = -1;
  bool connected_ = false;
  bool closedByPeer_ = false;
  bool lastWasHead_ = false;
  std::string buffer_;
};

int statusOf(const std::string& response) { return response.size() > 12 ? std::stoi(response.substr(9, 3)) : 0; }

std::string bodyOf(const std::string& response) {
  auto p = response.find("\r\n\r\n");
  return p == std::string::npos ? "" : response.substr(p + 4);
}

Response echo(const Params& p) {
  std::string body;
  for (const auto& [k, v] : p) body += k + "=" + v + ";";
  return Response{200, body, "text/plain"};
}

TEST(HttpRequestTest, ParsesHeadsAndRefusesWhatIsOutOfBounds) {
  auto r = parseRequestHead("GET /search?q=wireless%20mou&limit=5&x=a+b HTTP/1.1\r\nHost: h\r\n\r\nGET", 8192);
  ASSERT_EQ(r.kind, ParseResult::Kind::Request);
  EXPECT_EQ(r.head.method, "GET");
  EXPECT_EQ(r.head.path, "/search");
  EXPECT_EQ(r.head.params.at("q"), "wireless mou");
  EXPECT_EQ(r.head.params.at("x"), "a b");
  EXPECT_TRUE(r.head.keepAlive);
  EXPECT_EQ(r.head.headBytes, std::string_view("GET /search?q=wireless%20mou&limit=5&x=a+b HTTP/1.1\r\nHost: h\r\n\r\n").size());
  EXPECT_EQ(parseRequestHead("GET / HTTP/1.1\r\nHost: h\r\n", 8192).kind, ParseResult::Kind::Incomplete);
  EXPECT_FALSE(parseRequestHead("GET / HTTP/1.0\r\n\r\n", 8192).head.keepAlive);
  EXPECT_TRUE(parseRequestHead("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", 8192).head.keepAlive);
  EXPECT_FALSE(parseRequestHead("GET / HTTP/1.1\r\nConnection: close\r\n\r\n", 8192).head.keepAlive);
  EXPECT_TRUE(parseRequestHead("GET / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", 8192).head.hasBody);
  EXPECT_EQ(parseRequestHead("GET /" + std::string(9000, 'a'), 8192).status, 414);
  EXPECT_EQ(parseRequestHead("GET / HTTP/1.1\r\nX: " + std::string(9000, 'a'), 8192).status, 431);
  EXPECT_EQ(parseRequestHead("GET / HTTP/2.0\r\n\r\n", 8192).status, 505);
  EXPECT_EQ(parseRequestHead("hello\r\n\r\n", 8192).status, 400);
  EXPECT_EQ(parseRequestHead("GET /?q=%zz HTTP/1.1\r\n\r\n", 8192).status, 400);
  EXPECT_EQ(parseRequestHead("GET /?q=%2 HTTP/1.1\r\n\r\n", 8192).status, 400);
  EXPECT_EQ(parseRequestHead("GET / HTTP/1.1\r\nno colon\r\n\r\n", 8192).status, 400);
  // RFC 9112 §5.1: whitespace between a field name and its colon is refused (a proxy in front
  // could read the line otherwise), as is a name that is not a token.
  for (std::string line : {"Host : h", "Host\t: h", "Ho st: h", "Ho\"st: h", "Höst: h"}) {
    SCOPED_TRACE(line);
    auto refused = parseRequestHead("GET / HTTP/1.1\r\n" + line + "\r\n\r\n", 8192);
    EXPECT_EQ(refused.kind, ParseResult::Kind::Error);
    EXPECT_EQ(refused.status, 400);
  }
  EXPECT_EQ(parseRequestHead("GET / HTTP/1.1\r\nHost : h\r\n\r\n", 8192).error, "whitespace before a header's colon");
  EXPECT_EQ(parseRequestHead("GET / HTTP/1.1\r\nX-Forwarded-For: a\r\nAccept: */*\r\n!#$%&'*+-.^_`|~: v\r\n\r\n", 8192).kind,
            ParseResult::Kind::Request);
}

TEST(HttpServerTest, AnswersGetHeadAndErrors) {
  HttpServer server;
  server.get("/echo", echo);
  ASSERT_TRUE(server.start("127.0.0.1", 0).has_value());
  Client c(server.port());
  ASSERT_TRUE(c.connected());
  c.send("GET /echo?b=2&a=%C3%A9 HTTP/1.1\r\nHost: x\r\n\r\n");
  auto r = c.response();
  EXPECT_EQ(statusOf(r), 200) << r;
  EXPECT_EQ(bodyOf(r), "a=\xC3\xA9;b=2;");
  EXPECT_NE(r.find("Content-Type: text/plain\r\n"), std::string::npos);
  c.send("GET /nope HTTP/1.1\r\n\r\n");
  r = c.response();
  EXPECT_EQ(statusOf(r), 404);
  EXPECT_EQ(bodyOf(r), R"({"error":"no such path: /nope"})");
  c.send("POST /echo HTTP/1.1\r\n\r\n");
  r = c.response();
  EXPECT_EQ(statusOf(r), 405);
  EXPECT_NE(r.find("Allow: GET, HEAD"), std::string::npos);
  c.expectHeadOnly();
  c.send("HEAD /echo?a=1 HTTP/1.1\r\n\r\n");
  r = c.response();
  EXPECT_EQ(statusOf(r), 200);
  EXPECT_EQ(bodyOf(r), "");
  EXPECT_NE(r.find("Content-Length: 4\r\n"), std::string::npos);

  Client body(server.port());
  body.send("GET /echo HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello");
  EXPECT_EQ(statusOf(body.response()), 413);
  EXPECT_TRUE(body.closed());

  Client close(server.port());
  close.send("GET /echo?x=1 HTTP/1.1\r\nConnection: close\r\n\r\n");
  r = close.response();
  EXPECT_EQ(statusOf(r), 200);
  EXPECT_NE(r.find("Connection: close"), std::string::npos);
  EXPECT_TRUE(close.closed());
}

TEST(HttpServerTest, OversizedRequestsAreRefusedAndClosed) {
  HttpServer server;
  server.get("/search", echo);
  ASSERT_TRUE(server.start("127.0.0.1", 0).has_value());
  Client longLine(server.port());
  longLine.send("GET /search?q=" + std::string(200 * 1024, 'a') + " HTTP/1.1\r\n\r\n");
  EXPECT_EQ(statusOf(longLine.response()), 414);
  EXPECT_TRUE(longLine.closed());
  Client manyHeaders(server.port());
  std::string head = "GET /search?q=a HTTP/1.1\r\n";
  for (int i = 0; i < 1000; ++i) head += "X-Filler-" + std::to_string(i) + ": some value\r\n";
  manyHeaders.send(head + "\r\n");
  EXPECT_EQ(statusOf(manyHeaders.response()), 431);
  EXPECT_TRUE(manyHeaders.closed());
}

TEST(HttpServerTest, PipelinedRequestsAreAnsweredInOrderAtOnce) {
  HttpServerOptions o;
  o.requestTimeout = 60s;  // nothing may wait for a timeout
  HttpServer server(o);
  server.get("/slow", [](const Params& p) {
    std::this_thread::sleep_for(20ms);
    return echo(p);
  });
  server.getInline("/healthz", [](const Params&) { return Response{200, "ok", "text/plain"}; });
  ASSERT_TRUE(server.start("127.0.0.1", 0).has_value());
  Client c(server.port());
  std::string burst;
  for (int i = 0; i < 5; ++i) {
    burst += "GET /slow?n=" + std::to_string(i) + " HTTP/1.1\r\n\r\nGET /healthz HTTP/1.1\r\n\r\n";
  }
  c.send(burst);
  auto rs = c.responses(10, 3000ms);
  ASSERT_EQ(rs.size(), 10u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(bodyOf(rs[2 * i]), "n=" + std::to_string(i) + ";");
    EXPECT_EQ(bodyOf(rs[2 * i + 1]), "ok");
  }
}

// 200 clients that send half a request and wait: a normal search and the probe are answered
// while they all hold their connections.
TEST(HttpServerTest, HalfSentRequestsStarveNobody) {
  HttpServerOptions o;
  o.requestTimeout = 60s;
  HttpServer server(o);
  server.get("/search", echo);
  server.getInline("/healthz", [](const Params&) { return Response{200, "ok", "text/plain"}; });
  ASSERT_TRUE(server.start("127.0.0.1", 0).has_value());
  std::vector<std::unique_ptr<Client>> idle;
  for (int i = 0; i < 200; ++i) {
    idle.push_back(std::make_unique<Client>(server.port()));
    ASSERT_TRUE(idle.back()->connected());
    idle.back()->send("GET /search?q=x HTTP/1.1\r\nHost: slow");
  }
  for (int round = 0; round < 20; ++round) {
    Client c(server.port());
    c.send("GET /search?q=lamp HTTP/1.1\r\n\r\nGET /healthz HTTP/1.1\r\n\r\n");
    auto rs = c.responses(2, 2000ms);
    ASSERT_EQ(rs.size(), 2u) << "round " << round;
    EXPECT_EQ(bodyOf(rs[0]), "q=lamp;");
    EXPECT_EQ(bodyOf(rs[1]), "ok");
  }
  // Each idle client can still finish its request.
  idle.front()->send("\r\n\r\n");
  EXPECT_EQ(bodyOf(idle.front()->response()), "q=x;");
}

TEST(HttpServerTest, IncompleteRequestsTimeOutWith408) {
  // The server's clock moves only when the test says (its loop sweeps once the clock has moved
  // 100 ms); the real waits below are for the loop to turn, never for a timeout.
  ManualTime time;
  HttpServerOptions o;
  o.time = &time;
  o.requestTimeout = 300ms;
  o.idleTimeout = 400ms;
  HttpServer server(o);
  server.get("/search", echo);
  ASSERT_TRUE(server.start("127.0.0.1", 0).has_value());
  Client half(server.port());
  half.send("GET /search?q=x HTTP/1.1\r\n");
  Client silent(server.port());  // never sends a byte
  Client quiet(server.port());   // kept alive, then quiet
  quiet.send("GET /search?q=y HTTP/1.1\r\n\r\n");
  EXPECT_EQ(statusOf(quiet.response()), 200);
  time.advance(299ms);  // short of every timeout: nobody is closed
  EXPECT_FALSE(half.closed(300ms));
  EXPECT_FALSE(silent.closed(1ms));
  time.advance(100ms);  // past the request timeout, not the idle one
  auto r = half.response(5000ms);
  EXPECT_EQ(statusOf(r), 408) << r;
  EXPECT_TRUE(half.closed());
  EXPECT_TRUE(silent.closed());
  EXPECT_FALSE(quiet.closed(300ms));
  time.advance(100ms);  // past the idle timeout
  EXPECT_TRUE(quiet.closed());
}

// Every worker stuck in a slow search: the probe still answers on the loop, and requests past
// the queue get a 503 at once instead of waiting.
TEST(HttpServerTest, ProbesAnswerWhileEveryWorkerIsBusy) {
  HttpServerOptions o;
  o.workers = 2;
  o.queueLimit = 3;
  o.requestTimeout = 60s;
  HttpServer server(o);
  std::mutex m;
  std::condition_variable cv;
  bool release = false;
  std::atomic<int> started{0};
  server.get("/search", [&](const Params& p) {
    ++started;
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return release; });
    return echo(p);
  });
  server.getInline("/healthz", [](const Params&) { return Response{200, "ok", "text/plain"}; });
  ASSERT_TRUE(server.start("127.0.0.1", 0).has_value());
  // Six searches: two run, three wait in the queue, and one (whichever comes last) is refused.
  std::vector<std::unique_ptr<Client>> searches;
  for (int i = 0; i < 6; ++i) {
    searches.push_back(std::make_unique<Client>(server.port()));
    searches.back()->send("GET /search?n=" + std::to_string(i) + " HTTP/1.1\r\n\r\n");
  }
  for (int i = 0; i < 200 && started < 2; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(started.load(), 2);
  Client probe(server.port());
  probe.send("GET /healthz HTTP/1.1\r\n\r\n");
  EXPECT_EQ(bodyOf(probe.response(2000ms)), "ok");
  // Whatever is answered while the workers are held is a refusal (two run, three wait).
  std::vector<std::string> answers(6);
  int refused = 0;
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < 6; ++i) {
      if (!answers[i].empty()) continue;
      answers[i] = searches[i]->response(10ms);
      if (answers[i].empty()) continue;
      ++refused;
      EXPECT_EQ(statusOf(answers[i]), 503) << answers[i];
      EXPECT_NE(answers[i].find("Retry-After: 1"), std::string::npos);
    }
  }
  EXPECT_GE(refused, 1);
  EXPECT_LE(refused, 4);
  {
    std::lock_guard lock(m);
    release = true;
  }
  cv.notify_all();
  for (int i = 0; i < 6; ++i) {
    if (answers[i].empty()) {
      EXPECT_EQ(bodyOf(searches[i]->response()), "n=" + std::to_string(i) + ";");
    }
  }
}

TEST(HttpServerTest, PastTheConnectionLimitTheLongestIdleGoes) {
  HttpServerOptions o;
  o.maxConnections = 8;
  o.requestTimeout = 60s;
  o.idleTimeout = 60s;
  HttpServer server(o);
  server.get("/search", echo);
  ASSERT_TRUE(server.start("127.0.0.1", 0).has_value());
  std::vector<std::unique_ptr<Client>> held;
  for (int i = 0; i < 8; ++i) {
    held.push_back(std::make_unique<Client>(server.port()));
    held.back()->send("GET /search?i=" + std::to_string(i) + " HTTP/1.1\r\n\r\n");
    EXPECT_EQ(statusOf(held.back()->response()), 200);
  }
  Client late(server.port());
  late.send("GET /search?late=1 HTTP/1.1\r\n\r\n");
  EXPECT_EQ(bodyOf(late.response()), "late=1;");
  EXPECT_TRUE(held.front()->closed());
}

TEST(HttpServerTest, HandlerExceptionsAre500AndStopIsClean) {
  HttpServer server;
  server.get("/boom", [](const Params&) -> Response { throw std::runtime_error("kaput"); });
  ASSERT_TRUE(server.start("127.0.0.1", 0).has_value());
  Client c(server.port());
  c.send("GET /boom HTTP/1.1\r\n\r\n");
  auto r = c.response();
  EXPECT_EQ(statusOf(r), 500);
  // What went wrong inside goes to the log, never to the client.
  EXPECT_EQ(r.find("kaput"), std::string::npos) << r;
  EXPECT_EQ(bodyOf(r), R"x({"error":"internal error (logged by the service as http_handler_failed)"})x");
  HttpServer second;
  auto taken = second.start("127.0.0.1", server.port());
  ASSERT_FALSE(taken.has_value());
  EXPECT_NE(taken.error().message.find("cannot bind HTTP port 127.0.0.1:" + std::to_string(server.port())), std::string::npos);
  server.stop();
  EXPECT_TRUE(c.closed());
}

// Out of file descriptors, accept() fails while the connection stays in the backlog; retried
// at once on every wake-up, that is a loop at 100% CPU. The server closes waiting clients
// instead (a reserve descriptor), and serves again once descriptors are free.
TEST(HttpServerTest, OutOfDescriptorsWaitingClientsAreClosedAndTheLoopDoesNotSpin) {
#if defined(__SANITIZE_ADDRESS__)
  // UBSan reads memory through a pipe when it checks a virtual call: with every descriptor
  // taken it cannot, and reports the server's log call as an invalid vptr. The plain build runs
  // this test.
  GTEST_SKIP() << "needs free descriptors for the sanitizers' own checks";
#endif
  HttpServer server;
  server.getInline("/healthz", [](const Params&) { return Response{200, "ok", "text/plain"}; });
  ASSERT_TRUE(server.start("127.0.0.1", 0).has_value());
  // Sockets made while descriptors remain, connected once none remain.
  constexpr int kClients = 5;
  std::vector<int> sockets;
  for (int i = 0; i < kClients; ++i) sockets.push_back(::socket(AF_INET, SOCK_STREAM, 0));
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  // The lowest free descriptor number is how many are open (none are closed below it here).
  int next = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(next, 0);
  ::close(next);
  rlimit tight = saved;
  tight.rlim_cur = static_cast<rlim_t>(next);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &tight), 0);
  EXPECT_LT(::open("/dev/null", O_RDONLY), 0) << "the limit does not bind";
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(server.port()));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int fd : sockets) ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  // Each waiting client learns: the server closes its connection.
  for (int fd : sockets) {
    pollfd p{fd, POLLIN, 0};
    ASSERT_EQ(::poll(&p, 1, 5000), 1) << "a client left waiting in the backlog";
    char byte;
    EXPECT_EQ(::recv(fd, &byte, 1, 0), 0);
  }
  std::this_thread::sleep_for(500ms);  // a spinning loop would count failures by the million
  auto stats = server.stats();
  EXPECT_GE(stats.acceptFailures, static_cast<uint64_t>(kClients));
  EXPECT_LE(stats.acceptFailures, 100u);
  EXPECT_EQ(stats.shed, static_cast<uint64_t>(kClients));
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &saved), 0);
  for (int fd : sockets) ::close(fd);
  Client after(server.port());
  ASSERT_TRUE(after.connected());
  after.send("GET /healthz HTTP/1.1\r\n\r\n");
  EXPECT_EQ(statusOf(after.response()), 200);
}

}  // namespace
}  // namespace cdc::http
