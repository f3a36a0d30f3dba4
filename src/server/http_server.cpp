#include "server/http_server.h"

// GCC 12 with -fsanitize=address,undefined reports -Wmaybe-uninitialized inside Boost.Beast's
// parser (a boost::optional it does initialize); the warning fires where Beast is inlined here.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <deque>
#include <optional>
#include <thread>

namespace whale::server {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

const char* http_reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 402:
      return "Payment Required";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 413:
      return "Payload Too Large";
    case 422:
      return "Unprocessable Entity";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Unknown";
  }
}

namespace {

constexpr size_t kMaxHeaderBytes = 64 * 1024;
constexpr size_t kMaxQueuedWriteBytes = 32u << 20;  // a client that stops reading is dropped

class Connection : public Responder, public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, const HttpOptions& opts, const Handler& handler)
      : stream_(std::move(socket)),
        opts_(opts),
        handler_(handler),
        timer_(stream_.get_executor()) {}

  void start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read_request(); });
  }

  // Responder (any thread).
  void send(int status, const std::string& content_type, std::string body,
            HeaderList headers) override {
    std::string head = "HTTP/1.1 " + std::to_string(status) + " " + http_reason(status) + "\r\n";
    head += "Content-Type: " + content_type + "\r\n";
    head += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    for (auto& [k, v] : headers) head += k + ": " + v + "\r\n";
    head += "Connection: keep-alive\r\n\r\n";
    head += body;
    post([this, data = std::move(head)]() mutable {
      enqueue(std::move(data));
      finish_response();
    });
  }
  void start_stream(std::chrono::milliseconds keepalive) override {
    post([this, keepalive] {
      enqueue(
          "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
          "Transfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n");
      keepalive_ = keepalive;
      streaming_ = true;
      arm_keepalive();
    });
  }
  void stream(std::string data) override {
    post([this, d = std::move(data)]() mutable {
      if (!d.empty()) write_chunk(d);
    });
  }
  void end_stream() override {
    post([this] {
      streaming_ = false;
      timer_.cancel();
      enqueue("0\r\n\r\n");
      finish_response();
    });
  }
  void on_disconnect(std::function<void()> fn) override {
    post([this, f = std::move(fn)]() mutable { on_disconnect_ = std::move(f); });
  }

 private:
  template <class F>
  void post(F&& f) {
    net::dispatch(stream_.get_executor(),
                  [self = shared_from_this(), f = std::forward<F>(f)]() mutable {
                    if (!self->closed_) f();
                  });
  }

  void read_request() {
    parser_.emplace();
    parser_->header_limit(kMaxHeaderBytes);
    parser_->body_limit(opts_.max_body_bytes);
    stream_.expires_after(opts_.read_timeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->on_request(ec); });
  }

  void on_request(beast::error_code ec) {
    if (ec) {
      if (ec == http::error::body_limit)
        return reject(413, "the request body is larger than the limit of " +
                               std::to_string(opts_.max_body_bytes) + " bytes");
      if (ec == http::error::header_limit) return reject(413, "the request headers are too large");
      if (ec.category() == http::make_error_code(http::error::bad_target).category() &&
          ec != http::error::end_of_stream && ec != http::error::partial_message)
        return reject(400, "malformed HTTP request");
      return close();  // end of stream, timeout, reset
    }
    auto msg = parser_->release();
    keep_alive_ = msg.keep_alive();
    HttpRequest req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    req.authorization = std::string(msg[http::field::authorization]);
    req.content_type = std::string(msg[http::field::content_type]);
    req.body = std::move(msg.body());
    in_response_ = true;
    stream_.expires_never();
    watch();
    handler_(std::move(req), shared_from_this());
  }

  // A request error before any handler ran: answer in OpenAI's error shape and close.
  void reject(int status, const std::string& message) {
    keep_alive_ = false;
    rejected_ = true;
    in_response_ = true;
    std::string body = R"({"error":{"message":")" + message +
                       R"(","type":"invalid_request_error","param":null,"code":null}})";
    std::string head =
        "HTTP/1.1 " + std::to_string(status) + " " + http_reason(status) +
        "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
        "\r\nConnection: close\r\n\r\n" + body;
    enqueue(std::move(head));
    finish_response();
  }

  // Reads while a response is in progress, to notice a client that hangs up. Bytes that arrive
  // (a pipelined next request) are kept in buffer_ for the parser.
  void watch() {
    if (watching_ || closed_ || buffer_.size() > kMaxHeaderBytes) return;
    watching_ = true;
    stream_.socket().async_read_some(
        buffer_.prepare(4096),
        net::bind_executor(
            stream_.get_executor(), [self = shared_from_this()](beast::error_code ec, size_t n) {
              self->watching_ = false;
              if (!ec) {
                self->buffer_.commit(n);
                if (self->in_response_) return self->watch();
                return self->read_request();
              }
              if (ec == net::error::operation_aborted && !self->in_response_ && !self->closed_)
                return self->read_request();
              self->client_gone();
            }));
  }

  void client_gone() {
    if (in_response_ && on_disconnect_) {
      auto f = std::move(on_disconnect_);
      on_disconnect_ = nullptr;
      f();
    }
    close();
  }

  void write_chunk(const std::string& d) {
    char size[24];
    std::snprintf(size, sizeof size, "%zx\r\n", d.size());
    enqueue(size + d + "\r\n");
    arm_keepalive();
  }

  void arm_keepalive() {
    if (!streaming_ || keepalive_.count() <= 0) return;
    timer_.expires_after(keepalive_);
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || !self->streaming_ || self->closed_) return;
      self->write_chunk(": keep-alive\n\n");
    });
  }

  void enqueue(std::string data) {
    queued_bytes_ += data.size();
    if (queued_bytes_ > kMaxQueuedWriteBytes) return client_gone();
    writes_.push_back(std::move(data));
    if (writes_.size() == 1) write_next();
  }

  void write_next() {
    stream_.expires_after(opts_.write_timeout);
    net::async_write(stream_, net::buffer(writes_.front()),
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (self->closed_) return;
                       if (ec) return self->client_gone();
                       self->queued_bytes_ -= self->writes_.front().size();
                       self->writes_.pop_front();
                       if (!self->writes_.empty()) return self->write_next();
                       self->stream_.expires_never();
                       if (self->response_done_) self->after_response();
                     });
  }

  // The whole response is queued; once written, read the next request (or close).
  void finish_response() {
    response_done_ = true;
    if (writes_.empty()) after_response();
  }

  void after_response() {
    response_done_ = false;
    in_response_ = false;
    on_disconnect_ = nullptr;
    if (rejected_) return linger();
    if (!keep_alive_) return close();
    if (watching_) {  // its handler continues with read_request()
      beast::error_code ignored;
      stream_.socket().cancel(ignored);
      return;
    }
    read_request();
  }

  // After an early error answer (e.g. 413 while the body is still arriving): stop sending,
  // then read and drop what the client still sends for a short while, so it sees the answer
  // instead of a connection reset. Bounded in bytes and time.
  void linger() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(std::chrono::seconds(5));
    drain_.resize(64 * 1024);
    stream_.async_read_some(net::buffer(drain_),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              self->drained_ += n;
                              if (ec || self->drained_ > 2 * self->opts_.max_body_bytes)
                                return self->close();
                              self->linger();
                            });
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    timer_.cancel();
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

  beast::tcp_stream stream_;
  const HttpOptions& opts_;
  const Handler& handler_;
  net::steady_timer timer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::deque<std::string> writes_;
  size_t queued_bytes_ = 0;
  std::function<void()> on_disconnect_;
  std::chrono::milliseconds keepalive_{0};
  bool keep_alive_ = true, in_response_ = false, response_done_ = false;
  bool watching_ = false, streaming_ = false, closed_ = false, rejected_ = false;
  std::string drain_;
  uint64_t drained_ = 0;
};

}  // namespace

struct HttpServer::Impl {
  HttpOptions opts;
  Handler handler;
  net::io_context ioc;
  tcp::acceptor acceptor{ioc};
  net::steady_timer retry{ioc};
  std::vector<std::thread> threads;

  void accept() {
    acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket s) {
      if (!acceptor.is_open()) return;
      if (ec) {
        // E.g. out of file descriptors: pause instead of spinning on the failing accept, and
        // keep serving the connections we have.
        retry.expires_after(std::chrono::milliseconds(100));
        retry.async_wait([this](beast::error_code) { accept(); });
        return;
      }
      {
        // Streams are many small writes: without TCP_NODELAY, Nagle + delayed ACKs add ~40 ms.
        beast::error_code ignored;
        s.set_option(tcp::no_delay(true), ignored);
        std::make_shared<Connection>(std::move(s), opts, handler)->start();
      }
      accept();
    });
  }
};

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpServer::~HttpServer() {
  stop();
}

Result<std::unique_ptr<HttpServer>> HttpServer::start(const HttpOptions& options, Handler handler) {
  auto impl = std::make_unique<Impl>();
  impl->opts = options;
  impl->handler = std::move(handler);
  beast::error_code ec;
  auto addr = net::ip::make_address(options.host, ec);
  if (ec) return make_error("--host: '%s' is not an IP address", options.host.c_str());
  tcp::endpoint ep(addr, options.port);
  impl->acceptor.open(ep.protocol(), ec);
  if (!ec) impl->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(ep, ec);
  if (!ec) impl->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    return make_error("cannot listen on %s:%u: %s", options.host.c_str(), unsigned(options.port),
                      ec.message().c_str());
  impl->accept();
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

uint16_t HttpServer::port() const {
  beast::error_code ec;
  return impl_->acceptor.local_endpoint(ec).port();
}

void HttpServer::run() {
  const int n = std::max(1, impl_->opts.threads);
  for (int i = 1; i < n; ++i) impl_->threads.emplace_back([this] { impl_->ioc.run(); });
  impl_->ioc.run();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
}

void HttpServer::stop() {
  impl_->ioc.stop();
}

}  // namespace whale::server
