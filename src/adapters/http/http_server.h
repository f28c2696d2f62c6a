#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "adapters/http/http_request.h"
#include "core/result.h"
#include "core/time.h"

namespace cdc::http {

struct Response {
  int status = 200;
  std::string body;
  std::string contentType = "application/json";
};

using GetHandler = std::function<Response(const Params&)>;

struct HttpServerOptions {
  size_t workers = 4;            // threads that run the slow handlers (get())
  size_t queueLimit = 64;        // requests waiting for a worker; beyond that a 503
  size_t maxHeadBytes = 8192;    // request line and headers; beyond that 414 or 431
  size_t maxConnections = 1024;  // beyond that the longest-idle connection is closed
  // A request must arrive whole this soon after its first byte (or after the connection
  // opened): a client that sends half a request is answered 408 and closed.
  std::chrono::milliseconds requestTimeout{5000};
  std::chrono::milliseconds idleTimeout{30000};   // a kept-alive connection with nothing pending
  std::chrono::milliseconds writeTimeout{10000};  // a client that does not read its answer
  const TimeSource* time = &systemTime();         // the timeouts' clock
};

struct HttpServerStats {
  uint64_t acceptFailures = 0;  // accept() refused for want of descriptors or memory
  uint64_t shed = 0;            // connections closed at once meanwhile (the reserve descriptor)
};

// The service's HTTP/1.1 server (the search API, the probes and metrics): one event-loop
// thread (epoll) reads every connection without blocking, parses request heads within their
// size and time bounds, answers pipelined requests in order, and writes answers back; complete
// requests for get() handlers run on a bounded pool of workers, getInline() handlers on the
// loop itself. So idle, slow or half-sent clients cost a buffer each, never a thread, and the
// probes answer while every worker is busy with slow searches.
// Handlers run concurrently (get() on several workers): they must be thread-safe. start() and
// stop() from one thread; the server stops in its destructor.
class HttpServer {
 public:
  explicit HttpServer(HttpServerOptions options = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // A handler that may take time (a search): run on a worker. Register before start().
  void get(const std::string& path, GetHandler handler);
  // A handler that answers at once without blocking (probes, metrics): run on the event loop.
  void getInline(const std::string& path, GetHandler handler);
  // Binds host:port (port 0 picks a free one) and serves in the background. NotFound when the
  // host does not resolve; Fatal when the address cannot be bound (in use, not ours).
  Status start(const std::string& host, int port);
  void stop();
  int port() const { return port_; }
  HttpServerStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

}  // namespace cdc::http
