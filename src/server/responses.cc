#include "server/responses.h"

#include <boost/json.hpp>

#include "core/json.h"

namespace todo::server {

namespace json = boost::json;
using core::ErrorCode;

int HttpStatusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return 400;
    case ErrorCode::kUnauthenticated:
      return 401;
    case ErrorCode::kPermissionDenied:
      return 403;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kConflict:
      return 409;
    case ErrorCode::kTooLarge:
      return 413;
    case ErrorCode::kUnavailable:
      return 503;
    case ErrorCode::kOk:
    case ErrorCode::kInternal:
      return 500;
  }
  return 500;
}

std::string ErrorBody(const core::Status& status) {
  return json::serialize(core::ErrorToJson(status));
}

Reply ErrorReplyWithStatus(int http_status, const core::Status& status) {
  Reply r;
  r.status = http_status;
  r.error_code = core::ErrorCodeName(status.code());
  if (status.code() == ErrorCode::kInternal || status.code() == ErrorCode::kOk) {
    // Internal details (SQL, exception texts) stay in the log.
    r.body = ErrorBody(core::Status::Internal("internal error"));
    r.error_code = core::ErrorCodeName(ErrorCode::kInternal);
  } else {
    r.body = ErrorBody(status);
  }
  if (http_status >= 500) r.cause = status.ToString();
  r.retry_after = http_status == 503;
  r.authenticate = http_status == 401;
  return r;
}

Reply ErrorReply(const core::Status& status) {
  return ErrorReplyWithStatus(HttpStatusFor(status.code()), status);
}

Reply MethodNotAllowedReply(Route route) {
  Reply r;
  r.status = 405;
  r.route = route;
  r.error_code = kMethodNotAllowedCode;
  json::object error;
  error["code"] = kMethodNotAllowedCode;
  error["message"] = "method not allowed; allowed: " + std::string(AllowHeader(route));
  json::object body;
  body["error"] = std::move(error);
  r.body = json::serialize(body);
  r.allow = AllowHeader(route);
  return r;
}

Reply JsonReply(int status, std::string body) {
  Reply r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

namespace {

json::value NextValue(const std::optional<int64_t>& next) {
  if (next) return json::value(*next);
  return json::value(nullptr);
}

}  // namespace

std::string RenderTask(const core::Task& task) {
  std::string out;
  core::AppendTaskJson(out, task);
  return out;
}

std::string RenderTaskPage(const store::TaskPage& page) {
  std::string out = "{\"tasks\":[";
  out.reserve(page.tasks.size() * 160 + 32);
  for (std::size_t i = 0; i < page.tasks.size(); ++i) {
    if (i > 0) out += ',';
    core::AppendTaskJson(out, page.tasks[i]);
  }
  out += "],\"next\":";
  out += page.next ? std::to_string(*page.next) : "null";
  out += '}';
  return out;
}

std::string RenderEventPage(const store::EventPage& page) {
  json::array events;
  events.reserve(page.events.size());
  for (const core::Event& e : page.events) events.emplace_back(core::EventToJson(e));
  json::object body;
  body["events"] = std::move(events);
  body["next"] = NextValue(page.next);
  return json::serialize(body);
}

std::string RenderUsers(const std::vector<store::UserSummary>& users) {
  json::array list;
  list.reserve(users.size());
  for (const store::UserSummary& u : users) {
    json::object o;
    o["name"] = u.name;
    o["role"] = core::RoleName(u.role);
    o["open"] = u.open;
    o["done"] = u.done;
    if (u.last_update) {
      o["last_update"] = core::FormatIso8601(*u.last_update);
    } else {
      o["last_update"] = nullptr;
    }
    list.emplace_back(std::move(o));
  }
  json::object body;
  body["users"] = std::move(list);
  return json::serialize(body);
}

std::string RenderRemoved(const std::vector<int64_t>& ids) {
  json::array list;
  list.reserve(ids.size());
  for (int64_t id : ids) list.emplace_back(id);
  json::object body;
  body["removed"] = std::move(list);
  return json::serialize(body);
}

std::string RenderCreatedUser(std::string_view name, core::Role role, std::string_view token) {
  json::object body;
  body["name"] = name;
  body["role"] = core::RoleName(role);
  body["token"] = token;
  return json::serialize(body);
}

}  // namespace todo::server
