#include "server/router.h"

namespace todo::server {

namespace http = boost::beast::http;

std::string_view RouteLabel(Route route) {
  switch (route) {
    case Route::kUnknown:
      return "unknown";
    case Route::kHealthz:
      return "/healthz";
    case Route::kReadyz:
      return "/readyz";
    case Route::kMetrics:
      return "/metrics";
    case Route::kTasks:
      return "/v1/tasks";
    case Route::kTask:
      return "/v1/tasks/{id}";
    case Route::kRemoveOldest:
      return "/v1/tasks/remove-oldest";
    case Route::kUsers:
      return "/v1/users";
    case Route::kEvents:
      return "/v1/events";
    case Route::kEventStream:
      return "/v1/events/stream";
    case Route::kPage:
      return "page";
    case Route::kSnapshot:
      return "/v1/snapshot";
  }
  return "unknown";
}

RouteMatch MatchRoute(std::string_view path) {
  if (path == "/healthz") return {Route::kHealthz, {}};
  if (path == "/readyz") return {Route::kReadyz, {}};
  if (path == "/metrics") return {Route::kMetrics, {}};
  if (path == "/v1/tasks") return {Route::kTasks, {}};
  if (path == "/v1/users") return {Route::kUsers, {}};
  if (path == "/v1/events") return {Route::kEvents, {}};
  if (path == "/v1/events/stream") return {Route::kEventStream, {}};
  if (path == "/v1/snapshot") return {Route::kSnapshot, {}};
  constexpr std::string_view kTaskPrefix = "/v1/tasks/";
  if (path.starts_with(kTaskPrefix)) {
    std::string_view rest = path.substr(kTaskPrefix.size());
    if (rest == "remove-oldest") return {Route::kRemoveOldest, {}};
    // One non-empty segment; whether it is a valid id is the handler's business (400).
    if (!rest.empty() && rest.find('/') == std::string_view::npos) return {Route::kTask, rest};
  }
  if (path.starts_with("/") && path != "/v1" && !path.starts_with("/v1/")) {
    return {Route::kPage, {}};
  }
  return {Route::kUnknown, {}};
}

bool MethodAllowed(Route route, http::verb method) {
  switch (route) {
    case Route::kUnknown:
      return false;
    case Route::kHealthz:
    case Route::kReadyz:
    case Route::kMetrics:
    case Route::kEvents:
    case Route::kEventStream:
    case Route::kSnapshot:
      return method == http::verb::get;
    case Route::kPage:
      return method == http::verb::get || method == http::verb::head;
    case Route::kTasks:
    case Route::kUsers:
      return method == http::verb::get || method == http::verb::post;
    case Route::kTask:
      return method == http::verb::get || method == http::verb::patch ||
             method == http::verb::delete_;
    case Route::kRemoveOldest:
      return method == http::verb::post;
  }
  return false;
}

std::string_view AllowHeader(Route route) {
  switch (route) {
    case Route::kUnknown:
      return "";
    case Route::kHealthz:
    case Route::kReadyz:
    case Route::kMetrics:
    case Route::kEvents:
    case Route::kEventStream:
    case Route::kSnapshot:
      return "GET";
    case Route::kPage:
      return "GET, HEAD";
    case Route::kTasks:
    case Route::kUsers:
      return "GET, POST";
    case Route::kTask:
      return "GET, PATCH, DELETE";
    case Route::kRemoveOldest:
      return "POST";
  }
  return "";
}

}  // namespace todo::server
