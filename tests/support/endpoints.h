#pragma once

#include <chrono>
#include <regex>
#include <string>
#include <thread>

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

}  // namespace cdc::test
