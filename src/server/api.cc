#include "server/api.h"

#include <exception>
#include <optional>
#include <utility>

#include "core/task.h"
#include "server/static_files.h"
#include "store/checks.h"

namespace todo::server {
namespace {

namespace http = boost::beast::http;
using core::ErrorCode;

// Every store call below is written `auto call = gate_.Call(lambda); x = co_await
// std::move(call);` and never `co_await gate_.Call(lambda)`: see store_gate.h.

Reply NoTaskWrites() {
  return ErrorReply(Status::PermissionDenied("only developers write tasks (their own)"));
}

// The Idempotency-Key of a task write, made into what the store records: nothing when the
// header is absent, kInvalidArgument when it is malformed.
template <typename T>
Result<std::optional<store::Idempotency<T>>> IdempotencyFor(
    const Request& req, std::string_view path, int status,
    std::function<std::string(const T&)> render) {
  auto it = req.find("Idempotency-Key");
  if (it == req.end()) return std::optional<store::Idempotency<T>>();
  std::string_view key = it->value();
  if (Status s = ValidateIdempotencyKey(key); !s.ok()) return s;
  store::Idempotency<T> idem;
  idem.key = std::string(key);
  idem.fingerprint = RequestFingerprint(std::string_view(req.method_string()), path, req.body());
  idem.status = status;
  idem.render = std::move(render);
  return std::optional<store::Idempotency<T>>(std::move(idem));
}

// The answer to a write: the recorded one on a replay, else `status` with the rendered
// value. The fresh answer is rendered by the same function the idempotency record used, so
// a replay is byte-for-byte the first answer.
template <typename T, typename Render>
Reply WrittenReply(const Result<store::Written<T>>& written, int status, Render render) {
  if (!written.ok()) return ErrorReply(written.status());
  if (written->replay) {
    Reply r = JsonReply(written->replay->status, written->replay->body);
    r.replayed = true;
    r.position = written->position;
    return r;
  }
  if (!written->value) {
    return ErrorReply(Status::Internal("the store returned neither a value nor a replay"));
  }
  Reply r = JsonReply(status, render(*written->value));
  r.position = written->position;
  return r;
}

std::string RenderNothing(const core::Task&) { return std::string(); }

}  // namespace

Api::Api(StoreGate& gate, StoreGate* read_gate, const ServerOptions& options,
         std::function<std::string()> metrics_text)
    : gate_(gate),
      read_gate_(read_gate),
      options_(options),
      metrics_text_(std::move(metrics_text)) {}

template <typename Call>
auto Api::Read(const store::Actor& actor, Call call) -> asio::awaitable<
    typename std::invoke_result_t<Call&, store::Store&, const store::Actor&>::value_type> {
  if (read_gate_ != nullptr && core::CanReadAll(actor.role)) {
    // Half the request's time at most, so that the primary still has the other half.
    auto on_replica = read_gate_->Call([actor, call](store::Store& s) { return call(s, actor); },
                                       options_.request_deadline / 2);
    auto answer = co_await std::move(on_replica);
    // kInternal too: a replica that has not replayed the schema yet does not know the
    // tables. The other errors (not found, bad request...) are the primary's answer too.
    ErrorCode code = answer.ok() ? ErrorCode::kOk : answer.status().code();
    if (code != ErrorCode::kUnavailable && code != ErrorCode::kInternal) {
      replica_reads_.fetch_add(1);
      co_return answer;
    }
    replica_fallbacks_.fetch_add(1);
  }
  auto on_primary = gate_.Call([actor, call](store::Store& s) { return call(s, actor); });
  co_return co_await std::move(on_primary);
}

asio::awaitable<Reply> Api::Handle(const Request& request, TokenCache& tokens) {
  Target target = SplitTarget(std::string_view(request.target()));
  RouteMatch match = MatchRoute(target.path);
  Reply reply;
  try {
    reply = co_await Dispatch(request, target, match, tokens);
  } catch (const std::exception& e) {
    reply = ErrorReply(Status::Internal(std::string("unhandled exception: ") + e.what()));
  } catch (...) {
    reply = ErrorReply(Status::Internal("unhandled exception"));
  }
  reply.route = match.route;
  co_return reply;
}

asio::awaitable<Reply> Api::Dispatch(const Request& req, const Target& target,
                                     const RouteMatch& match, TokenCache& tokens) {
  if (match.route == Route::kUnknown) co_return ErrorReply(Status::NotFound("no such endpoint"));
  if (!MethodAllowed(match.route, req.method())) co_return MethodNotAllowedReply(match.route);
  switch (match.route) {
    case Route::kHealthz:
      co_return JsonReply(200, R"({"status":"ok"})");
    case Route::kReadyz:
      co_return co_await Ready();
    case Route::kMetrics: {
      Reply r = JsonReply(200, metrics_text_());
      r.content_type = kMetricsType;
      co_return r;
    }
    case Route::kPage:
      co_return StaticFileReply(options_.web_dir, target.path);
    default:
      break;
  }

  Result<store::Actor> actor =
      co_await Authenticate(gate_, tokens, std::string_view(req[http::field::authorization]));
  if (!actor.ok()) co_return ErrorReply(actor.status());
  if (auto it = req.find("Todo-Min-Position"); it != req.end()) {
    std::string_view position = it->value();
    if (Status s = store::CheckPosition(position); !s.ok()) {
      co_return ErrorReply(Status::InvalidArgument("Todo-Min-Position: " + s.message()));
    }
    actor->min_position = std::string(position);
  }

  const http::verb method = req.method();
  switch (match.route) {
    case Route::kTasks:
      if (method == http::verb::post) co_return co_await AddTask(req, target, *actor);
      co_return co_await ListTasks(target, *actor);
    case Route::kTask: {
      Result<int64_t> id = ParseTaskId(match.id);
      if (!id.ok()) co_return ErrorReply(id.status());
      if (method == http::verb::get) co_return co_await GetTask(*id, *actor);
      if (method == http::verb::patch) co_return co_await UpdateTask(req, target, *id, *actor);
      co_return co_await RemoveTask(req, target, *id, *actor);
    }
    case Route::kRemoveOldest:
      co_return co_await RemoveOldest(req, target, *actor);
    case Route::kUsers:
      if (method == http::verb::post) co_return co_await CreateUser(req, *actor);
      co_return co_await ListUsers(*actor);
    case Route::kEvents:
      co_return co_await ListEvents(target, *actor);
    case Route::kEventStream:
      // The connection serves streams itself (StartStream); reaching here is a bug.
      co_return ErrorReply(Status::Internal("event stream reached the request handler"));
    default:
      break;
  }
  co_return ErrorReply(Status::Internal("route without a handler"));
}

asio::awaitable<StreamStart> Api::StartStream(const Request& req, TokenCache& tokens) {
  StreamStart start;
  Target target = SplitTarget(std::string_view(req.target()));
  Result<StreamQuery> query =
      ParseStreamQuery(target.query, std::string_view(req["Last-Event-ID"]),
                       std::string_view(req[http::field::authorization]));
  if (!query.ok()) {
    start.error = ErrorReply(query.status());
  } else {
    std::string authorization = std::move(query->authorization);
    Result<store::Actor> actor = co_await Authenticate(gate_, tokens, authorization);
    if (!actor.ok()) {
      start.error = ErrorReply(actor.status());
    } else {
      start.actor = std::move(actor).value();
      start.after = query->after;
    }
  }
  if (start.error) start.error->route = Route::kEventStream;
  co_return start;
}

asio::awaitable<Reply> Api::Ready() {
  auto call = gate_.Call([](store::Store& st) { return st.Ping(); }, options_.ready_deadline);
  Status s = co_await std::move(call);
  if (!s.ok()) {
    // Whatever the failure, the answer to "can I send you requests" is no: 503.
    co_return ErrorReply(s.code() == ErrorCode::kUnavailable ? s
                                                             : Status::Unavailable(s.ToString()));
  }
  co_return JsonReply(200, R"({"status":"ready"})");
}

asio::awaitable<Reply> Api::AddTask(const Request& req, const Target& target,
                                    const store::Actor& actor) {
  if (!core::CanWriteTasks(actor.role)) co_return NoTaskWrites();
  auto idem = IdempotencyFor<core::Task>(req, target.path, 201, RenderTask);
  if (!idem.ok()) co_return ErrorReply(idem.status());
  Result<std::string> text = ParseAddTaskBody(req.body());
  if (!text.ok()) co_return ErrorReply(text.status());
  auto call = gate_.Call(
      [actor, text = std::move(*text), idem = std::move(*idem)](store::Store& s) mutable {
        return s.AddTask(actor, std::move(text), idem ? &*idem : nullptr);
      });
  auto written = co_await std::move(call);
  co_return WrittenReply(written, 201, RenderTask);
}

asio::awaitable<Reply> Api::ListTasks(const Target& target, const store::Actor& actor) {
  Result<store::TaskQuery> query = ParseTaskListQuery(target.query);
  if (!query.ok()) co_return ErrorReply(query.status());
  if (Status s = CheckListAccess(actor, *query); !s.ok()) co_return ErrorReply(s);
  auto call = Read(actor, [q = std::move(*query)](store::Store& s, const store::Actor& a) {
    return s.ListTasks(a, q);
  });
  auto page = co_await std::move(call);
  if (!page.ok()) co_return ErrorReply(page.status());
  co_return JsonReply(200, RenderTaskPage(*page));
}

asio::awaitable<Reply> Api::GetTask(int64_t id, const store::Actor& actor) {
  auto call =
      Read(actor, [id](store::Store& s, const store::Actor& a) { return s.GetTask(a, id); });
  auto task = co_await std::move(call);
  if (!task.ok()) co_return ErrorReply(task.status());
  co_return JsonReply(200, RenderTask(*task));
}

asio::awaitable<Reply> Api::UpdateTask(const Request& req, const Target& target, int64_t id,
                                       const store::Actor& actor) {
  if (!core::CanWriteTasks(actor.role)) co_return NoTaskWrites();
  auto idem = IdempotencyFor<core::Task>(req, target.path, 200, RenderTask);
  if (!idem.ok()) co_return ErrorReply(idem.status());
  Result<store::TaskPatch> patch = ParsePatchBody(req.body());
  if (!patch.ok()) co_return ErrorReply(patch.status());
  auto call = gate_.Call(
      [actor, id, patch = std::move(*patch), idem = std::move(*idem)](store::Store& s) mutable {
        return s.UpdateTask(actor, id, std::move(patch), idem ? &*idem : nullptr);
      });
  auto written = co_await std::move(call);
  co_return WrittenReply(written, 200, RenderTask);
}

asio::awaitable<Reply> Api::RemoveTask(const Request& req, const Target& target, int64_t id,
                                       const store::Actor& actor) {
  if (!core::CanWriteTasks(actor.role)) co_return NoTaskWrites();
  // 204 has no body: the record holds an empty one.
  auto idem = IdempotencyFor<core::Task>(req, target.path, 204, RenderNothing);
  if (!idem.ok()) co_return ErrorReply(idem.status());
  auto call = gate_.Call([actor, id, idem = std::move(*idem)](store::Store& s) {
    return s.RemoveTask(actor, id, idem ? &*idem : nullptr);
  });
  auto written = co_await std::move(call);
  Reply reply = WrittenReply(written, 204, RenderNothing);
  co_return reply;
}

asio::awaitable<Reply> Api::RemoveOldest(const Request& req, const Target& target,
                                         const store::Actor& actor) {
  if (!core::CanWriteTasks(actor.role)) co_return NoTaskWrites();
  auto idem = IdempotencyFor<std::vector<int64_t>>(req, target.path, 200, RenderRemoved);
  if (!idem.ok()) co_return ErrorReply(idem.status());
  Result<int> count = ParseRemoveOldestBody(req.body());
  if (!count.ok()) co_return ErrorReply(count.status());
  auto call = gate_.Call([actor, count = *count, idem = std::move(*idem)](store::Store& s) {
    return s.RemoveOldest(actor, count, idem ? &*idem : nullptr);
  });
  auto written = co_await std::move(call);
  co_return WrittenReply(written, 200, RenderRemoved);
}

asio::awaitable<Reply> Api::ListUsers(const store::Actor& actor) {
  if (!core::CanReadAll(actor.role)) {
    co_return ErrorReply(Status::PermissionDenied("only managers and admins list users"));
  }
  auto call = Read(actor, [](store::Store& s, const store::Actor& a) { return s.ListUsers(a); });
  auto users = co_await std::move(call);
  if (!users.ok()) co_return ErrorReply(users.status());
  co_return JsonReply(200, RenderUsers(*users));
}

asio::awaitable<Reply> Api::CreateUser(const Request& req, const store::Actor& actor) {
  if (actor.role != core::Role::kAdmin) {
    co_return ErrorReply(Status::PermissionDenied("only admins create accounts"));
  }
  Result<NewAccount> input = ParseCreateUserBody(req.body());
  if (!input.ok()) co_return ErrorReply(input.status());
  std::string token = GenerateToken();
  store::Account account{input->name, input->role, HashToken(token), core::Now()};
  auto call = gate_.Call(
      [account = std::move(account)](store::Store& s) { return s.CreateAccount(account); });
  Status created = co_await std::move(call);
  if (!created.ok()) co_return ErrorReply(created);
  co_return JsonReply(201, RenderCreatedUser(input->name, input->role, token));
}

asio::awaitable<Reply> Api::ListEvents(const Target& target, const store::Actor& actor) {
  Result<EventListQuery> query = ParseEventListQuery(target.query);
  if (!query.ok()) co_return ErrorReply(query.status());
  auto call = Read(actor, [q = *query](store::Store& s, const store::Actor& a) {
    return s.ListEvents(a, q.after, q.limit);
  });
  auto page = co_await std::move(call);
  if (!page.ok()) co_return ErrorReply(page.status());
  co_return JsonReply(200, RenderEventPage(*page));
}

}  // namespace todo::server
