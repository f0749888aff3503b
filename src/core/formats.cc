#include "core/formats.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cstddef>
#include <string>
#include <utility>

#include "core/json.h"
#include "core/validate.h"

namespace todo::core {
namespace {

namespace json = boost::json;

constexpr std::chrono::milliseconds kOriginPrecision = std::chrono::seconds(1);
constexpr std::chrono::milliseconds kTodoTxtPrecision = std::chrono::days(1);
constexpr std::chrono::milliseconds kJsonPrecision{1};

constexpr std::string_view kOriginForm = "TODO<n> : [user], (YYYY-MM-DD:HH:MM:SS) : text";
constexpr std::string_view kBlank = " \t";

// Editors on Windows may start a UTF-8 file with a byte order mark. It is not content: left
// in place it would become part of the first task's text (or hide the first line's format).
std::string_view StripBom(std::string_view content) {
  constexpr std::string_view kBom = "\xEF\xBB\xBF";
  if (content.starts_with(kBom)) content.remove_prefix(kBom.size());
  return content;
}

bool IsBlank(std::string_view line) { return line.find_first_not_of(kBlank) == line.npos; }

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

Status LineError(int line_number, std::string_view message) {
  return Status::InvalidArgument("line " + std::to_string(line_number) + ": " +
                                 std::string(message));
}

// Calls `parse(line)` for every non-blank line of `content` (without its "\n" or "\r\n"),
// collecting the records; the first failure becomes "line N: <message>".
template <typename ParseLine>
Result<std::vector<TextRecord>> DecodeLines(std::string_view content, ParseLine parse) {
  content = StripBom(content);
  std::vector<TextRecord> records;
  int line_number = 0;
  std::size_t pos = 0;
  while (pos < content.size()) {
    std::size_t end = content.find('\n', pos);
    if (end == content.npos) end = content.size();
    std::string_view line = content.substr(pos, end - pos);
    pos = end + 1;
    ++line_number;
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (IsBlank(line)) continue;
    Result<TextRecord> record = parse(line);
    if (!record.ok()) return LineError(line_number, record.status().message());
    Status valid = ValidateTaskText(record->text);
    if (!valid.ok()) return LineError(line_number, valid.message());
    records.push_back(std::move(*record));
  }
  return records;
}

// ---- origin ----------------------------------------------------------------------------

// The length of "TODO<digits> : [" at the start of `line`, or 0 if it does not start so.
std::size_t OriginPrefixLength(std::string_view line) {
  constexpr std::string_view kTodo = "TODO";
  constexpr std::string_view kOpen = " : [";
  if (!line.starts_with(kTodo)) return 0;
  std::size_t p = kTodo.size();
  while (p < line.size() && IsDigit(line[p])) ++p;
  if (p == kTodo.size() || !line.substr(p).starts_with(kOpen)) return 0;
  return p + kOpen.size();
}

Status OriginMalformed(std::string_view what) {
  return Status::InvalidArgument("expected " + std::string(what) +
                                 " (format: " + std::string(kOriginForm) + ")");
}

Result<TextRecord> ParseOriginLine(std::string_view line) {
  constexpr std::string_view kAfterUser = "], (";
  constexpr std::string_view kAfterTime = ") : ";
  std::size_t user_begin = OriginPrefixLength(line);
  if (user_begin == 0) return OriginMalformed("a line starting with 'TODO<n> : ['");
  std::size_t user_end = line.find(kAfterUser, user_begin);
  if (user_end == line.npos) return OriginMalformed("'], (' after the user name");
  std::string_view user = line.substr(user_begin, user_end - user_begin);
  Status user_ok = ValidateUserName(user);
  if (!user_ok.ok()) return user_ok;
  std::size_t time_begin = user_end + kAfterUser.size();
  // The time holds no ')', so the first ") : " after it ends it even if the text has one.
  std::size_t time_end = line.find(kAfterTime, time_begin);
  if (time_end == line.npos) return OriginMalformed("') : ' after the time");
  Result<TimePoint> created = ParseOriginTime(line.substr(time_begin, time_end - time_begin));
  if (!created.ok()) return created.status();

  TextRecord record;
  record.user = std::string(user);
  record.text = std::string(line.substr(time_end + kAfterTime.size()));
  record.created = *created;
  record.precision = kOriginPrecision;
  return record;
}

// ---- todo.txt --------------------------------------------------------------------------

// True if `text` starts with a todo.txt priority: "(A) " .. "(Z) ".
bool HasPriority(std::string_view text) {
  return text.size() >= 4 && text[0] == '(' && text[1] >= 'A' && text[1] <= 'Z' && text[2] == ')' &&
         text[3] == ' ';
}

// Takes a leading "YYYY-MM-DD " off `rest`. Nothing (and `rest` unchanged) when `rest` does
// not start with that shape; an error when it does but names no real day, since silently
// keeping "2026-02-30" as text would hide the user's typo.
Result<std::optional<TimePoint>> TakeDate(std::string_view& rest) {
  constexpr std::string_view kShape = "dddd-dd-dd ";
  if (rest.size() < kShape.size()) return std::optional<TimePoint>();
  for (std::size_t i = 0; i < kShape.size(); ++i) {
    bool fits = kShape[i] == 'd' ? IsDigit(rest[i]) : rest[i] == kShape[i];
    if (!fits) return std::optional<TimePoint>();
  }
  Result<TimePoint> date = ParseDate(rest.substr(0, kShape.size() - 1));
  if (!date.ok()) return date.status();
  rest.remove_prefix(kShape.size());
  return std::optional<TimePoint>(*date);
}

Result<TextRecord> ParseTodoTxtLine(std::string_view line) {
  TextRecord record;
  record.precision = kTodoTxtPrecision;
  std::string_view rest = line;
  std::string priority;
  if (rest.starts_with("x ")) {
    // Done: "x [COMPLETED [CREATED ]]text"; a creation date only follows a completion date.
    record.is_done = true;
    rest.remove_prefix(2);
    Result<std::optional<TimePoint>> completed = TakeDate(rest);
    if (!completed.ok()) return completed.status();
    if (*completed) {
      record.done = **completed;
      Result<std::optional<TimePoint>> created = TakeDate(rest);
      if (!created.ok()) return created.status();
      record.created = *created;
    }
  } else {
    // Open: "[(A) ][CREATED ]text"; the priority stays part of the text.
    if (HasPriority(rest)) {
      priority = rest.substr(0, 4);
      rest.remove_prefix(4);
    }
    Result<std::optional<TimePoint>> created = TakeDate(rest);
    if (!created.ok()) return created.status();
    record.created = *created;
  }
  record.text = priority + std::string(rest);
  return record;
}

// ---- JSON ------------------------------------------------------------------------------

std::size_t LineAt(std::string_view content, std::size_t offset) {
  offset = std::min(offset, content.size());
  return 1 + static_cast<std::size_t>(std::count(content.begin(), content.begin() + offset, '\n'));
}

Status JsonError(std::string_view content, std::size_t offset, std::string_view message) {
  return LineError(static_cast<int>(LineAt(content, offset)), message);
}

// The offsets at which the elements of the top-level array begin, so that an error in an
// element names its line. Runs only on content the parser accepted, so it may assume the
// JSON is well-formed.
std::vector<std::size_t> ElementOffsets(std::string_view content) {
  std::vector<std::size_t> offsets;
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  bool want_element = false;
  for (std::size_t i = 0; i < content.size(); ++i) {
    char c = content[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
    if (depth == 1 && want_element && c != ']') {
      offsets.push_back(i);
      want_element = false;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        if (++depth == 1) want_element = true;
        break;
      case ']':
      case '}':
        --depth;
        break;
      case ',':
        if (depth == 1) want_element = true;
        break;
      default:
        break;
    }
  }
  return offsets;
}

// An optional field: absent and null both mean "not given".
const json::value* Optional(const json::object& obj, std::string_view field) {
  const json::value* v = obj.if_contains(field);
  return v == nullptr || v->is_null() ? nullptr : v;
}

Result<TimePoint> TimeField(const json::value& v, std::string_view field) {
  const json::string* s = v.if_string();
  if (s == nullptr) {
    return Status::InvalidArgument("field '" + std::string(field) +
                                   "' must be an ISO 8601 time string");
  }
  Result<TimePoint> t = ParseIso8601(std::string_view(s->data(), s->size()));
  if (!t.ok()) {
    return Status::InvalidArgument("field '" + std::string(field) + "': " + t.status().message());
  }
  return t;
}

// Reads one element of the array. Only "task" is required, so that a hand-written file
// imports too; the API's full task objects (TaskToJson) are a special case. "id" and
// "updated" are ignored: the store assigns its own.
Result<TextRecord> RecordFromJson(const json::value& value) {
  const json::object* obj = value.if_object();
  if (obj == nullptr) return Status::InvalidArgument("expected a task object");
  TextRecord record;
  record.precision = kJsonPrecision;

  const json::value* text = obj->if_contains("task");
  if (text == nullptr) return Status::InvalidArgument("field 'task' is missing");
  const json::string* text_string = text->if_string();
  if (text_string == nullptr) return Status::InvalidArgument("field 'task' must be a string");
  record.text.assign(text_string->data(), text_string->size());

  if (const json::value* user = Optional(*obj, "user")) {
    const json::string* user_string = user->if_string();
    if (user_string == nullptr) return Status::InvalidArgument("field 'user' must be a string");
    record.user.assign(user_string->data(), user_string->size());
    Status user_ok = ValidateUserName(record.user);
    if (!user_ok.ok()) return user_ok;
  }
  if (const json::value* created = Optional(*obj, "created")) {
    Result<TimePoint> t = TimeField(*created, "created");
    if (!t.ok()) return t.status();
    record.created = *t;
  }
  if (const json::value* done = Optional(*obj, "done")) {
    Result<TimePoint> t = TimeField(*done, "done");
    if (!t.ok()) return t.status();
    record.is_done = true;
    record.done = *t;
  }
  return record;
}

}  // namespace

std::string_view TextFormatName(TextFormat f) {
  switch (f) {
    case TextFormat::kOrigin:
      return "origin";
    case TextFormat::kTodoTxt:
      return "todotxt";
    case TextFormat::kJson:
      return "json";
  }
  return "todotxt";
}

Result<TextFormat> ParseTextFormat(std::string_view name) {
  for (TextFormat f : {TextFormat::kOrigin, TextFormat::kTodoTxt, TextFormat::kJson}) {
    if (TextFormatName(f) == name) return f;
  }
  return Status::InvalidArgument("unknown format '" + std::string(name) +
                                 "', expected origin, todotxt or json");
}

std::string EncodeOrigin(const std::vector<Task>& tasks) {
  std::string out;
  for (const Task& task : tasks) {
    out += "TODO" + std::to_string(task.id) + " : [" + task.user + "], (" +
           FormatOriginTime(task.created) + ") : " + task.text + "\n";
  }
  return out;
}

std::string EncodeTodoTxt(const std::vector<Task>& tasks) {
  std::string out;
  for (const Task& task : tasks) {
    std::string_view text = task.text;
    if (task.done) {
      // The priority stays inside the text, after the dates, where the decoder keeps it.
      out += "x " + FormatDate(*task.done) + " " + FormatDate(task.created) + " ";
    } else if (HasPriority(text)) {
      out += std::string(text.substr(0, 4)) + FormatDate(task.created) + " ";
      text.remove_prefix(4);
    } else {
      out += FormatDate(task.created) + " ";
    }
    out += text;
    out += '\n';
  }
  return out;
}

std::string EncodeJson(const std::vector<Task>& tasks) {
  std::string out = "[\n";
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    out += "  ";
    AppendTaskJson(out, tasks[i]);
    if (i + 1 < tasks.size()) out += ',';
    out += '\n';
  }
  out += "]\n";
  return out;
}

std::string Encode(TextFormat format, const std::vector<Task>& tasks) {
  switch (format) {
    case TextFormat::kOrigin:
      return EncodeOrigin(tasks);
    case TextFormat::kTodoTxt:
      return EncodeTodoTxt(tasks);
    case TextFormat::kJson:
      return EncodeJson(tasks);
  }
  return EncodeTodoTxt(tasks);
}

TextFormat DetectFormat(std::string_view content) {
  content = StripBom(content);
  std::size_t first = content.find_first_not_of(" \t\r\n");
  if (first == content.npos) return TextFormat::kTodoTxt;
  if (content[first] == '[') {
    // A JSON array of tasks opens with '[' then '{' or ']'; a todo.txt line may start with
    // a bracketed word ("[urgent] fix the build").
    std::size_t next = content.find_first_not_of(" \t\r\n", first + 1);
    if (next == content.npos || content[next] == '{' || content[next] == ']') {
      return TextFormat::kJson;
    }
  }
  std::size_t newline = content.rfind('\n', first);
  std::size_t line_begin = newline == content.npos ? 0 : newline + 1;
  std::string_view line = content.substr(line_begin);
  line = line.substr(0, line.find('\n'));
  return OriginPrefixLength(line) > 0 ? TextFormat::kOrigin : TextFormat::kTodoTxt;
}

Result<std::vector<TextRecord>> DecodeOrigin(std::string_view content) {
  return DecodeLines(content, ParseOriginLine);
}

Result<std::vector<TextRecord>> DecodeTodoTxt(std::string_view content) {
  return DecodeLines(content, ParseTodoTxtLine);
}

Result<std::vector<TextRecord>> DecodeJson(std::string_view content) {
  content = StripBom(content);
  std::size_t first = content.find_first_not_of(" \t\r\n");
  // An empty file holds no tasks, as it does in the line formats.
  if (first == content.npos) return std::vector<TextRecord>();

  json::stream_parser parser;
  boost::system::error_code ec;
  std::size_t consumed = parser.write_some(content.data(), content.size(), ec);
  if (ec) return JsonError(content, consumed, "invalid JSON: " + ec.message());
  if (!parser.done()) {
    // A top-level number only ends at the end of the input; anything else that is not done
    // ends early, and the last line that holds anything is the one to blame.
    parser.finish(ec);
    if (ec) {
      return JsonError(content, content.find_last_not_of(" \t\r\n"),
                       "invalid JSON: " + ec.message());
    }
  } else if (consumed < content.size()) {
    return JsonError(content, consumed, "unexpected text after the JSON array");
  }
  json::value document = parser.release();
  const json::array* array = document.if_array();
  if (array == nullptr) return JsonError(content, first, "expected a JSON array of tasks");

  std::vector<std::size_t> offsets = ElementOffsets(content);
  std::vector<TextRecord> records;
  records.reserve(array->size());
  for (std::size_t i = 0; i < array->size(); ++i) {
    std::size_t offset = i < offsets.size() ? offsets[i] : first;
    Result<TextRecord> record = RecordFromJson((*array)[i]);
    if (!record.ok()) return JsonError(content, offset, record.status().message());
    Status valid = ValidateTaskText(record->text);
    if (!valid.ok()) return JsonError(content, offset, valid.message());
    records.push_back(std::move(*record));
  }
  return records;
}

Result<std::vector<TextRecord>> Decode(TextFormat format, std::string_view content) {
  switch (format) {
    case TextFormat::kOrigin:
      return DecodeOrigin(content);
    case TextFormat::kTodoTxt:
      return DecodeTodoTxt(content);
    case TextFormat::kJson:
      return DecodeJson(content);
  }
  return DecodeTodoTxt(content);
}

}  // namespace todo::core
