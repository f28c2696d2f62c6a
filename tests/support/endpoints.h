#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

#include <httplib.h>

#include "support/process.h"

namespace cdc::test {

// The port a service logged (http_listening, JSON logs) for the server that answers `path`,
// waiting up to 30 s for the line; 0 when it never came.
inline int listeningPort(const Process& service, const std::string& path) {
  std::regex line(R"(\"msg\":\"http_listening\",\"port\":(\d+),\"path\":\"([^\"]*)\")");
  for (int i = 0; i < 300; ++i) {
    std::string log = service.output();
    for (std::sregex_iterator it(log.begin(), log.end(), line), end; it != end; ++it) {
      if ((*it)[2].str().find(path) != std::string::npos) return std::stoi((*it)[1].str());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return 0;
}

// A loopback port that accepts connections (into its backlog) and never reads or answers: a
// port in use, or a peer that hangs. Closed when it goes; port 0 when no socket could be had.
class SilentListener {
 public:
  SilentListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) return;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 && ::listen(fd_, 16) == 0 &&
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port_ = ntohs(addr.sin_port);
    }
  }
  ~SilentListener() {
    if (fd_ >= 0) ::close(fd_);
  }
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;
  int port() const { return port_; }
  // Whether a client has connected (and waits, never accepted) within `patience`.
  bool connectionWaiting(std::chrono::milliseconds patience) const {
    pollfd p{fd_, POLLIN, 0};
    return fd_ >= 0 && ::poll(&p, 1, static_cast<int>(patience.count())) > 0;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// A loopback port free at the time of the call (bound and released), for a service that must
// be told its port before it starts; 0 when no socket could be had.
inline int freePort() { return SilentListener().port(); }

// The events a service on `port` has applied so far (the sum of its cdc_events_applied_total
// series); -1 when /metrics does not answer.
inline int64_t appliedEvents(int port) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(1);
  auto res = client.Get("/metrics");
  if (!res || res->status != 200) return -1;
  int64_t sum = 0;
  std::istringstream in(res->body);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("cdc_events_applied_total{", 0) == 0) sum += static_cast<int64_t>(std::stod(line.substr(line.rfind(' ') + 1)));
  }
  return sum;
}

}  // namespace cdc::test
