#include "adapters/http/http_server.h"

#include <httplib.h>

namespace cdc::http {

struct HttpServer::Impl {
  httplib::Server server;
};

HttpServer::HttpServer() : impl_(std::make_unique<Impl>()) {}

HttpServer::~HttpServer() { stop(); }

void HttpServer::get(const std::string& path, GetHandler handler) {
  impl_->server.Get(path, [handler = std::move(handler)](const httplib::Request& req, httplib::Response& res) {
    Params params;
    for (const auto& [k, v] : req.params) params[k] = v;
    Response r = handler(params);
    res.status = r.status;
    res.set_content(r.body, r.contentType.c_str());
  });
}

Status HttpServer::start(const std::string& host, int port) {
  if (port == 0) {
    port_ = impl_->server.bind_to_any_port(host.c_str());
    if (port_ < 0) return fail(Error::fatal("cannot bind an HTTP port on " + host));
  } else {
    if (!impl_->server.bind_to_port(host.c_str(), port)) {
      return fail(Error::fatal("cannot bind HTTP port " + host + ":" + std::to_string(port)));
    }
    port_ = port;
  }
  thread_ = std::thread([this] { impl_->server.listen_after_bind(); });
  // bind_to_port already listens: connections queue until the accept loop runs.
  return {};
}

void HttpServer::stop() {
  if (thread_.joinable()) {
    impl_->server.stop();
    thread_.join();
  }
}

}  // namespace cdc::http
