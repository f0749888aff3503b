#include "core/task.h"

#include <array>
#include <charconv>
#include <cstdio>

namespace todo::core {
namespace {

using std::chrono::days;
using std::chrono::floor;
using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::year_month_day;

struct Fields {
  int year, month, day, hour, minute, second, millis;
};

Fields Split(TimePoint t) {
  auto day_point = floor<days>(t);
  year_month_day ymd(day_point);
  auto ms_in_day = (t - day_point).count();
  return Fields{static_cast<int>(ymd.year()), static_cast<int>(static_cast<unsigned>(ymd.month())),
                static_cast<int>(static_cast<unsigned>(ymd.day())),
                static_cast<int>(ms_in_day / 3600000), static_cast<int>(ms_in_day / 60000 % 60),
                static_cast<int>(ms_in_day / 1000 % 60), static_cast<int>(ms_in_day % 1000)};
}

// Reads exactly `width` decimal digits at `pos`; advances pos.
bool ReadNumber(std::string_view s, std::size_t& pos, int width, int& out) {
  if (pos + width > s.size()) return false;
  out = 0;
  for (int i = 0; i < width; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  pos += width;
  return true;
}

bool Expect(std::string_view s, std::size_t& pos, char c) {
  if (pos >= s.size() || s[pos] != c) return false;
  ++pos;
  return true;
}

Result<TimePoint> Build(int y, int mo, int d, int h, int mi, int se, int ms,
                        std::string_view original) {
  year_month_day ymd{std::chrono::year(y), std::chrono::month(static_cast<unsigned>(mo)),
                     std::chrono::day(static_cast<unsigned>(d))};
  if (!ymd.ok() || h > 23 || mi > 59 || se > 59) {
    return Status::InvalidArgument("invalid date or time '" + std::string(original) + "'");
  }
  return TimePoint(std::chrono::sys_days(ymd).time_since_epoch() + std::chrono::hours(h) +
                   std::chrono::minutes(mi) + seconds(se) + milliseconds(ms));
}

Status BadTime(std::string_view text, std::string_view expected) {
  return Status::InvalidArgument("invalid time '" + std::string(text) + "', expected " +
                                 std::string(expected));
}

}  // namespace

TimePoint Now() { return floor<milliseconds>(std::chrono::system_clock::now()); }

void AppendIso8601(std::string& out, TimePoint t) {
  Fields f = Split(t);
  if (f.year >= 0 && f.year <= 9999) {
    // The common case by hand, in place: snprintf, and then a string of its own per time, were
    // visible parts of rendering task pages.
    const std::size_t at = out.size();
    out += "0000-00-00T00:00:00.000Z";
    auto put = [&out, at](std::size_t offset, int value, int digits) {
      for (int d = digits - 1; d >= 0; --d, value /= 10) {
        out[at + offset + static_cast<std::size_t>(d)] = static_cast<char>('0' + value % 10);
      }
    };
    put(0, f.year, 4);
    put(5, f.month, 2);
    put(8, f.day, 2);
    put(11, f.hour, 2);
    put(14, f.minute, 2);
    put(17, f.second, 2);
    put(20, f.millis, 3);
    return;
  }
  std::array<char, 40> buf;
  int n = std::snprintf(buf.data(), buf.size(), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", f.year,
                        f.month, f.day, f.hour, f.minute, f.second, f.millis);
  out.append(buf.data(), static_cast<std::size_t>(n));
}

std::string FormatIso8601(TimePoint t) {
  std::string out;
  AppendIso8601(out, t);
  return out;
}

Result<TimePoint> ParseIso8601(std::string_view s) {
  constexpr std::string_view kForm = "YYYY-MM-DDTHH:MM:SS[.fff]Z";
  std::size_t p = 0;
  int y, mo, d, h, mi, se, ms = 0;
  if (!(ReadNumber(s, p, 4, y) && Expect(s, p, '-') && ReadNumber(s, p, 2, mo) &&
        Expect(s, p, '-') && ReadNumber(s, p, 2, d) && Expect(s, p, 'T') &&
        ReadNumber(s, p, 2, h) && Expect(s, p, ':') && ReadNumber(s, p, 2, mi) &&
        Expect(s, p, ':') && ReadNumber(s, p, 2, se))) {
    return BadTime(s, kForm);
  }
  if (p < s.size() && s[p] == '.') {
    ++p;
    if (!ReadNumber(s, p, 3, ms)) return BadTime(s, kForm);
  }
  if (!Expect(s, p, 'Z') || p != s.size()) return BadTime(s, kForm);
  return Build(y, mo, d, h, mi, se, ms, s);
}

std::string FormatOriginTime(TimePoint t) {
  Fields f = Split(t);
  std::array<char, 40> buf;
  int n = std::snprintf(buf.data(), buf.size(), "%04d-%02d-%02d:%02d:%02d:%02d", f.year, f.month,
                        f.day, f.hour, f.minute, f.second);
  return std::string(buf.data(), static_cast<std::size_t>(n));
}

Result<TimePoint> ParseOriginTime(std::string_view s) {
  std::size_t p = 0;
  int y, mo, d, h, mi, se;
  if (!(ReadNumber(s, p, 4, y) && Expect(s, p, '-') && ReadNumber(s, p, 2, mo) &&
        Expect(s, p, '-') && ReadNumber(s, p, 2, d) && Expect(s, p, ':') &&
        ReadNumber(s, p, 2, h) && Expect(s, p, ':') && ReadNumber(s, p, 2, mi) &&
        Expect(s, p, ':') && ReadNumber(s, p, 2, se)) ||
      p != s.size()) {
    return BadTime(s, "YYYY-MM-DD:HH:MM:SS");
  }
  return Build(y, mo, d, h, mi, se, 0, s);
}

std::string FormatDate(TimePoint t) {
  Fields f = Split(t);
  std::array<char, 24> buf;
  int n = std::snprintf(buf.data(), buf.size(), "%04d-%02d-%02d", f.year, f.month, f.day);
  return std::string(buf.data(), static_cast<std::size_t>(n));
}

Result<TimePoint> ParseDate(std::string_view s) {
  std::size_t p = 0;
  int y, mo, d;
  if (!(ReadNumber(s, p, 4, y) && Expect(s, p, '-') && ReadNumber(s, p, 2, mo) &&
        Expect(s, p, '-') && ReadNumber(s, p, 2, d)) ||
      p != s.size()) {
    return BadTime(s, "YYYY-MM-DD");
  }
  return Build(y, mo, d, 0, 0, 0, 0, s);
}

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kDeveloper: return "developer";
    case Role::kManager: return "manager";
    case Role::kAdmin: return "admin";
  }
  return "developer";
}

Result<Role> ParseRole(std::string_view name) {
  if (name == "developer") return Role::kDeveloper;
  if (name == "manager") return Role::kManager;
  if (name == "admin") return Role::kAdmin;
  return Status::InvalidArgument("unknown role '" + std::string(name) +
                                 "', expected developer, manager or admin");
}

std::string_view EventKindName(EventKind kind) {
  switch (kind) {
    case EventKind::kCreated: return "created";
    case EventKind::kEdited: return "edited";
    case EventKind::kDone: return "done";
    case EventKind::kUndone: return "undone";
    case EventKind::kRemoved: return "removed";
  }
  return "created";
}

Result<EventKind> ParseEventKind(std::string_view name) {
  for (EventKind k : {EventKind::kCreated, EventKind::kEdited, EventKind::kDone,
                      EventKind::kUndone, EventKind::kRemoved}) {
    if (EventKindName(k) == name) return k;
  }
  return Status::InvalidArgument("unknown event kind '" + std::string(name) + "'");
}

std::string_view TaskStateName(TaskState s) {
  switch (s) {
    case TaskState::kOpen: return "open";
    case TaskState::kDone: return "done";
    case TaskState::kAll: return "all";
  }
  return "open";
}

Result<TaskState> ParseTaskState(std::string_view name) {
  if (name == "open") return TaskState::kOpen;
  if (name == "done") return TaskState::kDone;
  if (name == "all") return TaskState::kAll;
  return Status::InvalidArgument("state must be open, done or all, not '" + std::string(name) +
                                 "'");
}

}  // namespace todo::core
