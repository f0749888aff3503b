// Integration tests of todod: the real binary on an ephemeral loopback port, over real HTTP,
// on SQLite and (when TODO_TEST_PG_URL is set) PostgreSQL. See server_fixture.h.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "server_fixture.h"

namespace todo::testing {
namespace {

namespace http = boost::beast::http;
namespace json = boost::json;
using namespace std::chrono_literals;

std::string TaskBody(const std::string& text) {
  json::object o;
  o["task"] = text;
  return json::serialize(o);
}

// Every task `client` can list with `query` (all pages), oldest first.
std::vector<json::object> ListAll(HttpClient& client, const std::string& query) {
  std::vector<json::object> out;
  int64_t after = 0;
  for (int pages = 0; pages < 1000; ++pages) {
    HttpResponse r = client.Get("/v1/tasks?limit=1000&after=" + std::to_string(after) +
                                (query.empty() ? "" : "&" + query));
    if (r.status != 200) {
      ADD_FAILURE() << "list " << query << ": " << r.status << " " << r.error << r.body;
      return out;
    }
    json::value v = r.Json();
    for (auto& t : v.at("tasks").as_array()) out.push_back(t.as_object());
    if (v.at("next").is_null()) break;
    after = v.at("next").as_int64();
  }
  return out;
}

std::vector<int64_t> Ids(const std::vector<json::object>& tasks) {
  std::vector<int64_t> ids;
  for (const auto& t : tasks) ids.push_back(t.at("id").as_int64());
  return ids;
}

std::vector<json::object> Events(HttpClient& client) {
  std::vector<json::object> out;
  int64_t after = 0;
  for (int pages = 0; pages < 1000; ++pages) {
    HttpResponse r = client.Get("/v1/events?limit=1000&after=" + std::to_string(after));
    if (r.status != 200) {
      ADD_FAILURE() << "events: " << r.status << " " << r.error << r.body;
      return out;
    }
    json::value v = r.Json();
    for (auto& e : v.at("events").as_array()) out.push_back(e.as_object());
    if (v.at("next").is_null()) break;
    after = v.at("next").as_int64();
  }
  return out;
}

#define EXPECT_JSON_ERROR(response, want_status, want_code)                               \
  do {                                                                                    \
    const HttpResponse& r_ = (response);                                                  \
    EXPECT_EQ(r_.status, want_status) << r_.error << r_.body;                             \
    EXPECT_TRUE(r_.IsJsonError()) << "content-type " << r_.Header("content-type") << ": " \
                                  << r_.body;                                             \
    EXPECT_EQ(r_.ErrorCode(), want_code) << r_.body;                                      \
  } while (0)

// ---- health, metrics, routing --------------------------------------------------------------

TEST_P(ServerTest, HealthReadinessAndMetrics) {
  HttpClient anonymous(port());
  HttpResponse health = anonymous.Get("/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.Json().at("status").as_string(), "ok");
  HttpResponse ready = anonymous.Get("/readyz");
  EXPECT_EQ(ready.status, 200);

  HttpClient alice = Client(alice_);
  alice.AddTask("counted");
  EXPECT_EQ(alice.Post("/v1/tasks", "{").status, 400);
  HttpResponse metrics = anonymous.Get("/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_TRUE(metrics.Header("content-type").starts_with("text/plain"));
  const std::string& m = metrics.body;
  EXPECT_NE(m.find(R"(todo_http_requests_total{route="/v1/tasks",method="POST",status="201"} 1)"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find(R"(todo_http_requests_total{route="/v1/tasks",method="POST",status="400"} 1)"),
            std::string::npos);
  EXPECT_NE(m.find(R"(todo_http_requests_total{route="/healthz",method="GET",status="200"} 1)"),
            std::string::npos);
  EXPECT_NE(m.find(R"(todo_http_request_duration_seconds_count{route="/v1/tasks"} 2)"),
            std::string::npos);
  EXPECT_NE(m.find(R"(todo_http_request_duration_seconds_bucket{route="/v1/tasks",le="+Inf"} 2)"),
            std::string::npos);
  EXPECT_NE(m.find(R"(todo_errors_total{code="invalid_argument"} 1)"), std::string::npos);
  EXPECT_NE(m.find("\ntodo_http_connections "), std::string::npos);
  EXPECT_NE(m.find("\ntodo_store_calls_in_flight "), std::string::npos);
  // The add went through a batch on PostgreSQL; SQLite has no batchers and says zero.
  std::smatch batched;
  const std::regex writes(R"(todo_db_batched_total\{kind="write"\} ([0-9]+))");
  ASSERT_TRUE(std::regex_search(m, batched, writes)) << m;
  EXPECT_EQ(std::stoll(batched[1].str()) >= 1, GetParam() == "postgres") << m;
  EXPECT_NE(m.find("\ntodo_db_batches_total "), std::string::npos);
  EXPECT_NE(m.find("\ntodo_db_merged_total{kind=\"add\"} "), std::string::npos);
  EXPECT_NE(m.find("\ntodo_db_batches_resent_total "), std::string::npos);
}

TEST_P(ServerTest, UnknownPathsAnswer404Json) {
  HttpClient alice = Client(alice_);
  HttpClient anonymous(port());
  for (const char* path : {"/nope", "/v1", "/v1/snapshot/", "/v1/tasks/", "/v1/tasks/1/extra",
                           "/v2/tasks", "/v1/users/alice", "/v1/events/stream/", "/../README.md",
                           "/web/index.html", "/.gitignore"}) {
    EXPECT_JSON_ERROR(alice.Get(path), 404, "not_found");
    EXPECT_JSON_ERROR(anonymous.Get(path), 404, "not_found");
  }
}

TEST_P(ServerTest, WebPagesAreServedWithTheirTypesAndNoToken) {
  HttpClient anonymous(port());
  struct Case {
    const char* path;
    const char* type;
    const char* contains;
  };
  for (const Case& c : {Case{"/", "text/html; charset=utf-8", "my tasks"},
                        Case{"/manager", "text/html; charset=utf-8", "manager dashboard"},
                        Case{"/common.js", "text/javascript; charset=utf-8", "EventSource"},
                        Case{"/style.css", "text/css; charset=utf-8", "body"}}) {
    HttpResponse r = anonymous.Get(c.path);
    EXPECT_EQ(r.status, 200) << c.path;
    EXPECT_EQ(r.Header("content-type"), c.type) << c.path;
    EXPECT_NE(r.body.find(c.contains), std::string::npos) << c.path;
    EXPECT_EQ(r.Header("cache-control"), "no-cache") << c.path;
    EXPECT_EQ(r.Header("x-content-type-options"), "nosniff") << c.path;
    EXPECT_NE(r.Header("content-security-policy"), "") << c.path;
  }
  HttpResponse head = anonymous.Send(http::verb::head, "/manager");
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
  HttpResponse post = anonymous.Send(http::verb::post, "/", "{}");
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(post.Header("allow"), "GET, HEAD");
}

TEST_P(ServerTest, WrongMethodAnswers405WithAllow) {
  HttpClient alice = Client(alice_);
  struct Case {
    http::verb method;
    const char* path;
    const char* allow;
  };
  for (const Case& c :
       {Case{http::verb::put, "/v1/tasks", "GET, POST"},
        Case{http::verb::delete_, "/v1/tasks", "GET, POST"},
        Case{http::verb::get, "/v1/tasks/remove-oldest", "POST"},
        Case{http::verb::post, "/v1/tasks/1", "GET, PATCH, DELETE"},
        Case{http::verb::put, "/v1/tasks/1", "GET, PATCH, DELETE"},
        Case{http::verb::patch, "/v1/users", "GET, POST"},
        Case{http::verb::post, "/v1/events", "GET"}, Case{http::verb::post, "/healthz", "GET"},
        Case{http::verb::delete_, "/metrics", "GET"}, Case{http::verb::head, "/readyz", "GET"}}) {
    HttpResponse r = alice.Send(c.method, c.path, "{}");
    EXPECT_EQ(r.status, 405) << c.path;
    EXPECT_EQ(r.Header("allow"), c.allow) << c.path;
    if (c.method == http::verb::head) {
      EXPECT_TRUE(r.body.empty());
    } else {
      EXPECT_TRUE(r.IsJsonError()) << r.body;
      EXPECT_EQ(r.ErrorCode(), "method_not_allowed");
    }
  }
  // The same keep-alive connection is still in step (a HEAD answer carried no body).
  EXPECT_EQ(alice.Get("/healthz").status, 200);
}

TEST_P(ServerTest, MissingOrUnknownTokenAnswers401OnEveryV1Route) {
  std::string before = Snapshot();
  struct Route {
    http::verb method;
    const char* path;
    const char* body;
  };
  std::vector<Route> routes = {{http::verb::get, "/v1/tasks", ""},
                               {http::verb::post, "/v1/tasks", R"({"task":"x"})"},
                               {http::verb::get, "/v1/tasks/1", ""},
                               {http::verb::patch, "/v1/tasks/1", R"({"done":true})"},
                               {http::verb::delete_, "/v1/tasks/1", ""},
                               {http::verb::post, "/v1/tasks/remove-oldest", R"({"count":1})"},
                               {http::verb::get, "/v1/users", ""},
                               {http::verb::post, "/v1/users", R"({"name":"z","role":"admin"})"},
                               {http::verb::get, "/v1/events", ""}};
  std::vector<std::string> authorizations = {
      "",  // no header at all
      "Basic YWxpY2U6c2VjcmV0",
      "Bearer",
      "Bearer garbage",
      "Bearer todo_" + std::string(64, '0'),  // well formed, never issued
      "Bearer " + alice_ + "0",
      "Bearer " + alice_.substr(0, alice_.size() - 1) + (alice_.back() == 'a' ? "b" : "a")};
  HttpClient client(port());
  for (const Route& route : routes) {
    for (const std::string& auth : authorizations) {
      Headers headers;
      if (!auth.empty()) headers.emplace_back("Authorization", auth);
      HttpResponse r = client.Send(route.method, route.path, route.body, headers);
      EXPECT_JSON_ERROR(r, 401, "unauthenticated");
      EXPECT_EQ(r.Header("www-authenticate"), "Bearer");
    }
  }
  EXPECT_EQ(Snapshot(), before);
}

// ---- the task routes -----------------------------------------------------------------------

TEST_P(ServerTest, TaskLifecycle) {
  HttpClient alice = Client(alice_);
  HttpResponse created = alice.Post("/v1/tasks", TaskBody("buy milk"));
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.Header("content-type"), "application/json");
  json::object task = created.Json().as_object();
  int64_t id = task.at("id").as_int64();
  EXPECT_GT(id, 0);
  EXPECT_EQ(task.at("user").as_string(), "alice");
  EXPECT_EQ(task.at("task").as_string(), "buy milk");
  EXPECT_TRUE(task.at("done").is_null());
  EXPECT_EQ(task.at("created").as_string().size(), 24u);  // 2026-11-29T08:15:34.859Z
  EXPECT_EQ(task.at("created"), task.at("updated"));
  std::string path = "/v1/tasks/" + std::to_string(id);

  HttpResponse got = alice.Get(path);
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.body, created.body);

  HttpResponse edited = alice.Patch(path, R"({"task":"buy oat milk"})");
  ASSERT_EQ(edited.status, 200) << edited.body;
  EXPECT_EQ(edited.Json().at("task").as_string(), "buy oat milk");
  EXPECT_TRUE(edited.Json().at("done").is_null());
  EXPECT_GE(std::string(edited.Json().at("updated").as_string()),
            std::string(task.at("updated").as_string()));

  HttpResponse done = alice.Patch(path, R"({"done":true})");
  ASSERT_EQ(done.status, 200);
  EXPECT_TRUE(done.Json().at("done").is_string());
  HttpResponse undone = alice.Patch(path, R"({"done":false})");
  ASSERT_EQ(undone.status, 200);
  EXPECT_TRUE(undone.Json().at("done").is_null());
  HttpResponse both = alice.Patch(path, R"({"task":"both at once","done":true,"extra":1})");
  ASSERT_EQ(both.status, 200);
  EXPECT_EQ(both.Json().at("task").as_string(), "both at once");
  EXPECT_TRUE(both.Json().at("done").is_string());
  EXPECT_EQ(alice.Get(path).body, both.body);

  HttpResponse removed = alice.Delete(path);
  EXPECT_EQ(removed.status, 204);
  EXPECT_TRUE(removed.body.empty());
  EXPECT_JSON_ERROR(alice.Get(path), 404, "not_found");
  EXPECT_JSON_ERROR(alice.Delete(path), 404, "not_found");
  EXPECT_JSON_ERROR(alice.Patch(path, R"({"done":true})"), 404, "not_found");

  std::vector<json::object> events = Events(alice);
  std::vector<std::string> kinds;
  for (const auto& e : events) {
    EXPECT_EQ(e.at("task_id").as_int64(), id);
    EXPECT_EQ(e.at("user").as_string(), "alice");
    EXPECT_EQ(e.at("actor").as_string(), "alice");
    kinds.emplace_back(e.at("kind").as_string());
  }
  ASSERT_GE(kinds.size(), 6u);
  EXPECT_EQ(kinds[0], "created");
  EXPECT_EQ(kinds[1], "edited");
  EXPECT_EQ(kinds[2], "done");
  EXPECT_EQ(kinds[3], "undone");
  EXPECT_EQ(kinds.back(), "removed");
}

TEST_P(ServerTest, ListingIsKeysetPagedOldestFirst) {
  HttpClient alice = Client(alice_);
  std::vector<int64_t> ids;
  for (int i = 0; i < 25; ++i) ids.push_back(alice.AddTask("task " + std::to_string(i)));
  ASSERT_EQ(alice.Patch("/v1/tasks/" + std::to_string(ids[3]), R"({"done":true})").status, 200);
  ASSERT_EQ(alice.Patch("/v1/tasks/" + std::to_string(ids[7]), R"({"done":true})").status, 200);

  // Pages of 10 open tasks, following `next`.
  std::vector<int64_t> seen;
  int64_t after = 0;
  int pages = 0;
  for (;;) {
    HttpResponse r = alice.Get("/v1/tasks?limit=10&after=" + std::to_string(after));
    ASSERT_EQ(r.status, 200) << r.body;
    json::value v = r.Json();
    auto& tasks = v.at("tasks").as_array();
    EXPECT_LE(tasks.size(), 10u);
    for (auto& t : tasks) seen.push_back(t.at("id").as_int64());
    ++pages;
    if (v.at("next").is_null()) break;
    EXPECT_EQ(v.at("next").as_int64(), seen.back());
    after = v.at("next").as_int64();
    ASSERT_LT(pages, 10);
  }
  std::vector<int64_t> open = ids;
  open.erase(std::remove_if(open.begin(), open.end(),
                            [&](int64_t id) { return id == ids[3] || id == ids[7]; }),
             open.end());
  EXPECT_EQ(seen, open);
  EXPECT_EQ(pages, 3);

  EXPECT_EQ(Ids(ListAll(alice, "state=done")), (std::vector<int64_t>{ids[3], ids[7]}));
  EXPECT_EQ(Ids(ListAll(alice, "state=all")), ids);
  EXPECT_EQ(Ids(ListAll(alice, "state=open")), open);
  HttpResponse defaults = alice.Get("/v1/tasks?unknown=ignored");
  ASSERT_EQ(defaults.status, 200);
  EXPECT_EQ(defaults.Json().at("tasks").as_array().size(), 23u);  // default: open, limit 100
  EXPECT_TRUE(defaults.Json().at("next").is_null());
  HttpResponse tail = alice.Get("/v1/tasks?state=all&after=" + std::to_string(ids[19]));
  ASSERT_EQ(tail.status, 200);
  EXPECT_EQ(tail.Json().at("tasks").as_array().size(), 5u);
  EXPECT_EQ(alice.Get("/v1/tasks?limit=1000&user=alice").status, 200);
}

// ---- roles ---------------------------------------------------------------------------------

TEST_P(ServerTest, DevelopersNeverSeeOrTouchOthersTasks) {
  HttpClient alice = Client(alice_);
  HttpClient bob = Client(bob_);
  int64_t secret = alice.AddTask("alice's secret");
  int64_t own = bob.AddTask("bob's own");
  std::string secret_path = "/v1/tasks/" + std::to_string(secret);

  // Another's task looks exactly like a missing one: 404, never 403.
  EXPECT_JSON_ERROR(bob.Get(secret_path), 404, "not_found");
  EXPECT_JSON_ERROR(bob.Patch(secret_path, R"({"task":"mine now"})"), 404, "not_found");
  EXPECT_JSON_ERROR(bob.Patch(secret_path, R"({"done":true})"), 404, "not_found");
  EXPECT_JSON_ERROR(bob.Delete(secret_path), 404, "not_found");
  EXPECT_JSON_ERROR(bob.Get("/v1/tasks/999999"), 404, "not_found");

  EXPECT_EQ(Ids(ListAll(bob, "state=all")), std::vector<int64_t>{own});
  EXPECT_EQ(Ids(ListAll(bob, "user=bob")), std::vector<int64_t>{own});
  EXPECT_JSON_ERROR(bob.Get("/v1/tasks?user=alice"), 403, "permission_denied");
  EXPECT_JSON_ERROR(bob.Get("/v1/users"), 403, "permission_denied");

  HttpResponse removed = bob.Post("/v1/tasks/remove-oldest", R"({"count":10})");
  ASSERT_EQ(removed.status, 200);
  EXPECT_EQ(json::serialize(removed.Json()), R"({"removed":[)" + std::to_string(own) + "]}");

  for (const auto& e : Events(bob)) EXPECT_EQ(e.at("user").as_string(), "bob");
  HttpResponse still = alice.Get(secret_path);
  ASSERT_EQ(still.status, 200);
  EXPECT_EQ(still.Json().at("task").as_string(), "alice's secret");
  EXPECT_TRUE(still.Json().at("done").is_null());
}

TEST_P(ServerTest, ManagersAndAdminsReadEverything) {
  HttpClient alice = Client(alice_);
  HttpClient bob = Client(bob_);
  int64_t a1 = alice.AddTask("a1");
  int64_t a2 = alice.AddTask("a2");
  int64_t b1 = bob.AddTask("b1");
  ASSERT_EQ(alice.Patch("/v1/tasks/" + std::to_string(a2), R"({"done":true})").status, 200);
  for (const std::string& token : {mia_, admin_}) {
    HttpClient reader = Client(token);
    EXPECT_EQ(Ids(ListAll(reader, "state=all")), (std::vector<int64_t>{a1, a2, b1}));
    EXPECT_EQ(Ids(ListAll(reader, "")), (std::vector<int64_t>{a1, b1}));
    EXPECT_EQ(Ids(ListAll(reader, "user=alice&state=all")), (std::vector<int64_t>{a1, a2}));
    EXPECT_EQ(reader.Get("/v1/tasks/" + std::to_string(b1)).status, 200);

    HttpResponse users = reader.Get("/v1/users");
    ASSERT_EQ(users.status, 200) << users.body;
    std::map<std::string, json::object> by_name;
    json::value users_json = users.Json();
    for (auto& u : users_json.at("users").as_array()) {
      by_name[std::string(u.at("name").as_string())] = u.as_object();
    }
    ASSERT_EQ(by_name.size(), 4u);
    EXPECT_EQ(by_name["alice"].at("role").as_string(), "developer");
    EXPECT_EQ(by_name["alice"].at("open").as_int64(), 1);
    EXPECT_EQ(by_name["alice"].at("done").as_int64(), 1);
    EXPECT_TRUE(by_name["alice"].at("last_update").is_string());
    EXPECT_EQ(by_name["bob"].at("open").as_int64(), 1);
    EXPECT_EQ(by_name["mia"].at("role").as_string(), "manager");
    EXPECT_TRUE(by_name["mia"].at("last_update").is_null());
    EXPECT_EQ(by_name["ada"].at("role").as_string(), "admin");

    std::set<std::string> owners;
    for (const auto& e : Events(reader)) owners.insert(std::string(e.at("user").as_string()));
    EXPECT_EQ(owners, (std::set<std::string>{"alice", "bob"}));
  }
}

TEST_P(ServerTest, ManagersAndAdminsWriteNothing) {
  HttpClient alice = Client(alice_);
  int64_t t1 = alice.AddTask("t1");
  alice.AddTask("t2");
  std::string path = "/v1/tasks/" + std::to_string(t1);
  std::string before = Snapshot();
  for (const std::string& token : {mia_, admin_}) {
    HttpClient reader = Client(token);
    for (const Headers& headers : {Headers{}, Headers{{"Idempotency-Key", "k-forbidden"}}}) {
      EXPECT_JSON_ERROR(reader.Post("/v1/tasks", TaskBody("sneaky"), headers), 403,
                        "permission_denied");
      EXPECT_JSON_ERROR(reader.Patch(path, R"({"done":true})", headers), 403, "permission_denied");
      EXPECT_JSON_ERROR(reader.Patch(path, R"({"task":"hijacked"})", headers), 403,
                        "permission_denied");
      EXPECT_JSON_ERROR(reader.Delete(path, headers), 403, "permission_denied");
      EXPECT_JSON_ERROR(reader.Post("/v1/tasks/remove-oldest", R"({"count":5})", headers), 403,
                        "permission_denied");
    }
  }
  HttpClient mia = Client(mia_);
  EXPECT_JSON_ERROR(mia.Post("/v1/users", R"({"name":"eve","role":"admin"})"), 403,
                    "permission_denied");
  EXPECT_JSON_ERROR(alice.Post("/v1/users", R"({"name":"eve","role":"admin"})"), 403,
                    "permission_denied");
  EXPECT_EQ(Snapshot(), before);
}

// ---- accounts ------------------------------------------------------------------------------

TEST_P(ServerTest, AdminCreatesAccounts) {
  HttpClient admin = Client(admin_);
  HttpResponse created = admin.Post("/v1/users", R"({"name":"carol","role":"developer"})");
  ASSERT_EQ(created.status, 201) << created.body;
  json::object body = created.Json().as_object();
  EXPECT_EQ(body.size(), 3u);
  EXPECT_EQ(body.at("name").as_string(), "carol");
  EXPECT_EQ(body.at("role").as_string(), "developer");
  std::string token(body.at("token").as_string());
  EXPECT_EQ(token.size(), 69u);
  HttpClient carol = Client(token);
  EXPECT_GT(carol.AddTask("carol's first"), 0);

  EXPECT_JSON_ERROR(admin.Post("/v1/users", R"({"name":"carol","role":"manager"})"), 409,
                    "conflict");
  EXPECT_JSON_ERROR(admin.Post("/v1/users", R"({"name":"alice","role":"developer"})"), 409,
                    "conflict");
  std::string before = Snapshot();
  for (const char* bad :
       {R"({"name":"","role":"developer"})", R"({"name":"bad name","role":"developer"})",
        R"({"name":"x","role":"boss"})", R"({"name":"y"})", R"({"role":"admin"})",
        R"({"name":7,"role":"admin"})", "{", ""}) {
    EXPECT_JSON_ERROR(admin.Post("/v1/users", bad), 400, "invalid_argument");
  }
  EXPECT_EQ(Snapshot(), before);
}

TEST_P(ServerTest, UserAddCliPrintsOnlyTheTokenAndItWorksAtOnce) {
  std::string dave = AddUserWithCli(db_->url(), "dave", "developer");
  ASSERT_FALSE(dave.empty());
  HttpClient client = Client(dave);
  EXPECT_EQ(client.Get("/v1/tasks").status, 200);

  ProcessResult taken = RunProcess(
      {BinPath("todod"), "user", "add", "dave", "--role", "manager", "--db", db_->url()});
  EXPECT_NE(taken.exit_code, 0);
  EXPECT_EQ(taken.out, "");
  EXPECT_NE(taken.err.find("dave"), std::string::npos) << taken.err;
  ProcessResult bad_role =
      RunProcess({BinPath("todod"), "user", "add", "erin", "--role", "boss", "--db", db_->url()});
  EXPECT_EQ(bad_role.exit_code, 2);
  EXPECT_EQ(bad_role.out, "");
  ProcessResult no_role = RunProcess({BinPath("todod"), "user", "add", "erin", "--db", db_->url()});
  EXPECT_EQ(no_role.exit_code, 2);
  ProcessResult migrate = RunProcess({BinPath("todod"), "migrate", "--db", db_->url()});
  EXPECT_EQ(migrate.exit_code, 0) << migrate.err;
  EXPECT_EQ(migrate.out, "");
}

// ---- bad input -----------------------------------------------------------------------------

TEST_P(ServerTest, BadInputsAreRejectedWithJsonAndChangeNothing) {
  HttpClient alice = Client(alice_);
  int64_t kept = alice.AddTask("keep me");
  std::string kept_path = "/v1/tasks/" + std::to_string(kept);
  std::string before = Snapshot();

  struct Case {
    http::verb method;
    std::string target;
    std::string body;
    Headers headers;
  };
  std::vector<Case> cases;
  for (const std::string& body : {std::string(""),
                                  std::string("{"),
                                  std::string("[]"),
                                  std::string("null"),
                                  std::string("\"task\""),
                                  std::string("{}"),
                                  std::string(R"({"task":1})"),
                                  std::string(R"({"task":null})"),
                                  std::string(R"({"task":["x"]})"),
                                  std::string(R"({"task":""})"),
                                  std::string(R"({"task":"   "})"),
                                  std::string(R"({"task":"\t"})"),
                                  TaskBody(std::string(4097, 'x')),
                                  std::string("{\"task\":\"bad \xff\xfe utf8\"}"),
                                  std::string("{\"task\":\"\xc0\xaf\"}"),
                                  std::string("{\"task\":\"\xed\xa0\x80\"}"),
                                  std::string(R"({"task":"a\u0001b"})"),
                                  std::string(R"({"task":"a\u0000b"})"),
                                  std::string(R"({"task":"line\nbreak"})"),
                                  std::string(R"({"task":"cr\rhere"})"),
                                  std::string(R"({"task":"del\u007f"})"),
                                  std::string(R"({"task":"\ud800"})"),
                                  std::string(R"({"task":"x"} trailing)"),
                                  std::string(R"({"task":"x",})")}) {
    cases.push_back({http::verb::post, "/v1/tasks", body, {}});
  }
  for (const std::string& body :
       {std::string("{}"), std::string(R"({"unknown":1})"), std::string(R"({"done":"yes"})"),
        std::string(R"({"done":1})"), std::string(R"({"done":null})"), std::string(R"({"task":5})"),
        std::string(R"({"task":""})"), std::string(R"({"task":"a\u0000b"})"),
        std::string(R"({"task":"ok","done":"no"})"), std::string("nope"), std::string("")}) {
    cases.push_back({http::verb::patch, kept_path, body, {}});
  }
  for (const char* target : {"/v1/tasks/abc", "/v1/tasks/0", "/v1/tasks/-1", "/v1/tasks/1.5",
                             "/v1/tasks/99999999999999999999", "/v1/tasks/%31"}) {
    cases.push_back({http::verb::get, target, "", {}});
    cases.push_back({http::verb::patch, target, R"({"done":true})", {}});
    cases.push_back({http::verb::delete_, target, "", {}});
  }
  for (const char* body :
       {R"({"count":0})", R"({"count":1001})", R"({"count":-2})", R"({"count":"3"})",
        R"({"count":1.5})", R"({"count":null})", "{}", "", "[3]"}) {
    cases.push_back({http::verb::post, "/v1/tasks/remove-oldest", body, {}});
  }
  for (const char* query :
       {"limit=0", "limit=1001", "limit=abc", "limit=-1", "limit=", "limit=1.0", "limit=+5",
        "after=-1", "after=x", "after=", "state=bogus", "state=", "user=", "user=bad%20name",
        "limit=1&limit=2", "a=%zz", "after=99999999999999999999"}) {
    cases.push_back({http::verb::get, std::string("/v1/tasks?") + query, "", {}});
  }
  for (const char* query : {"limit=0", "limit=5000", "after=-5", "after=1&after=2"}) {
    cases.push_back({http::verb::get, std::string("/v1/events?") + query, "", {}});
  }
  for (const std::string& key : {std::string(""), std::string(256, 'k'), std::string("has space"),
                                 std::string("caf\xc3\xa9"), std::string("tab\there")}) {
    Headers h{{"Idempotency-Key", key}};
    cases.push_back({http::verb::post, "/v1/tasks", TaskBody("fine"), h});
    cases.push_back({http::verb::patch, kept_path, R"({"done":true})", h});
    cases.push_back({http::verb::delete_, kept_path, "", h});
    cases.push_back({http::verb::post, "/v1/tasks/remove-oldest", R"({"count":1})", h});
  }

  for (const Case& c : cases) {
    HttpResponse r = alice.Send(c.method, c.target, c.body, c.headers);
    EXPECT_JSON_ERROR(r, 400, "invalid_argument");
    if (r.status != 400) {
      ADD_FAILURE() << "case: " << http::to_string(c.method) << " " << c.target << " body '"
                    << c.body << "'";
    }
  }
  EXPECT_EQ(Snapshot(), before);
  HttpResponse still = alice.Get(kept_path);
  ASSERT_EQ(still.status, 200);
  EXPECT_EQ(still.Json().at("task").as_string(), "keep me");
  EXPECT_TRUE(still.Json().at("done").is_null());
}

TEST_P(ServerTest, LimitsThemselvesAreAccepted) {
  HttpClient alice = Client(alice_);
  EXPECT_GT(alice.AddTask(std::string(4096, 'x')), 0);
  std::string euros;
  while (euros.size() + 3 <= 4096) euros += "\xe2\x82\xac";
  EXPECT_GT(alice.AddTask(euros), 0);
  EXPECT_GT(alice.AddTask("tab\tinside"), 0);
  EXPECT_EQ(
      alice.Post("/v1/tasks", TaskBody("long key"), {{"Idempotency-Key", std::string(255, '~')}})
          .status,
      201);
  EXPECT_EQ(alice.Get("/v1/tasks?limit=1000&after=0&state=all").status, 200);
  EXPECT_EQ(alice.Post("/v1/tasks/remove-oldest", R"({"count":1000})").status, 200);
}

TEST_P(ServerTest, BodyOver64KiBAnswers413BeforeReadingIt) {
  HttpClient alice = Client(alice_);
  std::string before = Snapshot();

  // A whole body over the limit.
  EXPECT_JSON_ERROR(alice.Post("/v1/tasks", TaskBody(std::string(70000, 'x'))), 413, "too_large");

  // Only the head, announcing 10 MB: the answer comes without a byte of body sent.
  RawConnection head_only(port());
  ASSERT_TRUE(head_only.connected());
  ASSERT_TRUE(head_only.Send("POST /v1/tasks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                             alice_ + "\r\nContent-Length: 10000000\r\n\r\n"));
  HttpResponse early = head_only.ReadResponse(10s);
  EXPECT_JSON_ERROR(early, 413, "too_large");
  EXPECT_FALSE(early.keep_alive);

  // A chunked body that grows over the limit.
  RawConnection chunked(port());
  ASSERT_TRUE(chunked.Send("POST /v1/tasks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + alice_ +
                           "\r\nTransfer-Encoding: chunked\r\n\r\n"));
  std::string chunk(16384, 'x');
  for (int i = 0; i < 5; ++i) chunked.Send("4000\r\n" + chunk + "\r\n");
  chunked.Send("0\r\n\r\n");
  EXPECT_JSON_ERROR(chunked.ReadResponse(10s), 413, "too_large");

  // Exactly 64 KiB is read and judged on its content (a task over 4096 bytes: 400).
  std::string exact = TaskBody(std::string(65536 - TaskBody("").size(), 'y'));
  ASSERT_EQ(exact.size(), 65536u);
  EXPECT_JSON_ERROR(alice.Post("/v1/tasks", exact), 400, "invalid_argument");

  EXPECT_EQ(Snapshot(), before);
  EXPECT_EQ(HttpClient(port()).Get("/healthz").status, 200);
}

TEST_P(ServerTest, OversizedAndMalformedHeadsAreRefused) {
  {
    RawConnection big(port());
    ASSERT_TRUE(big.Send("GET /v1/tasks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + alice_ +
                         "\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n"));
    HttpResponse r = big.ReadResponse(10s);
    EXPECT_TRUE(r.status == 431 || r.status == 400) << r.status << r.error;
    EXPECT_TRUE(r.IsJsonError()) << r.body;
    EXPECT_TRUE(big.WaitClosed(5s));
  }
  for (const std::string& garbage :
       {std::string("GARBAGE\r\n\r\n"), std::string("GET / HTTP/9.9\r\n\r\n"),
        std::string("GET /v1/tasks HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n"),
        std::string("GET /v1/tasks HTTP/1.1\r\nBad Header\r\n\r\n"),
        std::string("POST /v1/tasks HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "zz\r\n")}) {
    RawConnection raw(port());
    ASSERT_TRUE(raw.Send(garbage));
    HttpResponse r = raw.ReadResponse(10s);
    EXPECT_JSON_ERROR(r, 400, "invalid_argument");
    EXPECT_TRUE(raw.WaitClosed(5s));
  }
  // HTTP/1.0 without keep-alive: one answer, then the server closes.
  RawConnection old(port());
  ASSERT_TRUE(old.Send("GET /healthz HTTP/1.0\r\n\r\n"));
  EXPECT_EQ(old.ReadResponse(10s).status, 200);
  EXPECT_TRUE(old.WaitClosed(5s));
  EXPECT_EQ(HttpClient(port()).Get("/healthz").status, 200);
  // HTTP/1.0 that asks for keep-alive gets it, said so in the answer; the connection serves
  // the next request.
  RawConnection kept(port());
  ASSERT_TRUE(kept.Send("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  HttpResponse first = kept.ReadResponse(10s);
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(first.Header("connection"), "keep-alive");
  EXPECT_EQ(first.Header("content-length"), std::to_string(first.body.size()));
  ASSERT_TRUE(kept.Send("GET /healthz HTTP/1.0\r\n\r\n"));
  HttpResponse second = kept.ReadResponse(10s);
  EXPECT_EQ(second.status, 200);
  EXPECT_EQ(second.Header("connection"), "");
  EXPECT_TRUE(kept.WaitClosed(5s));
}

TEST_P(ServerTest, PipelinedRequestsAreAnsweredInOrder) {
  RawConnection raw(port());
  std::string wire = WireRequest("POST", "/v1/tasks", alice_, TaskBody("one")) +
                     WireRequest("GET", "/healthz", "") +
                     WireRequest("POST", "/v1/tasks", alice_, TaskBody("two")) +
                     WireRequest("GET", "/v1/tasks", alice_);
  ASSERT_TRUE(raw.Send(wire));
  HttpResponse one = raw.ReadResponse(10s);
  HttpResponse health = raw.ReadResponse(10s);
  HttpResponse two = raw.ReadResponse(10s);
  HttpResponse list = raw.ReadResponse(10s);
  EXPECT_EQ(one.status, 201);
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(two.status, 201);
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.Json().at("tasks").as_array().size(), 2u);
  EXPECT_EQ(one.Json().at("task").as_string(), "one");
}

// ---- idempotency ---------------------------------------------------------------------------

TEST_P(ServerTest, IdempotentAddReplaysTheFirstAnswer) {
  HttpClient alice = Client(alice_);
  HttpClient bob = Client(bob_);
  Headers key{{"Idempotency-Key", "add-0001"}};
  HttpResponse first = alice.Post("/v1/tasks", TaskBody("once"), key);
  ASSERT_EQ(first.status, 201) << first.body;
  EXPECT_EQ(first.Header("idempotent-replayed"), "");
  HttpResponse second = alice.Post("/v1/tasks", TaskBody("once"), key);
  EXPECT_EQ(second.status, 201);
  EXPECT_EQ(second.body, first.body);
  EXPECT_EQ(second.Header("idempotent-replayed"), "true");
  EXPECT_EQ(second.Header("content-type"), "application/json");
  EXPECT_EQ(ListAll(alice, "state=all").size(), 1u);

  // The same key for another request: refused.
  EXPECT_JSON_ERROR(alice.Post("/v1/tasks", TaskBody("twice"), key), 409, "conflict");
  int64_t id = first.Json().at("id").as_int64();
  EXPECT_JSON_ERROR(alice.Patch("/v1/tasks/" + std::to_string(id), R"({"done":true})", key), 409,
                    "conflict");
  EXPECT_EQ(ListAll(alice, "state=all").size(), 1u);
  EXPECT_TRUE(ListAll(alice, "state=all")[0].at("done").is_null());

  // Keys are per user.
  HttpResponse bobs = bob.Post("/v1/tasks", TaskBody("once"), key);
  ASSERT_EQ(bobs.status, 201);
  EXPECT_EQ(bobs.Header("idempotent-replayed"), "");
  EXPECT_NE(bobs.Json().at("id").as_int64(), id);
  EXPECT_EQ(bobs.Json().at("user").as_string(), "bob");

  // Without a key, the same request twice adds twice.
  EXPECT_EQ(alice.Post("/v1/tasks", TaskBody("dup")).status, 201);
  EXPECT_EQ(alice.Post("/v1/tasks", TaskBody("dup")).status, 201);
  EXPECT_EQ(ListAll(alice, "state=all").size(), 3u);
}

TEST_P(ServerTest, IdempotentPatchDeleteAndRemoveOldest) {
  HttpClient alice = Client(alice_);
  std::vector<int64_t> t;
  for (int i = 0; i < 5; ++i) t.push_back(alice.AddTask("t" + std::to_string(i)));
  auto path = [&](int i) { return "/v1/tasks/" + std::to_string(t[i]); };

  HttpResponse patched = alice.Patch(path(0), R"({"done":true})", {{"Idempotency-Key", "p1"}});
  ASSERT_EQ(patched.status, 200);
  HttpResponse patched_again =
      alice.Patch(path(0), R"({"done":true})", {{"Idempotency-Key", "p1"}});
  EXPECT_EQ(patched_again.status, 200);
  EXPECT_EQ(patched_again.body, patched.body);
  EXPECT_EQ(patched_again.Header("idempotent-replayed"), "true");

  HttpResponse deleted = alice.Delete(path(1), {{"Idempotency-Key", "d1"}});
  EXPECT_EQ(deleted.status, 204);
  EXPECT_EQ(deleted.Header("content-length"), "");  // none on a 204 (RFC 9110)
  EXPECT_TRUE(deleted.body.empty());
  HttpResponse deleted_again = alice.Delete(path(1), {{"Idempotency-Key", "d1"}});
  EXPECT_EQ(deleted_again.status, 204);
  EXPECT_TRUE(deleted_again.body.empty());
  EXPECT_EQ(deleted_again.Header("idempotent-replayed"), "true");
  EXPECT_JSON_ERROR(alice.Delete(path(1)), 404, "not_found");

  size_t events_before = Events(alice).size();
  HttpResponse removed =
      alice.Post("/v1/tasks/remove-oldest", R"({"count":2})", {{"Idempotency-Key", "r1"}});
  ASSERT_EQ(removed.status, 200);
  // t0 is done and t1 gone: the two oldest open tasks are t2 and t3.
  EXPECT_EQ(removed.body,
            R"({"removed":[)" + std::to_string(t[2]) + "," + std::to_string(t[3]) + "]}");
  HttpResponse removed_again =
      alice.Post("/v1/tasks/remove-oldest", R"({"count":2})", {{"Idempotency-Key", "r1"}});
  EXPECT_EQ(removed_again.status, 200);
  EXPECT_EQ(removed_again.body, removed.body);
  EXPECT_EQ(removed_again.Header("idempotent-replayed"), "true");
  EXPECT_JSON_ERROR(
      alice.Post("/v1/tasks/remove-oldest", R"({"count":3})", {{"Idempotency-Key", "r1"}}), 409,
      "conflict");
  EXPECT_EQ(Ids(ListAll(alice, "state=all")), (std::vector<int64_t>{t[0], t[4]}));
  EXPECT_EQ(Events(alice).size(), events_before + 2);
}

// ---- concurrency ---------------------------------------------------------------------------

TEST_P(ServerTest, ConcurrentAddsFromManyConnectionsAreAllKept) {
  constexpr int kThreads = 16;
  constexpr int kEach = 25;
  std::mutex mu;
  std::vector<int64_t> ids;
  std::vector<std::string> failures;
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      HttpClient client(port(), i % 2 == 0 ? alice_ : bob_);
      for (int j = 0; j < kEach; ++j) {
        HttpResponse r =
            client.Post("/v1/tasks", TaskBody("t" + std::to_string(i) + "-" + std::to_string(j)));
        std::lock_guard lock(mu);
        if (r.status == 201) {
          ids.push_back(r.Json().at("id").as_int64());
        } else {
          failures.push_back(std::to_string(r.status) + " " + r.error + r.body);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_TRUE(failures.empty()) << failures.size() << " failed, first: " << failures[0];
  std::set<int64_t> unique(ids.begin(), ids.end());
  EXPECT_EQ(unique.size(), static_cast<size_t>(kThreads * kEach));
  HttpClient admin = Client(admin_);
  std::vector<int64_t> listed = Ids(ListAll(admin, "state=all"));
  EXPECT_EQ(std::set<int64_t>(listed.begin(), listed.end()), unique);
  EXPECT_EQ(listed.size(), unique.size());
  HttpClient alice = Client(alice_);
  EXPECT_EQ(ListAll(alice, "").size(), static_cast<size_t>(kThreads / 2 * kEach));
}

TEST_P(ServerTest, RemoveOldestUnderConcurrencyRemovesEachTaskOnce) {
  HttpClient alice = Client(alice_);
  std::vector<int64_t> ids;
  for (int i = 0; i < 200; ++i) ids.push_back(alice.AddTask("task " + std::to_string(i)));

  auto round = [&](int threads_count, int count) {
    std::mutex mu;
    std::vector<int64_t> removed;
    std::vector<std::string> failures;
    std::vector<std::thread> threads;
    for (int i = 0; i < threads_count; ++i) {
      threads.emplace_back([&] {
        HttpClient client(port(), alice_);
        HttpResponse r =
            client.Post("/v1/tasks/remove-oldest", "{\"count\":" + std::to_string(count) + "}");
        std::lock_guard lock(mu);
        if (r.status != 200) {
          failures.push_back(std::to_string(r.status) + " " + r.error + r.body);
          return;
        }
        json::value v = r.Json();
        auto& list = v.at("removed").as_array();
        int64_t previous = 0;
        for (auto& id : list) {
          EXPECT_GT(id.as_int64(), previous);  // oldest first
          previous = id.as_int64();
          removed.push_back(id.as_int64());
        }
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_TRUE(failures.empty()) << failures[0];
    return removed;
  };

  std::vector<int64_t> first = round(20, 7);
  ASSERT_EQ(first.size(), 140u);
  std::set<int64_t> first_set(first.begin(), first.end());
  EXPECT_EQ(first_set.size(), 140u);                                        // nothing removed twice
  EXPECT_EQ(first_set, std::set<int64_t>(ids.begin(), ids.begin() + 140));  // the oldest

  std::vector<int64_t> second = round(20, 10);  // asks for 200, 60 are left
  std::set<int64_t> second_set(second.begin(), second.end());
  EXPECT_EQ(second.size(), 60u);
  EXPECT_EQ(second_set, std::set<int64_t>(ids.begin() + 140, ids.end()));
  EXPECT_TRUE(ListAll(alice, "state=all").empty());
  size_t removed_events = 0;
  for (const auto& e : Events(alice)) removed_events += e.at("kind").as_string() == "removed";
  EXPECT_EQ(removed_events, 200u);
}

// ---- life cycle ----------------------------------------------------------------------------

TEST_P(ServerTest, RestartLosesNothing) {
  HttpClient alice = Client(alice_);
  HttpClient bob = Client(bob_);
  std::vector<int64_t> ids;
  for (int i = 0; i < 30; ++i) ids.push_back(alice.AddTask("a" + std::to_string(i)));
  for (int i = 0; i < 30; i += 3) {
    ASSERT_EQ(alice.Patch("/v1/tasks/" + std::to_string(ids[i]), R"({"done":true})").status, 200);
  }
  int64_t b = 0;
  for (int i = 0; i < 5; ++i) b = bob.AddTask("b" + std::to_string(i));
  ASSERT_EQ(bob.Delete("/v1/tasks/" + std::to_string(b)).status, 204);
  std::string before = Snapshot();

  ASSERT_EQ(server_->Stop(SIGINT), 0) << server_->log();  // SIGINT stops it like SIGTERM
  StartServer();
  ASSERT_TRUE(server_);
  EXPECT_EQ(Snapshot(), before);
  HttpClient alice_again = Client(alice_);
  EXPECT_EQ(ListAll(alice_again, "state=all").size(), 30u);
}

TEST_P(ServerTest, HalfSentRequestsDoNotStarveOthers) {
  ASSERT_EQ(StopServer(), 0);
  StartServer({"--header-timeout", "2"});
  ASSERT_TRUE(server_);
  std::vector<std::unique_ptr<RawConnection>> stalled;
  for (int i = 0; i < 50; ++i) {
    auto c = std::make_unique<RawConnection>(port());
    ASSERT_TRUE(c->connected());
    ASSERT_TRUE(c->Send("POST /v1/tasks HTTP/1.1\r\nHost: x\r\nAuthoriz"));
    stalled.push_back(std::move(c));
  }
  // Meanwhile, ordinary requests are answered (each within the client's 30 s timeout; the
  // stalled heads get 2 s).
  HttpClient alice = Client(alice_);
  for (int i = 0; i < 20; ++i) {
    EXPECT_GT(alice.AddTask("while stalled " + std::to_string(i)), 0);
    EXPECT_EQ(alice.Get("/v1/tasks?limit=5").status, 200);
  }
  EXPECT_EQ(ListAll(alice, "").size(), 20u);
  // The stalled connections are dropped once their head timeout passes.
  for (auto& c : stalled) EXPECT_TRUE(c->WaitClosed(15s));
  EXPECT_EQ(alice.Get("/healthz").status, 200);
}

TEST_P(ServerTest, SigtermFinishesTheRequestInFlight) {
  RawConnection raw(port());
  std::string body = TaskBody("sent across a SIGTERM");
  ASSERT_TRUE(raw.Send(
      "POST /v1/tasks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + alice_ +
      "\r\nExpect: 100-continue\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n"));
  // "100 Continue" says the server read the head and waits for the body.
  HttpResponse go_on = raw.ReadResponse(10s);
  ASSERT_EQ(go_on.status, 100) << go_on.error;
  ASSERT_TRUE(raw.Send(body.substr(0, body.size() / 2)));

  server_->Signal(SIGTERM);
  ASSERT_TRUE(server_->WaitForLog("received SIGTERM", 10s)) << server_->log();
  // New connections are refused once the acceptors are closed.
  bool refused = false;
  for (int i = 0; i < 200 && !refused; ++i) {
    RawConnection probe(port());
    refused = !probe.connected() || (probe.Send(WireRequest("GET", "/healthz", "")) &&
                                     probe.ReadResponse(2s).status == 0);
    if (!refused) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(refused);

  ASSERT_TRUE(raw.Send(body.substr(body.size() / 2)));
  HttpResponse r = raw.ReadResponse(10s);
  ASSERT_EQ(r.status, 201) << r.error << r.body;
  EXPECT_FALSE(r.keep_alive);
  EXPECT_EQ(server_->Wait(20s), 0) << server_->log();
  EXPECT_NE(server_->log().find("stopped"), std::string::npos);

  StartServer();
  ASSERT_TRUE(server_);
  HttpClient alice = Client(alice_);
  std::vector<json::object> tasks = ListAll(alice, "");
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].at("task").as_string(), "sent across a SIGTERM");
}

TEST_P(ServerTest, SigtermUnderLoadLosesNoAcknowledgedWrite) {
  constexpr int kThreads = 8;
  std::mutex mu;
  std::set<int64_t> acknowledged;
  std::atomic<int> acks{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      HttpClient client(port(), i % 2 == 0 ? alice_ : bob_);
      for (int j = 0; j < 10000; ++j) {
        HttpResponse r = client.Post("/v1/tasks", TaskBody("load " + std::to_string(j)));
        if (r.status != 201) return;  // the server is going away
        std::lock_guard lock(mu);
        acknowledged.insert(r.Json().at("id").as_int64());
        ++acks;
      }
    });
  }
  while (acks.load() < 100) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(server_->Stop(SIGTERM), 0) << server_->log();
  for (auto& t : threads) t.join();

  StartServer();
  ASSERT_TRUE(server_);
  HttpClient admin = Client(admin_);
  std::vector<int64_t> listed = Ids(ListAll(admin, "state=all"));
  std::set<int64_t> present(listed.begin(), listed.end());
  for (int64_t id : acknowledged) EXPECT_TRUE(present.contains(id)) << "lost task " << id;
  EXPECT_GE(present.size(), acknowledged.size());
}

TEST_P(ServerTest, ConnectionsOverTheCapAreRefused) {
  ASSERT_EQ(StopServer(), 0);
  StartServer({"--max-connections", "4"});
  ASSERT_TRUE(server_);
  std::vector<std::unique_ptr<HttpClient>> held;
  for (int i = 0; i < 4; ++i) {
    held.push_back(std::make_unique<HttpClient>(port()));
    ASSERT_EQ(held.back()->Get("/healthz").status, 200);
  }
  RawConnection extra(port());
  ASSERT_TRUE(extra.connected());  // the kernel accepts; todod answers 503 and closes
  HttpResponse refused = extra.ReadResponse(10s);
  if (refused.status != 0) {
    EXPECT_JSON_ERROR(refused, 503, "unavailable");
    EXPECT_EQ(refused.Header("retry-after"), "1");
  }
  EXPECT_TRUE(extra.WaitClosed(10s));

  held.pop_back();  // frees a slot
  bool served = false;
  for (int i = 0; i < 500 && !served; ++i) {
    HttpClient again(port());
    served = again.Get("/healthz").status == 200;
    if (!served) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(served);
  HttpResponse metrics = held.front()->Get("/metrics");
  EXPECT_NE(metrics.body.find("todo_http_connections_rejected_total "), std::string::npos);
  EXPECT_EQ(metrics.body.find("todo_http_connections_rejected_total 0\n"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Stores, ServerTest, ::testing::Values("sqlite", "postgres"), StoreName);

}  // namespace
}  // namespace todo::testing
