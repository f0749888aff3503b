#include "client/snapshot_reader.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include "client/client.h"

namespace todo::client {
namespace {

constexpr std::size_t kChunk = 64 * 1024;

// Hands every complete line of `pending` to `on_line` and keeps the rest.
Status DeliverLines(std::string& pending, const std::function<Status(std::string_view)>& on_line) {
  std::size_t start = 0;
  for (std::size_t end = pending.find('\n'); end != std::string::npos;
       end = pending.find('\n', start)) {
    if (Status s = on_line(std::string_view(pending).substr(start, end - start)); !s.ok()) {
      return s;
    }
    start = end + 1;
  }
  pending.erase(0, start);
  return Status::Ok();
}

}  // namespace

Status ReadSnapshot(const Endpoint& endpoint, const std::string& token,
                    const std::function<Status(std::string_view line)>& on_line,
                    std::chrono::milliseconds timeout) {
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  boost::system::error_code ec;
  asio::ip::tcp::resolver resolver(io);
  auto addresses = resolver.resolve(endpoint.host, endpoint.port, ec);
  if (!ec) asio::connect(socket, addresses, ec);
  if (ec) {
    return Status::Unavailable("cannot connect to " + endpoint.host + ":" + endpoint.port + ": " +
                               ec.message());
  }
  // Blocking reads give up after `timeout` without data (a hung server).
  timeval limit{.tv_sec = static_cast<time_t>(timeout.count() / 1000),
                .tv_usec = static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
  setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  Request request(http::verb::get, "/v1/snapshot", 11);
  request.set(http::field::host, endpoint.host + ":" + endpoint.port);
  request.set(http::field::authorization, "Bearer " + token);
  request.set(http::field::accept, "application/x-ndjson");
  http::write(socket, request, ec);
  if (ec) return Status::Unavailable("sending the snapshot request: " + ec.message());

  beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(boost::none);
  http::read_header(socket, buffer, parser, ec);
  if (ec) return Status::Unavailable("reading the snapshot's head: " + ec.message());
  const int status = static_cast<int>(parser.get().result_int());

  std::string chunk(kChunk, '\0');
  std::string pending;
  std::string error_body;
  while (!parser.is_done()) {
    parser.get().body().data = chunk.data();
    parser.get().body().size = chunk.size();
    http::read(socket, buffer, parser, ec);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) return Status::Unavailable("the snapshot was cut short: " + ec.message());
    std::size_t got = chunk.size() - parser.get().body().size;
    if (status != 200) {
      error_body.append(chunk.data(), got);
      continue;
    }
    pending.append(chunk.data(), got);
    if (Status s = DeliverLines(pending, on_line); !s.ok()) return s;
  }
  if (status != 200) {
    Response response(static_cast<http::status>(status), 11);
    response.body() = error_body;
    return StatusFromResponse(response);
  }
  if (!pending.empty()) return on_line(pending);
  return Status::Ok();
}

}  // namespace todo::client
