#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

namespace cdc::test {

// A command running in the background (the shell execs it, so signals reach it), in `cwd`
// when given, its stdout and stderr going to a file. It is killed (SIGKILL) if still running
// when the object goes.
class Process {
 public:
  Process(const std::string& commandLine, std::string logPath, const std::string& cwd = "") : log_(std::move(logPath)) {
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setpgid(0, 0);
      if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) ::_exit(126);
      std::string cmd = "exec " + commandLine + " > '" + log_ + "' 2>&1";
      ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process() {
    if (running()) {
      signal(SIGKILL);
      (void)wait(std::chrono::seconds(10));
    }
  }

  void signal(int sig) const { ::kill(pid_, sig); }
  pid_t pid() const { return pid_; }
  // Resident memory now (VmRSS), in KiB; 0 once the process is gone.
  int64_t rssKiB() const {
    std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
    }
    return 0;
  }
  bool running() {
    if (status_) return false;
    int st = 0;
    if (::waitpid(pid_, &st, WNOHANG) == pid_) {
      status_ = st;
      return false;
    }
    return true;
  }
  // The exit code once the process ends within `timeout`: 128+N for a signal, nullopt when
  // still running.
  std::optional<int> wait(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (running()) {
      if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return WIFEXITED(*status_) ? WEXITSTATUS(*status_) : 128 + WTERMSIG(*status_);
  }
  std::string output() const {
    std::ifstream in(log_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  pid_t pid_ = -1;
  std::string log_;
  std::optional<int> status_;
};

}  // namespace cdc::test
