// Chaos test of todod on PostgreSQL: the database server is stopped and started again under a
// running todod, which must answer 503 (with Retry-After) while it is gone, report /readyz 503,
// and recover by itself once it is back. Runs only with TODO_TEST_PG_URL and TODO_TEST_PG_DIR
// (scripts/pg start DIR); it stops that shared server, so CTest runs it alone (RUN_SERIAL).
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include "server_fixture.h"

namespace todo::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

int Pg(const std::string& verb, const std::string& dir) {
  ProcessResult r = RunProcess({std::string(TODO_SOURCE_DIR) + "/scripts/pg", verb, dir});
  if (r.exit_code != 0) ADD_FAILURE() << "scripts/pg " << verb << ": " << r.err;
  return r.exit_code;
}

TEST(PostgresOutage, AnswersUnavailableThenRecoversWithoutRestart) {
  const char* url = std::getenv("TODO_TEST_PG_URL");
  const char* dir = std::getenv("TODO_TEST_PG_DIR");
  if (url == nullptr || *url == '\0' || dir == nullptr || *dir == '\0') {
    GTEST_SKIP() << "needs TODO_TEST_PG_URL and TODO_TEST_PG_DIR (scripts/pg start DIR)";
  }
  TempDir tmp;
  TestDatabase db("postgres", tmp);
  ASSERT_FALSE(db.url().empty());
  std::string admin_token = AddUserWithCli(db.url(), "ada", "admin");
  ASSERT_FALSE(admin_token.empty());
  auto server = TododProcess::Start({"serve", "--listen", "127.0.0.1:0", "--db", db.url(),
                                     "--threads", "2", "--request-timeout", "3"});
  ASSERT_TRUE(server);
  HttpClient admin(server->port(), admin_token);
  HttpResponse created = admin.Post("/v1/users", R"({"name":"alice","role":"developer"})");
  ASSERT_EQ(created.status, 201);
  HttpClient alice(server->port(), std::string(created.Json().at("token").as_string()));
  int64_t before = alice.AddTask("before the outage");
  ASSERT_GT(before, 0);

  // Whatever happens below, the shared PostgreSQL comes back.
  struct Restart {
    std::string dir;
    bool needed = false;
    ~Restart() {
      if (needed) Pg("start", dir);
    }
  } restart{dir};
  restart.needed = true;
  ASSERT_EQ(Pg("stop", dir), 0);

  HttpClient anonymous(server->port());
  auto started = Clock::now();
  HttpResponse write = alice.Post("/v1/tasks", R"({"task":"during the outage"})");
  auto write_took = Clock::now() - started;
  EXPECT_EQ(write.status, 503) << write.error << write.body;
  EXPECT_TRUE(write.IsJsonError()) << write.body;
  EXPECT_EQ(write.ErrorCode(), "unavailable");
  EXPECT_EQ(write.Header("retry-after"), "1");
  // Bounded by --request-timeout (3 s) plus slack for a loaded machine; without a deadline
  // a request could hang for as long as the database is gone.
  EXPECT_LT(write_took, 15s);
  HttpResponse read = alice.Get("/v1/tasks");
  EXPECT_EQ(read.status, 503) << read.body;
  HttpResponse ready = anonymous.Get("/readyz");
  EXPECT_EQ(ready.status, 503);
  EXPECT_EQ(ready.Header("retry-after"), "1");
  EXPECT_TRUE(ready.IsJsonError());
  EXPECT_EQ(anonymous.Get("/healthz").status, 200);  // alive, just not ready

  ASSERT_EQ(Pg("start", dir), 0);
  restart.needed = false;
  int64_t after = 0;
  auto deadline = Clock::now() + 60s;
  while (Clock::now() < deadline) {
    if (anonymous.Get("/readyz").status == 200) {
      HttpResponse r = alice.Post("/v1/tasks", R"({"task":"after the outage"})");
      if (r.status == 201) {
        after = r.Json().at("id").as_int64();
        break;
      }
    }
    std::this_thread::sleep_for(200ms);
  }
  ASSERT_GT(after, 0) << "todod did not recover; its stderr:\n" << server->log();
  HttpResponse list = alice.Get("/v1/tasks");
  ASSERT_EQ(list.status, 200);
  std::string body = list.body;
  EXPECT_NE(body.find("before the outage"), std::string::npos);
  EXPECT_NE(body.find("after the outage"), std::string::npos);
  EXPECT_NE(server->log().find("503"), std::string::npos);  // each 5xx is logged with its cause
  EXPECT_EQ(server->Stop(), 0) << server->log();
}

}  // namespace
}  // namespace todo::testing
