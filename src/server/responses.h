// What the API answers: the Reply value handlers return, the one mapping of ErrorCode to HTTP
// status, and the JSON bodies of every success. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/task.h"
#include "server/router.h"
#include "store/store.h"

namespace todo::server {

inline constexpr std::string_view kJsonType = "application/json";
inline constexpr std::string_view kMetricsType = "text/plain; version=0.0.4; charset=utf-8";

// The code name of a 405's error body; every other error body names a core::ErrorCode.
inline constexpr std::string_view kMethodNotAllowedCode = "method_not_allowed";

// One answer, independent of the HTTP library: the connection turns it into a response.
struct Reply {
  int status = 200;
  std::string body;
  std::string_view content_type = kJsonType;  // ignored when `body` is empty
  Route route = Route::kUnknown;              // for metrics
  // For error answers: the code name in the body ("not_found"), counted in metrics.
  std::string_view error_code;
  // The failure behind a 5xx, for the log (the body says less).
  std::string cause;
  std::string_view allow;     // a 405's Allow header
  bool retry_after = false;   // Retry-After: 1 (every 503)
  bool authenticate = false;  // WWW-Authenticate: Bearer (every 401)
  bool replayed = false;      // Idempotent-Replayed: true
  std::string position;       // Todo-Position, when set (a write's commit position)
  std::string_view cache_control;  // Cache-Control, when set
  // A page or its files: X-Content-Type-Options, Referrer-Policy, Content-Security-Policy.
  bool page_headers = false;
};

// The single ErrorCode -> HTTP status mapping: kInvalidArgument 400, kUnauthenticated 401,
// kPermissionDenied 403, kNotFound 404, kConflict 409, kTooLarge 413, kUnavailable 503,
// kInternal (and kOk, which is no error) 500.
int HttpStatusFor(core::ErrorCode code);

// {"error": {"code": ..., "message": ...}} as text.
std::string ErrorBody(const core::Status& status);

// The answer to a failed call: status from HttpStatusFor, the error body, and the headers
// that go with the status (Retry-After for 503, WWW-Authenticate for 401). A kInternal
// answer says only "internal error" in its body; the message goes to `cause` for the log.
Reply ErrorReply(const core::Status& status);
// Like ErrorReply, with an HTTP status other than the mapped one (431 for a head too large).
Reply ErrorReplyWithStatus(int http_status, const core::Status& status);
// 405 with the route's Allow header.
Reply MethodNotAllowedReply(Route route);
// A success with a JSON body.
Reply JsonReply(int status, std::string body);

// Bodies of successful answers (docs/api.md).
std::string RenderTask(const core::Task& task);
std::string RenderTaskPage(const store::TaskPage& page);    // {"tasks": [...], "next": ..}
std::string RenderEventPage(const store::EventPage& page);  // {"events": [...], "next": ..}
std::string RenderUsers(const std::vector<store::UserSummary>& users);  // {"users": [...]}
std::string RenderRemoved(const std::vector<int64_t>& ids);             // {"removed": [...]}
std::string RenderCreatedUser(std::string_view name, core::Role role, std::string_view token);

}  // namespace todo::server
