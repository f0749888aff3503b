// Many servers over one PostgreSQL, and a replica for managers' reads (todod --read-db):
// read-your-writes through Todo-Position / Todo-Min-Position against a real streaming
// replica that applies each commit 3 s late (so the lag is certain, not a race), and an
// Idempotency-Key retried on another todod. PostgreSQL only; the replica needs the test
// cluster's directory (TODO_TEST_PG_DIR, set by scripts/test).
#include <boost/json.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <string>
#include <thread>

#include "server_fixture.h"

namespace todo::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;

constexpr const char* kApplyDelay = "3s";
constexpr auto kApplyDelayDuration = seconds(3);
// How long the replica may take to catch up. It replicates the whole test cluster, so while
// other tests (copies, snapshots of 200k tasks) write a lot of WAL on the 2 cores, it can
// fall well behind: 30 s was once not enough under the full parallel suite.
constexpr auto kCatchUp = seconds(120);

std::string Pg(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {std::string(TODO_SOURCE_DIR) + "/scripts/pg"};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessResult r = RunProcess(argv);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::string out = r.out;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

bool HasTask(const HttpResponse& page, int64_t id) {
  if (page.status != 200) return false;
  boost::json::value body = page.Json();
  for (const auto& task : body.at("tasks").as_array()) {
    if (task.at("id").as_int64() == id) return true;
  }
  return false;
}

// todo_replica_reads_total{served_by="WHO"} from /metrics.
int64_t ReplicaReads(int port, const std::string& who) {
  HttpResponse metrics = HttpClient(port).Get("/metrics");
  std::smatch m;
  std::regex line("todo_replica_reads_total\\{served_by=\"" + who + "\"\\} ([0-9]+)");
  if (!std::regex_search(metrics.body, m, line)) return -1;
  return std::stoll(m[1].str());
}

// A replica of the whole test cluster, made for one test and stopped after it.
class Replica {
 public:
  Replica() {
    const char* primary = std::getenv("TODO_TEST_PG_DIR");
    if (primary == nullptr) return;
    // The replica runs as the postgres user, who must get through the directory.
    std::filesystem::permissions(dir_.path(), std::filesystem::perms(0755));
    url_ = Pg({"replica", primary, dir_.path() + "/pg", kApplyDelay});
  }
  ~Replica() {
    if (!url_.empty()) Pg({"stop", dir_.path() + "/pg"});
  }
  // Its URL for `database`; empty if it could not be made (with a test failure).
  std::string Url(const std::string& database) const {
    return url_.empty() ? url_ : WithDatabase(url_, database);
  }

 private:
  TempDir dir_;
  std::string url_;
};

class ReplicaTest : public ServerTest {
 protected:
  void SetUp() override {
    if (std::getenv("TODO_TEST_PG_DIR") == nullptr || std::getenv("TODO_TEST_PG_URL") == nullptr) {
      GTEST_SKIP() << "needs TODO_TEST_PG_URL and TODO_TEST_PG_DIR (scripts/test sets both)";
    }
    ServerTest::SetUp();
  }

  std::string DatabaseName() const { return db_->url().substr(db_->url().rfind('/') + 1); }
};

TEST_P(ReplicaTest, AWriteIsSeenAtOnceByAReadThatPassesItsPosition) {
  Replica replica;
  std::string replica_db = replica.Url(DatabaseName());
  ASSERT_FALSE(replica_db.empty());
  std::unique_ptr<TododProcess> reader =
      TododProcess::Start({"serve", "--listen", "127.0.0.1:0", "--db", db_->url(), "--read-db",
                           replica_db, "--threads", "2"});
  ASSERT_TRUE(reader);
  HttpClient alice(reader->port(), alice_);
  HttpClient mia(reader->port(), mia_);
  // The test's database reaches the replica 3 s late too: wait until the replica itself
  // answers, with every account.
  steady_clock::time_point give_up = steady_clock::now() + kCatchUp;
  bool replica_ready = false;
  while (!replica_ready && steady_clock::now() < give_up) {
    int64_t before = ReplicaReads(reader->port(), "replica");
    HttpResponse users = mia.Get("/v1/users");
    replica_ready = ReplicaReads(reader->port(), "replica") > before &&
                    users.body.find("\"bob\"") != std::string::npos;
    if (!replica_ready) std::this_thread::sleep_for(milliseconds(200));
  }
  ASSERT_TRUE(replica_ready) << reader->log();

  HttpResponse added = alice.Post("/v1/tasks", R"({"task":"read your writes"})");
  steady_clock::time_point wrote = steady_clock::now();
  ASSERT_EQ(added.status, 201) << added.body;
  const int64_t id = added.Json().at("id").as_int64();
  const std::string position = added.Header("todo-position");
  ASSERT_TRUE(std::regex_match(position, std::regex("[0-9A-F]{1,8}/[0-9A-F]{1,8}"))) << position;

  const std::string list = "/v1/tasks?user=alice";
  int64_t fallbacks = ReplicaReads(reader->port(), "primary");
  HttpResponse with = mia.Send(boost::beast::http::verb::get, list, "",
                               {{"Todo-Min-Position", position}});
  HttpResponse without = mia.Get(list);
  bool in_time = steady_clock::now() - wrote < kApplyDelayDuration - milliseconds(500);
  EXPECT_TRUE(HasTask(with, id)) << with.body;
  EXPECT_EQ(ReplicaReads(reader->port(), "primary"), fallbacks + 1);
  // The same read without the position went to the replica, which does not have it yet: the
  // proof that managers' reads are the replica's.
  if (in_time) {
    EXPECT_FALSE(HasTask(without, id)) << without.body;
  }

  // Once the replica has replayed the position, the replica answers reads that name it, and
  // they have the write. (The position is the WAL insert position read after the commit, so
  // it can be past the commit record by WAL that others wrote meanwhile, and that WAL
  // reaches the replica only once it is flushed: with the 3 s apply delay the replica may
  // show the task a few seconds before it has replayed the position, and on a primary that
  // has gone quiet, as it does at the end of the test suite, never. Other writes go on in a
  // live system; bob's stand for them.)
  give_up = steady_clock::now() + kCatchUp;
  bool by_replica = false;
  HttpClient bob(reader->port(), bob_);
  while (!by_replica && steady_clock::now() < give_up) {
    EXPECT_EQ(bob.Post("/v1/tasks", R"({"task":"meanwhile"})").status, 201);
    int64_t served = ReplicaReads(reader->port(), "replica");
    with = mia.Send(boost::beast::http::verb::get, list, "", {{"Todo-Min-Position", position}});
    EXPECT_TRUE(HasTask(with, id)) << with.body;  // from the primary or the replica: always
    by_replica = ReplicaReads(reader->port(), "replica") == served + 1;
    if (!by_replica) std::this_thread::sleep_for(milliseconds(200));
  }
  EXPECT_TRUE(by_replica) << "the replica never answered a read naming " << position
                          << "; the replica: "
                          << RunProcess({"/usr/bin/psql", "-Atc",
                                         "SELECT pg_last_wal_receive_lsn(), "
                                         "pg_last_wal_replay_lsn(), "
                                         "now() - pg_last_xact_replay_timestamp()",
                                         replica_db})
                                 .out
                          << "todod's log:\n"
                          << reader->log();

  // Replays carry a position too; developers' reads (the primary's) accept one.
  HttpResponse again = alice.Post("/v1/tasks", R"({"task":"keyed"})", {{"Idempotency-Key", "k"}});
  HttpResponse replay = alice.Post("/v1/tasks", R"({"task":"keyed"})", {{"Idempotency-Key", "k"}});
  EXPECT_EQ(replay.Header("idempotent-replayed"), "true") << replay.status << " " << replay.body;
  EXPECT_FALSE(again.Header("todo-position").empty()) << again.status << " " << again.body;
  EXPECT_FALSE(replay.Header("todo-position").empty());
  EXPECT_EQ(alice.Send(boost::beast::http::verb::get, "/v1/tasks", "",
                       {{"Todo-Min-Position", position}})
                .status,
            200);
  EXPECT_EQ(reader->Stop(), 0) << reader->log();
}

TEST_P(ReplicaTest, ABadPositionIsRefusedAndChangesNothing) {
  HttpClient mia(port(), mia_);
  HttpClient alice(port(), alice_);
  std::string before = Snapshot();
  for (const char* bad : {"", "16", "/1", "1/", "G/1", "1/2/3", "123456789/0", "1 /2", "-1/2"}) {
    HttpResponse r = mia.Send(boost::beast::http::verb::get, "/v1/tasks", "",
                              {{"Todo-Min-Position", bad}});
    EXPECT_EQ(r.status, 400) << "'" << bad << "': " << r.body;
    EXPECT_EQ(r.ErrorCode(), "invalid_argument");
    HttpResponse w = alice.Send(boost::beast::http::verb::post, "/v1/tasks",
                                R"({"task":"never"})", {{"Todo-Min-Position", bad}});
    EXPECT_EQ(w.status, 400) << "'" << bad << "': " << w.body;
  }
  EXPECT_EQ(Snapshot(), before);
}

TEST_P(ReplicaTest, ReadsGoToThePrimaryWhileTheReplicaIsDown) {
  // A replica URL nobody answers: the server starts, and managers' reads are the primary's.
  std::unique_ptr<TododProcess> reader = TododProcess::Start(
      {"serve", "--listen", "127.0.0.1:0", "--db", db_->url(), "--read-db",
       "postgresql://postgres@127.0.0.1:1/nothing?connect_timeout=1", "--threads", "2"});
  ASSERT_TRUE(reader);
  int64_t id = HttpClient(reader->port(), alice_).AddTask("replica down");
  HttpResponse page = HttpClient(reader->port(), mia_).Get("/v1/tasks?user=alice");
  EXPECT_TRUE(HasTask(page, id)) << page.body;
  EXPECT_GE(ReplicaReads(reader->port(), "primary"), 1);
  EXPECT_EQ(reader->Stop(), 0) << reader->log();
}

// Idempotency records live in the shared database: a retry that lands on another todod
// (after a failover, or just another load-balancer pick) is recognised.
TEST_P(ReplicaTest, AnIdempotencyKeyRetriedOnAnotherServerIsAppliedOnce) {
  std::unique_ptr<TododProcess> other = TododProcess::Start(
      {"serve", "--listen", "127.0.0.1:0", "--db", db_->url(), "--threads", "2"});
  ASSERT_TRUE(other);
  const Headers key = {{"Idempotency-Key", "retry-elsewhere-1"}};
  HttpResponse first = HttpClient(port(), alice_).Post("/v1/tasks", R"({"task":"once"})", key);
  ASSERT_EQ(first.status, 201) << first.body;
  HttpResponse retry = HttpClient(other->port(), alice_).Post("/v1/tasks", R"({"task":"once"})", key);
  EXPECT_EQ(retry.status, 201);
  EXPECT_EQ(retry.body, first.body);
  EXPECT_EQ(retry.Header("idempotent-replayed"), "true");
  // The same key for another request, on either server: 409, nothing changed.
  HttpResponse misuse =
      HttpClient(other->port(), alice_).Post("/v1/tasks", R"({"task":"other"})", key);
  EXPECT_EQ(misuse.status, 409);
  HttpResponse page = HttpClient(port(), alice_).Get("/v1/tasks");
  ASSERT_EQ(page.status, 200);
  int count = 0;
  boost::json::value body = page.Json();
  for (const auto& task : body.at("tasks").as_array()) {
    count += task.at("task").as_string() == "once" ? 1 : 0;
    EXPECT_NE(task.at("task").as_string(), "other");
  }
  EXPECT_EQ(count, 1);
  EXPECT_EQ(other->Stop(), 0) << other->log();
}

INSTANTIATE_TEST_SUITE_P(Postgres, ReplicaTest, ::testing::Values(std::string("postgres")),
                         StoreName);

}  // namespace
}  // namespace todo::testing
