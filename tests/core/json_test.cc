#include "core/json.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace todo::core {
namespace json = boost::json;
namespace {

TimePoint T(std::string_view iso) {
  Result<TimePoint> t = ParseIso8601(iso);
  if (!t.ok()) {
    ADD_FAILURE() << "bad time in test: " << iso;
    return TimePoint();
  }
  return *t;
}

Task SampleTask() {
  Task task;
  task.id = 42;
  task.user = "dev0001";
  task.text = "caf\xC3\xA9 \"quoted\" \\ \xF0\x9F\x8E\x89";
  task.created = T("2026-11-29T08:15:34.859Z");
  task.updated = T("2026-11-30T00:00:00.001Z");
  return task;
}

Event SampleEvent() {
  Event event;
  event.id = 7;
  event.at = T("2026-11-29T08:15:34.859Z");
  event.user = "dev0001";
  event.actor = "admin";
  event.kind = EventKind::kUndone;
  event.task_id = 42;
  event.task = "buy milk";
  return event;
}

// Parses test input; a syntax error in a test is a test bug.
json::value Parse(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(json::string_view(text.data(), text.size()), ec);
  EXPECT_FALSE(ec) << "bad JSON in test: " << text;
  return v;
}

// "'field'", as error messages quote a field. Built by appending: GCC 12's -Wrestrict
// misfires on "'" + std::string(...) at -O2 (GCC bug 105651).
std::string Quoted(std::string_view field) {
  std::string quoted(1, '\'');
  quoted.append(field);
  quoted.push_back('\'');
  return quoted;
}

void ExpectFieldError(const Result<Task>& r, std::string_view field) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find(Quoted(field)), std::string::npos) << r.status().message();
}

TEST(TaskJsonTest, HasTheApiShape) {
  json::object obj = TaskToJson(SampleTask());
  EXPECT_EQ(obj.size(), 6u);
  EXPECT_EQ(obj.at("id"), 42);
  EXPECT_EQ(obj.at("user"), "dev0001");
  EXPECT_EQ(obj.at("task"), "caf\xC3\xA9 \"quoted\" \\ \xF0\x9F\x8E\x89");
  EXPECT_EQ(obj.at("created"), "2026-11-29T08:15:34.859Z");
  EXPECT_EQ(obj.at("updated"), "2026-11-30T00:00:00.001Z");
  EXPECT_TRUE(obj.at("done").is_null());

  Task done = SampleTask();
  done.done = T("2026-12-01T10:00:00.000Z");
  EXPECT_EQ(TaskToJson(done).at("done"), "2026-12-01T10:00:00.000Z");
}

TEST(TaskJsonTest, SerialisesFieldsInDocumentedOrder) {
  EXPECT_EQ(json::serialize(TaskToJson(SampleTask())),
            "{\"id\":42,\"user\":\"dev0001\",\"task\":\"caf\xC3\xA9 \\\"quoted\\\" \\\\ "
            "\xF0\x9F\x8E\x89\",\"created\":\"2026-11-29T08:15:34.859Z\","
            "\"updated\":\"2026-11-30T00:00:00.001Z\",\"done\":null}");
}

// The listings write tasks without building objects: the same bytes as the objects would
// serialize to, for every character that needs escaping and for both done states.
TEST(TaskJsonTest, AppendWritesWhatSerializeWrites) {
  std::string every_control;
  for (char c = 1; c < 0x20; ++c) every_control += c;
  std::vector<Task> tasks = {SampleTask(), SampleTask(), SampleTask(), SampleTask()};
  tasks[1].text = every_control + "\x7f/\"\\end";
  tasks[1].done = T("2026-12-01T10:00:00.123Z");
  tasks[2].text = std::string("nul\0inside", 11);
  tasks[2].user = "u\"ser";
  tasks[3].id = 9223372036854775807;
  tasks[3].created = T("0001-01-01T00:00:00.000Z");
  tasks[3].updated = T("9999-12-31T23:59:59.999Z");
  for (const Task& task : tasks) {
    std::string appended = "prefix";
    AppendTaskJson(appended, task);
    EXPECT_EQ(appended, "prefix" + json::serialize(TaskToJson(task)));
  }
}

TEST(TaskJsonTest, RoundTripsOpenAndDone) {
  Task open = SampleTask();
  Task done = SampleTask();
  done.done = T("2026-12-01T10:00:00.123Z");
  for (const Task& task : {open, done}) {
    // Through text, as the client sees it.
    json::value parsed = Parse(json::serialize(TaskToJson(task)));
    Result<Task> back = TaskFromJson(parsed);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, task);
  }
}

TEST(TaskJsonTest, NamesTheFirstMissingField) {
  const std::string_view fields[] = {"id", "user", "task", "created", "updated", "done"};
  for (std::string_view field : fields) {
    json::object obj = TaskToJson(SampleTask());
    obj.erase(field);
    Result<Task> r = TaskFromJson(obj);
    ExpectFieldError(r, field);
    EXPECT_NE(r.status().message().find("missing"), std::string::npos) << r.status().message();
  }
  // With several missing, the first in document order is named.
  json::object obj = TaskToJson(SampleTask());
  obj.erase("updated");
  obj.erase("user");
  ExpectFieldError(TaskFromJson(obj), "user");
}

TEST(TaskJsonTest, NamesAMistypedField) {
  struct Case {
    std::string_view field;
    json::value value;
  };
  for (const Case& c :
       {Case{"id", json::value("42")}, Case{"id", json::value(42.5)},
        Case{"id", json::value(nullptr)}, Case{"user", json::value(1)},
        Case{"task", json::value(json::array{})}, Case{"created", json::value(1700000000)},
        Case{"created", json::value("2026-11-29")},
        Case{"updated", json::value("2026-02-30T00:00:00Z")}, Case{"done", json::value(true)},
        Case{"done", json::value("soon")}}) {
    json::object obj = TaskToJson(SampleTask());
    obj[c.field] = c.value;
    ExpectFieldError(TaskFromJson(obj), c.field);
  }
}

TEST(TaskJsonTest, RejectsNonObjects) {
  for (const json::value& v :
       {json::value(nullptr), json::value(json::array{1, 2}), json::value("task")}) {
    EXPECT_EQ(TaskFromJson(v).status().code(), ErrorCode::kInvalidArgument);
  }
}

TEST(EventJsonTest, HasTheApiShapeAndRoundTrips) {
  Event event = SampleEvent();
  json::object obj = EventToJson(event);
  EXPECT_EQ(json::serialize(obj),
            "{\"id\":7,\"at\":\"2026-11-29T08:15:34.859Z\",\"user\":\"dev0001\","
            "\"actor\":\"admin\",\"kind\":\"undone\",\"task_id\":42,\"task\":\"buy milk\"}");
  for (EventKind kind : {EventKind::kCreated, EventKind::kEdited, EventKind::kDone,
                         EventKind::kUndone, EventKind::kRemoved}) {
    event.kind = kind;
    Result<Event> back = EventFromJson(Parse(json::serialize(EventToJson(event))));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, event);
  }
}

TEST(EventJsonTest, NamesTheFirstBadField) {
  const std::string_view fields[] = {"id", "at", "user", "actor", "kind", "task_id", "task"};
  for (std::string_view field : fields) {
    json::object obj = EventToJson(SampleEvent());
    obj.erase(field);
    Result<Event> r = EventFromJson(obj);
    ASSERT_FALSE(r.ok()) << field;
    EXPECT_NE(r.status().message().find(Quoted(field)), std::string::npos) << r.status().message();
  }
  json::object obj = EventToJson(SampleEvent());
  obj["kind"] = "deleted";
  Result<Event> r = EventFromJson(obj);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("'kind'"), std::string::npos) << r.status().message();
  obj = EventToJson(SampleEvent());
  obj["task_id"] = "42";
  EXPECT_EQ(EventFromJson(obj).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(EventFromJson(json::value(3)).ok());
}

TEST(ErrorJsonTest, WrapsCodeAndMessage) {
  EXPECT_EQ(json::serialize(ErrorToJson(Status::InvalidArgument("task is empty"))),
            "{\"error\":{\"code\":\"invalid_argument\",\"message\":\"task is empty\"}}");
  json::object obj = ErrorToJson(Status::NotFound("task 7 not found"));
  EXPECT_EQ(obj.at("error").at("code"), "not_found");
  EXPECT_EQ(obj.at("error").at("message"), "task 7 not found");
  EXPECT_EQ(ErrorToJson(Status::TooLarge("x")).at("error").at("code"), "too_large");
}

}  // namespace
}  // namespace todo::core
