#pragma once

#include <httplib.h>

#include <chrono>
#include <string>
#include <thread>

namespace cdc::test {

// An in-process HTTP server on a free loopback port, for playing an endpoint in unit tests.
// Register handlers on `server`, then start(); stopped when the object goes.
struct LocalHttpServer {
  httplib::Server server;
  std::thread thread;
  int port = 0;

  void start() {
    port = server.bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { server.listen_after_bind(); });
    while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ~LocalHttpServer() {
    server.stop();
    if (thread.joinable()) thread.join();
  }
  std::string url(const std::string& path = "") const { return "http://127.0.0.1:" + std::to_string(port) + path; }
};

}  // namespace cdc::test
