// GET /v1/snapshot against a real todod, on SQLite and on PostgreSQL (TODO_TEST_PG_URL): the
// format, the roles, and the issue's consistency test: snapshots taken while 20 simulated
// developers add and remove without pause each equal the state rebuilt from the change log
// up to their position.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "http_client.h"
#include "server_fixture.h"
#include "support/process.h"

namespace todo::testing {
namespace {

namespace json = boost::json;
namespace http = boost::beast::http;

// What the consistency check compares of a task.
struct TaskState {
  std::string user;
  std::string text;
  bool done = false;
  bool operator==(const TaskState&) const = default;
};
using State = std::map<int64_t, TaskState>;

// A snapshot's body, parsed; a test failure for every line that is not what docs/api.md says.
struct ParsedSnapshot {
  int64_t position = -1;
  std::optional<int64_t> announced;  // the header's "tasks"
  std::optional<int64_t> trailer;    // the trailer's end.tasks
  State tasks;
  std::vector<int64_t> ids;  // in the order sent
};

ParsedSnapshot ParseSnapshot(const std::string& body) {
  ParsedSnapshot out;
  std::istringstream lines(body);
  std::string line;
  bool first = true;
  while (std::getline(lines, line)) {
    json::object obj = json::parse(line).as_object();
    if (first) {
      first = false;
      out.position = obj.at("position").as_int64();
      EXPECT_TRUE(obj.at("at").is_string()) << line;
      if (obj.contains("tasks")) out.announced = obj.at("tasks").as_int64();
      continue;
    }
    EXPECT_FALSE(out.trailer.has_value()) << "a line after the trailer: " << line;
    if (obj.contains("end")) {
      out.trailer = obj.at("end").at("tasks").as_int64();
      continue;
    }
    int64_t id = obj.at("id").as_int64();
    out.ids.push_back(id);
    out.tasks[id] = TaskState{.user = std::string(obj.at("user").as_string()),
                              .text = std::string(obj.at("task").as_string()),
                              .done = !obj.at("done").is_null()};
  }
  return out;
}

// Every event of the change log, oldest first, through GET /v1/events pages.
std::vector<json::object> AllEvents(HttpClient& client) {
  std::vector<json::object> events;
  int64_t after = 0;
  for (;;) {
    HttpResponse page = client.Get("/v1/events?limit=1000&after=" + std::to_string(after));
    EXPECT_EQ(page.status, 200) << page.body;
    if (page.status != 200) break;
    json::object body = page.Json().as_object();
    for (const json::value& e : body.at("events").as_array()) events.push_back(e.as_object());
    if (body.at("next").is_null()) break;
    after = body.at("next").as_int64();
  }
  return events;
}

// The tasks that exist after every event with an id <= position, in log order.
State Rebuild(const std::vector<json::object>& events, int64_t position) {
  State state;
  for (const json::object& e : events) {
    int64_t id = e.at("id").as_int64();
    if (id > position) break;
    int64_t task = e.at("task_id").as_int64();
    std::string kind(e.at("kind").as_string());
    std::string text(e.at("task").as_string());
    if (kind == "created") {
      state[task] = TaskState{.user = std::string(e.at("user").as_string()), .text = text};
    } else if (kind == "removed") {
      state.erase(task);
    } else if (kind == "edited") {
      state[task].text = text;
    } else if (kind == "done" || kind == "undone") {
      state[task].done = kind == "done";
    }
  }
  return state;
}

class SnapshotTest : public ServerTest {};

TEST_P(SnapshotTest, ShowsEveryTaskInIdOrderBetweenHeaderAndTrailer) {
  HttpClient alice = Client(alice_);
  HttpClient bob = Client(bob_);
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(alice.Post("/v1/tasks", R"({"task":"a)" + std::to_string(i) + "\"}").status, 201);
    ASSERT_EQ(bob.Post("/v1/tasks", R"({"task":"b)" + std::to_string(i) + "\"}").status, 201);
  }
  ASSERT_EQ(alice.Send(http::verb::patch, "/v1/tasks/1", R"({"done":true})").status, 200);
  ASSERT_EQ(bob.Post("/v1/tasks/remove-oldest", R"({"count":1})").status, 200);

  HttpClient mia = Client(mia_);
  HttpResponse r = mia.Get("/v1/snapshot");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Header("content-type"), "application/x-ndjson");
  ParsedSnapshot snap = ParseSnapshot(r.body);
  EXPECT_EQ(r.Header("todo-snapshot-position"), std::to_string(snap.position));
  EXPECT_EQ(snap.position, 8);  // 6 created, 1 done, 1 removed
  EXPECT_EQ(snap.ids, (std::vector<int64_t>{1, 3, 4, 5, 6}));
  EXPECT_EQ(snap.announced, 5);
  EXPECT_EQ(snap.trailer, 5);
  EXPECT_TRUE(snap.tasks[1].done);
  EXPECT_EQ(snap.tasks[6], (TaskState{.user = "bob", .text = "b2", .done = false}));

  HttpResponse by_admin = Client(admin_).Get("/v1/snapshot");
  EXPECT_EQ(by_admin.status, 200);
  EXPECT_EQ(ParseSnapshot(by_admin.body).tasks, snap.tasks);
}

// Sends `request` on a new connection and returns everything read until the server closes.
std::string ExchangeUntilClosed(int port, const std::string& request) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string answer;
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
      write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
    char buffer[4096];
    for (ssize_t n; (n = read(fd, buffer, sizeof buffer)) > 0;) answer.append(buffer, n);
  }
  close(fd);
  return answer;
}

TEST_P(SnapshotTest, AnHttp10ClientGetsTheBodyUntilTheConnectionCloses) {
  ASSERT_EQ(Client(alice_).Post("/v1/tasks", R"({"task":"old client"})").status, 201);
  std::string answer = ExchangeUntilClosed(
      port(), "GET /v1/snapshot HTTP/1.0\r\nAuthorization: Bearer " + mia_ + "\r\n\r\n");
  std::size_t body = answer.find("\r\n\r\n");
  ASSERT_NE(body, std::string::npos) << answer;
  std::string head = answer.substr(0, body);
  EXPECT_EQ(head.rfind("HTTP/1.1 200 OK", 0), 0u) << head;
  EXPECT_EQ(head.find("Transfer-Encoding"), std::string::npos) << head;
  ParsedSnapshot snap = ParseSnapshot(answer.substr(body + 4));
  EXPECT_EQ(snap.position, 1);
  EXPECT_EQ(snap.ids, (std::vector<int64_t>{1}));
  EXPECT_EQ(snap.trailer, 1);
}

// Downloads that stall (clients that stop reading) hold nothing that other requests need: on
// PostgreSQL a snapshot walks on a connection of its own, not on one of a loop's two pooled
// connections, which carry every request's batches. Before, eight stalled downloads over
// the two loops held all four, and every write waited out its deadline (503).
TEST_P(SnapshotTest, StalledDownloadsDoNotHoldUpWrites) {
  if (GetParam() != "postgres") GTEST_SKIP() << "about PostgreSQL's connection pools";
  // Enough tasks (~7 MB of NDJSON) that a snapshot cannot fit in the sockets' buffers.
  ProcessResult seeded = RunProcess(
      {"/usr/bin/psql", "-q", db_->url(), "-c",
       "INSERT INTO todo.element (td_user, init_time, last_update_time, task) "
       "SELECT 'alice', now(), now(), 'seeded task number ' || n "
       "FROM generate_series(1, 50000) n"});
  ASSERT_EQ(seeded.exit_code, 0) << seeded.err;

  const std::string request = "GET /v1/snapshot HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                              mia_ + "\r\n\r\n";
  std::vector<int> stalled;
  for (int i = 0; i < 8; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port()));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    ASSERT_EQ(write(fd, request.data(), request.size()), static_cast<ssize_t>(request.size()));
    // Read the head and a little: the walk has started. Then read no more.
    char head[1024];
    ASSERT_GT(read(fd, head, sizeof head), 0);
    stalled.push_back(fd);
  }

  HttpClient alice = Client(alice_);
  for (int i = 0; i < 10; ++i) {
    auto start = std::chrono::steady_clock::now();
    HttpResponse added = alice.Post("/v1/tasks", R"({"task":"while they stall"})");
    auto took = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(added.status, 201) << added.body;
    EXPECT_LT(took, std::chrono::seconds(2)) << "write " << i << " waited";
  }
  EXPECT_EQ(Client(mia_).Get("/v1/tasks?user=alice&limit=1").status, 200);
  for (int fd : stalled) close(fd);
}

TEST_P(SnapshotTest, OnlyManagersAndAdminsTakeSnapshots) {
  HttpResponse developer = Client(alice_).Get("/v1/snapshot");
  EXPECT_EQ(developer.status, 403);
  EXPECT_TRUE(developer.IsJsonError()) << developer.body;
  HttpResponse anonymous = Client("").Get("/v1/snapshot");
  EXPECT_EQ(anonymous.status, 401);
  HttpResponse post = Client(mia_).Post("/v1/snapshot", "{}");
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(post.Header("allow"), "GET");
}

// The issue's test. 20 developers add and remove as fast as they can (todo-sim, no delay)
// while a manager takes 20 snapshots; then the whole change log is read back. Each snapshot
// must be exactly the state the log gives up to its position: a task missing, one too many,
// or one with another text or done state fails. On PostgreSQL, where event ids can commit
// out of order, a position that is not an exact cut of the log (docs/decisions/0007) fails
// it too.
TEST_P(SnapshotTest, TwentySnapshotsUnderLoadEachEqualTheChangeLogUpToTheirPosition) {
  std::thread load([&] {
    ProcessResult sim =
        RunProcess({BinPath("todo-sim"), "--server", "http://127.0.0.1:" + std::to_string(port()),
                    "--admin-token", admin_, "--developers", "20", "--managers", "0", "--delay",
                    "0ms", "--duration", "6", "--seed", "11"});
    EXPECT_EQ(sim.exit_code, 0) << sim.out << sim.err;
  });
  // Besides the simulator's remove-oldest of one: alice adds three and removes her three
  // oldest in one call, over and over, so that a snapshot showing part of a remove-oldest
  // would differ from the log at its position.
  std::atomic<bool> stop{false};
  std::thread triples([&] {
    HttpClient alice = Client(alice_);
    while (!stop.load()) {
      for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(alice.Post("/v1/tasks", R"({"task":"one of three"})").status, 201);
      }
      HttpResponse removed = alice.Post("/v1/tasks/remove-oldest", R"({"count":3})");
      EXPECT_EQ(removed.status, 200);
      EXPECT_EQ(removed.Json().at("removed").as_array().size(), 3u) << removed.body;
    }
  });
  HttpClient mia = Client(mia_);
  std::vector<ParsedSnapshot> snapshots;
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  for (int i = 0; i < 20; ++i) {
    HttpResponse r = mia.Get("/v1/snapshot");
    ASSERT_EQ(r.status, 200) << r.body;
    snapshots.push_back(ParseSnapshot(r.body));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  stop.store(true);
  triples.join();
  load.join();

  std::vector<json::object> events = AllEvents(mia);
  ASSERT_FALSE(events.empty());
  std::set<int64_t> positions;
  for (const ParsedSnapshot& snap : snapshots) {
    positions.insert(snap.position);
    EXPECT_EQ(snap.trailer, static_cast<int64_t>(snap.ids.size()));
    EXPECT_EQ(snap.announced, static_cast<int64_t>(snap.ids.size()));
    EXPECT_TRUE(std::is_sorted(snap.ids.begin(), snap.ids.end()));
    State expected = Rebuild(events, snap.position);
    EXPECT_EQ(snap.tasks.size(), expected.size()) << "position " << snap.position;
    EXPECT_TRUE(snap.tasks == expected)
        << "snapshot at position " << snap.position << " differs from the change log up to it";
  }
  // The snapshots were taken while the log grew: they are not all one.
  EXPECT_GT(positions.size(), 10u);
}

INSTANTIATE_TEST_SUITE_P(Stores, SnapshotTest, ::testing::Values("sqlite", "postgres"), StoreName);

}  // namespace
}  // namespace todo::testing
