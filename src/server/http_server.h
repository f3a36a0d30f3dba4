// An asynchronous HTTP/1.1 server (Boost.Beast on Boost.Asio): every connection is a small
// state machine on a strand, so thousands of idle keep-alive connections cost memory, not
// threads. Request heads and bodies have size limits and a read deadline (slow senders are
// dropped); responses are written from a queue, so any thread (the engine's) can hand over
// data without blocking.
//
// While a handler is working on a request the connection keeps reading the socket: a client
// that hangs up is noticed at once and the handler's on_disconnect callback runs (the server
// uses it to cancel the sequence and free its KV memory).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "platform/result.h"

namespace whale::server {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query
  std::string authorization;
  std::string content_type;
  std::string body;
};

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// How a handler answers. Thread-safe: every call is posted to the connection's strand. Exactly
// one of send() or start_stream() ... end_stream() per request.
class Responder {
 public:
  virtual ~Responder() = default;
  virtual void send(int status, const std::string& content_type, std::string body,
                    HeaderList headers = {}) = 0;
  // A chunked text/event-stream response; while no data flows for `keepalive`, the comment
  // line ": keep-alive\n\n" is sent (keeps proxies and clients from timing out).
  virtual void start_stream(std::chrono::milliseconds keepalive) = 0;
  virtual void stream(std::string data) = 0;
  virtual void end_stream() = 0;
  // Runs once (on the strand) if the client disconnects before the response is complete.
  virtual void on_disconnect(std::function<void()> fn) = 0;
};

using Handler = std::function<void(HttpRequest&&, std::shared_ptr<Responder>)>;

struct HttpOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
  uint64_t max_body_bytes = 8ull << 20;
  std::chrono::seconds read_timeout{30};  // a whole request, and idle keep-alive time
  std::chrono::seconds write_timeout{60};
  int threads = 2;
};

class HttpServer {
 public:
  // Binds and listens (port 0: any free port; see port()).
  static Result<std::unique_ptr<HttpServer>> start(const HttpOptions& options, Handler handler);
  ~HttpServer();
  uint16_t port() const;
  // Runs the network threads until stop() (e.g. from a signal handler thread).
  void run();
  void stop();

  struct Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// "Not Found" for 404 and so on ("Unknown" for codes HTTP does not name here).
const char* http_reason(int status);

}  // namespace whale::server
