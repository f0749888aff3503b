// The API's JSON shapes for tasks, events and errors (docs/api.md), in one place so that the
// server, the client, the CLI's export and the idempotency records all agree.
// Pure functions; thread-safe.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"
#include "core/task.h"

namespace todo::core {

// {"id": 42, "user": "dev0001", "task": "text", "created": "...Z", "updated": "...Z",
//  "done": null | "...Z"}
boost::json::object TaskToJson(const Task& task);
// Appends serialize(TaskToJson(task)) to `out`, the same bytes, without building the object:
// the listings write 50 tasks per page, and the objects were a tenth of todod's CPU.
void AppendTaskJson(std::string& out, const Task& task);
// Appends `text` as a JSON string, quoted and escaped as boost::json::serialize does.
void AppendJsonString(std::string& out, std::string_view text);
// The inverse; kInvalidArgument naming the first missing or mistyped field.
Result<Task> TaskFromJson(const boost::json::value& value);

// {"id": 7, "at": "...Z", "user": "...", "actor": "...", "kind": "created", "task_id": 42,
//  "task": "text"}
boost::json::object EventToJson(const Event& event);
Result<Event> EventFromJson(const boost::json::value& value);

// {"error": {"code": "invalid_argument", "message": "task is empty"}}
boost::json::object ErrorToJson(const Status& status);

// The first and last lines of a snapshot (GET /v1/snapshot, `todo snapshot`), without
// their newline: {"position":7,"at":"...","tasks":3} (tasks left out when unknown) and
// {"end":{"tasks":3}}.
std::string SnapshotHeaderLine(int64_t position, TimePoint at, std::optional<int64_t> tasks);
std::string SnapshotTrailerLine(int64_t tasks);

}  // namespace todo::core
