// HttpPool: a bounded pool of keep-alive HTTP/1.1 connections to one todod, for coroutines
// on one executor. Used by the typed Client (and so by the CLI and the simulator).
//
// Not thread-safe: every call must come from coroutines running on the executor the pool was
// made with (one event loop, or one strand). The pool must outlive the calls in flight.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace todo::client {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using core::Result;
using core::Status;

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

// Where a server is: from "http://host:port", "http://host:port/", "host:port" or "host"
// (port 8080). kInvalidArgument for anything else (https is not supported).
struct Endpoint {
  std::string host;
  std::string port;
};
Result<Endpoint> ParseServerUrl(std::string_view url);

class HttpPool {
 public:
  HttpPool(asio::any_io_executor executor, Endpoint endpoint, int max_connections,
           std::chrono::milliseconds timeout);
  ~HttpPool();
  HttpPool(const HttpPool&) = delete;
  HttpPool& operator=(const HttpPool&) = delete;

  // Sends `request`, a whole HTTP/1.1 request as it goes on the wire (head and body: see
  // Client::Call, which writes it in one string, with Host() as its Host), and reads the
  // response, waiting for a free connection when all are busy. kUnavailable when the server
  // cannot be reached, the connection breaks, or `timeout` passes; then the request may or
  // may not have been processed by the server (callers resend writes with the same
  // Idempotency-Key).
  asio::awaitable<Result<Response>> Send(std::string_view request);
  // The value of the Host header for this pool's server: "host:port".
  const std::string& host() const { return host_; }

  // Called with the time of every successful exchange on a connection (request sent to
  // response read), without the wait for a free connection: load tools report it apart, as
  // the server's latency. Set before the first Send.
  void OnExchange(std::function<void(std::chrono::microseconds)> observer) {
    on_exchange_ = std::move(observer);
  }

  const Endpoint& endpoint() const { return endpoint_; }
  int open_connections() const { return open_; }

 private:
  // A connection, with its read buffer kept across exchanges: no allocation per response,
  // and room for a whole answer in one read.
  struct Stream : beast::tcp_stream {
    using beast::tcp_stream::tcp_stream;
    beast::flat_buffer buffer;
  };

  // A connection lent to one request; `reused` if it served an earlier request.
  struct Lease {
    std::unique_ptr<Stream> stream;
    bool reused = false;
  };

  // A coroutine waiting for a connection. Release hands it a connection, or Discard hands it
  // the freed slot, and then cancels its timer; the timer expiring first is a timeout.
  struct Waiter {
    explicit Waiter(asio::any_io_executor ex, std::chrono::milliseconds timeout)
        : timer(std::move(ex), timeout) {}
    asio::steady_timer timer;
    std::unique_ptr<Stream> stream;
    bool slot = false;
  };

  // A connection to use: an idle one, a new one, or (when at the cap) the next one released,
  // first come first served. `fresh` asks for a new connection where the cap allows.
  asio::awaitable<Result<Lease>> Acquire(bool fresh);
  // Opens a connection in a slot already counted in open_.
  asio::awaitable<Result<Lease>> Connect();
  // Gives a healthy connection back: to the first waiter, else to the idle list.
  void Release(std::unique_ptr<Stream> stream);
  // Forgets a connection that is closed or broken: its slot goes to the first waiter.
  void Discard();
  asio::awaitable<Result<Response>> Exchange(Stream& stream, std::string_view request);

  asio::any_io_executor executor_;
  Endpoint endpoint_;
  std::string host_;  // the Host header: "host:port"
  int max_connections_;
  std::chrono::milliseconds timeout_;
  int open_ = 0;  // connections that exist: idle ones and those in use
  std::vector<std::unique_ptr<Stream>> idle_;
  std::deque<std::shared_ptr<Waiter>> waiters_;
  std::function<void(std::chrono::microseconds)> on_exchange_;
};

}  // namespace todo::client
