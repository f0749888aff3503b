// Shared by the PostgreSQL integration tests: a fixture that gives each test a fresh
// database on the server TODO_TEST_PG_URL names (and drops it afterwards), skipping the test
// when the variable is unset, plus small helpers (a blocking SQL connection, RunOn).
#pragma once

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <cstdlib>
#include <future>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/task.h"
#include "store/postgres/postgres_store.h"
#include "store/store.h"
#include "store/sync.h"
#include "support/process.h"

namespace todo::core {
// Error codes by name ("not_found") in failure messages.
inline void PrintTo(ErrorCode code, std::ostream* os) { *os << ErrorCodeName(code); }
}  // namespace todo::core

namespace todo::store::pgtest {

namespace asio = boost::asio;
using core::ErrorCode;
using core::EventKind;
using core::Role;
using core::Task;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

inline const Actor kAlice{.name = "alice", .role = Role::kDeveloper};
inline const Actor kBob{.name = "bob", .role = Role::kDeveloper};
inline const Actor kMia{.name = "mia", .role = Role::kManager};

template <typename T>
ErrorCode CodeOf(const Result<T>& result) {
  return result.ok() ? ErrorCode::kOk : result.status().code();
}
inline ErrorCode CodeOf(const Status& status) { return status.code(); }

inline std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

// `url` with its database replaced by `db` (a URL, or a key=value string).
inline std::string WithDatabase(const std::string& url, const std::string& db) {
  std::size_t scheme = url.find("://");
  if (scheme == std::string::npos) return url + " dbname=" + db;
  std::size_t path = url.find('/', scheme + 3);
  std::size_t query = url.find('?', scheme + 3);
  std::string base = url.substr(0, std::min(path, query));
  std::string rest = query == std::string::npos ? "" : url.substr(query);
  return base + "/" + db + rest;
}

// A blocking libpq connection for the tests' own SQL. Fails the test on errors.
class Sql {
 public:
  explicit Sql(const std::string& url) : conn_(PQconnectdb(url.c_str())) {
    EXPECT_EQ(PQstatus(conn_), CONNECTION_OK) << PQerrorMessage(conn_);
  }
  ~Sql() { PQfinish(conn_); }
  Sql(const Sql&) = delete;
  Sql& operator=(const Sql&) = delete;

  // The first column of the first row ("" if no row).
  std::string Value(const std::string& sql) {
    PGresult* r = PQexec(conn_, sql.c_str());
    ExecStatusType s = PQresultStatus(r);
    EXPECT_TRUE(s == PGRES_TUPLES_OK || s == PGRES_COMMAND_OK)
        << sql << ": " << PQresultErrorMessage(r);
    std::string value;
    if (s == PGRES_TUPLES_OK && PQntuples(r) > 0) value = PQgetvalue(r, 0, 0);
    PQclear(r);
    return value;
  }
  void Exec(const std::string& sql) { Value(sql); }
  PGconn* get() { return conn_; }

 private:
  PGconn* conn_;
};

inline std::string RandomDatabaseName() {
  std::random_device device;
  std::mt19937_64 rng(device());
  const char* digits = "0123456789abcdef";
  std::string name = "todo_test_";
  for (int i = 0; i < 12; ++i) name += digits[rng() % 16];
  return name;
}

// Runs `work` to completion on `io` (which runs on this thread until it is done).
template <typename T>
T RunOn(asio::io_context& io, asio::awaitable<T> work) {
  std::future<T> result = asio::co_spawn(io, std::move(work), asio::use_future);
  io.restart();  // a run that ran out of work leaves the io_context stopped
  io.run();
  return result.get();
}

class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    admin_url_ = Env("TODO_TEST_PG_URL");
    if (admin_url_.empty()) {
      GTEST_SKIP() << "set TODO_TEST_PG_URL to a PostgreSQL server to run this test "
                      "(scripts/pg start DIR; TODO_TEST_PG_URL=$(scripts/pg url DIR))";
    }
    db_ = RandomDatabaseName();
    Sql admin(admin_url_);
    admin.Exec("CREATE DATABASE " + db_);
    url_ = WithDatabase(admin_url_, db_);
  }

  void TearDown() override {
    store_.reset();
    if (db_.empty()) return;
    Sql admin(admin_url_);
    admin.Exec("DROP DATABASE IF EXISTS " + db_ + " WITH (FORCE)");
  }

  std::unique_ptr<Store> Open(const OpenOptions& options = {}) {
    auto store = OpenPostgresStore(url_, options);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  // A store on the caller's event loops (the test runs them), `pool` connections each.
  std::unique_ptr<Store> OpenOn(std::vector<asio::io_context*> loops, int pool) {
    OpenOptions options;
    options.loops = std::move(loops);
    options.pool_per_loop = pool;
    return Open(options);
  }

  // A transaction of the test's own that holds `user`'s tally row: that user's writes wait
  // inside the server until it ends (Exec("ROLLBACK"), or the Sql's end).
  std::unique_ptr<Sql> HoldWriteLock(const std::string& user) {
    auto holder = std::make_unique<Sql>(url_);
    holder->Exec("BEGIN");
    holder->Exec("SELECT 1 FROM todo.tally WHERE td_user = '" + user + "' FOR UPDATE");
    return holder;
  }

  // Waits (up to 5 s) until exactly one backend of the test's database matches `where` (a
  // condition on pg_stat_activity).
  void AwaitOneBackend(const std::string& where) {
    Sql admin(admin_url_);
    Clock::time_point give_up = Clock::now() + seconds(5);
    while (admin.Value("SELECT count(*) FROM pg_stat_activity WHERE datname = '" + db_ +
                       "' AND " + where) != "1" &&
           Clock::now() < give_up) {
      std::this_thread::sleep_for(milliseconds(20));
    }
  }
  // ... until one of the store's connections waits for a lock.
  void AwaitALockWait() {
    AwaitOneBackend("application_name = 'todo' AND wait_event_type = 'Lock'");
  }

  void OpenDefault() {
    store_ = Open();
    ASSERT_NE(store_, nullptr);
  }

  Task Add(Store& store, const Actor& actor, const std::string& text) {
    auto added = RunSync(store.AddTask(actor, text, nullptr));
    EXPECT_TRUE(added.ok()) << added.status().ToString();
    if (!added.ok() || !added->value) return Task{};
    return *added->value;
  }

  std::vector<Task> List(Store& store, const Actor& actor,
                         core::TaskState state = core::TaskState::kAll) {
    std::vector<Task> all;
    TaskQuery query{.user = "", .state = state, .after = 0, .limit = kMaxPageLimit};
    for (;;) {
      auto page = RunSync(store.ListTasks(actor, query));
      EXPECT_TRUE(page.ok()) << page.status().ToString();
      if (!page.ok()) break;
      all.insert(all.end(), page->tasks.begin(), page->tasks.end());
      if (!page->next) break;
      query.after = *page->next;
    }
    return all;
  }

  std::vector<core::Event> Events(Store& store, const Actor& actor = kMia) {
    std::vector<core::Event> all;
    int64_t after = 0;
    for (;;) {
      auto page = RunSync(store.ListEvents(actor, after, kMaxPageLimit));
      EXPECT_TRUE(page.ok()) << page.status().ToString();
      if (!page.ok()) break;
      all.insert(all.end(), page->events.begin(), page->events.end());
      if (!page->next) break;
      after = *page->next;
    }
    return all;
  }

  // Removes all of `actor`'s open tasks, a few at a time; how many there were.
  size_t RemoveOldestAll(Store& store, const Actor& actor) {
    size_t removed = 0;
    for (;;) {
      auto ids = RunSync(store.RemoveOldest(actor, 7, nullptr));
      EXPECT_TRUE(ids.ok()) << ids.status().ToString();
      if (!ids.ok() || !ids->value || ids->value->empty()) return removed;
      removed += ids->value->size();
    }
  }

  // Runs scripts/pg with `args`; true if it succeeded.
  bool Pg(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"/bin/bash", std::string(TODO_SOURCE_DIR) + "/scripts/pg"};
    argv.insert(argv.end(), args.begin(), args.end());
    testing::ProcessResult done = testing::RunProcess(argv);
    EXPECT_EQ(done.exit_code, 0) << done.err;
    return done.exit_code == 0;
  }

  std::string admin_url_;
  std::string db_;
  std::string url_;
  std::unique_ptr<Store> store_;
};

}  // namespace todo::store::pgtest
