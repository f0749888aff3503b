#include "client/http_pool.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>

namespace todo::client {
namespace {

using asio::ip::tcp;

// A connection's read buffer to start with: a page of 50 tasks in one read (it grows for
// bigger answers and keeps its size).
constexpr std::size_t kReadBufferSize = 16 * 1024;

Status Broken(std::string_view what, const boost::system::error_code& ec,
              const Endpoint& endpoint) {
  return Status::Unavailable(std::string(what) + " " + endpoint.host + ":" + endpoint.port +
                             ": " + ec.message());
}

}  // namespace

Result<Endpoint> ParseServerUrl(std::string_view url) {
  std::string_view rest = url;
  if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else if (rest.find("://") != std::string_view::npos) {
    return Status::InvalidArgument("server URL '" + std::string(url) +
                                   "' must start with http:// (https is not supported)");
  }
  while (rest.ends_with('/')) rest.remove_suffix(1);
  if (rest.empty() || rest.find('/') != std::string_view::npos) {
    return Status::InvalidArgument("server URL '" + std::string(url) +
                                   "' must look like http://host:port");
  }
  Endpoint e;
  auto colon = rest.rfind(':');
  if (colon == std::string_view::npos) {
    e.host = rest;
    e.port = "8080";
  } else {
    e.host = rest.substr(0, colon);
    e.port = rest.substr(colon + 1);
    bool digits = !e.port.empty() && e.port.size() <= 5 &&
                  e.port.find_first_not_of("0123456789") == std::string::npos;
    if (e.host.empty() || !digits || std::stoi(e.port) > 65535) {
      return Status::InvalidArgument("server URL '" + std::string(url) +
                                     "' must look like http://host:port");
    }
  }
  return e;
}

HttpPool::HttpPool(asio::any_io_executor executor, Endpoint endpoint, int max_connections,
                   std::chrono::milliseconds timeout)
    : executor_(std::move(executor)),
      endpoint_(std::move(endpoint)),
      host_(endpoint_.host + ":" + endpoint_.port),
      max_connections_(max_connections < 1 ? 1 : max_connections),
      timeout_(timeout) {}

HttpPool::~HttpPool() = default;

asio::awaitable<Result<HttpPool::Lease>> HttpPool::Acquire(bool fresh) {
  if (!idle_.empty()) {
    auto stream = std::move(idle_.back());
    idle_.pop_back();
    if (!fresh) co_return Lease{std::move(stream), true};
    --open_;  // dropped, to make room for a new one
  }
  if (open_ < max_connections_) {
    ++open_;
    co_return co_await Connect();
  }
  auto waiter = std::make_shared<Waiter>(executor_, timeout_);
  waiters_.push_back(waiter);
  boost::system::error_code ec;
  co_await waiter->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  // Whatever was handed over counts, even if the timer expired in the same instant.
  if (waiter->stream) co_return Lease{std::move(waiter->stream), true};
  if (waiter->slot) co_return co_await Connect();
  std::erase(waiters_, waiter);
  co_return Status::Unavailable("timed out waiting for a connection to " + endpoint_.host + ":" +
                                endpoint_.port);
}

asio::awaitable<Result<HttpPool::Lease>> HttpPool::Connect() {
  auto stream = std::make_unique<Stream>(executor_);
  tcp::resolver resolver(executor_);
  boost::system::error_code ec;
  auto results = co_await resolver.async_resolve(endpoint_.host, endpoint_.port,
                                                 asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    Discard();
    co_return Broken("cannot resolve", ec, endpoint_);
  }
  stream->expires_after(timeout_);
  co_await stream->async_connect(results, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    Discard();
    co_return Broken("cannot connect to", ec, endpoint_);
  }
  stream->socket().set_option(tcp::no_delay(true), ec);
  stream->buffer.reserve(kReadBufferSize);
  co_return Lease{std::move(stream), false};
}

void HttpPool::Release(std::unique_ptr<Stream> stream) {
  if (waiters_.empty()) {
    idle_.push_back(std::move(stream));
    return;
  }
  auto waiter = std::move(waiters_.front());
  waiters_.pop_front();
  waiter->stream = std::move(stream);
  waiter->timer.cancel();
}

void HttpPool::Discard() {
  if (waiters_.empty()) {
    --open_;
    return;
  }
  auto waiter = std::move(waiters_.front());
  waiters_.pop_front();
  waiter->slot = true;  // open_ stays: the slot passes to the waiter
  waiter->timer.cancel();
}

asio::awaitable<Result<Response>> HttpPool::Exchange(Stream& stream, std::string_view request) {
  boost::system::error_code ec;
  const auto start = std::chrono::steady_clock::now();
  stream.expires_after(timeout_);
  co_await asio::async_write(stream, asio::buffer(request.data(), request.size()),
                             asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return Broken("lost connection to", ec, endpoint_);
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  co_await http::async_read(stream, stream.buffer, parser,
                            asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return Broken("lost connection to", ec, endpoint_);
  if (on_exchange_) {
    on_exchange_(std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - start));
  }
  co_return parser.release();
}

asio::awaitable<Result<Response>> HttpPool::Send(std::string_view request) {
  // A kept-alive connection may have been closed by the server while idle; that shows as an
  // error on first use, so a failure on a reused connection is tried once more on a new one.
  for (bool fresh : {false, true}) {
    auto lease = co_await Acquire(fresh);
    if (!lease.ok()) co_return lease.status();
    auto response = co_await Exchange(*lease->stream, request);
    if (response.ok() && response->keep_alive()) {
      Release(std::move(lease->stream));
    } else {
      Discard();
    }
    if (response.ok() || !lease->reused) co_return response;
  }
  co_return Status::Unavailable("lost connection to " + endpoint_.host + ":" + endpoint_.port);
}

}  // namespace todo::client
