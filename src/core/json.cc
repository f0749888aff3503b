#include "core/json.h"

#include <optional>
#include <string>
#include <string_view>

namespace todo::core {
namespace {

namespace json = boost::json;

Status Missing(std::string_view field) {
  return Status::InvalidArgument("field '" + std::string(field) + "' is missing");
}

Status Mistyped(std::string_view field, std::string_view expected) {
  return Status::InvalidArgument("field '" + std::string(field) + "' must be " +
                                 std::string(expected));
}

// Field readers: each one names `field` in its error, so the caller reports the first bad
// field simply by reading the fields in order. No Boost.JSON accessor that throws is used.
Result<int64_t> GetInt(const json::object& obj, std::string_view field) {
  const json::value* v = obj.if_contains(field);
  if (v == nullptr) return Missing(field);
  if (const int64_t* i = v->if_int64()) return *i;
  return Mistyped(field, "an integer");
}

Result<std::string> GetString(const json::object& obj, std::string_view field) {
  const json::value* v = obj.if_contains(field);
  if (v == nullptr) return Missing(field);
  if (const json::string* s = v->if_string()) return std::string(s->data(), s->size());
  return Mistyped(field, "a string");
}

// A time is an ISO 8601 string (see FormatIso8601).
Result<TimePoint> TimeFromValue(const json::value& v, std::string_view field) {
  const json::string* s = v.if_string();
  if (s == nullptr) return Mistyped(field, "an ISO 8601 time string");
  Result<TimePoint> t = ParseIso8601(std::string_view(s->data(), s->size()));
  if (!t.ok()) return Mistyped(field, "an ISO 8601 time: " + t.status().message());
  return t;
}

Result<TimePoint> GetTime(const json::object& obj, std::string_view field) {
  const json::value* v = obj.if_contains(field);
  if (v == nullptr) return Missing(field);
  return TimeFromValue(*v, field);
}

// A time that may also be null (the task's `done`); the field itself must be present.
Result<std::optional<TimePoint>> GetOptionalTime(const json::object& obj, std::string_view field) {
  const json::value* v = obj.if_contains(field);
  if (v == nullptr) return Missing(field);
  if (v->is_null()) return std::optional<TimePoint>();
  Result<TimePoint> t = TimeFromValue(*v, field);
  if (!t.ok()) return t.status();
  return std::optional<TimePoint>(*t);
}

}  // namespace

json::object TaskToJson(const Task& task) {
  json::object obj;
  obj["id"] = task.id;
  obj["user"] = task.user;
  obj["task"] = task.text;
  obj["created"] = FormatIso8601(task.created);
  obj["updated"] = FormatIso8601(task.updated);
  if (task.done) {
    obj["done"] = FormatIso8601(*task.done);
  } else {
    obj["done"] = nullptr;
  }
  return obj;
}

void AppendJsonString(std::string& out, std::string_view text) {
  // Boost.JSON's escapes: the short ones it uses, \u00xx (lower-case hex) for the other
  // control characters, everything else (UTF-8 included) as it is.
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  std::size_t plain = 0;  // start of the run not yet copied
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(text.substr(plain, i - plain));
    plain = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\f': out += "\\f"; break;
      case '\r': out += "\\r"; break;
      default:
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 15];
    }
  }
  out.append(text.substr(plain));
  out += '"';
}

void AppendTaskJson(std::string& out, const Task& task) {
  out += "{\"id\":";
  out += std::to_string(task.id);
  out += ",\"user\":";
  AppendJsonString(out, task.user);
  out += ",\"task\":";
  AppendJsonString(out, task.text);
  out += ",\"created\":\"";
  AppendIso8601(out, task.created);
  out += "\",\"updated\":\"";
  AppendIso8601(out, task.updated);
  if (task.done) {
    out += "\",\"done\":\"";
    AppendIso8601(out, *task.done);
    out += "\"}";
  } else {
    out += "\",\"done\":null}";
  }
}

Result<Task> TaskFromJson(const json::value& value) {
  const json::object* obj = value.if_object();
  if (obj == nullptr) return Status::InvalidArgument("a task must be a JSON object");
  Task task;
  Result<int64_t> id = GetInt(*obj, "id");
  if (!id.ok()) return id.status();
  task.id = *id;
  Result<std::string> user = GetString(*obj, "user");
  if (!user.ok()) return user.status();
  task.user = std::move(*user);
  Result<std::string> text = GetString(*obj, "task");
  if (!text.ok()) return text.status();
  task.text = std::move(*text);
  Result<TimePoint> created = GetTime(*obj, "created");
  if (!created.ok()) return created.status();
  task.created = *created;
  Result<TimePoint> updated = GetTime(*obj, "updated");
  if (!updated.ok()) return updated.status();
  task.updated = *updated;
  Result<std::optional<TimePoint>> done = GetOptionalTime(*obj, "done");
  if (!done.ok()) return done.status();
  task.done = *done;
  return task;
}

json::object EventToJson(const Event& event) {
  json::object obj;
  obj["id"] = event.id;
  obj["at"] = FormatIso8601(event.at);
  obj["user"] = event.user;
  obj["actor"] = event.actor;
  obj["kind"] = EventKindName(event.kind);
  obj["task_id"] = event.task_id;
  obj["task"] = event.task;
  return obj;
}

Result<Event> EventFromJson(const json::value& value) {
  const json::object* obj = value.if_object();
  if (obj == nullptr) return Status::InvalidArgument("an event must be a JSON object");
  Event event;
  Result<int64_t> id = GetInt(*obj, "id");
  if (!id.ok()) return id.status();
  event.id = *id;
  Result<TimePoint> at = GetTime(*obj, "at");
  if (!at.ok()) return at.status();
  event.at = *at;
  Result<std::string> user = GetString(*obj, "user");
  if (!user.ok()) return user.status();
  event.user = std::move(*user);
  Result<std::string> actor = GetString(*obj, "actor");
  if (!actor.ok()) return actor.status();
  event.actor = std::move(*actor);
  Result<std::string> kind_name = GetString(*obj, "kind");
  if (!kind_name.ok()) return kind_name.status();
  Result<EventKind> kind = ParseEventKind(*kind_name);
  if (!kind.ok()) return Mistyped("kind", "an event kind: " + kind.status().message());
  event.kind = *kind;
  Result<int64_t> task_id = GetInt(*obj, "task_id");
  if (!task_id.ok()) return task_id.status();
  event.task_id = *task_id;
  Result<std::string> text = GetString(*obj, "task");
  if (!text.ok()) return text.status();
  event.task = std::move(*text);
  return event;
}

json::object ErrorToJson(const Status& status) {
  json::object error;
  error["code"] = ErrorCodeName(status.code());
  error["message"] = status.message();
  json::object obj;
  obj["error"] = std::move(error);
  return obj;
}

std::string SnapshotHeaderLine(int64_t position, TimePoint at, std::optional<int64_t> tasks) {
  boost::json::object head;
  head["position"] = position;
  head["at"] = FormatIso8601(at);
  if (tasks) head["tasks"] = *tasks;
  return boost::json::serialize(head);
}

std::string SnapshotTrailerLine(int64_t tasks) {
  boost::json::object end;
  end["tasks"] = tasks;
  boost::json::object trailer;
  trailer["end"] = std::move(end);
  return boost::json::serialize(trailer);
}

}  // namespace todo::core
