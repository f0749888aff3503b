// Reading requests: the request target, query parameters, path ids, JSON bodies and the
// Idempotency-Key header, each checked strictly before anything reaches the store. Every
// failure is kInvalidArgument with a message naming the offending parameter or field
// (except CheckListAccess: kPermissionDenied). Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "core/task.h"
#include "store/store.h"

namespace todo::server {

using core::Result;
using core::Status;

// "/v1/tasks?limit=5" -> path "/v1/tasks", query "limit=5". Views of `target`.
struct Target {
  std::string_view path;
  std::string_view query;
};
Target SplitTarget(std::string_view target);

// Splits "a=1&b=x%20y" into decoded pairs, in order. Empty pieces ("a=1&&b=2") are skipped;
// a piece without '=' has an empty value. Only %XX escapes are decoded ('+' stays '+': no
// parameter of the API can contain a space). kInvalidArgument for a malformed escape.
Result<std::vector<std::pair<std::string, std::string>>> ParseQuery(std::string_view query);

// The {id} of /v1/tasks/{id}: decimal digits only, 1 to 2^63-1.
Result<int64_t> ParseTaskId(std::string_view segment);

// GET /v1/tasks: user (an account name), state (open|done|all, default open), limit (1 to
// 1000, default 100), after (an integer >= 0, default 0). Integers are plain decimal digits
// (no sign, no spaces). A parameter given twice is refused; unknown parameters are ignored.
Result<store::TaskQuery> ParseTaskListQuery(std::string_view query);

// GET /v1/events: after and limit, as for tasks.
struct EventListQuery {
  int64_t after = 0;
  int limit = 100;
};
Result<EventListQuery> ParseEventListQuery(std::string_view query);

// GET /v1/events/stream. The resume point: the Last-Event-ID header, else the `after`
// parameter (an extension for pages: EventSource sets no header on its first connect), else
// none (live from now). The credentials: the Authorization header, else the
// `access_token` parameter made into "Bearer TOKEN" (an extension: EventSource cannot send
// headers at all). kInvalidArgument for a malformed after or Last-Event-ID.
struct StreamQuery {
  std::optional<int64_t> after;
  std::string authorization;
};
Result<StreamQuery> ParseStreamQuery(std::string_view query, std::string_view last_event_id,
                                     std::string_view authorization);

// A developer may list only their own tasks: naming another user is kPermissionDenied.
Status CheckListAccess(const store::Actor& actor, const store::TaskQuery& query);

// POST /v1/tasks: {"task": "..."}; the text must pass core::ValidateTaskText.
// Unknown fields are ignored (here and in every body below).
Result<std::string> ParseAddTaskBody(std::string_view body);

// PATCH /v1/tasks/{id}: {"task"?: string, "done"?: bool}, at least one of the two.
Result<store::TaskPatch> ParsePatchBody(std::string_view body);

// POST /v1/tasks/remove-oldest: {"count": N}, N an integer from 1 to 1000.
Result<int> ParseRemoveOldestBody(std::string_view body);

// POST /v1/users: {"name": "...", "role": "developer|manager|admin"}.
struct NewAccount {
  std::string name;
  core::Role role = core::Role::kDeveloper;
};
Result<NewAccount> ParseCreateUserBody(std::string_view body);

inline constexpr std::size_t kMaxIdempotencyKeyBytes = 255;
// An Idempotency-Key is 1 to 255 visible ASCII characters (0x21 to 0x7E).
Status ValidateIdempotencyKey(std::string_view key);

// What an idempotency record is matched on: the SHA-256 (hex) of
// method + "\n" + path + "\n" + body.
std::string RequestFingerprint(std::string_view method, std::string_view path,
                               std::string_view body);

}  // namespace todo::server
