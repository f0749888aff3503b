#include "core/formats.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/validate.h"

namespace todo::core {
namespace {

using std::chrono::days;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr milliseconds kDay = std::chrono::duration_cast<milliseconds>(days(1));

TimePoint T(std::string_view iso) {
  Result<TimePoint> t = ParseIso8601(iso);
  if (!t.ok()) {
    ADD_FAILURE() << "bad time in test: " << iso;
    return TimePoint();
  }
  return *t;
}

Task MakeTask(int64_t id, std::string user, std::string text, std::string_view created,
              std::optional<std::string_view> done = std::nullopt) {
  Task task;
  task.id = id;
  task.user = std::move(user);
  task.text = std::move(text);
  task.created = T(created);
  task.updated = done ? T(*done) : task.created;
  if (done) task.done = T(*done);
  return task;
}

// A mix that exercises every codec: priorities, dates and "x " inside texts, tabs, Unicode,
// leading and trailing spaces, separators of the origin format inside the text.
std::vector<Task> SampleTasks() {
  return {
      MakeTask(1, "dev0001", "buy milk", "2026-11-01T09:30:15.250Z"),
      MakeTask(2, "dev0001", "(A) call Bob", "2026-11-02T23:59:59.999Z"),
      MakeTask(3, "dev0002", "ship +release @work", "2026-11-01T00:00:00.000Z",
               "2026-11-29T08:15:34.859Z"),
      MakeTask(4, "dev0002", "(B) done with priority", "2026-10-01T12:00:00.001Z",
               "2026-10-02T12:00:00.000Z"),
      MakeTask(5, "ann.lee", "x marks the spot", "2026-11-03T01:02:03.004Z"),
      MakeTask(6, "ann.lee", "2026-12-24 starts with a date", "2026-11-04T05:06:07.008Z"),
      MakeTask(7, "ann.lee", "caf\xC3\xA9 \xF0\x9F\x8E\x89 ship it\twith tab",
               "2026-11-05T10:00:00.500Z"),
      MakeTask(8, "b", " leading and trailing ", "2026-11-06T11:11:11.111Z"),
      MakeTask(9, "b", "tricky ) : [x], (y) : \"quoted\" \\ back", "2026-11-07T12:00:00.000Z",
               "2026-11-08T00:00:00.000Z"),
      MakeTask(1234567, "c", "(A)", "2026-11-09T00:00:00.000Z"),
  };
}

TimePoint FloorTo(TimePoint t, milliseconds precision) {
  return TimePoint(
      milliseconds(t.time_since_epoch().count() / precision.count() * precision.count()));
}

// The record that decoding `task` in a format with `precision` must give back.
TextRecord Expected(const Task& task, milliseconds precision, bool keeps_user, bool keeps_done) {
  TextRecord r;
  if (keeps_user) r.user = task.user;
  r.text = task.text;
  r.created = FloorTo(task.created, precision);
  if (keeps_done && task.done) {
    r.is_done = true;
    r.done = FloorTo(*task.done, precision);
  }
  r.precision = precision;
  return r;
}

// Decodes `content` expecting failure; returns the message.
template <typename Decoder>
std::string DecodeError(Decoder decode, std::string_view content) {
  Result<std::vector<TextRecord>> r = decode(content);
  EXPECT_FALSE(r.ok()) << "decoded without error: " << content;
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  return r.status().message();
}

testing::AssertionResult StartsWith(std::string_view s, std::string_view prefix) {
  if (s.starts_with(prefix)) return testing::AssertionSuccess();
  return testing::AssertionFailure() << "'" << s << "' does not start with '" << prefix << "'";
}

testing::AssertionResult Contains(std::string_view s, std::string_view part) {
  if (s.find(part) != s.npos) return testing::AssertionSuccess();
  return testing::AssertionFailure() << "'" << s << "' does not contain '" << part << "'";
}

// ---- names ---------------------------------------------------------------------------

TEST(TextFormatTest, NamesRoundTrip) {
  for (TextFormat f : {TextFormat::kOrigin, TextFormat::kTodoTxt, TextFormat::kJson}) {
    Result<TextFormat> parsed = ParseTextFormat(TextFormatName(f));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, f);
  }
  EXPECT_EQ(TextFormatName(TextFormat::kOrigin), "origin");
  EXPECT_EQ(TextFormatName(TextFormat::kTodoTxt), "todotxt");
  EXPECT_EQ(TextFormatName(TextFormat::kJson), "json");
  EXPECT_EQ(ParseTextFormat("csv").status().code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(ParseTextFormat("").ok());
}

// ---- origin --------------------------------------------------------------------------

TEST(OriginTest, EncodesOneLinePerTaskWithTheId) {
  std::vector<Task> tasks = {MakeTask(42, "dev0001", "buy milk", "2026-11-29T08:15:34.859Z"),
                             MakeTask(7, "ann", "(A) call", "2026-01-02T03:04:05.000Z")};
  EXPECT_EQ(EncodeOrigin(tasks),
            "TODO42 : [dev0001], (2026-11-29:08:15:34) : buy milk\n"
            "TODO7 : [ann], (2026-01-02:03:04:05) : (A) call\n");
  EXPECT_EQ(EncodeOrigin({}), "");
}

TEST(OriginTest, DecodesALine) {
  auto r = DecodeOrigin("TODO1 : [dev0001], (2026-11-29:08:15:34) : buy milk\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 1u);
  const TextRecord& rec = (*r)[0];
  EXPECT_EQ(rec.user, "dev0001");
  EXPECT_EQ(rec.text, "buy milk");
  EXPECT_EQ(rec.created, T("2026-11-29T08:15:34Z"));
  EXPECT_FALSE(rec.is_done);
  EXPECT_EQ(rec.done, std::nullopt);
  EXPECT_EQ(rec.precision, seconds(1));
}

TEST(OriginTest, RoundTripsToTheSecond) {
  std::vector<Task> tasks = SampleTasks();
  auto r = DecodeOrigin(EncodeOrigin(tasks));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), tasks.size());
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    EXPECT_EQ((*r)[i], Expected(tasks[i], seconds(1), /*keeps_user=*/true,
                                /*keeps_done=*/false))
        << "task " << tasks[i].id;
  }
}

// The origin format has no done marker (documented in formats.h).
TEST(OriginTest, DoneStateIsNotRepresented) {
  Task done = MakeTask(3, "dev", "finished", "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z");
  Task open = done;
  open.done.reset();
  EXPECT_EQ(EncodeOrigin({done}), EncodeOrigin({open}));
  auto r = DecodeOrigin(EncodeOrigin({done}));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE((*r)[0].is_done);
}

TEST(OriginTest, TaskNumberIsIgnoredOnImport) {
  auto a = DecodeOrigin("TODO1 : [u], (2026-11-29:08:15:34) : same");
  auto b = DecodeOrigin("TODO999999999999999999999 : [u], (2026-11-29:08:15:34) : same");
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(*a, *b);
}

TEST(OriginTest, SkipsBlankLinesAndStripsCarriageReturns) {
  auto r = DecodeOrigin(
      "\r\n"
      "TODO1 : [a], (2026-11-29:08:15:34) : first\r\n"
      "   \t\n"
      "\n"
      "TODO2 : [b], (2026-11-30:00:00:00) : second");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].text, "first");
  EXPECT_EQ((*r)[1].text, "second");
  EXPECT_EQ((*r)[1].user, "b");
}

TEST(OriginTest, EmptyContentDecodesToNothing) {
  auto r = DecodeOrigin("");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
}

TEST(OriginTest, MalformedLinesNameTheirLine) {
  const std::string good = "TODO1 : [dev], (2026-11-29:08:15:34) : fine\n";
  auto with_bad_third_line = [&](std::string_view bad) {
    return good + "\n" + std::string(bad) + "\n" + good;
  };
  struct Case {
    std::string_view line;
    std::string_view reason;
  };
  for (Case c : std::vector<Case>{
           {"buy milk", "TODO<n>"},
           {"TODO : [dev], (2026-11-29:08:15:34) : no number", "TODO<n>"},
           {"TODO1: [dev], (2026-11-29:08:15:34) : no space", "TODO<n>"},
           {"TODO1 : [dev] (2026-11-29:08:15:34) : no comma", "'], ('"},
           {"TODO1 : [bad user], (2026-11-29:08:15:34) : x", "user name"},
           {"TODO1 : [], (2026-11-29:08:15:34) : x", "user name is empty"},
           {"TODO1 : [dev], (2026-11-29:08:15:34): x", "') : '"},
           {"TODO1 : [dev], (2026-02-30:08:15:34) : bad day", "2026-02-30:08:15:34"},
           {"TODO1 : [dev], (2026-11-29:25:00:00) : bad hour", "2026-11-29:25:00:00"},
           {"TODO1 : [dev], (2026-11-29 08:15:34) : bad form", "invalid time"},
           {"TODO1 : [dev], (2026-11-29:08:15:34) : ", "task is empty"},
           {"TODO1 : [dev], (2026-11-29:08:15:34) :  \t ", "only whitespace"},
           {"TODO1 : [dev], (2026-11-29:08:15:34) : bell\x07", "control character"},
           {"TODO1 : [dev], (2026-11-29:08:15:34) : bad \xC0\xAF", "UTF-8"},
       }) {
    std::string message = DecodeError(DecodeOrigin, with_bad_third_line(c.line));
    EXPECT_TRUE(StartsWith(message, "line 3: ")) << c.line;
    EXPECT_TRUE(Contains(message, c.reason)) << c.line << " -> " << message;
  }
}

TEST(OriginTest, OverlongTextIsRejected) {
  std::string line = "TODO1 : [dev], (2026-11-29:08:15:34) : ";
  auto ok = DecodeOrigin(line + std::string(kMaxTaskBytes, 'a'));
  EXPECT_TRUE(ok.ok());
  std::string message = DecodeError(DecodeOrigin, line + std::string(kMaxTaskBytes + 1, 'a'));
  EXPECT_TRUE(StartsWith(message, "line 1: "));
}

// ---- todo.txt ------------------------------------------------------------------------

TEST(TodoTxtTest, ParsesDoneLineWithBothDates) {
  auto r = DecodeTodoTxt("x 2026-11-29 2026-11-01 ship +release @work\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 1u);
  const TextRecord& rec = (*r)[0];
  EXPECT_TRUE(rec.is_done);
  EXPECT_EQ(rec.done, T("2026-11-29T00:00:00Z"));
  EXPECT_EQ(rec.created, T("2026-11-01T00:00:00Z"));
  EXPECT_EQ(rec.text, "ship +release @work");
  EXPECT_EQ(rec.user, "");
  EXPECT_EQ(rec.precision, kDay);
  EXPECT_EQ(rec.precision, milliseconds(86400000));
}

TEST(TodoTxtTest, PriorityStaysInTextAndDateIsTaken) {
  auto r = DecodeTodoTxt("(A) 2026-11-01 call Bob");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const TextRecord& rec = (*r)[0];
  EXPECT_FALSE(rec.is_done);
  EXPECT_EQ(rec.done, std::nullopt);
  EXPECT_EQ(rec.created, T("2026-11-01T00:00:00Z"));
  EXPECT_EQ(rec.text, "(A) call Bob");
}

TEST(TodoTxtTest, PlainLineHasNoDates) {
  auto r = DecodeTodoTxt("buy milk");
  ASSERT_TRUE(r.ok());
  const TextRecord& rec = (*r)[0];
  EXPECT_FALSE(rec.is_done);
  EXPECT_EQ(rec.created, std::nullopt);
  EXPECT_EQ(rec.done, std::nullopt);
  EXPECT_EQ(rec.text, "buy milk");
  EXPECT_EQ(rec.precision, kDay);
}

TEST(TodoTxtTest, DoneLineWithoutDates) {
  auto r = DecodeTodoTxt("x done thing");
  ASSERT_TRUE(r.ok());
  const TextRecord& rec = (*r)[0];
  EXPECT_TRUE(rec.is_done);
  EXPECT_EQ(rec.done, std::nullopt);
  EXPECT_EQ(rec.created, std::nullopt);
  EXPECT_EQ(rec.text, "done thing");
}

TEST(TodoTxtTest, MoreLineShapes) {
  struct Case {
    std::string_view line;
    bool is_done;
    std::optional<std::string_view> done;
    std::optional<std::string_view> created;
    std::string_view text;
  };
  for (const Case& c : std::vector<Case>{
           {"x 2026-11-29 ship", true, "2026-11-29T00:00:00Z", std::nullopt, "ship"},
           {"2026-11-01 open with date", false, std::nullopt, "2026-11-01T00:00:00Z",
            "open with date"},
           {"(A) call Bob", false, std::nullopt, std::nullopt, "(A) call Bob"},
           {"(a) 2026-11-01 lower case is no priority", false, std::nullopt, std::nullopt,
            "(a) 2026-11-01 lower case is no priority"},
           {"X 2026-11-29 capital X is not done", false, std::nullopt, std::nullopt,
            "X 2026-11-29 capital X is not done"},
           {"xylophone", false, std::nullopt, std::nullopt, "xylophone"},
           {"x", false, std::nullopt, std::nullopt, "x"},
           {"2026-11-01", false, std::nullopt, std::nullopt, "2026-11-01"},
           {"x (A) 2026-11-01 priority before date", true, std::nullopt, std::nullopt,
            "(A) 2026-11-01 priority before date"},
           {"2026-11-01 2026-12-01 second date is text", false, std::nullopt,
            "2026-11-01T00:00:00Z", "2026-12-01 second date is text"},
           {"x 2026-11-29 2026-11-01 2026-12-01 third date is text", true, "2026-11-29T00:00:00Z",
            "2026-11-01T00:00:00Z", "2026-12-01 third date is text"},
           {"  indented", false, std::nullopt, std::nullopt, "  indented"},
           {"call mom due:2026-12-01 pri:A", false, std::nullopt, std::nullopt,
            "call mom due:2026-12-01 pri:A"},
       }) {
    auto r = DecodeTodoTxt(c.line);
    ASSERT_TRUE(r.ok()) << c.line << ": " << r.status().ToString();
    ASSERT_EQ(r->size(), 1u);
    const TextRecord& rec = (*r)[0];
    EXPECT_EQ(rec.is_done, c.is_done) << c.line;
    EXPECT_EQ(rec.done, c.done ? std::optional(T(*c.done)) : std::nullopt) << c.line;
    EXPECT_EQ(rec.created, c.created ? std::optional(T(*c.created)) : std::nullopt) << c.line;
    EXPECT_EQ(rec.text, c.text) << c.line;
  }
}

TEST(TodoTxtTest, EncodesOpenAndDoneLines) {
  std::vector<Task> tasks = {
      MakeTask(1, "u", "buy milk", "2026-11-01T09:30:00Z"),
      MakeTask(2, "u", "(A) call Bob", "2026-11-01T23:59:59.999Z"),
      MakeTask(3, "u", "ship +release @work", "2026-11-01T00:00:00Z", "2026-11-29T08:15:34Z"),
      MakeTask(4, "u", "(B) prioritised", "2026-11-01T00:00:00Z", "2026-11-29T00:00:00Z"),
  };
  EXPECT_EQ(EncodeTodoTxt(tasks),
            "2026-11-01 buy milk\n"
            "(A) 2026-11-01 call Bob\n"
            "x 2026-11-29 2026-11-01 ship +release @work\n"
            "x 2026-11-29 2026-11-01 (B) prioritised\n");
  EXPECT_EQ(EncodeTodoTxt({}), "");
}

TEST(TodoTxtTest, RoundTripsToTheDay) {
  std::vector<Task> tasks = SampleTasks();
  auto r = DecodeTodoTxt(EncodeTodoTxt(tasks));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), tasks.size());
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    EXPECT_EQ((*r)[i], Expected(tasks[i], kDay, /*keeps_user=*/false, /*keeps_done=*/true))
        << "task " << tasks[i].id;
  }
}

// For a line that has a creation date, decoding and encoding again gives the line back.
TEST(TodoTxtTest, NothingOfALineWithACreationDateIsLost) {
  const std::vector<std::string> lines = {
      "x 2026-11-29 2026-11-01 ship +release @work",
      "(A) 2026-11-01 call Bob",
      "2026-11-01 buy milk",
      "2026-11-01 call mom +family @phone due:2026-12-01 pri:A",
      "x 2026-11-29 2026-11-01 (B) done with priority",
      "2026-11-01 x not done, only starts with x",
      "2026-11-01  two spaces kept",
      "2026-11-01 trailing space kept ",
      "(C) 2026-11-01 2026-12-24 text starting with a date",
      "x 2026-11-29 2026-11-01 2026-12-24 done, text starting with a date",
      "2026-11-01 caf\xC3\xA9 \xF0\x9F\x8E\x89 ship it\twith a tab",
      "(Z) 2026-11-01 (A) second priority is text",
  };
  std::string file;
  for (const std::string& line : lines) file += line + "\n";

  auto r = DecodeTodoTxt(file);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), lines.size());
  std::vector<Task> tasks;
  for (const TextRecord& rec : *r) {
    ASSERT_TRUE(rec.created.has_value()) << rec.text;
    Task task;
    task.text = rec.text;
    task.created = *rec.created;
    task.updated = *rec.created;
    task.done = rec.done;
    tasks.push_back(task);
  }
  EXPECT_EQ(EncodeTodoTxt(tasks), file);
}

// "DATE (A) text" is not todo.txt's layout (the priority comes first) and decodes like
// "(A) DATE text", so it comes back in the standard layout; what it says is kept.
TEST(TodoTxtTest, PriorityAfterTheDateIsNormalised) {
  auto first = DecodeTodoTxt("2026-11-01 (A) call Bob\n");
  ASSERT_TRUE(first.ok());
  EXPECT_EQ((*first)[0].text, "(A) call Bob");
  EXPECT_EQ((*first)[0].created, T("2026-11-01T00:00:00Z"));
  Task task;
  task.text = (*first)[0].text;
  task.created = *(*first)[0].created;
  std::string encoded = EncodeTodoTxt({task});
  EXPECT_EQ(encoded, "(A) 2026-11-01 call Bob\n");
  auto second = DecodeTodoTxt(encoded);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second, *first);
}

TEST(TodoTxtTest, SkipsOnlyBlankLinesAndStripsCarriageReturns) {
  auto r = DecodeTodoTxt("first\r\n\r\n  \t \nsecond\r\n\nthird");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].text, "first");
  EXPECT_EQ((*r)[1].text, "second");
  EXPECT_EQ((*r)[2].text, "third");
}

TEST(TodoTxtTest, ByteOrderMarkIsNotText) {
  auto r = DecodeTodoTxt(std::string("\xEF\xBB\xBF") + "buy milk\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0].text, "buy milk");
}

TEST(TodoTxtTest, MalformedLinesNameTheirLine) {
  struct Case {
    std::string_view content;
    std::string_view prefix;
    std::string_view reason;
  };
  for (Case c : std::vector<Case>{
           {"ok\n2026-02-30 not a day\n", "line 2: ", "2026-02-30"},
           {"ok\r\n\r\nx 2026-11-29 2026-13-01 bad month", "line 3: ", "2026-13-01"},
           {"x 2026-02-29 2026-01-01 no leap day in 2026", "line 1: ", "2026-02-29"},
           {"a\nb\nc\n\xC2\xA0\xE3\x80\x80\n", "line 4: ", "only whitespace"},
           {"a\n2026-11-01 \n", "line 2: ", "task is empty"},
           {"a\nb\nbad \x80 byte\n", "line 3: ", "UTF-8"},
           {"a\nbell\x07\n", "line 2: ", "control character"},
           {"a\nstray\rreturn\n", "line 2: ", "control character"},
       }) {
    std::string message = DecodeError(DecodeTodoTxt, c.content);
    EXPECT_TRUE(StartsWith(message, c.prefix)) << message;
    EXPECT_TRUE(Contains(message, c.reason)) << message;
  }
}

TEST(TodoTxtTest, OneBadLineFailsTheWholeDecode) {
  auto r = DecodeTodoTxt("good\n" + std::string(kMaxTaskBytes + 1, 'a') + "\ngood\n");
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(StartsWith(r.status().message(), "line 2: "));
}

// ---- JSON ----------------------------------------------------------------------------

TEST(JsonFormatTest, EncodesOneTaskObjectPerLine) {
  std::vector<Task> tasks = {SampleTasks()[0], SampleTasks()[2]};
  std::string expected = "[\n  " + boost::json::serialize(TaskToJson(tasks[0])) + ",\n  " +
                         boost::json::serialize(TaskToJson(tasks[1])) + "\n]\n";
  EXPECT_EQ(EncodeJson(tasks), expected);
  EXPECT_EQ(EncodeJson({}), "[\n]\n");
  EXPECT_TRUE(Contains(EncodeJson(tasks), "\"task\":\"buy milk\""));
}

TEST(JsonFormatTest, RoundTripsToTheMillisecond) {
  std::vector<Task> tasks = SampleTasks();
  auto r = DecodeJson(EncodeJson(tasks));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), tasks.size());
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    EXPECT_EQ((*r)[i], Expected(tasks[i], milliseconds(1), /*keeps_user=*/true,
                                /*keeps_done=*/true))
        << "task " << tasks[i].id;
  }
}

TEST(JsonFormatTest, OnlyTheTaskTextIsRequired) {
  auto r = DecodeJson(R"([{"task": "buy milk"}, {"task": "b", "user": null, "created": null,
                          "done": null, "extra": [1, {"x": 2}]}])");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 2u);
  TextRecord expected;
  expected.text = "buy milk";
  EXPECT_EQ((*r)[0], expected);
  expected.text = "b";
  EXPECT_EQ((*r)[1], expected);
}

TEST(JsonFormatTest, EmptyInputsDecodeToNothing) {
  for (std::string_view content : {"", "  \r\n\n", "[]", "[\n]\n", " [ ] "}) {
    auto r = DecodeJson(content);
    ASSERT_TRUE(r.ok()) << testing::PrintToString(content) << r.status().ToString();
    EXPECT_TRUE(r->empty());
  }
}

TEST(JsonFormatTest, CarriageReturnsAreFine) {
  auto r = DecodeJson("[\r\n  {\"task\": \"a\"},\r\n  {\"task\": \"b\"}\r\n]\r\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->size(), 2u);
}

TEST(JsonFormatTest, ErrorsNameTheLine) {
  struct Case {
    std::string_view content;
    std::string_view prefix;
    std::string_view reason;
  };
  for (Case c : std::vector<Case>{
           {"[\n  {\"task\": \"a\"},\n  {\"task\": \"\"}\n]\n", "line 3: ", "task is empty"},
           {"[\n  {\"task\": \"a\"},\n  {\"text\": \"b\"}\n]\n",
            "line 3: ", "field 'task' is missing"},
           {"[\n  {\"task\": \"a, [b] {c} \\\"q\\\" \\\\\"},\n  {\"task\": 5}\n]\n",
            "line 3: ", "field 'task' must be a string"},
           {"[\n  \"just text\"\n]", "line 2: ", "expected a task object"},
           {"[\n  {\"task\": \"a\"},\n\n  {\"task\": \"b\", \"created\": \"yesterday\"}\n]",
            "line 4: ", "created"},
           {"[\n  {\"task\": \"a\", \"done\": 17}\n]", "line 2: ", "done"},
           {"[\n  {\"task\": \"a\", \"user\": \"bad user\"}\n]", "line 2: ", "user name"},
           {"[\n  {\"task\": \"a\", \"user\": 3}\n]", "line 2: ", "user"},
           {"[\n  {\"task\": \"two\\nlines\"}\n]", "line 2: ", "control character"},
           {"[{\"task\": \"a\"}, {\"task\": \" \"}]", "line 1: ", "only whitespace"},
           {"[\n  {\"task\": \"a\"},\n  {\"task\": \"b\",,}\n]\n", "line 3: ", "invalid JSON"},
           {"[\n  {\"task\": \"a\"},\n  {\"task\": \"b\"},\n]\n", "line 4: ", "invalid JSON"},
           {"[\n  {\"task\": \"a\"}\n", "line 2: ", "invalid JSON"},
           {"[\n  {\"task\": \"bad \xC0\xAF\"}\n]", "line 2: ", "invalid JSON"},
           {"\n{\"task\": \"a\"}", "line 2: ", "expected a JSON array"},
           {"42", "line 1: ", "expected a JSON array"},
           {"[]\ntrailing", "line 2: ", "unexpected text"},
       }) {
    std::string message = DecodeError(DecodeJson, c.content);
    EXPECT_TRUE(StartsWith(message, c.prefix)) << c.content << " -> " << message;
    EXPECT_TRUE(Contains(message, c.reason)) << c.content << " -> " << message;
  }
}

// ---- detection and dispatch ------------------------------------------------------------

TEST(DetectFormatTest, RecognisesEachFormat) {
  EXPECT_EQ(DetectFormat("[]"), TextFormat::kJson);
  EXPECT_EQ(DetectFormat(" \r\n\t[\n{\"task\": \"a\"}]"), TextFormat::kJson);
  EXPECT_EQ(DetectFormat("TODO1 : [dev], (2026-11-29:08:15:34) : x"), TextFormat::kOrigin);
  EXPECT_EQ(DetectFormat("\n  \r\nTODO12 : [dev]"), TextFormat::kOrigin);
  EXPECT_EQ(DetectFormat("buy milk\nTODO1 : [dev], (2026-11-29:08:15:34) : x"),
            TextFormat::kTodoTxt);
  EXPECT_EQ(DetectFormat("TODO : [dev], (2026-11-29:08:15:34) : x"), TextFormat::kTodoTxt);
  EXPECT_EQ(DetectFormat("TODO1: [dev]"), TextFormat::kTodoTxt);
  EXPECT_EQ(DetectFormat("TODO list for today"), TextFormat::kTodoTxt);
  EXPECT_EQ(DetectFormat("  TODO1 : [dev]"), TextFormat::kTodoTxt);
  // Regression: a todo.txt file whose first task starts with a bracketed word is not JSON.
  EXPECT_EQ(DetectFormat("[urgent] fix the build\nbuy milk"), TextFormat::kTodoTxt);
  EXPECT_EQ(DetectFormat("[ ]"), TextFormat::kJson);
  EXPECT_EQ(DetectFormat("(A) 2026-11-01 call Bob"), TextFormat::kTodoTxt);
  EXPECT_EQ(DetectFormat("x 2026-11-29 done"), TextFormat::kTodoTxt);
  EXPECT_EQ(DetectFormat(""), TextFormat::kTodoTxt);
  EXPECT_EQ(DetectFormat("\xEF\xBB\xBF[]"), TextFormat::kJson);
  EXPECT_EQ(DetectFormat("\xEF\xBB\xBFTODO1 : [dev]"), TextFormat::kOrigin);
}

TEST(DetectFormatTest, RecognisesEveryEncoderOutput) {
  std::vector<Task> tasks = SampleTasks();
  for (TextFormat f : {TextFormat::kOrigin, TextFormat::kTodoTxt, TextFormat::kJson}) {
    EXPECT_EQ(DetectFormat(Encode(f, tasks)), f) << TextFormatName(f);
  }
  EXPECT_EQ(DetectFormat(EncodeJson({})), TextFormat::kJson);
}

TEST(CodecDispatchTest, EncodeAndDecodeFollowTheFormat) {
  std::vector<Task> tasks = SampleTasks();
  EXPECT_EQ(Encode(TextFormat::kOrigin, tasks), EncodeOrigin(tasks));
  EXPECT_EQ(Encode(TextFormat::kTodoTxt, tasks), EncodeTodoTxt(tasks));
  EXPECT_EQ(Encode(TextFormat::kJson, tasks), EncodeJson(tasks));
  for (TextFormat f : {TextFormat::kOrigin, TextFormat::kTodoTxt, TextFormat::kJson}) {
    auto r = Decode(f, Encode(f, tasks));
    ASSERT_TRUE(r.ok()) << TextFormatName(f) << ": " << r.status().ToString();
    ASSERT_EQ(r->size(), tasks.size());
    EXPECT_EQ((*r)[0].text, tasks[0].text);
  }
  EXPECT_EQ((*Decode(TextFormat::kOrigin, EncodeOrigin(tasks)))[0].precision, seconds(1));
  EXPECT_EQ((*Decode(TextFormat::kTodoTxt, EncodeTodoTxt(tasks)))[0].precision, kDay);
  EXPECT_EQ((*Decode(TextFormat::kJson, EncodeJson(tasks)))[0].precision, milliseconds(1));
  // A format's content is not valid in another format.
  EXPECT_FALSE(Decode(TextFormat::kOrigin, EncodeTodoTxt(tasks)).ok());
  EXPECT_FALSE(Decode(TextFormat::kJson, EncodeOrigin(tasks)).ok());
}

}  // namespace
}  // namespace todo::core
