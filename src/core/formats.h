// Text codecs for task files: the origin's todo.txt lines, the standard todo.txt format,
// and JSON. Pure functions over strings: no files, no clock. Thread-safe.
//
// The origin's line:  TODO<n> : [user], (YYYY-MM-DD:HH:MM:SS) : text
//   <n> is the task id on export and ignored on import; the time is the creation time, UTC.
//   The format has no done marker: done tasks export like open ones.
// todo.txt (github.com/todotxt/todo.txt):
//   open:  [(A) ][CREATED ]text            done:  x [COMPLETED [CREATED ]]text
//   dates are YYYY-MM-DD (UTC); a priority "(A) " and +project / @context / key:value words
//   stay part of the text, so nothing of the line is lost.
// JSON: an array of the API's task objects (see core/json.h).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/task.h"

namespace todo::core {

enum class TextFormat { kOrigin, kTodoTxt, kJson };
std::string_view TextFormatName(TextFormat f);  // "origin", "todotxt", "json"
Result<TextFormat> ParseTextFormat(std::string_view name);

// One task as a file describes it, before any store gives it an id.
struct TextRecord {
  std::string user;                  // empty when the format does not name one (todo.txt)
  std::string text;                  // validated with ValidateTaskText
  std::optional<TimePoint> created;  // absent when the line gives no creation date
  bool is_done = false;
  std::optional<TimePoint> done;     // completion time, when the line gives one
  // How finely this format records `created`: 1 s (origin), 1 day (todo.txt), 1 ms (JSON).
  // Import uses it to recognise a task that is already in the store.
  std::chrono::milliseconds precision{1};

  friend bool operator==(const TextRecord&, const TextRecord&) = default;
};

// Encoders: one line per task ("\n"-terminated) for origin and todo.txt; a JSON array
// (one task per line inside it) for JSON. Never fail: tasks are valid by construction.
std::string EncodeOrigin(const std::vector<Task>& tasks);
std::string EncodeTodoTxt(const std::vector<Task>& tasks);
std::string EncodeJson(const std::vector<Task>& tasks);
std::string Encode(TextFormat format, const std::vector<Task>& tasks);

// Guesses the format of a file's content: JSON if it opens with '[' then '{' or ']',
// origin if the first non-blank line starts with "TODO<digits> : [", else todo.txt.
TextFormat DetectFormat(std::string_view content);

// Decoders. Blank lines are skipped (and, in todo.txt, nothing else). Any malformed line or
// invalid task text fails the whole decode with kInvalidArgument naming the line number
// ("line 3: ..."), so an import is all-or-nothing.
Result<std::vector<TextRecord>> DecodeOrigin(std::string_view content);
Result<std::vector<TextRecord>> DecodeTodoTxt(std::string_view content);
Result<std::vector<TextRecord>> DecodeJson(std::string_view content);
Result<std::vector<TextRecord>> Decode(TextFormat format, std::string_view content);

}  // namespace todo::core
