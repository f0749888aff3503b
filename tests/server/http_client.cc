#include "http_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <cerrno>
#include <cstring>

namespace todo::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;

namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

std::string HttpResponse::Header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

json::value HttpResponse::Json() const {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec) {
    ADD_FAILURE() << "not JSON (status " << status << "): " << body;
    return nullptr;
  }
  return v;
}

std::string HttpResponse::ErrorCode() const {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) return "";
  const json::value* err = v.as_object().if_contains("error");
  if (err == nullptr || !err->is_object()) return "";
  const json::value* code = err->as_object().if_contains("code");
  if (code == nullptr || !code->is_string()) return "";
  return std::string(code->as_string());
}

bool HttpResponse::IsJsonError() const {
  if (Header("content-type") != "application/json") return false;
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object() || v.as_object().size() != 1) return false;
  const json::value* err = v.as_object().if_contains("error");
  if (err == nullptr || !err->is_object() || err->as_object().size() != 2) return false;
  const json::value* code = err->as_object().if_contains("code");
  const json::value* message = err->as_object().if_contains("message");
  return code && code->is_string() && !code->as_string().empty() && message &&
         message->is_string() && !message->as_string().empty();
}

HttpClient::HttpClient(int port, std::string token) : port_(port), token_(std::move(token)) {}

HttpClient::~HttpClient() = default;

bool HttpClient::Connect(std::string& error) {
  stream_.emplace(io_);
  boost::system::error_code ec;
  stream_->socket().connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"),
                                                    static_cast<unsigned short>(port_)),
                            ec);
  if (ec) {
    error = "connect: " + ec.message();
    stream_.reset();
    return false;
  }
  stream_->socket().set_option(asio::ip::tcp::no_delay(true), ec);
  timeval tv{30, 0};
  setsockopt(stream_->socket().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(stream_->socket().native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  return true;
}

HttpResponse HttpClient::Send(http::verb method, const std::string& target, const std::string& body,
                              const Headers& headers) {
  HttpResponse out;
  if (!stream_ && !Connect(out.error)) return out;
  http::request<http::string_body> req{method, target, 11};
  req.set(http::field::host, "127.0.0.1:" + std::to_string(port_));
  if (!token_.empty()) req.set(http::field::authorization, "Bearer " + token_);
  for (const auto& [name, value] : headers) req.set(name, value);
  req.body() = body;
  if (!body.empty() || method == http::verb::post || method == http::verb::patch) {
    req.prepare_payload();
  }
  boost::system::error_code ec;
  http::write(stream_->socket(), req, ec);
  if (ec) {
    out.error = "write: " + ec.message();
    stream_.reset();
    return out;
  }
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  parser.skip(method == http::verb::head);  // an answer to HEAD has no body
  http::read(stream_->socket(), buffer, parser, ec);
  if (ec) {
    out.error = "read: " + ec.message();
    stream_.reset();
    return out;
  }
  auto& res = parser.get();
  out.status = static_cast<int>(res.result_int());
  out.body = res.body();
  for (const auto& field : res) {
    out.headers[Lower(std::string(field.name_string()))] = std::string(field.value());
  }
  out.keep_alive = res.keep_alive();
  if (!out.keep_alive) stream_.reset();
  return out;
}

int64_t HttpClient::AddTask(const std::string& text) {
  json::object body;
  body["task"] = text;
  HttpResponse r = Post("/v1/tasks", json::serialize(body));
  if (r.status != 201) {
    ADD_FAILURE() << "add '" << text << "': " << r.status << " " << r.error << r.body;
    return 0;
  }
  return r.Json().at("id").as_int64();
}

RawConnection::RawConnection(int port) {
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd_);
    fd_ = -1;
    return;
  }
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

RawConnection::~RawConnection() { Close(); }

void RawConnection::Close() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

bool RawConnection::Send(std::string_view data) {
  while (!data.empty() && fd_ >= 0) {
    ssize_t n = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return fd_ >= 0;
}

bool RawConnection::Fill(std::chrono::steady_clock::time_point deadline) {
  if (fd_ < 0) return false;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    char buf[16384];
    ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    buffer_.append(buf, static_cast<std::size_t>(n));
    return true;
  }
}

HttpResponse RawConnection::ReadResponse(std::chrono::milliseconds timeout) {
  HttpResponse out;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::size_t head_end;
  while ((head_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (!Fill(deadline)) {
      out.error = "no complete response head";
      return out;
    }
  }
  std::string head = buffer_.substr(0, head_end);
  std::size_t line_end = head.find("\r\n");
  std::string status_line = head.substr(0, line_end);
  if (status_line.size() < 12 || !status_line.starts_with("HTTP/1.")) {
    out.error = "bad status line: " + status_line;
    return out;
  }
  std::size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    std::size_t eol = head.find("\r\n", pos);
    if (eol == std::string::npos) eol = head.size();
    std::string line = head.substr(pos, eol - pos);
    std::size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      out.headers[Lower(line.substr(0, colon))] = value;
    }
    pos = eol + 2;
  }
  std::size_t length = 0;
  if (std::string cl = out.Header("content-length"); !cl.empty()) length = std::stoul(cl);
  while (buffer_.size() < head_end + 4 + length) {
    if (!Fill(deadline)) {
      out.error = "body cut short";
      return out;
    }
  }
  out.status = std::stoi(status_line.substr(9, 3));
  out.body = buffer_.substr(head_end + 4, length);
  buffer_.erase(0, head_end + 4 + length);
  out.keep_alive = Lower(out.Header("connection")) != "close";
  return out;
}

bool RawConnection::WaitClosed(std::chrono::milliseconds timeout) {
  if (fd_ < 0) return true;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) return false;
    char buf[16384];
    ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) return true;
  }
}

std::string WireRequest(const std::string& method, const std::string& target,
                        const std::string& token, const std::string& body, const Headers& headers) {
  std::string s = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  if (!token.empty()) s += "Authorization: Bearer " + token + "\r\n";
  for (const auto& [name, value] : headers) s += name + ": " + value + "\r\n";
  if (!body.empty() || method == "POST" || method == "PATCH") {
    s += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  s += "\r\n";
  s += body;
  return s;
}

}  // namespace todo::testing
