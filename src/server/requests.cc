#include "server/requests.h"

#include <boost/json.hpp>
#include <charconv>
#include <limits>
#include <optional>

#include "core/validate.h"
#include "server/auth.h"

namespace todo::server {
namespace {

namespace json = boost::json;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    int hi = i + 2 < s.size() ? HexValue(s[i + 1]) : -1;
    int lo = i + 2 < s.size() ? HexValue(s[i + 2]) : -1;
    if (hi < 0 || lo < 0) return Status::InvalidArgument("malformed %-escape in query string");
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

// Plain decimal digits into [min, max]; nothing else (no sign, no spaces, no empty string).
std::optional<int64_t> ParseDecimal(std::string_view s, int64_t min, int64_t max) {
  if (s.empty() || s.find_first_not_of("0123456789") != std::string_view::npos) {
    return std::nullopt;
  }
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < min || v > max) return std::nullopt;
  return v;
}

Status BadParameter(std::string_view name, std::string_view what) {
  return Status::InvalidArgument("query parameter '" + std::string(name) + "' " +
                                 std::string(what));
}

Result<int> ParseLimit(std::string_view value) {
  std::optional<int64_t> v = ParseDecimal(value, 1, store::kMaxPageLimit);
  if (!v) return BadParameter("limit", "must be an integer from 1 to 1000");
  return static_cast<int>(*v);
}

Result<int64_t> ParseAfter(std::string_view value) {
  std::optional<int64_t> v = ParseDecimal(value, 0, std::numeric_limits<int64_t>::max());
  if (!v) return BadParameter("after", "must be an integer >= 0");
  return *v;
}

// A page's parameters, limit and after, shared by the listings: applies `name`=`value` to
// `limit` / `after` if it is one of them. Not OK for a bad value; OK (and nothing set) for
// any other name.
Status ApplyPageParameter(std::string_view name, std::string_view value, int& limit,
                          int64_t& after) {
  if (name == "limit") {
    Result<int> parsed = ParseLimit(value);
    if (!parsed.ok()) return parsed.status();
    limit = *parsed;
  } else if (name == "after") {
    Result<int64_t> parsed = ParseAfter(value);
    if (!parsed.ok()) return parsed.status();
    after = *parsed;
  }
  return Status::Ok();
}

// Rejects a parameter given twice, so that "limit=5&limit=500" is not silently one of them.
Status CheckUnique(const std::vector<std::pair<std::string, std::string>>& params) {
  for (std::size_t i = 0; i < params.size(); ++i) {
    for (std::size_t j = i + 1; j < params.size(); ++j) {
      if (params[i].first == params[j].first) return BadParameter(params[i].first, "is repeated");
    }
  }
  return Status::Ok();
}

Result<json::object> ParseObject(std::string_view body) {
  if (body.empty()) return Status::InvalidArgument("malformed JSON: the body is empty");
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec) return Status::InvalidArgument("malformed JSON: " + ec.message());
  json::object* obj = v.if_object();
  if (obj == nullptr) return Status::InvalidArgument("the body must be a JSON object");
  return std::move(*obj);
}

Status WrongType(std::string_view field, std::string_view expected) {
  return Status::InvalidArgument("field '" + std::string(field) + "' must be " +
                                 std::string(expected));
}

Result<std::string> StringField(const json::object& obj, std::string_view field) {
  const json::value* v = obj.if_contains(field);
  if (v == nullptr) return Status::InvalidArgument("field '" + std::string(field) + "' is missing");
  const json::string* s = v->if_string();
  if (s == nullptr) return WrongType(field, "a string");
  return std::string(s->data(), s->size());
}

Result<std::string> TaskText(const json::object& obj) {
  Result<std::string> text = StringField(obj, "task");
  if (!text.ok()) return text;
  Status valid = core::ValidateTaskText(*text);
  if (!valid.ok()) return valid;
  return text;
}

}  // namespace

Target SplitTarget(std::string_view target) {
  std::size_t q = target.find('?');
  if (q == std::string_view::npos) return {target, {}};
  return {target.substr(0, q), target.substr(q + 1)};
}

Result<std::vector<std::pair<std::string, std::string>>> ParseQuery(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!query.empty()) {
    std::size_t amp = query.find('&');
    std::string_view piece = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (piece.empty()) continue;
    std::size_t eq = piece.find('=');
    Result<std::string> name = PercentDecode(piece.substr(0, eq));
    if (!name.ok()) return name.status();
    Result<std::string> value =
        PercentDecode(eq == std::string_view::npos ? std::string_view() : piece.substr(eq + 1));
    if (!value.ok()) return value.status();
    out.emplace_back(std::move(*name), std::move(*value));
  }
  return out;
}

Result<int64_t> ParseTaskId(std::string_view segment) {
  std::optional<int64_t> id = ParseDecimal(segment, 1, std::numeric_limits<int64_t>::max());
  if (!id) return Status::InvalidArgument("task id must be a positive integer");
  return *id;
}

Result<store::TaskQuery> ParseTaskListQuery(std::string_view query) {
  auto params = ParseQuery(query);
  if (!params.ok()) return params.status();
  if (Status s = CheckUnique(*params); !s.ok()) return s;
  store::TaskQuery q;
  for (const auto& [name, value] : *params) {
    if (name == "user") {
      Status valid = core::ValidateUserName(value);
      if (!valid.ok()) return BadParameter("user", "is not a valid user name");
      q.user = value;
    } else if (name == "state") {
      Result<core::TaskState> state = core::ParseTaskState(value);
      if (!state.ok()) return BadParameter("state", "must be open, done or all");
      q.state = *state;
    } else if (Status s = ApplyPageParameter(name, value, q.limit, q.after); !s.ok()) {
      return s;
    }
  }
  return q;
}

Result<EventListQuery> ParseEventListQuery(std::string_view query) {
  auto params = ParseQuery(query);
  if (!params.ok()) return params.status();
  if (Status s = CheckUnique(*params); !s.ok()) return s;
  EventListQuery q;
  for (const auto& [name, value] : *params) {
    if (Status s = ApplyPageParameter(name, value, q.limit, q.after); !s.ok()) return s;
  }
  return q;
}

Result<StreamQuery> ParseStreamQuery(std::string_view query, std::string_view last_event_id,
                                     std::string_view authorization) {
  auto params = ParseQuery(query);
  if (!params.ok()) return params.status();
  if (Status s = CheckUnique(*params); !s.ok()) return s;
  StreamQuery q;
  q.authorization = std::string(authorization);
  for (const auto& [name, value] : *params) {
    if (name == "after") {
      Result<int64_t> after = ParseAfter(value);
      if (!after.ok()) return after.status();
      q.after = *after;
    } else if (name == "access_token" && authorization.empty()) {
      q.authorization = "Bearer " + value;
    }
  }
  if (!last_event_id.empty()) {
    // The header is what EventSource sends when it reconnects: newer than the URL's after.
    std::optional<int64_t> v =
        ParseDecimal(last_event_id, 0, std::numeric_limits<int64_t>::max());
    if (!v) return Status::InvalidArgument("Last-Event-ID must be an integer >= 0");
    q.after = *v;
  }
  return q;
}

Status CheckListAccess(const store::Actor& actor, const store::TaskQuery& query) {
  if (!core::CanReadAll(actor.role) && !query.user.empty() && query.user != actor.name) {
    return Status::PermissionDenied("developers can list only their own tasks");
  }
  return Status::Ok();
}

Result<std::string> ParseAddTaskBody(std::string_view body) {
  Result<json::object> obj = ParseObject(body);
  if (!obj.ok()) return obj.status();
  return TaskText(*obj);
}

Result<store::TaskPatch> ParsePatchBody(std::string_view body) {
  Result<json::object> obj = ParseObject(body);
  if (!obj.ok()) return obj.status();
  store::TaskPatch patch;
  if (obj->contains("task")) {
    Result<std::string> text = TaskText(*obj);
    if (!text.ok()) return text.status();
    patch.text = std::move(*text);
  }
  if (const json::value* done = obj->if_contains("done")) {
    const bool* b = done->if_bool();
    if (b == nullptr) return WrongType("done", "true or false");
    patch.done = *b;
  }
  if (!patch.text && !patch.done) {
    return Status::InvalidArgument("nothing to change: give 'task' and/or 'done'");
  }
  return patch;
}

Result<int> ParseRemoveOldestBody(std::string_view body) {
  Result<json::object> obj = ParseObject(body);
  if (!obj.ok()) return obj.status();
  const json::value* v = obj->if_contains("count");
  if (v == nullptr) return Status::InvalidArgument("field 'count' is missing");
  std::optional<int64_t> count;
  if (const int64_t* i = v->if_int64()) count = *i;
  if (const uint64_t* u = v->if_uint64(); u && *u <= store::kMaxRemoveOldest) {
    count = static_cast<int64_t>(*u);
  }
  if (!count || *count < 1 || *count > store::kMaxRemoveOldest) {
    return WrongType("count", "an integer from 1 to 1000");
  }
  return static_cast<int>(*count);
}

Result<NewAccount> ParseCreateUserBody(std::string_view body) {
  Result<json::object> obj = ParseObject(body);
  if (!obj.ok()) return obj.status();
  Result<std::string> name = StringField(*obj, "name");
  if (!name.ok()) return name.status();
  if (Status valid = core::ValidateUserName(*name); !valid.ok()) return valid;
  Result<std::string> role_name = StringField(*obj, "role");
  if (!role_name.ok()) return role_name.status();
  Result<core::Role> role = core::ParseRole(*role_name);
  if (!role.ok()) return role.status();
  return NewAccount{std::move(*name), *role};
}

Status ValidateIdempotencyKey(std::string_view key) {
  if (key.empty() || key.size() > kMaxIdempotencyKeyBytes) {
    return Status::InvalidArgument("Idempotency-Key must be 1 to 255 characters");
  }
  for (char c : key) {
    if (c < 0x21 || c > 0x7E) {
      return Status::InvalidArgument("Idempotency-Key must be visible ASCII characters only");
    }
  }
  return Status::Ok();
}

std::string RequestFingerprint(std::string_view method, std::string_view path,
                               std::string_view body) {
  return Sha256Hex({method, "\n", path, "\n", body});
}

}  // namespace todo::server
