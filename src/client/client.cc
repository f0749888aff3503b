#include "client/client.h"

#include <sodium.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <algorithm>
#include <charconv>

#include "core/json.h"

namespace todo::client {
namespace json = boost::json;
namespace {

// `storage`: where the values go (default: the heap); it must outlive them.
Result<json::value> ParseBody(const Response& response, json::storage_ptr storage = {}) {
  boost::system::error_code ec;
  json::value v = json::parse(response.body(), ec, std::move(storage));
  if (ec) return Status::Internal("server sent malformed JSON: " + ec.message());
  return v;
}

// Room for a small answer's JSON values (a task, a few ids) in the caller's frame rather than
// one heap allocation per key and string; a bigger answer spills over to the heap.
struct SmallArena {
  unsigned char buffer[2048];
  json::monotonic_resource resource{buffer, sizeof buffer};
};

// Reads an optional "next" cursor.
std::optional<int64_t> NextOf(const json::object& o) {
  auto* next = o.if_contains("next");
  if (!next || !next->is_int64()) return std::nullopt;
  return next->as_int64();
}

Result<std::vector<core::Task>> TasksOf(const json::value& v, const char* field) {
  std::vector<core::Task> tasks;
  auto* arr = v.is_object() ? v.as_object().if_contains(field) : nullptr;
  if (!arr || !arr->is_array()) return Status::Internal(std::string("answer lacks '") + field + "'");
  for (const auto& item : arr->as_array()) {
    auto t = core::TaskFromJson(item);
    if (!t.ok()) return t.status();
    tasks.push_back(std::move(*t));
  }
  return tasks;
}

// The "removed" ids of a remove-oldest answer. (Kept out of the coroutine: g++ 12 fails on
// string literals returned from a loop inside a coroutine.)
Result<std::vector<int64_t>> IdsOf(const json::value& v) {
  auto* removed = v.is_object() ? v.as_object().if_contains("removed") : nullptr;
  if (!removed || !removed->is_array()) return Status::Internal("answer lacks 'removed'");
  std::vector<int64_t> ids;
  for (const auto& id : removed->as_array()) {
    if (!id.is_int64()) return Status::Internal("'removed' holds a non-integer");
    ids.push_back(id.as_int64());
  }
  return ids;
}

Result<UserSummary> UserOf(const json::value& u) {
  if (!u.is_object()) return Status::Internal("malformed user");
  const auto& o = u.as_object();
  auto* name = o.if_contains("name");
  auto* role = o.if_contains("role");
  auto* open = o.if_contains("open");
  auto* done = o.if_contains("done");
  if (!name || !name->is_string() || !role || !role->is_string() || !open || !open->is_int64() ||
      !done || !done->is_int64()) {
    return Status::Internal("malformed user");
  }
  auto parsed_role = core::ParseRole(role->as_string());
  if (!parsed_role.ok()) return parsed_role.status();
  UserSummary s{std::string(name->as_string()), *parsed_role, open->as_int64(),
                done->as_int64(), std::nullopt};
  if (auto* last = o.if_contains("last_update"); last && last->is_string()) {
    auto t = core::ParseIso8601(last->as_string());
    if (!t.ok()) return t.status();
    s.last_update = *t;
  }
  return s;
}

}  // namespace

std::string NewIdempotencyKey() {
  if (sodium_init() < 0) std::abort();  // no usable random source: nothing safe to do
  unsigned char bytes[16];
  randombytes_buf(bytes, sizeof bytes);
  char hex[sizeof bytes * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, bytes, sizeof bytes);
  return hex;
}

Status StatusFromResponse(const Response& response) {
  int code = response.result_int();
  boost::system::error_code ec;
  json::value v = json::parse(response.body(), ec);
  if (!ec && v.is_object()) {
    if (auto* err = v.as_object().if_contains("error"); err && err->is_object()) {
      auto* c = err->as_object().if_contains("code");
      auto* m = err->as_object().if_contains("message");
      if (c && c->is_string() && m && m->is_string()) {
        return Status(core::ErrorCodeFromName(c->as_string()), std::string(m->as_string()));
      }
    }
  }
  std::string message = "server answered HTTP " + std::to_string(code);
  switch (code) {
    case 400: return Status::InvalidArgument(message);
    case 401: return Status::Unauthenticated(message);
    case 403: return Status::PermissionDenied(message);
    case 404: return Status::NotFound(message);
    case 409: return Status::Conflict(message);
    case 413: return Status::TooLarge(message);
    case 502: case 503: case 504: return Status::Unavailable(message);
    default: return Status::Internal(message);
  }
}

void Positions::Record(std::string_view position) {
  // "HIGH/LOW", each 1 to 8 hexadecimal digits: (HIGH << 32) | LOW.
  std::size_t slash = position.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash > 8 ||
      position.size() - slash - 1 > 8) {
    return;
  }
  uint64_t high = 0;
  uint64_t low = 0;
  const char* end = position.data() + position.size();
  auto [h, high_error] = std::from_chars(position.data(), position.data() + slash, high, 16);
  auto [l, low_error] = std::from_chars(position.data() + slash + 1, end, low, 16);
  if (high_error != std::errc() || low_error != std::errc() || h != position.data() + slash ||
      l != end) {
    return;
  }
  uint64_t value = (high << 32) | low;
  std::lock_guard lock(mu_);
  if (value > newest_) {
    newest_ = value;
    text_ = std::string(position);
  }
}

std::string Positions::Latest() const {
  std::lock_guard lock(mu_);
  return text_;
}

asio::awaitable<Result<Response>> Client::Call(http::verb method, std::string target,
                                               std::string body, bool idempotent_write,
                                               CallInfo* info) {
  // The request as it goes on the wire, written once (Beast's request and serializer cost
  // more than the rest of a call: docs/benchmarks.md, sixth session). The values are ours,
  // one the server sent in a header (the position: Beast's parser refuses line breaks in
  // those), or the caller's token and target, which must not smuggle in a header either.
  auto breaks_line = [](std::string_view text) {
    return text.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
  };
  if (breaks_line(authorization_)) {
    co_return Status::InvalidArgument("the token holds a line break or NUL character");
  }
  if (breaks_line(target) || target.find(' ') != std::string::npos) {
    co_return Status::InvalidArgument("the request target holds a space, line break or NUL");
  }
  std::string request;
  request.reserve(256 + target.size() + body.size());
  auto header = [&request](std::string_view name, std::string_view value) {
    request.append(name).append(": ").append(value).append("\r\n");
  };
  request.append(http::to_string(method)).append(" ").append(target).append(" HTTP/1.1\r\n");
  header("Host", pool_->host());
  header("Authorization", authorization_);
  header("User-Agent", "todo-client");
  if (method == http::verb::get) {
    if (std::string position = positions_->Latest(); !position.empty()) {
      header("Todo-Min-Position", position);
    }
  }
  const bool has_body = !body.empty() || method == http::verb::post ||
                        method == http::verb::patch || method == http::verb::put;
  if (has_body) header("Content-Type", "application/json");
  if (idempotent_write) header("Idempotency-Key", NewIdempotencyKey());
  if (has_body) {
    char digits[24];
    auto [end, ec] = std::to_chars(digits, digits + sizeof digits, body.size());
    header("Content-Length", std::string_view(digits, static_cast<std::size_t>(end - digits)));
  }
  request.append("\r\n").append(body);

  auto deadline = std::chrono::steady_clock::now() + retry_.retry_for;
  auto backoff = retry_.first_backoff;
  CallInfo local;
  CallInfo& stats = info ? *info : local;
  for (;;) {
    ++stats.attempts;
    auto response = co_await pool_->Send(request);
    Status failure;
    if (response.ok()) {
      stats.http_status = response->result_int();
      if (stats.http_status < 300) {
        if (auto position = response->find("Todo-Position"); position != response->end()) {
          positions_->Record(position->value());
        }
        co_return response;
      }
      failure = StatusFromResponse(*response);
      // 503 from todod; 502 and 504 from a load balancer in front of it.
      int st = stats.http_status;
      if (st != 502 && st != 503 && st != 504) co_return failure;
    } else {
      stats.http_status = 0;
      failure = response.status();
    }
    // Only "unavailable" is worth another try; everything else is the answer. A server's
    // Retry-After (seconds) lengthens the wait, within max_backoff.
    auto wait = backoff;
    if (response.ok()) {
      auto retry_after = (*response)[http::field::retry_after];
      int seconds = 0;
      std::from_chars(retry_after.data(), retry_after.data() + retry_after.size(), seconds);
      wait = std::clamp<std::chrono::milliseconds>(std::chrono::seconds(seconds), wait,
                                                   std::max(wait, retry_.max_backoff));
    }
    if (std::chrono::steady_clock::now() + wait > deadline) co_return failure;
    asio::steady_timer timer(co_await asio::this_coro::executor, wait);
    co_await timer.async_wait(asio::use_awaitable);
    backoff = std::min(backoff * 2, retry_.max_backoff);
  }
}

asio::awaitable<Result<core::Task>> Client::AddTask(std::string text, CallInfo* info) {
  std::string body = R"({"task":)";
  core::AppendJsonString(body, text);
  body += '}';
  std::string target = "/v1/tasks";
  auto r = co_await Call(http::verb::post, std::move(target), std::move(body), true, info);
  if (!r.ok()) co_return r.status();
  SmallArena arena;
  auto v = ParseBody(*r, &arena.resource);
  if (!v.ok()) co_return v.status();
  co_return core::TaskFromJson(*v);
}

asio::awaitable<Result<core::Task>> Client::GetTask(int64_t id, CallInfo* info) {
  std::string target = "/v1/tasks/" + std::to_string(id);
  auto r = co_await Call(http::verb::get, std::move(target), {}, false, info);
  if (!r.ok()) co_return r.status();
  auto v = ParseBody(*r);
  if (!v.ok()) co_return v.status();
  co_return core::TaskFromJson(*v);
}

asio::awaitable<Result<TaskPage>> Client::ListTasks(const ListOptions& options, CallInfo* info) {
  std::string target = "/v1/tasks?state=" + std::string(core::TaskStateName(options.state)) +
                       "&limit=" + std::to_string(options.limit);
  if (options.after > 0) target += "&after=" + std::to_string(options.after);
  // User names are restricted to [A-Za-z0-9._-] (core::ValidateUserName): no escaping needed;
  // anything else is refused here rather than sent.
  if (!options.user.empty()) {
    if (options.user.find_first_not_of(
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
        std::string::npos) {
      co_return Status::InvalidArgument("invalid user name '" + options.user + "'");
    }
    target += "&user=" + options.user;
  }
  auto r = co_await Call(http::verb::get, std::move(target), {}, false, info);
  if (!r.ok()) co_return r.status();
  // The page's JSON values in one arena (a few blocks, freed at once), not one allocation
  // per value: they only live until the tasks are read out.
  json::monotonic_resource arena(r->body().size() * 2);
  auto v = ParseBody(*r, &arena);
  if (!v.ok()) co_return v.status();
  auto tasks = TasksOf(*v, "tasks");
  if (!tasks.ok()) co_return tasks.status();
  co_return TaskPage{std::move(*tasks), NextOf(v->as_object())};
}

asio::awaitable<Result<core::Task>> Client::UpdateTask(int64_t id, std::optional<std::string> text,
                                                       std::optional<bool> done, CallInfo* info) {
  json::object patch;
  if (text) patch["task"] = *text;
  if (done) patch["done"] = *done;
  std::string target = "/v1/tasks/" + std::to_string(id);
  std::string body = json::serialize(patch);
  auto r = co_await Call(http::verb::patch, std::move(target), std::move(body), true, info);
  if (!r.ok()) co_return r.status();
  auto v = ParseBody(*r);
  if (!v.ok()) co_return v.status();
  co_return core::TaskFromJson(*v);
}

asio::awaitable<Status> Client::RemoveTask(int64_t id, CallInfo* info) {
  std::string target = "/v1/tasks/" + std::to_string(id);
  auto r = co_await Call(http::verb::delete_, std::move(target), {}, true, info);
  co_return r.ok() ? Status::Ok() : r.status();
}

asio::awaitable<Result<std::vector<int64_t>>> Client::RemoveOldest(int count, CallInfo* info) {
  std::string target = "/v1/tasks/remove-oldest";
  std::string body = R"({"count":)" + std::to_string(count) + "}";
  auto r = co_await Call(http::verb::post, std::move(target), std::move(body), true, info);
  if (!r.ok()) co_return r.status();
  SmallArena arena;
  auto v = ParseBody(*r, &arena.resource);
  if (!v.ok()) co_return v.status();
  co_return IdsOf(*v);
}

asio::awaitable<Result<std::vector<UserSummary>>> Client::ListUsers(CallInfo* info) {
  std::string target = "/v1/users";
  auto r = co_await Call(http::verb::get, std::move(target), {}, false, info);
  if (!r.ok()) co_return r.status();
  auto v = ParseBody(*r);
  if (!v.ok()) co_return v.status();
  auto* users = v->is_object() ? v->as_object().if_contains("users") : nullptr;
  if (!users || !users->is_array()) co_return Status::Internal("answer lacks 'users'");
  std::vector<UserSummary> out;
  for (const auto& u : users->as_array()) {
    auto user = UserOf(u);
    if (!user.ok()) co_return user.status();
    out.push_back(std::move(*user));
  }
  co_return out;
}

asio::awaitable<Result<NewAccount>> Client::CreateUser(std::string name, core::Role role,
                                                       CallInfo* info) {
  json::object request;
  request["name"] = name;
  request["role"] = core::RoleName(role);
  std::string body = json::serialize(request);
  std::string target = "/v1/users";
  // Account creation is not an idempotent write in the API: a lost answer is retried and
  // comes back 409, which the caller sees.
  auto r = co_await Call(http::verb::post, std::move(target), std::move(body), false, info);
  if (!r.ok()) co_return r.status();
  auto v = ParseBody(*r);
  if (!v.ok()) co_return v.status();
  auto* token = v->is_object() ? v->as_object().if_contains("token") : nullptr;
  if (!token || !token->is_string()) co_return Status::Internal("answer lacks 'token'");
  co_return NewAccount{std::move(name), role, std::string(token->as_string())};
}

asio::awaitable<Result<EventPage>> Client::ListEvents(int64_t after, int limit, CallInfo* info) {
  std::string target =
      "/v1/events?after=" + std::to_string(after) + "&limit=" + std::to_string(limit);
  auto r = co_await Call(http::verb::get, std::move(target), {}, false, info);
  if (!r.ok()) co_return r.status();
  auto v = ParseBody(*r);
  if (!v.ok()) co_return v.status();
  auto* events = v->is_object() ? v->as_object().if_contains("events") : nullptr;
  if (!events || !events->is_array()) co_return Status::Internal("answer lacks 'events'");
  EventPage page;
  for (const auto& e : events->as_array()) {
    auto ev = core::EventFromJson(e);
    if (!ev.ok()) co_return ev.status();
    page.events.push_back(std::move(*ev));
  }
  page.next = NextOf(v->as_object());
  co_return page;
}

}  // namespace todo::client
