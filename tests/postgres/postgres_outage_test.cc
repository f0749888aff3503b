// The PostgreSQL store when its server goes away and comes back: run by itself (RUN_SERIAL,
// see CMakeLists.txt), since it stops the server every other test may be using.
//
// Needs TODO_TEST_PG_URL and TODO_TEST_PG_DIR (the DIR of scripts/pg that holds the server
// TODO_TEST_PG_URL names); skips otherwise.
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "pg_fixture.h"

namespace todo::store::pgtest {
namespace {

using PostgresOutageTest = PostgresStoreTest;

TEST_F(PostgresOutageTest, ServerStoppedMidUseIsUnavailableQuicklyThenRecovers) {
  std::string dir = Env("TODO_TEST_PG_DIR");
  if (dir.empty()) GTEST_SKIP() << "set TODO_TEST_PG_DIR (the DIR of scripts/pg) to run this";
  OpenDefault();
  Task a = Add(*store_, kAlice, "before the outage");

  // A write in flight when the server stops (held up by a lock, so that it is inside the
  // server at that moment).
  std::unique_ptr<Sql> holder = HoldWriteLock("alice");
  std::future<Result<Written<Task>>> pending = std::async(std::launch::async, [&] {
    return RunSync(store_->UpdateTask(kAlice, a.id,
                                      TaskPatch{.text = "during", .done = std::nullopt}, nullptr));
  });
  std::this_thread::sleep_for(milliseconds(300));
  ASSERT_TRUE(Pg({"stop", dir}));
  Clock::time_point stopped = Clock::now();
  // Either the shutdown killed it (kUnavailable), or the lock holder died first and the write
  // got through just before its own backend was told to go: then it was acknowledged, and
  // must be found after the restart. Never a hang, never another error.
  Result<Written<Task>> during = pending.get();
  EXPECT_TRUE(during.ok() || CodeOf(during) == ErrorCode::kUnavailable)
      << during.status().ToString();
  EXPECT_LT(Clock::now() - stopped, seconds(4));
  holder.reset();

  // Calls while it is down fail fast.
  for (int i = 0; i < 3; ++i) {
    Clock::time_point start = Clock::now();
    EXPECT_EQ(CodeOf(RunSync(store_->AddTask(kAlice, "while down", nullptr))),
              ErrorCode::kUnavailable);
    EXPECT_EQ(CodeOf(RunSync(store_->Ping())), ErrorCode::kUnavailable);
    EXPECT_LT(Clock::now() - start, seconds(4));
  }

  ASSERT_TRUE(Pg({"start", dir}));
  // Back: the store reconnects by itself.
  Result<Written<Task>> after;
  Clock::time_point give_up = Clock::now() + seconds(20);
  do {
    after = RunSync(store_->AddTask(kAlice, "after the outage", nullptr));
    if (!after.ok()) std::this_thread::sleep_for(milliseconds(100));
  } while (!after.ok() && Clock::now() < give_up);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  std::vector<Task> tasks = List(*store_, kAlice);
  ASSERT_EQ(tasks.size(), 2u);
  EXPECT_EQ(tasks[0].id, a.id);
  if (during.ok()) {
    EXPECT_EQ(tasks[0].text, "during");  // acknowledged: committed
  }
  EXPECT_EQ(tasks[1].text, "after the outage");
  EXPECT_TRUE(RunSync(store_->Ping()).ok());
}

}  // namespace
}  // namespace todo::store::pgtest
