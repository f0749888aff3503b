// Test clients for todod: HttpClient, a tiny synchronous keep-alive HTTP/1.1 client on
// Beast, and RawConnection, a plain TCP socket for requests no proper client would send.
// Not thread-safe: one object per thread.
#pragma once

// clang-format off
// <ostream> before Beast: Boost 1.81's core::string_view uses it without including it.
#include <ostream>
// clang-format on

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace todo::testing {

struct HttpResponse {
  int status = 0;  // 0: no answer (connection failed or closed); `error` says why
  std::string error;
  std::string body;
  std::map<std::string, std::string> headers;  // names in lower case
  bool keep_alive = true;

  // The header's value, "" when absent.
  std::string Header(const std::string& lower_name) const;
  // The body parsed as JSON (null, with a test failure, when it is not JSON).
  boost::json::value Json() const;
  // body.error.code of an error body ("" when the body is not one).
  std::string ErrorCode() const;
  // True when the body is exactly {"error": {"code": string, "message": string}} and the
  // Content-Type is application/json.
  bool IsJsonError() const;
};

using Headers = std::vector<std::pair<std::string, std::string>>;

class HttpClient {
 public:
  // A client of 127.0.0.1:port sending `Authorization: Bearer token` (none when empty).
  explicit HttpClient(int port, std::string token = "");
  ~HttpClient();

  void set_token(std::string token) { token_ = std::move(token); }

  // Sends one request on the kept-alive connection (connecting first when needed) and reads
  // the answer; 30 s timeout. Never retries.
  HttpResponse Send(boost::beast::http::verb method, const std::string& target,
                    const std::string& body = "", const Headers& headers = {});
  HttpResponse Get(const std::string& target) {
    return Send(boost::beast::http::verb::get, target);
  }
  HttpResponse Post(const std::string& target, const std::string& body,
                    const Headers& headers = {}) {
    return Send(boost::beast::http::verb::post, target, body, headers);
  }
  HttpResponse Patch(const std::string& target, const std::string& body,
                     const Headers& headers = {}) {
    return Send(boost::beast::http::verb::patch, target, body, headers);
  }
  HttpResponse Delete(const std::string& target, const Headers& headers = {}) {
    return Send(boost::beast::http::verb::delete_, target, "", headers);
  }

  // Adds a task and returns its id (a test failure and 0 if it was not 201).
  int64_t AddTask(const std::string& text);

 private:
  bool Connect(std::string& error);

  int port_;
  std::string token_;
  boost::asio::io_context io_;
  std::optional<boost::beast::tcp_stream> stream_;
};

// A raw TCP connection to 127.0.0.1:port. Every call is bounded by its timeout.
class RawConnection {
 public:
  explicit RawConnection(int port);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return fd_ >= 0; }
  // Writes all of `data`; false on error.
  bool Send(std::string_view data);
  // Reads one response (head, then a Content-Length body). status 0 on EOF/timeout/error.
  HttpResponse ReadResponse(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // True if the server closes the connection (EOF or reset) within `timeout`; data that
  // arrives before is dropped.
  bool WaitClosed(std::chrono::milliseconds timeout);
  void Close();

 private:
  // Reads more into buffer_; false on EOF, error or timeout.
  bool Fill(std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  std::string buffer_;
};

// A request in HTTP/1.1 wire format, with Host, Content-Length and the bearer token.
std::string WireRequest(const std::string& method, const std::string& target,
                        const std::string& token, const std::string& body = "",
                        const Headers& headers = {});

}  // namespace todo::testing
