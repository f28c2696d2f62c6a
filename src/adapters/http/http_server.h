#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "core/result.h"

namespace cdc::http {

struct Response {
  int status = 200;
  std::string body;
  std::string contentType = "application/json";
};

// Query parameters of a GET request (the last value of a repeated name).
using Params = std::map<std::string, std::string, std::less<>>;
using GetHandler = std::function<Response(const Params&)>;

// A small HTTP/1.1 server on cpp-httplib for the service's endpoints (the search API, later the
// probes and metrics). Handlers run on the server's worker threads: they must be thread-safe.
// The server stops in its destructor.
class HttpServer {
 public:
  HttpServer();
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  void get(const std::string& path, GetHandler handler);
  // Binds host:port (port 0 picks a free one) and serves in a background thread.
  Status start(const std::string& host, int port);
  void stop();
  int port() const { return port_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace cdc::http
