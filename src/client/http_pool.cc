#include "client/http_pool.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>

namespace todo::client {
namespace {

using asio::ip::tcp;

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
      max_connections_(max_connections < 1 ? 1 : max_connections),
      timeout_(timeout) {}

HttpPool::~HttpPool() = default;

asio::awaitable<Result<std::unique_ptr<HttpPool::Stream>>> HttpPool::Acquire(bool fresh) {
  for (;;) {
    if (!fresh && !idle_.empty()) {
      auto stream = std::move(idle_.back());
      idle_.pop_back();
      co_return stream;
    }
    if (fresh && !idle_.empty()) {
      // A new connection is wanted and an idle one stands in the way of the cap: drop it.
      idle_.pop_back();
      --open_;
    }
    if (open_ < max_connections_) {
      ++open_;
      auto stream = std::make_unique<Stream>(executor_);
      tcp::resolver resolver(executor_);
      boost::system::error_code ec;
      auto results = co_await resolver.async_resolve(
          endpoint_.host, endpoint_.port, asio::redirect_error(asio::use_awaitable, ec));
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
      co_return stream;
    }
    // At the cap: wait for a Release (which cancels the timer) or time out.
    auto timer = std::make_shared<asio::steady_timer>(executor_, timeout_);
    waiters_.push_back(timer);
    boost::system::error_code ec;
    co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!ec) {
      std::erase(waiters_, timer);
      co_return Status::Unavailable("timed out waiting for a connection to " + endpoint_.host +
                                    ":" + endpoint_.port);
    }
    fresh = false;
  }
}

void HttpPool::Release(std::unique_ptr<Stream> stream) {
  idle_.push_back(std::move(stream));
  if (!waiters_.empty()) {
    waiters_.front()->cancel();
    waiters_.pop_front();
  }
}

void HttpPool::Discard() {
  --open_;
  if (!waiters_.empty()) {
    waiters_.front()->cancel();
    waiters_.pop_front();
  }
}

asio::awaitable<Result<Response>> HttpPool::Exchange(Stream& stream, Request& request) {
  boost::system::error_code ec;
  stream.expires_after(timeout_);
  co_await http::async_write(stream, request, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return Broken("lost connection to", ec, endpoint_);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  co_await http::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return Broken("lost connection to", ec, endpoint_);
  co_return parser.release();
}

asio::awaitable<Result<Response>> HttpPool::Send(Request request) {
  request.set(http::field::host, endpoint_.host + ":" + endpoint_.port);
  request.prepare_payload();
  // A kept-alive connection may have been closed by the server while idle; that shows as an
  // error on first use, so one failure on a reused connection is retried on a fresh one.
  bool reused = !idle_.empty();
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto stream = co_await Acquire(attempt > 0);
    if (!stream.ok()) co_return stream.status();
    auto response = co_await Exchange(**stream, request);
    if (response.ok()) {
      if (response->keep_alive()) {
        Release(std::move(*stream));
      } else {
        Discard();
      }
      co_return response;
    }
    Discard();
    if (!reused) co_return response;
    reused = false;
  }
  co_return Status::Unavailable("unreachable");
}

}  // namespace todo::client
