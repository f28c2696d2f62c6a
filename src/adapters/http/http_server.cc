#include "adapters/http/http_server.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/json_writer.h"
#include "core/log.h"

namespace cdc::http {
namespace {

using Clock = std::chrono::steady_clock;  // TimeSource::Steady's clock

// epoll data of the two fixed descriptors; connections are numbered from kFirstConnection.
constexpr uint64_t kListenId = 0;
constexpr uint64_t kWakeId = 1;
constexpr uint64_t kFirstConnection = 2;
// Bytes received ahead of the request being answered (pipelining), and answers not yet taken
// by the client, past which the connection is not read until it catches up.
constexpr size_t kMaxBufferedIn = 64 * 1024;
constexpr size_t kMaxPendingOut = 256 * 1024;

struct Route {
  GetHandler handler;
  bool onLoop = false;
};

struct Connection {
  int fd = -1;
  std::string in;
  std::string out;
  size_t sent = 0;
  bool busy = false;               // its request is with a worker: later ones wait (answers stay in order)
  bool closeAfterWrite = false;    // close once `out` is sent
  bool peerClosed = false;         // the client sent EOF: answer what it asked, then close
  bool anyBytes = false;           // some byte ever arrived
  bool servedAny = false;          // at least one request was answered
  uint32_t events = 0;             // epoll interest registered now
  Clock::time_point requestStart;  // first byte of the request in progress (or the accept)
  Clock::time_point lastActivity;
  Clock::time_point writeProgress;

  size_t pendingOut() const { return out.size() - sent; }
};

struct Job {
  uint64_t connection = 0;
  const GetHandler* handler = nullptr;
  Params params;
  bool keepAlive = true;
  bool headOnly = false;
};

struct Done {
  uint64_t connection = 0;
  Response response;
  bool keepAlive = true;
  bool headOnly = false;
};

Response errorResponse(int status, std::string_view message) {
  Response r;
  r.status = status;
  JsonWriter(r.body).beginObject().field("error", message).endObject();
  return r;
}

std::string serialize(const Response& r, bool keepAlive, bool headOnly) {
  std::string out;
  out.reserve(160 + (headOnly ? 0 : r.body.size()));
  out += "HTTP/1.1 " + std::to_string(r.status) + " " + reasonPhrase(r.status) + "\r\n";
  out += "Content-Type: " + r.contentType + "\r\n";
  out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
  if (r.status == 503) out += "Retry-After: 1\r\n";
  if (r.status == 405) out += "Allow: GET, HEAD\r\n";
  out += keepAlive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
  if (!headOnly) out += r.body;
  return out;
}

Response callHandler(const GetHandler& handler, const Params& params) {
  try {
    return handler(params);
  } catch (const std::exception& e) {
    // What went wrong inside is for the log; the client learns only that it did.
    log::event(spdlog::level::err, "http_handler_failed", {{"error", e.what()}});
  } catch (...) {
    log::event(spdlog::level::err, "http_handler_failed", {{"error", "an exception that is not a std::exception"}});
  }
  return errorResponse(500, "internal error (logged by the service as http_handler_failed)");
}

}  // namespace

struct HttpServer::Impl {
  explicit Impl(HttpServerOptions o) : options(o) {}

  HttpServerOptions options;
  std::map<std::string, Route, std::less<>> routes;
  int listenFd = -1;
  int epollFd = -1;
  int wakeFd = -1;
  // Held open to be given up when the process runs out of descriptors: with it, a pending
  // connection can be accepted and closed at once (the client learns) instead of staying in
  // the backlog, where it would wake the loop again and again.
  int reserveFd = -1;
  bool acceptPaused = false;  // not watching the listening socket until the next sweep
  Clock::time_point lastAcceptWarning{};
  std::atomic<uint64_t> acceptFailures{0};
  std::atomic<uint64_t> shed{0};
  std::thread loop;
  std::vector<std::thread> workers;
  std::atomic<bool> stopping{false};

  std::mutex mutex;  // guards jobs and done
  std::condition_variable jobReady;
  std::deque<Job> jobs;
  std::vector<Done> done;

  // The event loop's own state.
  std::unordered_map<uint64_t, Connection> connections;
  uint64_t nextId = kFirstConnection;

  void run();
  void acceptAll();
  void readFrom(uint64_t id, Connection& c);
  // Answers the complete requests buffered on `c`, in order; false when `c` was closed.
  bool process(uint64_t id, Connection& c);
  bool respond(uint64_t id, Connection& c, const Response& r, bool keepAlive, bool headOnly);
  bool flush(uint64_t id, Connection& c);
  void updateInterest(uint64_t id, Connection& c);
  void close(uint64_t id);
  void collectDone();
  void sweep(Clock::time_point now);
  // accept() failed for want of descriptors or memory: closes one waiting connection with the
  // reserve descriptor (true: try the next), or stops watching the listening socket until the
  // next sweep (false).
  bool outOfDescriptors(int error);
  void watchListener(bool on);
  void work();
  void wake() {
    uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wakeFd, &one, sizeof one);
  }
};

void HttpServer::Impl::updateInterest(uint64_t id, Connection& c) {
  uint32_t want = 0;
  if (!c.peerClosed && c.in.size() < kMaxBufferedIn && c.pendingOut() < kMaxPendingOut) want |= EPOLLIN;
  if (c.pendingOut() > 0) want |= EPOLLOUT;
  if (want == c.events) return;
  epoll_event ev{};
  ev.events = want;
  ev.data.u64 = id;
  ::epoll_ctl(epollFd, EPOLL_CTL_MOD, c.fd, &ev);
  c.events = want;
}

void HttpServer::Impl::close(uint64_t id) {
  auto it = connections.find(id);
  if (it == connections.end()) return;
  ::epoll_ctl(epollFd, EPOLL_CTL_DEL, it->second.fd, nullptr);
  ::close(it->second.fd);
  connections.erase(it);
}

bool HttpServer::Impl::flush(uint64_t id, Connection& c) {
  while (c.pendingOut() > 0) {
    ssize_t n = ::send(c.fd, c.out.data() + c.sent, c.pendingOut(), MSG_NOSIGNAL);
    if (n > 0) {
      c.sent += static_cast<size_t>(n);
      c.writeProgress = options.time->steady();
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n < 0 && errno == EINTR) continue;
    close(id);
    return false;
  }
  if (c.pendingOut() == 0) {
    c.out.clear();
    c.sent = 0;
    if (c.closeAfterWrite || (c.peerClosed && !c.busy)) {
      close(id);
      return false;
    }
  }
  updateInterest(id, c);
  return true;
}

bool HttpServer::Impl::respond(uint64_t id, Connection& c, const Response& r, bool keepAlive, bool headOnly) {
  if (c.pendingOut() == 0) {
    c.out.clear();
    c.sent = 0;
    c.writeProgress = options.time->steady();
  }
  c.out += serialize(r, keepAlive, headOnly);
  c.servedAny = true;
  c.lastActivity = options.time->steady();
  if (!keepAlive) c.closeAfterWrite = true;
  return flush(id, c);
}

bool HttpServer::Impl::process(uint64_t id, Connection& c) {
  while (!c.busy && !c.closeAfterWrite && !c.in.empty() && c.pendingOut() < kMaxPendingOut) {
    ParseResult parsed = parseRequestHead(c.in, options.maxHeadBytes);
    if (parsed.kind == ParseResult::Kind::Incomplete) break;
    if (parsed.kind == ParseResult::Kind::Error) {
      c.in.clear();
      return respond(id, c, errorResponse(parsed.status, parsed.error), false, false);
    }
    RequestHead& head = parsed.head;
    c.in.erase(0, head.headBytes);
    c.requestStart = options.time->steady();  // of the next request, if its bytes are already here
    bool headOnly = head.method == "HEAD";
    bool alive = true;
    if (head.hasBody) {
      // Nothing here takes a body; its bytes would be read as the next request.
      c.in.clear();
      alive = respond(id, c, errorResponse(413, "request bodies are not accepted"), false, headOnly);
    } else if (head.method != "GET" && !headOnly) {
      alive = respond(id, c, errorResponse(405, "only GET and HEAD are served"), head.keepAlive, false);
    } else if (auto route = routes.find(head.path); route == routes.end()) {
      alive = respond(id, c, errorResponse(404, "no such path: " + head.path), head.keepAlive, headOnly);
    } else if (route->second.onLoop) {
      alive = respond(id, c, callHandler(route->second.handler, head.params), head.keepAlive, headOnly);
    } else {
      bool queued = false;
      {
        std::lock_guard lock(mutex);
        if (jobs.size() < options.queueLimit) {
          jobs.push_back(Job{id, &route->second.handler, std::move(head.params), head.keepAlive, headOnly});
          queued = true;
        }
      }
      if (queued) {
        c.busy = true;
        jobReady.notify_one();
      } else {
        alive = respond(id, c, errorResponse(503, "too many requests in progress; retry shortly"), head.keepAlive, headOnly);
      }
    }
    if (!alive) return false;
  }
  updateInterest(id, c);
  return true;
}

void HttpServer::Impl::readFrom(uint64_t id, Connection& c) {
  char buf[16 * 1024];
  while (c.in.size() < kMaxBufferedIn) {
    ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
    if (n > 0) {
      auto now = options.time->steady();
      if (c.in.empty() && !c.busy) c.requestStart = now;
      if (!c.anyBytes && !c.servedAny) c.requestStart = now;
      c.anyBytes = true;
      c.lastActivity = now;
      c.in.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    // EOF or a reset: answer what is complete, then close.
    c.peerClosed = true;
    break;
  }
  if (!process(id, c)) return;
  if (c.peerClosed && !c.busy && c.pendingOut() == 0) close(id);
}

void HttpServer::Impl::acceptAll() {
  while (true) {
    int fd = ::accept4(listenFd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if ((errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) && outOfDescriptors(errno)) continue;
      return;  // EAGAIN: the backlog is empty
    }
    if (connections.size() >= options.maxConnections) {
      // Make room by closing the connection idle the longest; with none idle, refuse this one.
      uint64_t oldest = 0;
      Clock::time_point when = Clock::time_point::max();
      for (const auto& [cid, c] : connections) {
        if (!c.busy && c.pendingOut() == 0 && c.lastActivity < when) {
          when = c.lastActivity;
          oldest = cid;
        }
      }
      if (oldest == 0) {
        ::close(fd);
        continue;
      }
      close(oldest);
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    uint64_t id = nextId++;
    Connection& c = connections[id];
    c.fd = fd;
    c.requestStart = c.lastActivity = c.writeProgress = options.time->steady();
    c.events = EPOLLIN;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = id;
    ::epoll_ctl(epollFd, EPOLL_CTL_ADD, fd, &ev);
  }
}

void HttpServer::Impl::collectDone() {
  uint64_t counter = 0;
  [[maybe_unused]] auto n = ::read(wakeFd, &counter, sizeof counter);
  std::vector<Done> finished;
  {
    std::lock_guard lock(mutex);
    finished.swap(done);
  }
  for (auto& d : finished) {
    auto it = connections.find(d.connection);
    if (it == connections.end()) continue;  // the client went away meanwhile
    Connection& c = it->second;
    c.busy = false;
    if (!respond(d.connection, c, d.response, d.keepAlive, d.headOnly)) continue;
    if (!process(d.connection, c)) continue;
    if (c.peerClosed && !c.busy && c.pendingOut() == 0) close(d.connection);
  }
}

void HttpServer::Impl::watchListener(bool on) {
  epoll_event ev{};
  ev.events = on ? static_cast<uint32_t>(EPOLLIN) : 0u;
  ev.data.u64 = kListenId;
  ::epoll_ctl(epollFd, EPOLL_CTL_MOD, listenFd, &ev);
  acceptPaused = !on;
}

bool HttpServer::Impl::outOfDescriptors(int error) {
  ++acceptFailures;
  auto now = options.time->steady();
  if (lastAcceptWarning == Clock::time_point{} || now - lastAcceptWarning >= std::chrono::minutes(1)) {
    lastAcceptWarning = now;
    log::event(spdlog::level::warn, "http_accept_failed",
               {{"error", std::strerror(error)},
                {"connections", std::to_string(connections.size()), true},
                {"detail",
                 "no descriptor for a new connection (RLIMIT_NOFILE, or the system's): waiting clients are closed at "
                 "once until some are free"}});
  }
  // The reserve makes room for one waiting connection: it is taken and closed at once.
  if (reserveFd >= 0) {
    ::close(reserveFd);
    int fd = ::accept4(listenFd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    const int acceptError = errno;
    if (fd >= 0) {
      ::close(fd);
      ++shed;
    }
    reserveFd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0 && (acceptError == EAGAIN || acceptError == EWOULDBLOCK)) return false;  // nothing waits
    if (fd >= 0 && reserveFd >= 0) return true;
  }
  // No reserve (the system itself is out): stop watching the listener until the next sweep
  // rather than wake on it in a loop.
  watchListener(false);
  return false;
}

void HttpServer::Impl::sweep(Clock::time_point now) {
  if (acceptPaused) watchListener(true);
  std::vector<uint64_t> expired, timedOut;
  for (auto& [id, c] : connections) {
    if (c.pendingOut() > 0) {
      if (now - c.writeProgress > options.writeTimeout) expired.push_back(id);
    } else if (c.busy) {
      continue;
    } else if (!c.in.empty() || !c.servedAny) {
      if (now - c.requestStart > options.requestTimeout) (c.anyBytes ? timedOut : expired).push_back(id);
    } else if (now - c.lastActivity > options.idleTimeout) {
      expired.push_back(id);
    }
  }
  for (uint64_t id : expired) close(id);
  for (uint64_t id : timedOut) {
    Connection& c = connections[id];
    c.in.clear();
    respond(id, c, errorResponse(408, "the request did not arrive in time"), false, false);
  }
}

void HttpServer::Impl::run() {
  epoll_event events[64];
  auto lastSweep = options.time->steady();
  while (!stopping.load(std::memory_order_relaxed)) {
    int n = ::epoll_wait(epollFd, events, 64, 100);
    for (int i = 0; i < n; ++i) {
      uint64_t id = events[i].data.u64;
      if (id == kListenId) {
        acceptAll();
      } else if (id == kWakeId) {
        collectDone();
      } else if (auto it = connections.find(id); it != connections.end()) {
        Connection& c = it->second;
        if ((events[i].events & EPOLLOUT) && !flush(id, c)) continue;
        if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
          if (c.events & EPOLLIN) {
            readFrom(id, c);
          } else if (events[i].events & (EPOLLHUP | EPOLLERR)) {
            close(id);
          }
        }
      }
    }
    auto now = options.time->steady();
    if (now - lastSweep >= std::chrono::milliseconds(100)) {
      lastSweep = now;
      sweep(now);
    }
  }
}

void HttpServer::Impl::work() {
  while (true) {
    Job job;
    {
      std::unique_lock lock(mutex);
      jobReady.wait(lock, [&] { return stopping.load() || !jobs.empty(); });
      if (stopping.load()) return;
      job = std::move(jobs.front());
      jobs.pop_front();
    }
    Response r = callHandler(*job.handler, job.params);
    {
      std::lock_guard lock(mutex);
      done.push_back(Done{job.connection, std::move(r), job.keepAlive, job.headOnly});
    }
    wake();
  }
}

HttpServer::HttpServer(HttpServerOptions options) : impl_(std::make_unique<Impl>(options)) {}

HttpServer::~HttpServer() { stop(); }

void HttpServer::get(const std::string& path, GetHandler handler) { impl_->routes[path] = Route{std::move(handler), false}; }

void HttpServer::getInline(const std::string& path, GetHandler handler) { impl_->routes[path] = Route{std::move(handler), true}; }

Status HttpServer::start(const std::string& host, int port) {
  Impl& im = *impl_;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  std::string service = std::to_string(port);
  if (int e = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &found); e != 0) {
    return fail(Error::notFound("cannot resolve HTTP host '" + host + "': " + ::gai_strerror(e)));
  }
  std::string lastError = "no address";
  for (addrinfo* a = found; a != nullptr && im.listenFd < 0; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, SOMAXCONN) == 0) {
      im.listenFd = fd;
    } else {
      lastError = std::strerror(errno);
      ::close(fd);
    }
  }
  ::freeaddrinfo(found);
  if (im.listenFd < 0) return fail(Error::fatal("cannot bind HTTP port " + host + ":" + service + ": " + lastError));
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  ::getsockname(im.listenFd, reinterpret_cast<sockaddr*>(&bound), &len);
  port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                            : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);

  im.epollFd = ::epoll_create1(EPOLL_CLOEXEC);
  im.wakeFd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (im.epollFd < 0 || im.wakeFd < 0)
    return fail(Error::fatal(std::string("cannot start the HTTP server: ") + std::strerror(errno)));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kListenId;
  ::epoll_ctl(im.epollFd, EPOLL_CTL_ADD, im.listenFd, &ev);
  ev.data.u64 = kWakeId;
  ::epoll_ctl(im.epollFd, EPOLL_CTL_ADD, im.wakeFd, &ev);
  im.reserveFd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  for (size_t i = 0; i < std::max<size_t>(1, im.options.workers); ++i) im.workers.emplace_back([&im] { im.work(); });
  im.loop = std::thread([&im] { im.run(); });
  return {};
}

HttpServerStats HttpServer::stats() const { return HttpServerStats{impl_->acceptFailures.load(), impl_->shed.load()}; }

void HttpServer::stop() {
  Impl& im = *impl_;
  if (!im.loop.joinable()) return;
  {
    std::lock_guard lock(im.mutex);
    im.stopping = true;
  }
  im.jobReady.notify_all();
  im.wake();
  im.loop.join();
  for (auto& w : im.workers) w.join();
  im.workers.clear();
  for (auto& [id, c] : im.connections) ::close(c.fd);
  im.connections.clear();
  for (int* fd : {&im.listenFd, &im.epollFd, &im.wakeFd, &im.reserveFd}) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
  }
}

}  // namespace cdc::http
