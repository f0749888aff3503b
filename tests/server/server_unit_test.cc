// Unit tests of the server's pure logic (no socket, no database): routing, request parsing
// and validation, error mapping, rendering, tokens, the token cache, configuration helpers,
// metrics, and the Api and StoreGate driven by an in-memory fake store.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <string>
#include <vector>

#include "server/api.h"
#include "server/auth.h"
#include "server/config.h"
#include "server/feed.h"
#include "server/metrics.h"
#include "server/requests.h"
#include "server/responses.h"
#include "server/router.h"
#include "server/static_files.h"
#include "server/store_gate.h"

namespace todo::server {

// Reaches the feed side of a Subscription, as Feed does.
struct SubscriptionTestPeer {
  static void Push(Subscription& sub, std::shared_ptr<const Frame> frame, std::size_t max) {
    sub.Push(std::move(frame), max);
  }
};

namespace {

namespace http = boost::beast::http;
namespace json = boost::json;
using core::ErrorCode;

json::value ParseJson(const std::string& text) { return json::parse(text); }

std::string ErrorCodeOf(const std::string& body) {
  return std::string(ParseJson(body).at("error").at("code").as_string());
}

// ---- errors -------------------------------------------------------------------------------

TEST(HttpStatusFor, MapsEveryCodeOnce) {
  EXPECT_EQ(HttpStatusFor(ErrorCode::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kUnauthenticated), 401);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kPermissionDenied), 403);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kNotFound), 404);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kConflict), 409);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kTooLarge), 413);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kUnavailable), 503);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kInternal), 500);
}

TEST(ErrorReply, CarriesTheHeadersOfItsStatus) {
  Reply unavailable = ErrorReply(Status::Unavailable("db down"));
  EXPECT_EQ(unavailable.status, 503);
  EXPECT_TRUE(unavailable.retry_after);
  EXPECT_EQ(ErrorCodeOf(unavailable.body), "unavailable");
  EXPECT_NE(unavailable.cause.find("db down"), std::string::npos);

  Reply unauthenticated = ErrorReply(Status::Unauthenticated("no token"));
  EXPECT_EQ(unauthenticated.status, 401);
  EXPECT_TRUE(unauthenticated.authenticate);
  EXPECT_FALSE(unauthenticated.retry_after);

  Reply bad = ErrorReply(Status::InvalidArgument("task is empty"));
  EXPECT_EQ(bad.body, R"({"error":{"code":"invalid_argument","message":"task is empty"}})");
  EXPECT_EQ(bad.error_code, "invalid_argument");
}

TEST(ErrorReply, InternalDetailsStayOutOfTheBody) {
  Reply r = ErrorReply(Status::Internal("SQL error near SELECT"));
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body.find("SQL"), std::string::npos);
  EXPECT_NE(r.cause.find("SQL error"), std::string::npos);
}

TEST(MethodNotAllowedReply, Has405AllowAndJsonBody) {
  Reply r = MethodNotAllowedReply(Route::kTask);
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.allow, "GET, PATCH, DELETE");
  EXPECT_EQ(ErrorCodeOf(r.body), "method_not_allowed");
}

// ---- routing ------------------------------------------------------------------------------

TEST(MatchRoute, KnownPaths) {
  EXPECT_EQ(MatchRoute("/healthz").route, Route::kHealthz);
  EXPECT_EQ(MatchRoute("/readyz").route, Route::kReadyz);
  EXPECT_EQ(MatchRoute("/metrics").route, Route::kMetrics);
  EXPECT_EQ(MatchRoute("/v1/tasks").route, Route::kTasks);
  EXPECT_EQ(MatchRoute("/v1/tasks/remove-oldest").route, Route::kRemoveOldest);
  EXPECT_EQ(MatchRoute("/v1/users").route, Route::kUsers);
  EXPECT_EQ(MatchRoute("/v1/events").route, Route::kEvents);
  EXPECT_EQ(MatchRoute("/v1/events/stream").route, Route::kEventStream);
  EXPECT_EQ(MatchRoute("/v1/snapshot").route, Route::kSnapshot);
  RouteMatch task = MatchRoute("/v1/tasks/42");
  EXPECT_EQ(task.route, Route::kTask);
  EXPECT_EQ(task.id, "42");
  EXPECT_EQ(MatchRoute("/v1/tasks/abc").route, Route::kTask);  // the handler answers 400
}

TEST(MatchRoute, UnknownPaths) {
  for (const char* path :
       {"", "/v1", "/v1/", "/v1/tasks/", "/v1/tasks/1/x", "/v1/events/stream/", "/v1/snapshot/",
        "/v1/users/alice"}) {
    EXPECT_EQ(MatchRoute(path).route, Route::kUnknown) << path;
  }
}

TEST(MatchRoute, PathsOutsideV1AreWebPages) {
  for (const char* path : {"/", "/manager", "/app.js", "/v2/tasks", "/V1/tasks", "/healthz/"}) {
    EXPECT_EQ(MatchRoute(path).route, Route::kPage) << path;
  }
}

TEST(MethodAllowed, SnapshotIsGetOnly) {
  EXPECT_TRUE(MethodAllowed(Route::kSnapshot, http::verb::get));
  EXPECT_FALSE(MethodAllowed(Route::kSnapshot, http::verb::post));
  EXPECT_FALSE(MethodAllowed(Route::kSnapshot, http::verb::head));
  EXPECT_EQ(AllowHeader(Route::kSnapshot), "GET");
  EXPECT_EQ(RouteLabel(Route::kSnapshot), "/v1/snapshot");
}

TEST(MethodAllowed, FollowsTheContract) {
  EXPECT_TRUE(MethodAllowed(Route::kTasks, http::verb::get));
  EXPECT_TRUE(MethodAllowed(Route::kTasks, http::verb::post));
  EXPECT_FALSE(MethodAllowed(Route::kTasks, http::verb::delete_));
  EXPECT_TRUE(MethodAllowed(Route::kTask, http::verb::patch));
  EXPECT_FALSE(MethodAllowed(Route::kTask, http::verb::post));
  EXPECT_FALSE(MethodAllowed(Route::kRemoveOldest, http::verb::get));
  EXPECT_FALSE(MethodAllowed(Route::kHealthz, http::verb::post));
  EXPECT_FALSE(MethodAllowed(Route::kUnknown, http::verb::get));
  EXPECT_EQ(AllowHeader(Route::kUsers), "GET, POST");
  EXPECT_EQ(AllowHeader(Route::kRemoveOldest), "POST");
}

// ---- query parameters and ids -------------------------------------------------------------

TEST(SplitTarget, PathAndQuery) {
  Target t = SplitTarget("/v1/tasks?limit=5&after=2");
  EXPECT_EQ(t.path, "/v1/tasks");
  EXPECT_EQ(t.query, "limit=5&after=2");
  EXPECT_EQ(SplitTarget("/v1/tasks").query, "");
}

TEST(ParseQuery, DecodesEscapesAndSkipsEmptyPieces) {
  auto q = ParseQuery("a=1&&b=x%20y&c&d=%41+");
  ASSERT_TRUE(q.ok());
  ASSERT_EQ(q->size(), 4u);
  EXPECT_EQ((*q)[1], (std::pair<std::string, std::string>("b", "x y")));
  EXPECT_EQ((*q)[2].second, "");
  EXPECT_EQ((*q)[3].second, "A+");
  EXPECT_FALSE(ParseQuery("a=%4").ok());
  EXPECT_FALSE(ParseQuery("a=%zz").ok());
}

TEST(ParseTaskId, OnlyPositiveDecimal) {
  EXPECT_EQ(*ParseTaskId("1"), 1);
  EXPECT_EQ(*ParseTaskId("9223372036854775807"), INT64_MAX);
  for (const char* bad : {"0", "-1", "+1", "abc", "1a", " 1", "", "9223372036854775808",
                          "99999999999999999999", "1.0"}) {
    Result<int64_t> id = ParseTaskId(bad);
    ASSERT_FALSE(id.ok()) << bad;
    EXPECT_EQ(id.status().code(), ErrorCode::kInvalidArgument);
  }
}

TEST(ParseTaskListQuery, Defaults) {
  auto q = ParseTaskListQuery("");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->user, "");
  EXPECT_EQ(q->state, core::TaskState::kOpen);
  EXPECT_EQ(q->limit, 100);
  EXPECT_EQ(q->after, 0);
}

TEST(ParseTaskListQuery, EveryParameter) {
  auto q = ParseTaskListQuery("user=dev0001&state=all&limit=1000&after=17&unknown=whatever");
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->user, "dev0001");
  EXPECT_EQ(q->state, core::TaskState::kAll);
  EXPECT_EQ(q->limit, 1000);
  EXPECT_EQ(q->after, 17);
  EXPECT_EQ(ParseTaskListQuery("state=done")->state, core::TaskState::kDone);
  EXPECT_EQ(ParseTaskListQuery("limit=1")->limit, 1);
  EXPECT_EQ(ParseTaskListQuery("after=0")->after, 0);
}

TEST(ParseTaskListQuery, RejectsBadValues) {
  for (const char* bad :
       {"limit=0",         "limit=1001", "limit=-1",        "limit=abc",
        "limit=",          "limit=1.5",  "limit=+5",        "limit=%201",
        "after=-1",        "after=x",    "after=",          "after=99999999999999999999",
        "state=bogus",     "state=",     "state=OPEN",      "user=",
        "user=bad%20name", "user=-x",    "limit=5&limit=6", "a=%G1"}) {
    auto q = ParseTaskListQuery(bad);
    ASSERT_FALSE(q.ok()) << bad;
    EXPECT_EQ(q.status().code(), ErrorCode::kInvalidArgument) << bad;
  }
}

TEST(ParseEventListQuery, AfterAndLimit) {
  auto q = ParseEventListQuery("after=5&limit=10&user=ignored");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->after, 5);
  EXPECT_EQ(q->limit, 10);
  EXPECT_FALSE(ParseEventListQuery("limit=0").ok());
  EXPECT_FALSE(ParseEventListQuery("after=-3").ok());
  EXPECT_FALSE(ParseEventListQuery("after=1&after=2").ok());
}

TEST(CheckListAccess, DevelopersListOnlyThemselves) {
  store::Actor dev{"alice", core::Role::kDeveloper};
  store::Actor manager{"mia", core::Role::kManager};
  store::TaskQuery own;
  EXPECT_TRUE(CheckListAccess(dev, own).ok());
  own.user = "alice";
  EXPECT_TRUE(CheckListAccess(dev, own).ok());
  store::TaskQuery other;
  other.user = "bob";
  EXPECT_EQ(CheckListAccess(dev, other).code(), ErrorCode::kPermissionDenied);
  EXPECT_TRUE(CheckListAccess(manager, other).ok());
}

// ---- bodies -------------------------------------------------------------------------------

TEST(ParseAddTaskBody, Accepts) {
  EXPECT_EQ(*ParseAddTaskBody(R"({"task":"buy milk"})"), "buy milk");
  EXPECT_EQ(*ParseAddTaskBody(R"({"task":"a\tb","extra":1})"), "a\tb");
  EXPECT_EQ(*ParseAddTaskBody(R"({"task":"caf\u00e9 ☕"})"), "café ☕");
  std::string max(4096, 'x');
  EXPECT_TRUE(ParseAddTaskBody(R"({"task":")" + max + "\"}").ok());
}

TEST(ParseAddTaskBody, RejectsEveryBadInput) {
  std::string over(4097, 'x');
  for (const std::string& bad :
       {std::string(""), std::string("{"), std::string("[]"), std::string("null"),
        std::string("\"task\""), std::string("{}"), std::string(R"({"task":1})"),
        std::string(R"({"task":null})"), std::string(R"({"task":""})"),
        std::string(R"({"task":"   "})"), std::string(R"({"task":"\t \t"})"),
        R"({"task":")" + over + "\"}", std::string("{\"task\":\"bad \xff\xfe\"}"),
        std::string("{\"task\":\"\xc0\xaf\"}"), std::string(R"({"task":"a\u0001b"})"),
        std::string(R"({"task":"line\nbreak"})"), std::string(R"({"task":"del\u007f"})"),
        std::string(R"({"task":"\ud800"})"), std::string(R"({"task":"x"} trailing)")}) {
    Result<std::string> r = ParseAddTaskBody(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument) << bad;
  }
}

TEST(ParsePatchBody, TextDoneOrBoth) {
  auto text = ParsePatchBody(R"({"task":"new"})");
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text->text, "new");
  EXPECT_FALSE(text->done);
  auto done = ParsePatchBody(R"({"done":true})");
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(*done->done, true);
  auto both = ParsePatchBody(R"({"task":"x","done":false})");
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(*both->text, "x");
  EXPECT_EQ(*both->done, false);
}

TEST(ParsePatchBody, RejectsBadInput) {
  for (const char* bad :
       {"", "{}", R"({"other":1})", R"({"done":"yes"})", R"({"done":1})", R"({"done":null})",
        R"({"task":5})", R"({"task":""})", R"({"task":" "})", "[1]", "{"}) {
    auto r = ParsePatchBody(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument) << bad;
  }
}

TEST(ParseRemoveOldestBody, CountFrom1To1000) {
  EXPECT_EQ(*ParseRemoveOldestBody(R"({"count":1})"), 1);
  EXPECT_EQ(*ParseRemoveOldestBody(R"({"count":1000})"), 1000);
  for (const char* bad : {"{}", R"({"count":0})", R"({"count":1001})", R"({"count":-1})",
                          R"({"count":"3"})", R"({"count":1.5})", R"({"count":2.0})",
                          R"({"count":null})", R"({"count":18446744073709551615})", ""}) {
    EXPECT_FALSE(ParseRemoveOldestBody(bad).ok()) << bad;
  }
}

TEST(ParseCreateUserBody, NameAndRole) {
  auto r = ParseCreateUserBody(R"({"name":"dev0001","role":"developer"})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->name, "dev0001");
  EXPECT_EQ(r->role, core::Role::kDeveloper);
  EXPECT_EQ(ParseCreateUserBody(R"({"name":"m","role":"manager"})")->role, core::Role::kManager);
  for (const char* bad : {R"({"name":"","role":"admin"})", R"({"name":"a b","role":"admin"})",
                          R"({"name":"x","role":"boss"})", R"({"name":"x"})", R"({"role":"admin"})",
                          R"({"name":1,"role":"admin"})", "nope"}) {
    auto bad_r = ParseCreateUserBody(bad);
    ASSERT_FALSE(bad_r.ok()) << bad;
    EXPECT_EQ(bad_r.status().code(), ErrorCode::kInvalidArgument);
  }
}

// ---- idempotency --------------------------------------------------------------------------

TEST(ValidateIdempotencyKey, VisibleAsciiUpTo255) {
  EXPECT_TRUE(ValidateIdempotencyKey("k").ok());
  EXPECT_TRUE(ValidateIdempotencyKey(std::string(255, 'a')).ok());
  EXPECT_TRUE(ValidateIdempotencyKey("550e8400-e29b-41d4-a716-446655440000").ok());
  EXPECT_FALSE(ValidateIdempotencyKey("").ok());
  EXPECT_FALSE(ValidateIdempotencyKey(std::string(256, 'a')).ok());
  EXPECT_FALSE(ValidateIdempotencyKey("a b").ok());
  EXPECT_FALSE(ValidateIdempotencyKey("tab\there").ok());
  EXPECT_FALSE(ValidateIdempotencyKey("caf\xc3\xa9").ok());
  EXPECT_FALSE(ValidateIdempotencyKey("\x7f").ok());
}

TEST(RequestFingerprint, CoversMethodPathAndBody) {
  std::string f = RequestFingerprint("POST", "/v1/tasks", R"({"task":"a"})");
  EXPECT_EQ(f.size(), 64u);
  EXPECT_EQ(f, RequestFingerprint("POST", "/v1/tasks", R"({"task":"a"})"));
  EXPECT_NE(f, RequestFingerprint("PATCH", "/v1/tasks", R"({"task":"a"})"));
  EXPECT_NE(f, RequestFingerprint("POST", "/v1/tasks/1", R"({"task":"a"})"));
  EXPECT_NE(f, RequestFingerprint("POST", "/v1/tasks", R"({"task":"b"})"));
  // The separators keep "ab" + "c" apart from "a" + "bc".
  EXPECT_NE(RequestFingerprint("POST", "/ab", "c"), RequestFingerprint("POST", "/a", "bc"));
}

// ---- rendering ----------------------------------------------------------------------------

core::Task SampleTask(int64_t id) {
  core::Task t;
  t.id = id;
  t.user = "alice";
  t.text = "text " + std::to_string(id);
  t.created = core::FromMillis(1'800'000'000'000);
  t.updated = t.created;
  return t;
}

TEST(Render, TaskPageWithAndWithoutNext) {
  store::TaskPage page;
  page.tasks = {SampleTask(1), SampleTask(2)};
  json::value v = ParseJson(RenderTaskPage(page));
  EXPECT_EQ(v.at("tasks").as_array().size(), 2u);
  EXPECT_TRUE(v.at("next").is_null());
  EXPECT_EQ(v.at("tasks").at(0).at("done"), nullptr);
  page.next = 2;
  EXPECT_EQ(ParseJson(RenderTaskPage(page)).at("next").as_int64(), 2);
}

TEST(Render, UsersRemovedCreatedAndEvents) {
  store::UserSummary u{"alice", core::Role::kDeveloper, 3, 1, std::nullopt};
  json::value users = ParseJson(RenderUsers({u}));
  EXPECT_EQ(users.at("users").at(0).at("open").as_int64(), 3);
  EXPECT_TRUE(users.at("users").at(0).at("last_update").is_null());
  EXPECT_EQ(users.at("users").at(0).at("role").as_string(), "developer");
  EXPECT_EQ(RenderRemoved({3, 4}), R"({"removed":[3,4]})");
  EXPECT_EQ(RenderRemoved({}), R"({"removed":[]})");
  json::value created = ParseJson(RenderCreatedUser("bob", core::Role::kAdmin, "todo_x"));
  EXPECT_EQ(created.at("token").as_string(), "todo_x");
  EXPECT_EQ(created.at("role").as_string(), "admin");
  store::EventPage events;
  events.events.push_back(
      core::Event{7, core::FromMillis(0), "a", "a", core::EventKind::kDone, 4, "t"});
  json::value ev = ParseJson(RenderEventPage(events));
  EXPECT_EQ(ev.at("events").at(0).at("kind").as_string(), "done");
  EXPECT_TRUE(ev.at("next").is_null());
}

// ---- tokens -------------------------------------------------------------------------------

TEST(Tokens, GeneratedTokensAreWellFormedAndDistinct) {
  std::string a = GenerateToken();
  std::string b = GenerateToken();
  EXPECT_EQ(a.size(), 5u + 64u);
  EXPECT_TRUE(a.starts_with("todo_"));
  EXPECT_TRUE(IsWellFormedToken(a));
  EXPECT_NE(a, b);
  EXPECT_FALSE(IsWellFormedToken("todo_" + std::string(63, 'a')));
  EXPECT_FALSE(IsWellFormedToken("todo_" + std::string(64, 'A')));
  EXPECT_FALSE(IsWellFormedToken("tok_" + std::string(64, 'a')));
}

TEST(Tokens, HashIsSha256Hex) {
  EXPECT_EQ(HashToken("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex({"a", "bc"}), HashToken("abc"));
  EXPECT_TRUE(HashesEqual(HashToken("x"), HashToken("x")));
  EXPECT_FALSE(HashesEqual(HashToken("x"), HashToken("y")));
  EXPECT_FALSE(HashesEqual("ab", "abc"));
}

TEST(ParseBearer, SchemeAndToken) {
  EXPECT_EQ(*ParseBearer("Bearer todo_abc"), "todo_abc");
  EXPECT_EQ(*ParseBearer("bearer   todo_abc  "), "todo_abc");
  for (const char* bad :
       {"", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearertodo_abc", "Token todo_abc"}) {
    auto r = ParseBearer(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), ErrorCode::kUnauthenticated);
  }
}

TEST(TokenCache, ExpiresAfterTtlAndEmptiesWhenFull) {
  using namespace std::chrono_literals;
  TokenCache cache(10s, 2);
  auto t0 = TokenCache::Clock::now();
  cache.Put("h1", store::Account{"alice", core::Role::kDeveloper, "h1", {}}, t0);
  ASSERT_NE(cache.Find("h1", t0 + 9s), nullptr);
  EXPECT_EQ(cache.Find("h1", t0 + 9s)->name, "alice");
  EXPECT_EQ(cache.Find("h1", t0 + 10s), nullptr);
  EXPECT_EQ(cache.Find("nope", t0), nullptr);
  cache.Put("a", store::Account{"a", core::Role::kDeveloper, "a", {}}, t0);
  cache.Put("b", store::Account{"b", core::Role::kDeveloper, "b", {}}, t0);
  cache.Put("c", store::Account{"c", core::Role::kDeveloper, "c", {}}, t0);
  EXPECT_LE(cache.size(), 2u);
  EXPECT_NE(cache.Find("c", t0), nullptr);
}

// ---- configuration ------------------------------------------------------------------------

TEST(ParseListenAddress, Forms) {
  auto ep = ParseListenAddress("127.0.0.1:8080");
  ASSERT_TRUE(ep.ok());
  EXPECT_EQ(ep->port(), 8080);
  EXPECT_EQ(ParseListenAddress("0.0.0.0:0")->port(), 0);
  EXPECT_TRUE(ParseListenAddress("[::1]:9000")->address().is_v6());
  EXPECT_TRUE(ParseListenAddress("localhost:1")->address().is_loopback());
  EXPECT_TRUE(ParseListenAddress(":80")->address().is_unspecified());
  for (const char* bad : {"8080", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "host:80",
                          "[::1]9000", "127.0.0.1:8o"}) {
    EXPECT_FALSE(ParseListenAddress(bad).ok()) << bad;
  }
}

TEST(EndpointUrl, BracketsIpv6) {
  EXPECT_EQ(EndpointUrl(*ParseListenAddress("127.0.0.1:5")), "http://127.0.0.1:5");
  EXPECT_EQ(EndpointUrl(*ParseListenAddress("[::1]:5")), "http://[::1]:5");
}

TEST(RedactDbUrl, HidesPasswords) {
  EXPECT_EQ(RedactDbUrl("sqlite:todo.db"), "sqlite:todo.db");
  EXPECT_EQ(RedactDbUrl("postgresql://todo:s3cret@db:5432/todo"),
            "postgresql://todo:***@db:5432/todo");
  EXPECT_EQ(RedactDbUrl("postgresql://todo@db/todo?password=s3cret&sslmode=disable"),
            "postgresql://todo@db/todo?password=***&sslmode=disable");
  EXPECT_EQ(RedactDbUrl("postgres://db/todo"), "postgres://db/todo");
  EXPECT_EQ(DbKind("sqlite:x.db"), "sqlite");
  EXPECT_EQ(DbKind("x.db"), "sqlite");
  EXPECT_EQ(DbKind("postgresql://x"), "postgresql");
  EXPECT_EQ(DbKind("postgres://x"), "postgresql");
  EXPECT_EQ(DbKind("mysql://x"), "unknown");
}

// ---- metrics ------------------------------------------------------------------------------

TEST(Metrics, SumsShardsIntoPrometheusText) {
  Metrics metrics(2);
  using std::chrono::milliseconds;
  metrics.shard(0).RecordRequest(Route::kTasks, http::verb::post, 201, "", milliseconds(2));
  metrics.shard(1).RecordRequest(Route::kTasks, http::verb::post, 201, "", milliseconds(30));
  metrics.shard(1).RecordRequest(Route::kTask, http::verb::get, 404, "not_found", milliseconds(1));
  Metrics::Gauges g;
  g.connections_open = 3;
  std::string text = metrics.Render(g);
  EXPECT_NE(
      text.find(R"(todo_http_requests_total{route="/v1/tasks",method="POST",status="201"} 2)"),
      std::string::npos)
      << text;
  EXPECT_NE(
      text.find(R"(todo_http_requests_total{route="/v1/tasks/{id}",method="GET",status="404"} 1)"),
      std::string::npos);
  EXPECT_NE(
      text.find(R"(todo_http_request_duration_seconds_bucket{route="/v1/tasks",le="0.0025"} 1)"),
      std::string::npos);
  EXPECT_NE(
      text.find(R"(todo_http_request_duration_seconds_bucket{route="/v1/tasks",le="+Inf"} 2)"),
      std::string::npos);
  EXPECT_NE(text.find(R"(todo_http_request_duration_seconds_count{route="/v1/tasks"} 2)"),
            std::string::npos);
  EXPECT_NE(text.find(R"(todo_http_request_duration_seconds_sum{route="/v1/tasks"} 0.032)"),
            std::string::npos);
  EXPECT_NE(text.find(R"(todo_errors_total{code="not_found"} 1)"), std::string::npos);
  EXPECT_NE(text.find(R"(todo_errors_total{code="internal"} 0)"), std::string::npos);
  EXPECT_NE(text.find("todo_http_connections 3\n"), std::string::npos);
}

// ---- Api and StoreGate over a fake store --------------------------------------------------

// A Store in memory, enough to drive the Api: one account per token hash, tasks in a vector;
// Ping can be made to hang. Records what was called. Used from one thread.
class FakeStore final : public store::Store {
 public:
  std::map<std::string, store::Account> accounts;
  std::vector<core::Task> tasks;
  std::vector<std::string> calls;
  bool ping_hangs = false;

  asio::awaitable<Result<store::Written<core::Task>>> AddTask(
      const store::Actor& actor, std::string text,
      const store::Idempotency<core::Task>* idem) override {
    calls.push_back("AddTask");
    core::Task t = SampleTask(static_cast<int64_t>(tasks.size()) + 1);
    t.user = actor.name;
    t.text = std::move(text);
    tasks.push_back(t);
    store::Written<core::Task> w;
    if (idem != nullptr) last_render = idem->render(t);
    w.value = t;
    co_return w;
  }
  asio::awaitable<Result<core::Task>> GetTask(const store::Actor&, int64_t id) override {
    calls.push_back("GetTask");
    for (const auto& t : tasks) {
      if (t.id == id) co_return t;
    }
    co_return Status::NotFound("no task " + std::to_string(id));
  }
  asio::awaitable<Result<store::TaskPage>> ListTasks(const store::Actor&,
                                                     const store::TaskQuery&) override {
    calls.push_back("ListTasks");
    co_return store::TaskPage{tasks, std::nullopt};
  }
  asio::awaitable<Result<store::Written<core::Task>>> UpdateTask(
      const store::Actor&, int64_t, store::TaskPatch,
      const store::Idempotency<core::Task>*) override {
    calls.push_back("UpdateTask");
    co_return Status::Internal("not faked");
  }
  asio::awaitable<Result<store::Written<core::Task>>> RemoveTask(
      const store::Actor&, int64_t, const store::Idempotency<core::Task>*) override {
    calls.push_back("RemoveTask");
    store::Written<core::Task> w;
    w.replay = store::Replay{204, ""};
    co_return w;
  }
  asio::awaitable<Result<store::Written<std::vector<int64_t>>>> RemoveOldest(
      const store::Actor&, int, const store::Idempotency<std::vector<int64_t>>*) override {
    calls.push_back("RemoveOldest");
    co_return Status::Internal("not faked");
  }
  asio::awaitable<Result<store::ImportStats>> ImportTasks(const store::Actor&,
                                                          std::vector<store::ImportItem>) override {
    co_return Status::Internal("not faked");
  }
  asio::awaitable<Status> CreateAccount(const store::Account& account) override {
    calls.push_back("CreateAccount");
    for (const auto& [hash, a] : accounts) {
      if (a.name == account.name) co_return Status::Conflict("name taken");
    }
    accounts[account.token_hash] = account;
    co_return Status::Ok();
  }
  asio::awaitable<Result<store::Account>> FindAccountByTokenHash(std::string hash) override {
    calls.push_back("FindAccountByTokenHash");
    auto it = accounts.find(hash);
    if (it == accounts.end()) co_return Status::Unauthenticated("unknown");
    co_return it->second;
  }
  asio::awaitable<Result<std::vector<store::UserSummary>>> ListUsers(const store::Actor&) override {
    calls.push_back("ListUsers");
    co_return std::vector<store::UserSummary>{};
  }
  asio::awaitable<Result<store::EventPage>> ListEvents(const store::Actor&, int64_t, int) override {
    calls.push_back("ListEvents");
    co_return store::EventPage{};
  }
  asio::awaitable<Result<int64_t>> EventHorizon() override {
    calls.push_back("EventHorizon");
    co_return int64_t{0};
  }
  asio::awaitable<Status> Snapshot(const store::Actor&, store::SnapshotSink& sink) override {
    calls.push_back("Snapshot");
    store::SnapshotHeader header{.position = 0, .taken = {}, .tasks = std::nullopt};
    if (Status s = co_await sink.Begin(header); !s.ok()) co_return s;
    std::vector<core::Task> page = tasks;
    co_return co_await sink.Page(std::move(page));
  }
  void WatchEvents(std::function<void()>) override {}
  asio::awaitable<Status> Ping() override {
    calls.push_back("Ping");
    if (ping_hangs) {
      asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::hours(1));
      hanging_ping = &t;
      co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
      hanging_ping = nullptr;
    }
    co_return Status::Ok();
  }

  std::string last_render;
  asio::steady_timer* hanging_ping = nullptr;
};

class ApiTest : public ::testing::Test {
 protected:
  ApiTest()
      : gate_(store_, std::chrono::milliseconds(200)),
        api_(gate_, nullptr, Options(), [] { return std::string("metrics text\n"); }) {}

  static ServerOptions Options() {
    ServerOptions o;
    o.ready_deadline = std::chrono::milliseconds(100);
    return o;
  }

  // Runs the loop until `fut` is ready (calls left hanging keep the loop busy otherwise).
  template <typename T>
  T RunUntilReady(std::future<T>& fut) {
    io_.restart();
    while (fut.wait_for(std::chrono::seconds(0)) != std::future_status::ready) io_.run_one();
    return fut.get();
  }

  std::string AddAccount(const std::string& name, core::Role role) {
    std::string token = GenerateToken();
    store_.accounts[HashToken(token)] = store::Account{name, role, HashToken(token), {}};
    return token;
  }

  Reply Call(http::verb method, const std::string& target, const std::string& token = "",
             const std::string& body = "") {
    Request req{method, target, 11};
    if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
    req.body() = body;
    req.prepare_payload();
    auto fut = asio::co_spawn(io_, api_.Handle(req, cache_), asio::use_future);
    return RunUntilReady(fut);
  }

  asio::io_context io_;
  FakeStore store_;
  StoreGate gate_;
  Api api_;
  TokenCache cache_;
};

TEST_F(ApiTest, UnknownPathWrongMethodAndHealth) {
  Reply unknown = Call(http::verb::get, "/v1/nope");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(ErrorCodeOf(unknown.body), "not_found");
  Reply wrong = Call(http::verb::put, "/v1/tasks");
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(wrong.allow, "GET, POST");
  EXPECT_EQ(wrong.route, Route::kTasks);
  EXPECT_EQ(Call(http::verb::get, "/healthz").status, 200);
  Reply metrics = Call(http::verb::get, "/metrics");
  EXPECT_EQ(metrics.body, "metrics text\n");
  EXPECT_EQ(metrics.content_type, kMetricsType);
  EXPECT_TRUE(store_.calls.empty());
}

TEST_F(ApiTest, TokensAreCheckedAndCached) {
  EXPECT_EQ(Call(http::verb::get, "/v1/tasks").status, 401);
  EXPECT_EQ(Call(http::verb::get, "/v1/tasks", "not-a-token").status, 401);
  EXPECT_TRUE(store_.calls.empty());  // malformed tokens never reach the store
  EXPECT_EQ(Call(http::verb::get, "/v1/tasks", GenerateToken()).status, 401);
  std::string alice = AddAccount("alice", core::Role::kDeveloper);
  store_.calls.clear();
  EXPECT_EQ(Call(http::verb::get, "/v1/tasks", alice).status, 200);
  EXPECT_EQ(Call(http::verb::get, "/v1/tasks", alice).status, 200);
  EXPECT_EQ(std::count(store_.calls.begin(), store_.calls.end(), "FindAccountByTokenHash"), 1);
}

TEST_F(ApiTest, ManagersAndAdminsWriteNothingTheStoreIsNotAsked) {
  for (core::Role role : {core::Role::kManager, core::Role::kAdmin}) {
    std::string token = AddAccount(std::string(core::RoleName(role)), role);
    store_.calls.clear();
    EXPECT_EQ(Call(http::verb::post, "/v1/tasks", token, R"({"task":"x"})").status, 403);
    EXPECT_EQ(Call(http::verb::patch, "/v1/tasks/1", token, R"({"done":true})").status, 403);
    EXPECT_EQ(Call(http::verb::delete_, "/v1/tasks/1", token).status, 403);
    EXPECT_EQ(Call(http::verb::post, "/v1/tasks/remove-oldest", token, R"({"count":1})").status,
              403);
    for (const std::string& c : store_.calls) EXPECT_EQ(c, "FindAccountByTokenHash");
  }
}

TEST_F(ApiTest, AddRendersWhatTheIdempotencyRecordHolds) {
  std::string alice = AddAccount("alice", core::Role::kDeveloper);
  Request req{http::verb::post, "/v1/tasks", 11};
  req.set(http::field::authorization, "Bearer " + alice);
  req.set("Idempotency-Key", "k1");
  req.body() = R"({"task":"buy milk"})";
  auto fut = asio::co_spawn(io_, api_.Handle(req, cache_), asio::use_future);
  Reply r = RunUntilReady(fut);
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.body, store_.last_render);
  EXPECT_EQ(ParseJson(r.body).at("task").as_string(), "buy milk");
}

TEST_F(ApiTest, ReplayAnswersTheRecordedStatusAndBody) {
  std::string alice = AddAccount("alice", core::Role::kDeveloper);
  Reply r = Call(http::verb::delete_, "/v1/tasks/3", alice);
  EXPECT_EQ(r.status, 204);
  EXPECT_TRUE(r.replayed);
  EXPECT_TRUE(r.body.empty());
}

TEST_F(ApiTest, BadInputNeverReachesTheStore) {
  std::string alice = AddAccount("alice", core::Role::kDeveloper);
  Call(http::verb::get, "/v1/tasks", alice);  // caches the token
  store_.calls.clear();
  EXPECT_EQ(Call(http::verb::post, "/v1/tasks", alice, R"({"task":""})").status, 400);
  EXPECT_EQ(Call(http::verb::get, "/v1/tasks/abc", alice).status, 400);
  EXPECT_EQ(Call(http::verb::get, "/v1/tasks?limit=0", alice).status, 400);
  EXPECT_EQ(Call(http::verb::get, "/v1/tasks?user=bob", alice).status, 403);
  EXPECT_EQ(Call(http::verb::patch, "/v1/tasks/1", alice, "{}").status, 400);
  EXPECT_EQ(Call(http::verb::post, "/v1/tasks/remove-oldest", alice, R"({"count":0})").status, 400);
  EXPECT_EQ(Call(http::verb::get, "/v1/users", alice).status, 403);
  EXPECT_EQ(Call(http::verb::post, "/v1/users", alice, R"({"name":"x","role":"admin"})").status,
            403);
  EXPECT_TRUE(store_.calls.empty());
}

TEST_F(ApiTest, AdminCreatesAccountsWithWorkingTokens) {
  std::string admin = AddAccount("ada", core::Role::kAdmin);
  Reply r = Call(http::verb::post, "/v1/users", admin, R"({"name":"bob","role":"developer"})");
  ASSERT_EQ(r.status, 201);
  std::string token(ParseJson(r.body).at("token").as_string());
  EXPECT_TRUE(IsWellFormedToken(token));
  EXPECT_EQ(Call(http::verb::get, "/v1/tasks", token).status, 200);
  EXPECT_EQ(Call(http::verb::post, "/v1/users", admin, R"({"name":"bob","role":"admin"})").status,
            409);
}

TEST_F(ApiTest, ReadyzAnswers503WhenThePingMissesItsDeadline) {
  EXPECT_EQ(Call(http::verb::get, "/readyz").status, 200);
  store_.ping_hangs = true;
  // The ping hangs for an hour; /readyz answers at its own deadline (100 ms here).
  Reply r = Call(http::verb::get, "/readyz");
  EXPECT_EQ(r.status, 503);
  EXPECT_TRUE(r.retry_after);
  EXPECT_EQ(gate_.in_flight(), 1);
  ASSERT_NE(store_.hanging_ping, nullptr);
  store_.hanging_ping->cancel();
  io_.restart();
  io_.run();
  EXPECT_EQ(gate_.in_flight(), 0);
}

TEST_F(ApiTest, ClosedGateAnswers503WithoutTheStore) {
  std::string alice = AddAccount("alice", core::Role::kDeveloper);
  gate_.Close();
  Reply r = Call(http::verb::get, "/v1/tasks", alice);
  EXPECT_EQ(r.status, 503);
  EXPECT_TRUE(store_.calls.empty());
}

TEST(StoreGate, DeadlineAnswersUnavailableWhileTheCallRunsOn) {
  FakeStore fake;
  fake.ping_hangs = true;
  StoreGate gate(fake, std::chrono::milliseconds(50));
  asio::io_context io;
  auto call = gate.Call([](store::Store& s) { return s.Ping(); });
  auto fut = asio::co_spawn(io, std::move(call), asio::use_future);
  while (fut.wait_for(std::chrono::seconds(0)) != std::future_status::ready) io.run_one();
  EXPECT_EQ(fut.get().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(gate.in_flight(), 1);
  fake.hanging_ping->cancel();
  io.restart();
  io.run();
  EXPECT_EQ(gate.in_flight(), 0);
}


// ---- event streams -------------------------------------------------------------------------

TEST(ParseStreamQuery, ResumePointAndCredentials) {
  auto none = ParseStreamQuery("", "", "Bearer abc");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->after, std::nullopt);
  EXPECT_EQ(none->authorization, "Bearer abc");
  auto after = ParseStreamQuery("after=12&access_token=tok", "", "");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->after, 12);
  EXPECT_EQ(after->authorization, "Bearer tok");
  // The header wins over the parameter (EventSource's reconnect); a header token wins too.
  auto both = ParseStreamQuery("after=12&access_token=tok", "40", "Bearer hdr");
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(both->after, 40);
  EXPECT_EQ(both->authorization, "Bearer hdr");
  for (const char* bad : {"-1", "x", "1 ", ""}) {
    if (std::string_view(bad).empty()) continue;
    EXPECT_FALSE(ParseStreamQuery("", bad, "").ok()) << bad;
  }
  EXPECT_FALSE(ParseStreamQuery("after=-1", "", "").ok());
  EXPECT_FALSE(ParseStreamQuery("after=1&after=2", "", "").ok());
}

TEST(RenderSseEvent, OneMessageWithIdAndJsonData) {
  core::Event e{.id = 7,
                .at = core::FromMillis(0),
                .user = "alice",
                .actor = "alice",
                .kind = core::EventKind::kCreated,
                .task_id = 3,
                .task = "two\nlines?"};
  std::string text = RenderSseEvent(e);
  EXPECT_TRUE(text.starts_with("id: 7\ndata: {")) << text;
  EXPECT_TRUE(text.ends_with("}\n\n")) << text;
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 3) << text;
}

TEST(Subscription, AReaderTooFarBehindIsCutOffAndItsQueueFreed) {
  boost::asio::io_context io;
  auto sub = std::make_shared<Subscription>(io.get_executor(), "");
  // Frames pushed through a feed would be shared; here, directly.
  for (int i = 1; i <= 3; ++i) {
    auto frame = std::make_shared<Frame>();
    frame->id = i;
    frame->text = "id: " + std::to_string(i) + "\n\n";
    SubscriptionTestPeer::Push(*sub, frame, 3);
  }
  EXPECT_FALSE(sub->cut_off());
  EXPECT_EQ(sub->Take().size(), 3u);
  for (int i = 4; i <= 7; ++i) {
    auto frame = std::make_shared<Frame>();
    frame->id = i;
    SubscriptionTestPeer::Push(*sub, frame, 3);
  }
  EXPECT_TRUE(sub->cut_off());
  EXPECT_TRUE(sub->closed());
  EXPECT_TRUE(sub->Take().empty());
  io.run();  // the posted wake-ups run and release the subscription
}

// ---- web pages -----------------------------------------------------------------------------

TEST(StaticFiles, ServesPagesAndRefusesEverythingElse) {
  std::string dir = ::testing::TempDir() + "/todo-web-test";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/index.html") << "<p>dev</p>";
  std::ofstream(dir + "/manager.html") << "<p>manager</p>";
  std::ofstream(dir + "/app.js") << "export {}";
  std::ofstream(dir + "/.secret.js") << "no";
  Reply index = StaticFileReply(dir, "/");
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.body, "<p>dev</p>");
  EXPECT_EQ(index.content_type, "text/html; charset=utf-8");
  EXPECT_TRUE(index.page_headers);
  EXPECT_EQ(StaticFileReply(dir, "/manager").body, "<p>manager</p>");
  Reply js = StaticFileReply(dir, "/app.js");
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.content_type, "text/javascript; charset=utf-8");
  for (const char* path : {"/../index.html", "/..%2findex.html", "/a/app.js", "/.secret.js",
                           "/app", "/missing.js", "/index.html/", "//etc/passwd", "/app.exe"}) {
    EXPECT_EQ(StaticFileReply(dir, path).status, 404) << path;
  }
  EXPECT_EQ(StaticFileReply("", "/").status, 404);
}

}  // namespace
}  // namespace todo::server
