// Routing of API v1 paths: which route a path names, and which methods each route allows.
// Pure functions over strings; thread-safe.
#pragma once

// clang-format off
// <ostream> before Beast: Boost 1.81's core::string_view uses it without including it.
#include <ostream>
// clang-format on

#include <boost/beast/http/verb.hpp>
#include <string_view>

namespace todo::server {

// Every route todod answers. kUnknown is any other path (404); it is also the label under
// which requests that never got a route (unparsable heads) are counted.
enum class Route {
  kUnknown = 0,
  kHealthz,       // GET /healthz
  kReadyz,        // GET /readyz
  kMetrics,       // GET /metrics
  kTasks,         // GET, POST /v1/tasks
  kTask,          // GET, PATCH, DELETE /v1/tasks/{id}
  kRemoveOldest,  // POST /v1/tasks/remove-oldest
  kUsers,         // GET, POST /v1/users
  kEvents,        // GET /v1/events
  kEventStream,   // GET /v1/events/stream (Server-Sent Events)
  kPage,          // GET, HEAD of anything outside /v1/: the web pages and their files
  kSnapshot,      // GET /v1/snapshot (JSON lines, chunked)
};
inline constexpr int kRouteCount = 12;

// The route's label in metrics and logs: "/v1/tasks/{id}", "unknown", ...
std::string_view RouteLabel(Route route);

struct RouteMatch {
  Route route = Route::kUnknown;
  std::string_view id;  // kTask: the raw {id} segment (not yet validated); a view of `path`
};

// Matches a path (no query string). Exact matches only: no trailing slash, no
// percent-decoding (no route has reserved characters in it). /v1/snapshot belongs to a later
// version of the server and is kUnknown for now. Every path outside /v1/ (other than the
// health and metrics ones) is kPage: a static file, or 404.
RouteMatch MatchRoute(std::string_view path);

// Whether `route` answers `method`; kUnknown answers nothing.
bool MethodAllowed(Route route, boost::beast::http::verb method);
// The value of the Allow header of a 405 for `route`: "GET, POST".
std::string_view AllowHeader(Route route);

}  // namespace todo::server
