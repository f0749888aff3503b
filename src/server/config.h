// todod's settings and the small pure helpers around them: the listen address and how a
// database URL may be shown in logs. Plain values; thread-safe.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "core/status.h"

namespace todo::server {

using core::Result;

struct ServerOptions {
  std::string listen = "127.0.0.1:8080";     // HOST:PORT; port 0 picks a free port
  int threads = 0;                           // event loops; 0 = hardware concurrency
  int max_connections = 10000;               // over it, new connections get 503 and are closed
  std::size_t max_header_bytes = 16 * 1024;  // request line + headers; over it: 431
  std::size_t max_body_bytes = 64 * 1024;    // over it: 413, before the body is read
  // From the first byte of a request to the end of its head.
  std::chrono::milliseconds header_timeout{10'000};
  // From the end of the head to the end of the body.
  std::chrono::milliseconds body_timeout{30'000};
  // A keep-alive connection with no request started is closed after this.
  std::chrono::milliseconds idle_timeout{60'000};
  // Writing one response.
  std::chrono::milliseconds write_timeout{30'000};
  // One store call (the request's deadline once it is read); then 503.
  std::chrono::milliseconds request_deadline{5'000};
  // /readyz's database ping.
  std::chrono::milliseconds ready_deadline{2'000};
  // At shutdown: how long requests in flight may take to finish.
  std::chrono::milliseconds shutdown_grace{10'000};
  // Event streams: a comment line after this long without anything else to send.
  std::chrono::milliseconds heartbeat{15'000};
  // The live feed reads the change log at least this often, notified or not.
  std::chrono::milliseconds feed_poll{1'000};
  // A stream further behind than this many events is closed (the client resumes).
  std::size_t stream_queue = 2048;
  // The folder of the web pages (web/); empty: no pages (404).
  std::string web_dir;
};

// "127.0.0.1:8080", "[::1]:8080", "localhost:8080", "0.0.0.0:0", "*:8080" or ":8080" (every
// IPv4 address). Host names other than localhost are not resolved. kInvalidArgument else.
Result<boost::asio::ip::tcp::endpoint> ParseListenAddress(std::string_view text);

// "http://127.0.0.1:8080", "http://[::1]:8080".
std::string EndpointUrl(const boost::asio::ip::tcp::endpoint& endpoint);

// "sqlite" or "postgresql" (for logs), from a --db value; "unknown" otherwise.
std::string_view DbKind(std::string_view url);
// The URL with any password replaced by "***" (user:pass@ and password=... parameters), so
// it can be logged.
std::string RedactDbUrl(std::string_view url);

}  // namespace todo::server
