#include "server/static_files.h"

#include <fstream>
#include <iterator>
#include <sstream>

namespace todo::server {
namespace {

bool IsSafeName(std::string_view name) {
  if (name.empty() || name.size() > 128 || name.front() == '.') return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return name.find("..") == std::string_view::npos;
}

}  // namespace

std::string_view StaticContentType(std::string_view name) {
  auto dot = name.rfind('.');
  if (dot == std::string_view::npos) return {};
  std::string_view ext = name.substr(dot + 1);
  if (ext == "html") return "text/html; charset=utf-8";
  if (ext == "js" || ext == "mjs") return "text/javascript; charset=utf-8";
  if (ext == "css") return "text/css; charset=utf-8";
  if (ext == "svg") return "image/svg+xml";
  if (ext == "png") return "image/png";
  if (ext == "ico") return "image/x-icon";
  if (ext == "json") return "application/json";
  if (ext == "txt") return "text/plain; charset=utf-8";
  return {};
}

Reply StaticFileReply(const std::string& web_dir, std::string_view path) {
  std::string_view name;
  if (path == "/") {
    name = "index.html";
  } else if (path == "/manager") {
    name = "manager.html";
  } else if (path.size() > 1 && path.front() == '/') {
    name = path.substr(1);
  }
  std::string_view type = StaticContentType(name);
  if (web_dir.empty() || !IsSafeName(name) || type.empty()) {
    return ErrorReply(core::Status::NotFound("no such page"));
  }
  std::ifstream in(web_dir + "/" + std::string(name), std::ios::binary);
  if (!in) return ErrorReply(core::Status::NotFound("no such page"));
  std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Reply reply;
  reply.status = 200;
  reply.body = std::move(body);
  reply.content_type = type;
  reply.cache_control = "no-cache";
  reply.page_headers = true;
  return reply;
}

}  // namespace todo::server
