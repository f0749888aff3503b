// The domain types: Task, Role, Event, and the clock they are stamped with.
//
// Plain values with no behaviour beyond conversions; safe to copy between threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace todo::core {

// Every time in the system: UTC, millisecond precision (what the API prints).
using TimePoint = std::chrono::sys_time<std::chrono::milliseconds>;

// The current time, rounded down to the millisecond.
TimePoint Now();

// "2026-11-29T08:15:34.859Z" (ISO 8601, UTC, always milliseconds).
std::string FormatIso8601(TimePoint t);
// The same, appended to `out` (no string of its own: task pages render three per task).
void AppendIso8601(std::string& out, TimePoint t);
// Parses "YYYY-MM-DDTHH:MM:SS[.fff]Z". Anything else is kInvalidArgument.
Result<TimePoint> ParseIso8601(std::string_view text);

// The origin's timestamp "YYYY-MM-DD:HH:MM:SS" (UTC, seconds).
std::string FormatOriginTime(TimePoint t);
Result<TimePoint> ParseOriginTime(std::string_view text);

// "YYYY-MM-DD" (UTC), as in todo.txt.
std::string FormatDate(TimePoint t);
Result<TimePoint> ParseDate(std::string_view text);

// Milliseconds since the Unix epoch, the storage representation.
inline int64_t ToMillis(TimePoint t) { return t.time_since_epoch().count(); }
inline TimePoint FromMillis(int64_t ms) { return TimePoint(std::chrono::milliseconds(ms)); }

// One to-do item. `user` owns it; `done` is set once it is completed.
struct Task {
  int64_t id = 0;
  std::string user;
  std::string text;
  TimePoint created;
  TimePoint updated;
  std::optional<TimePoint> done;

  friend bool operator==(const Task&, const Task&) = default;
};

enum class Role { kDeveloper, kManager, kAdmin };
std::string_view RoleName(Role role);  // "developer", "manager", "admin"
Result<Role> ParseRole(std::string_view name);
// Managers and admins read every user's tasks.
inline bool CanReadAll(Role r) { return r == Role::kManager || r == Role::kAdmin; }
// Only developers write tasks (their own).
inline bool CanWriteTasks(Role r) { return r == Role::kDeveloper; }

enum class EventKind { kCreated, kEdited, kDone, kUndone, kRemoved };
std::string_view EventKindName(EventKind kind);  // "created", "edited", ...
Result<EventKind> ParseEventKind(std::string_view name);

// One row of the append-only change log. `user` owns the task, `actor` made the change;
// `task` is the text after the change (for kRemoved, the text that was removed).
struct Event {
  int64_t id = 0;
  TimePoint at;
  std::string user;
  std::string actor;
  EventKind kind = EventKind::kCreated;
  int64_t task_id = 0;
  std::string task;

  friend bool operator==(const Event&, const Event&) = default;
};

// Which tasks a listing selects.
enum class TaskState { kOpen, kDone, kAll };
std::string_view TaskStateName(TaskState s);  // "open", "done", "all"
Result<TaskState> ParseTaskState(std::string_view name);

}  // namespace todo::core
