// Pipelined Runs on one Connection (pg_connection.h): a Run sends at once, even while earlier
// ones wait for their results, and reads its own after theirs. The Batcher relies on it to
// keep two batches in flight on one connection (--db-pipeline).
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <thread>

#include "pg_fixture.h"
#include "store/postgres/pg_connection.h"

namespace todo::store::pgtest {
namespace {

using pg::Connection;
using pg::ConnectParams;
using pg::Params;
using pg::PgResult;
using pg::Query;

// $2 after sleeping $1 seconds; 10 / $1.
const pg::Statement kSleepThen{"t_sleep_then", "SELECT $2::int FROM pg_sleep($1::float8)"};
const pg::Statement kDivide{"t_divide", "SELECT 10 / $1::int"};
const pg::Statement* const kTestStatements[] = {&kSleepThen, &kDivide};

// Each test has a connection to its own database, on a loop that the test runs.
class PgConnectionTest : public PostgresStoreTest {
 protected:
  void SetUp() override {
    PostgresStoreTest::SetUp();
    if (!IsSkipped()) Connect();
  }
  void TearDown() override {
    connection_.Close();  // before the database is dropped
    PostgresStoreTest::TearDown();
  }

  // (Re)connects connection_ (io_ runs here until done).
  void Connect() {
    ConnectParams params(url_);
    Status connected = RunOn(io_, connection_.Connect(params, kTestStatements,
                                                      Clock::now() + seconds(10)));
    ASSERT_TRUE(connected.ok()) << connected.ToString();
  }

  asio::io_context io_{1};
  Connection connection_{io_};
};

struct Outcome {
  Status status;
  std::vector<PgResult> results;
  int finished = 0;  // order of completion, from 1
};

// Starts a Run of one statement on `io` without waiting for it; fills `out` when it ends.
void Start(asio::io_context& io, Connection& connection, const pg::Statement& statement,
           Params params, Clock::time_point deadline, Outcome& out, int& finished) {
  asio::co_spawn(
      io,
      [&connection, &statement, params = std::move(params), deadline, &out,
       &finished]() mutable -> asio::awaitable<void> {
        std::vector<Query> queries;
        queries.push_back(Query{&statement, std::move(params)});
        out.status = co_await connection.Run(queries, out.results, deadline);
        out.finished = ++finished;
      },
      asio::detached);
}

// Sends a Run that sleeps `sleep` seconds, then answers 1, and right behind it one that
// answers 2 at once, with their deadlines; runs `io` until both have ended.
void AheadAndBehind(asio::io_context& io, Connection& connection, const char* sleep,
                    Clock::time_point ahead_deadline, Clock::time_point behind_deadline,
                    Outcome& ahead, Outcome& behind) {
  int finished = 0;
  Start(io, connection, kSleepThen, Params().Own(sleep).Int(1), ahead_deadline, ahead, finished);
  Start(io, connection, kSleepThen, Params().Own("0").Int(2), behind_deadline, behind, finished);
  io.restart();
  io.run();
}

TEST_F(PgConnectionTest, PipelinedRunsAnswerInOrderEachWithItsOwnResults) {
  const Clock::time_point deadline = Clock::now() + seconds(10);
  Outcome slow, failing, fast;
  int finished = 0;
  // All three are sent before the first is answered; the second fails (division by zero),
  // which must not touch the third (its own segment).
  Start(io_, connection_, kSleepThen, Params().Own("0.3").Int(1), deadline, slow, finished);
  Start(io_, connection_, kDivide, Params().Int(0), deadline, failing, finished);
  Start(io_, connection_, kSleepThen, Params().Own("0").Int(3), deadline, fast, finished);
  const Clock::time_point start = Clock::now();
  io_.restart();  // stopped when Connect's run ran out of work
  io_.run();
  EXPECT_LT(Clock::now() - start, seconds(5));

  ASSERT_TRUE(slow.status.ok()) << slow.status.ToString();
  ASSERT_EQ(slow.results.size(), 1u);
  EXPECT_EQ(slow.results[0].Int(0, 0), 1);
  ASSERT_TRUE(failing.status.ok()) << failing.status.ToString();
  ASSERT_EQ(failing.results.size(), 1u);
  EXPECT_FALSE(failing.results[0].ok());
  EXPECT_EQ(failing.results[0].sqlstate(), "22012");  // division_by_zero
  ASSERT_TRUE(fast.status.ok()) << fast.status.ToString();
  ASSERT_EQ(fast.results.size(), 1u);
  EXPECT_EQ(fast.results[0].Int(0, 0), 3);
  // Read in the order sent: the fast one waited for the slow one's results.
  EXPECT_EQ(slow.finished, 1);
  EXPECT_EQ(failing.finished, 2);
  EXPECT_EQ(fast.finished, 3);
  EXPECT_TRUE(connection_.connected());
}

TEST_F(PgConnectionTest, ABrokenConnectionFailsTheRunsPipelinedBehindAndCanReconnect) {
  const Clock::time_point deadline = Clock::now() + seconds(20);
  Outcome stuck, behind;
  int finished = 0;
  Start(io_, connection_, kSleepThen, Params().Own("10").Int(1), deadline, stuck, finished);
  Start(io_, connection_, kSleepThen, Params().Own("0").Int(2), deadline, behind, finished);
  // Kill the backend while the first sleeps.
  std::thread killer([this] {
    AwaitOneBackend("query LIKE '%pg_sleep%' AND state = 'active'");
    Sql admin(admin_url_);
    admin.Exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" +
               db_ + "' AND query LIKE '%pg_sleep%'");
  });
  const Clock::time_point start = Clock::now();
  io_.restart();  // stopped when Connect's run ran out of work
  io_.run();
  killer.join();
  EXPECT_LT(Clock::now() - start, seconds(8));
  EXPECT_EQ(CodeOf(stuck.status), ErrorCode::kUnavailable);
  EXPECT_EQ(CodeOf(behind.status), ErrorCode::kUnavailable);
  EXPECT_FALSE(connection_.connected());

  // Connected again, it pipelines as before.
  io_.restart();
  Connect();
  Outcome first, second;
  Start(io_, connection_, kSleepThen, Params().Own("0.05").Int(4), Clock::now() + seconds(10),
        first, finished);
  Start(io_, connection_, kSleepThen, Params().Own("0").Int(5), Clock::now() + seconds(10), second,
        finished);
  io_.restart();
  io_.run();
  ASSERT_TRUE(first.status.ok()) << first.status.ToString();
  ASSERT_TRUE(second.status.ok()) << second.status.ToString();
  EXPECT_EQ(first.results[0].Int(0, 0), 4);
  EXPECT_EQ(second.results[0].Int(0, 0), 5);
  EXPECT_LT(first.finished, second.finished);
}

TEST_F(PgConnectionTest, ARunPastItsDeadlineClosesTheConnectionAndFailsTheRunsBehindAtOnce) {
  Outcome late, behind;
  const Clock::time_point start = Clock::now();
  // The first may take 200 ms; it sleeps 3 s. The second, behind it, could wait 10 s, but
  // its results can no longer be read in order: it fails with the first, not 10 s later.
  AheadAndBehind(io_, connection_, "3", start + milliseconds(200), start + seconds(10), late,
                 behind);
  const Clock::duration took = Clock::now() - start;
  EXPECT_EQ(CodeOf(late.status), ErrorCode::kUnavailable);
  EXPECT_EQ(CodeOf(behind.status), ErrorCode::kUnavailable);
  EXPECT_GE(took, milliseconds(190));
  EXPECT_LT(took, milliseconds(2500));
  EXPECT_FALSE(connection_.connected());
}

// A Run's deadline bounds its own wait for results, not its wait for the Runs ahead: one sent
// behind with an earlier deadline (a failed batch's resend, sent behind a later batch) must
// not close the connection under a Run ahead that is well within its own.
TEST_F(PgConnectionTest, ARunBehindWithAnEarlierDeadlineDoesNotFailTheRunAhead) {
  Outcome ahead, behind;
  const Clock::time_point start = Clock::now();
  AheadAndBehind(io_, connection_, "0.5", start + seconds(10), start + milliseconds(100), ahead,
                 behind);
  ASSERT_TRUE(ahead.status.ok()) << ahead.status.ToString();
  EXPECT_EQ(ahead.results[0].Int(0, 0), 1);
  EXPECT_EQ(ahead.finished, 1);
  // The one behind either found its results already there or gave up (closing the
  // connection only after the one ahead was answered).
  if (behind.status.ok()) {
    EXPECT_EQ(behind.results[0].Int(0, 0), 2);
  } else {
    EXPECT_EQ(CodeOf(behind.status), ErrorCode::kUnavailable);
  }
}

// A Run of nothing sends nothing and reads nothing (a batch whose writes all expired before
// it was sent); the connection goes on.
TEST_F(PgConnectionTest, ARunOfNothingAnswersAtOnce) {
  std::vector<PgResult> results;
  Status empty = RunOn(io_, connection_.Run(std::span<const Query>(),
                                          std::span<const std::size_t>(), results,
                                          Clock::now() + seconds(5)));
  EXPECT_TRUE(empty.ok()) << empty.ToString();
  EXPECT_TRUE(results.empty());
  Outcome after;
  int finished = 0;
  Start(io_, connection_, kSleepThen, Params().Own("0").Int(7), Clock::now() + seconds(5), after,
        finished);
  io_.restart();
  io_.run();
  ASSERT_TRUE(after.status.ok()) << after.status.ToString();
  EXPECT_EQ(after.results[0].Int(0, 0), 7);
}

}  // namespace
}  // namespace todo::store::pgtest
