#include "server/config.h"

#include <charconv>

namespace todo::server {

namespace asio = boost::asio;
using asio::ip::tcp;

Result<tcp::endpoint> ParseListenAddress(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return core::Status::InvalidArgument("listen address '" + std::string(text) + "' " +
                                         std::string(why) + " (expected HOST:PORT)");
  };
  std::string_view host;
  std::string_view port;
  if (text.starts_with('[')) {
    std::size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return bad("is malformed");
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad("has no port");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535) {
    return bad("has a bad port");
  }
  asio::ip::address address;
  if (host.empty() || host == "*") {
    address = asio::ip::address_v4::any();
  } else if (host == "localhost") {
    address = asio::ip::address_v4::loopback();
  } else {
    boost::system::error_code aec;
    address = asio::ip::make_address(std::string(host), aec);
    if (aec) return bad("has a host that is not an IP address");
  }
  return tcp::endpoint(address, static_cast<unsigned short>(value));
}

std::string EndpointUrl(const tcp::endpoint& endpoint) {
  std::string host = endpoint.address().to_string();
  if (endpoint.address().is_v6()) host = "[" + host + "]";
  return "http://" + host + ":" + std::to_string(endpoint.port());
}

std::string_view DbKind(std::string_view url) {
  if (url.starts_with("postgresql://") || url.starts_with("postgres://")) return "postgresql";
  if (url.find("://") != std::string_view::npos) return "unknown";
  return "sqlite";
}

std::string RedactDbUrl(std::string_view url) {
  std::string out(url);
  std::size_t scheme = out.find("://");
  if (scheme != std::string::npos) {
    std::size_t start = scheme + 3;
    std::size_t end = out.find_first_of("/?", start);
    if (end == std::string::npos) end = out.size();
    std::size_t at = out.rfind('@', end);
    if (at != std::string::npos && at >= start) {
      std::size_t colon = out.find(':', start);
      if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
    }
  }
  // password=... in the query string (libpq accepts it there too).
  for (std::size_t pos = out.find("password="); pos != std::string::npos;
       pos = out.find("password=", pos + 1)) {
    bool at_param_start = pos > 0 && (out[pos - 1] == '?' || out[pos - 1] == '&');
    if (!at_param_start) continue;
    std::size_t value = pos + 9;
    std::size_t end = out.find('&', value);
    if (end == std::string::npos) end = out.size();
    out.replace(value, end - value, "***");
  }
  return out;
}

}  // namespace todo::server
