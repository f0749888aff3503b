// Integration tests of the PostgreSQL store (src/store/postgres/) against a real server.
//
// They run when TODO_TEST_PG_URL names a server (scripts/pg start DIR, then
// TODO_TEST_PG_URL=$(scripts/pg url DIR)) and skip otherwise. Each test works in a database of
// its own, created with a random name and dropped at the end (pg_fixture.h).
//
// The store contract itself is the conformance suite's (tests/store/); these cases cover what
// only PostgreSQL has: event-loop pools and many coroutines on one loop, group commit,
// several stores (servers) on one database, concurrent migrations, the change-log watcher, and connections
// that break or hang. Stopping the server is postgres_outage_test.cc's.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/json.h"
#include "pg_fixture.h"
#include "store/postgres/pg_schema.h"

namespace todo::store::pgtest {
namespace {

// --- Basics --------------------------------------------------------------------------------

TEST_F(PostgresStoreTest, CrudThroughTheStoreInterface) {
  OpenDefault();
  ASSERT_TRUE(RunSync(store_->CreateAccount(Account{.name = "alice",
                                                    .role = Role::kDeveloper,
                                                    .token_hash = "h-alice",
                                                    .created = core::Now()}))
                  .ok());
  TimePoint before = core::Now();
  Task a = Add(*store_, kAlice, "write the report");
  Task b = Add(*store_, kAlice, "review it");
  TimePoint after = core::Now();
  EXPECT_GT(b.id, a.id);
  EXPECT_LE(before, a.created);
  EXPECT_LE(a.created, after);
  EXPECT_EQ(a.updated, a.created);

  auto got = RunSync(store_->GetTask(kAlice, a.id));
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, a);
  EXPECT_EQ(CodeOf(RunSync(store_->GetTask(kBob, a.id))), ErrorCode::kNotFound);
  EXPECT_EQ(RunSync(store_->GetTask(kMia, a.id)).value(), a);

  auto done =
      RunSync(store_->UpdateTask(kAlice, a.id, TaskPatch{.text = "final", .done = true}, nullptr));
  ASSERT_TRUE(done.ok() && done->value) << done.status().ToString();
  EXPECT_EQ(done->value->text, "final");
  ASSERT_TRUE(done->value->done.has_value());
  EXPECT_EQ(RunSync(store_->GetTask(kAlice, a.id)).value(), *done->value);

  EXPECT_EQ(List(*store_, kAlice, core::TaskState::kOpen), std::vector<Task>{b});
  EXPECT_EQ(List(*store_, kAlice, core::TaskState::kDone), std::vector<Task>{*done->value});

  auto removed = RunSync(store_->RemoveTask(kAlice, b.id, nullptr));
  ASSERT_TRUE(removed.ok() && removed->value);
  EXPECT_EQ(*removed->value, b);
  EXPECT_EQ(CodeOf(RunSync(store_->RemoveTask(kAlice, b.id, nullptr))), ErrorCode::kNotFound);

  std::vector<EventKind> kinds;
  for (const core::Event& e : Events(*store_)) kinds.push_back(e.kind);
  EXPECT_EQ(kinds,
            (std::vector<EventKind>{EventKind::kCreated, EventKind::kCreated, EventKind::kEdited,
                                    EventKind::kDone, EventKind::kRemoved}));
  auto users = RunSync(store_->ListUsers(kMia));
  ASSERT_TRUE(users.ok());
  ASSERT_EQ(users->size(), 1u);
  EXPECT_EQ((*users)[0].open, 0);
  EXPECT_EQ((*users)[0].done, 1);
  auto account = RunSync(store_->FindAccountByTokenHash("h-alice"));
  ASSERT_TRUE(account.ok());
  EXPECT_EQ(account->name, "alice");
  EXPECT_TRUE(RunSync(store_->Ping()).ok());
}

TEST_F(PostgresStoreTest, IdsAndTimesRoundTripAtMillisecondPrecision) {
  OpenDefault();
  std::vector<Task> added;
  for (int i = 0; i < 20; ++i) added.push_back(Add(*store_, kAlice, "t" + std::to_string(i)));
  auto done = RunSync(store_->UpdateTask(kAlice, added[3].id,
                                         TaskPatch{.text = std::nullopt, .done = true}, nullptr));
  ASSERT_TRUE(done.ok() && done->value);
  added[3] = *done->value;
  EXPECT_EQ(List(*store_, kAlice), added);  // what each write returned, exactly
  for (size_t i = 1; i < added.size(); ++i) EXPECT_GT(added[i].id, added[i - 1].id);

  // Imported times, before and after the epoch, come back to the millisecond.
  std::vector<ImportItem> items(3);
  items[0].text = "old";
  items[0].created = core::FromMillis(-1);  // 1969-12-31T23:59:59.999Z
  items[1].text = "precise";
  items[1].created = core::FromMillis(1770000000002);
  items[1].is_done = true;
  items[1].done = core::FromMillis(1770000000999);
  items[2].text = "now";
  auto stats = RunSync(store_->ImportTasks(kAlice, items));
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->added, 3);
  std::vector<Task> all = List(*store_, kAlice);
  ASSERT_EQ(all.size(), 23u);
  EXPECT_EQ(all[20].created, core::FromMillis(-1));
  EXPECT_EQ(all[21].created, core::FromMillis(1770000000002));
  EXPECT_EQ(all[21].done, std::optional(core::FromMillis(1770000000999)));
  EXPECT_EQ(all[21].updated, core::FromMillis(1770000000999));

  // Stored truncated to the millisecond, not just read back so.
  Sql sql(url_);
  // And the first and last millisecond of years 1 to 9999 convert exactly both ways.
  EXPECT_EQ(sql.Value("SELECT todo.ms(todo.at_ms(-62135596800000))"), "-62135596800000");
  EXPECT_EQ(sql.Value("SELECT todo.ms(todo.at_ms(253402300799999))"), "253402300799999");
  EXPECT_EQ(sql.Value("SELECT count(*) FROM todo.element WHERE "
                      "init_time <> date_trunc('milliseconds', init_time) OR "
                      "last_update_time <> date_trunc('milliseconds', last_update_time) OR "
                      "done_time <> date_trunc('milliseconds', done_time)"),
            "0");
  EXPECT_EQ(sql.Value("SELECT count(*) FROM todo.event WHERE at <> date_trunc('milliseconds', at)"),
            "0");
}

TEST_F(PostgresStoreTest, TextsSurviveArraysAndReimportAddsNothing) {
  OpenDefault();
  // Characters that mean something in PostgreSQL's array and string syntax.
  std::vector<std::string> texts = {"quote \" and backslash \\ and \\\"",
                                    "comma, {braces} and NULL",
                                    "NULL",
                                    "tab\there 'single' caf\xc3\xa9 \xf0\x9f\x98\x80",
                                    " leading and trailing space ",
                                    std::string(4096, 'x')};
  std::vector<ImportItem> items;
  for (const std::string& text : texts) {
    ImportItem item;
    item.text = text;
    item.created = core::FromMillis(1770000000000);
    items.push_back(item);
  }
  auto first = RunSync(store_->ImportTasks(kAlice, items));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->added, static_cast<int64_t>(texts.size()));
  auto second = RunSync(store_->ImportTasks(kAlice, items));
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->added, 0);
  EXPECT_EQ(second->skipped, static_cast<int64_t>(texts.size()));
  std::vector<Task> all = List(*store_, kAlice);
  ASSERT_EQ(all.size(), texts.size());
  for (size_t i = 0; i < texts.size(); ++i) EXPECT_EQ(all[i].text, texts[i]);
  // The same texts through single writes.
  for (const std::string& text : texts) {
    Task task = Add(*store_, kBob, text);
    EXPECT_EQ(RunSync(store_->GetTask(kBob, task.id)).value().text, text);
  }
}

TEST_F(PostgresStoreTest, ALargeImportIsSentWithoutBlockingAndMatchedAgain) {
  // Megabytes of parameters: more than a socket buffer, so libpq's non-blocking send has to
  // wait for the socket to drain.
  OpenDefault();
  constexpr int kItems = 20000;
  std::vector<ImportItem> items(kItems);
  for (int i = 0; i < kItems; ++i) {
    items[i].text = "imported task number " + std::to_string(i) + " " + std::string(100, 'x');
    items[i].created = core::FromMillis(1770000000000 + i);
  }
  auto first = RunSync(store_->ImportTasks(kAlice, items));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->added, kItems);
  auto second = RunSync(store_->ImportTasks(kAlice, items));
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->added, 0);
  EXPECT_EQ(second->skipped, kItems);
  std::vector<Task> all = List(*store_, kAlice);
  ASSERT_EQ(all.size(), size_t{kItems});
  EXPECT_EQ(all.back().text, items.back().text);
  EXPECT_EQ(all.back().created, *items.back().created);
  auto users = RunSync(store_->ListUsers(kMia));
  ASSERT_TRUE(users.ok());
  EXPECT_TRUE(users->empty());  // no account yet: counters are kept, but only accounts listed
}

// --- Many coroutines on one loop -----------------------------------------------------------

TEST_F(PostgresStoreTest, FourHundredConcurrentAddsOnOneLoopAllCommit) {
  asio::io_context io(1);
  std::unique_ptr<Store> store = OpenOn({&io}, 4);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(RunOn(io, store->CreateAccount(Account{.name = "alice",
                                                     .role = Role::kDeveloper,
                                                     .token_hash = "",
                                                     .created = core::Now()}))
                  .ok());

  constexpr int kAdds = 400;
  std::set<int64_t> ids;
  std::vector<std::string> failures;
  std::thread::id loop_thread = std::this_thread::get_id();
  for (int i = 0; i < kAdds; ++i) {
    asio::co_spawn(
        io,
        [&, i]() -> asio::awaitable<void> {
          std::string text = "task " + std::to_string(i);
          auto added = co_await store->AddTask(kAlice, std::move(text), nullptr);
          // A call from one of the store's loops never leaves it.
          EXPECT_EQ(std::this_thread::get_id(), loop_thread);
          if (added.ok() && added->value) {
            ids.insert(added->value->id);
          } else {
            failures.push_back(added.status().ToString());
          }
        },
        asio::detached);
  }
  io.restart();  // RunOn above ran it to completion, which stops it
  io.run();
  EXPECT_TRUE(failures.empty()) << failures.size() << " failed, first: " << failures.front();
  EXPECT_EQ(ids.size(), size_t{kAdds});

  TaskQuery open{.user = "", .state = core::TaskState::kOpen, .after = 0, .limit = kMaxPageLimit};
  auto page = RunOn(io, store->ListTasks(kAlice, open));
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->tasks.size(), size_t{kAdds});
  auto users = RunOn(io, store->ListUsers(kMia));
  ASSERT_TRUE(users.ok());
  ASSERT_EQ(users->size(), 1u);
  EXPECT_EQ((*users)[0].open, kAdds);
  auto events = RunOn(io, store->ListEvents(kMia, 0, kMaxPageLimit));
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(events->events.size(), size_t{kAdds});
  store.reset();
}

TEST_F(PostgresStoreTest, ConcurrentRemoveOldestRemovesEachOnceAndAlwaysTheOldest) {
  asio::io_context io(1);
  std::unique_ptr<Store> store = OpenOn({&io}, 6);
  ASSERT_NE(store, nullptr);
  constexpr int kTasks = 240;
  std::set<int64_t> added;
  for (int i = 0; i < kTasks; ++i) {
    auto task = RunOn(io, store->AddTask(kAlice, "t" + std::to_string(i), nullptr));
    ASSERT_TRUE(task.ok() && task->value);
    added.insert(task->value->id);
  }
  Task bobs = RunOn(io, store->AddTask(kBob, "untouched", nullptr)).value().value.value();

  // Removers take 3 at a time while editors keep touching (and so locking) the oldest open
  // tasks without closing them: a remove-oldest that skipped locked rows would take younger
  // tasks while older ones stay open.
  std::multiset<int64_t> removed;
  int failures = 0;
  bool finished = false;
  for (int r = 0; r < 16; ++r) {
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          for (;;) {
            auto ids = co_await store->RemoveOldest(kAlice, 3, nullptr);
            if (!ids.ok() || !ids->value) {
              ++failures;
              break;
            }
            if (ids->value->empty()) break;
            EXPECT_TRUE(std::is_sorted(ids->value->begin(), ids->value->end()));
            removed.insert(ids->value->begin(), ids->value->end());
          }
          finished = true;
        },
        asio::detached);
  }
  for (int e = 0; e < 4; ++e) {
    asio::co_spawn(
        io,
        [&, e]() -> asio::awaitable<void> {
          for (int round = 0; !finished; ++round) {
            // (Arguments built outside the co_await: g++ 12 mishandles braced temporaries
            // inside one, docs/decisions/0001.)
            TaskQuery oldest{.user = "", .state = core::TaskState::kOpen, .after = 0, .limit = 2};
            auto page = co_await store->ListTasks(kAlice, oldest);
            if (!page.ok() || page->tasks.empty()) break;
            TaskPatch patch{.text = "edited " + std::to_string(e) + "." + std::to_string(round),
                            .done = std::nullopt};
            auto edited = co_await store->UpdateTask(kAlice, page->tasks.front().id,
                                                     std::move(patch), nullptr);
            // Removed meanwhile is fine; anything else is not.
            if (!edited.ok() && edited.status().code() != ErrorCode::kNotFound) ++failures;
          }
        },
        asio::detached);
  }
  io.restart();  // RunOn above ran it to completion, which stops it
  io.run();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(removed.size(), size_t{kTasks});                            // none twice
  EXPECT_EQ(std::set<int64_t>(removed.begin(), removed.end()), added);  // every one

  // Each removal took the oldest open task at its time: in log order, ascending ids.
  auto events = [&]() -> asio::awaitable<std::vector<int64_t>> {
    std::vector<int64_t> removed_ids;
    int64_t after = 0;
    for (;;) {
      auto page = co_await store->ListEvents(kAlice, after, kMaxPageLimit);
      EXPECT_TRUE(page.ok());
      if (!page.ok()) break;
      for (const core::Event& e : page->events) {
        if (e.kind == EventKind::kRemoved) removed_ids.push_back(e.task_id);
      }
      if (!page->next) break;
      after = *page->next;
    }
    co_return removed_ids;
  };
  std::vector<int64_t> in_log_order = RunOn(io, events());
  EXPECT_EQ(in_log_order.size(), size_t{kTasks});
  EXPECT_TRUE(std::is_sorted(in_log_order.begin(), in_log_order.end()));
  auto bob_page = RunOn(io, store->ListTasks(kBob, TaskQuery{}));
  ASSERT_TRUE(bob_page.ok());
  EXPECT_EQ(bob_page->tasks, std::vector<Task>{bobs});
  store.reset();
}

TEST_F(PostgresStoreTest, ConcurrentRequestsWithOneIdempotencyKeyWriteOnce) {
  asio::io_context io(1);
  // Two connections, as when this was written (the default then): requests with the key
  // race across transactions as well as within one batch.
  std::unique_ptr<Store> store = OpenOn({&io}, 2);
  ASSERT_NE(store, nullptr);
  Idempotency<Task> idem{
      .key = "k", .fingerprint = "POST /v1/tasks x", .status = 201, .render = [](const Task& t) {
        return std::to_string(t.id);
      }};
  Idempotency<Task> other = idem;
  other.fingerprint = "POST /v1/tasks y";
  int values = 0;
  int conflicts = 0;
  std::vector<std::string> bodies;
  for (int i = 0; i < 30; ++i) {
    asio::co_spawn(
        io,
        [&, i]() -> asio::awaitable<void> {
          bool same = i % 5 != 4;
          auto r = co_await store->AddTask(kAlice, same ? "x" : "y", same ? &idem : &other);
          if (!r.ok()) {
            EXPECT_EQ(r.status().code(), ErrorCode::kConflict) << r.status().ToString();
            ++conflicts;
          } else if (r->value) {
            ++values;
            bodies.push_back(std::to_string(r->value->id));
          } else {
            EXPECT_EQ(r->replay->status, 201);
            bodies.push_back(r->replay->body);
          }
        },
        asio::detached);
  }
  io.run();
  auto page = RunOn(io, store->ListTasks(kAlice, TaskQuery{}));
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->tasks.size(), 1u);
  // Whichever request came first wrote; everyone with its fingerprint got its answer.
  bool x_first = page->tasks[0].text == "x";
  EXPECT_EQ(values, 1);
  EXPECT_EQ(conflicts, x_first ? 6 : 24);
  EXPECT_EQ(bodies.size(), size_t{x_first ? 24u : 6u});
  for (const std::string& body : bodies) EXPECT_EQ(body, std::to_string(page->tasks[0].id));
  auto events = RunOn(io, store->ListEvents(kMia, 0, 100));
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(events->events.size(), 1u);
  store.reset();
}

// A batch's merged statements claim keys with plain inserts (kAddTasks, kRemoveOldests): a
// retry among them fails the batch, which is sent again write by write (so the retry is
// replayed and the others happen once); then, for a while, the loop's merged statements
// replay keys themselves (kAddTasksOrReplay, kRemoveOldestsOrReplay) and no batch fails.
TEST_F(PostgresStoreTest, ARetryFailsItsMergedBatchOnceThenMergedStatementsReplay) {
  asio::io_context io(1);
  auto ids = [](const std::vector<int64_t>& removed) {
    std::string out;
    for (int64_t id : removed) out += std::to_string(id) + ",";
    return out;
  };
  auto add_key = [](std::string name) {
    return Idempotency<Task>{.key = std::move(name), .fingerprint = "add", .status = 201,
                             .render = [](const Task& t) { return std::to_string(t.id); }};
  };
  auto remove_key = [&](std::string name) {
    return Idempotency<std::vector<int64_t>>{
        .key = std::move(name), .fingerprint = "remove", .status = 200, .render = ids};
  };
  const std::vector<Actor> users = {kAlice, kBob, Actor{.name = "carol"}, Actor{.name = "dan"}};
  std::unique_ptr<Store> store = OpenOn({&io}, 1);
  ASSERT_NE(store, nullptr);
  for (const Actor& user : users) {
    for (int i = 0; i < 30; ++i) {
      ASSERT_TRUE(RunOn(io, store->AddTask(user, "seed " + std::to_string(i), nullptr)).ok());
    }
  }
  // The first answers, each alone (nothing else queued).
  Idempotency<Task> retried_add = add_key("add retried");
  auto added = RunOn(io, store->AddTask(kAlice, "retried", &retried_add));
  ASSERT_TRUE(added.ok() && added->value) << added.status().ToString();
  Idempotency<std::vector<int64_t>> retried_remove = remove_key("remove retried");
  auto removed = RunOn(io, store->RemoveOldest(kBob, 2, &retried_remove));
  ASSERT_TRUE(removed.ok() && removed->value && removed->value->size() == 2u);

  // A wave of writes queued together on the loop: the first two go alone (two batches in
  // flight), the rest as one batch with merged adds and remove-oldests, the retry among them.
  int failures = 0;
  std::vector<Idempotency<Task>> add_keys;
  std::vector<Idempotency<std::vector<int64_t>>> remove_keys;
  auto wave = [&](Store& on, int n, bool retry_add, bool retry_remove) {
    add_keys.clear();
    remove_keys.clear();
    add_keys.reserve(24);
    remove_keys.reserve(4);
    for (int i = 0; i < 24; ++i) add_keys.push_back(add_key("add " + std::to_string(n * 100 + i)));
    for (int i = 0; i < 4; ++i) {
      remove_keys.push_back(remove_key("remove " + std::to_string(n * 100 + i)));
    }
    auto spawn = [&](auto work) { asio::co_spawn(io, std::move(work), asio::detached); };
    for (int i = 0; i < 24; ++i) {
      spawn([&, i]() -> asio::awaitable<void> {
        auto r = co_await on.AddTask(users[static_cast<std::size_t>(i) % 4], "wave", &add_keys[i]);
        if (!r.ok() || !r->value) ++failures;
      });
      if (i == 12 && retry_add) {
        spawn([&]() -> asio::awaitable<void> {
          auto r = co_await on.AddTask(kAlice, "retried", &retried_add);
          if (!r.ok() || !r->replay || r->replay->body != std::to_string(added->value->id)) {
            ++failures;
          }
        });
      }
    }
    if (retry_remove) {
      spawn([&]() -> asio::awaitable<void> {
        auto r = co_await on.RemoveOldest(kBob, 2, &retried_remove);
        if (!r.ok() || !r->replay || r->replay->body != ids(*removed->value)) ++failures;
      });
    }
    for (int i = 0; i < 4; ++i) {  // one per user: merged (with the retry: bob's twice)
      spawn([&, i]() -> asio::awaitable<void> {
        auto r = co_await on.RemoveOldest(users[static_cast<std::size_t>(i)], 1, &remove_keys[i]);
        if (!r.ok() || !r->value || r->value->size() != 1u) ++failures;
      });
    }
    io.restart();
    io.run();
  };

  wave(*store, 1, true, false);
  EXPECT_EQ(failures, 0);
  // Only a plain insert fails on the retry's key: kAddTask alone, or with ON CONFLICT, replays.
  Store::BatchStats first = store->batch_stats();
  EXPECT_EQ(first.resent, 1u);

  wave(*store, 2, true, true);
  EXPECT_EQ(failures, 0);
  Store::BatchStats second = store->batch_stats();
  EXPECT_EQ(second.resent, 1u);  // replayed by the merged statements themselves
  EXPECT_GT(second.merged_adds, first.merged_adds);
  EXPECT_GT(second.merged_removes, first.merged_removes);
  store.reset();

  // A store of its own (another server, or a restart): a retried remove-oldest fails its
  // merged batch once too.
  std::unique_ptr<Store> other = OpenOn({&io}, 1);
  ASSERT_NE(other, nullptr);
  wave(*other, 3, false, true);
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(other->batch_stats().resent, 1u);
  other.reset();

  // Every write happened once: 1 + 3 x 24 adds and 2 + 3 x 4 removals in all.
  Sql sql(url_);
  const int seeded = 4 * 30;
  EXPECT_EQ(sql.Value("SELECT count(*) FROM todo.element"),
            std::to_string(seeded + 1 + 3 * 24 - 2 - 3 * 4));
  EXPECT_EQ(sql.Value("SELECT sum(open_count) FROM todo.tally"),
            std::to_string(seeded + 1 + 3 * 24 - 2 - 3 * 4));
  EXPECT_EQ(sql.Value("SELECT count(*) FROM todo.event"),
            std::to_string(seeded + 1 + 3 * 24 + 2 + 3 * 4));
  EXPECT_EQ(sql.Value("SELECT count(*) FROM todo.request"), std::to_string(2 + 3 * 28));
}

// A keyed write records its result as data and a replay renders it again (pg_sql.h): the
// replay must be the first answer exactly, every field, for each kind of write; and a write
// sent without a key records nothing.
// Idempotency records past their 24 hours are purged as fast as a busy server makes them:
// chunk after chunk while chunks come back full. (One chunk per 10 minutes let the table grow
// without end above ~2 keyed writes a second.) Fresh records stay.
TEST_F(PostgresStoreTest, ExpiredIdempotencyRecordsArePurgedChunkAfterChunk) {
  OpenDefault();
  Sql sql(url_);
  sql.Exec("INSERT INTO todo.request (td_user, key, fingerprint, status, body, at) "
           "SELECT 'alice', 'old' || g, 'f', 201, '', now() - interval '25 hours' "
           "FROM generate_series(1, 3500) g");
  sql.Exec("INSERT INTO todo.request (td_user, key, fingerprint, status, body, at) "
           "SELECT 'alice', 'recent' || g, 'f', 201, '', now() - interval '23 hours' "
           "FROM generate_series(1, 10) g");
  auto expired = [&] {
    return sql.Value("SELECT count(*) FROM todo.request "
                     "WHERE at < now() - interval '24 hours'");
  };
  // Keyed writes, as a server gets them, until none is left (a chunk is 1000 records).
  Clock::time_point give_up = Clock::now() + seconds(10);
  int writes = 0;
  while (expired() != "0" && Clock::now() < give_up) {
    Idempotency<Task> idem{.key = "k" + std::to_string(writes++),
                           .fingerprint = "POST /v1/tasks x",
                           .status = 201,
                           .render = [](const Task& t) { return std::to_string(t.id); }};
    ASSERT_TRUE(RunSync(store_->AddTask(kAlice, "t", &idem)).ok());
    std::this_thread::sleep_for(milliseconds(30));
  }
  EXPECT_EQ(expired(), "0") << "after " << writes << " keyed writes";
  EXPECT_EQ(sql.Value("SELECT count(*) FROM todo.request WHERE key LIKE 'recent%'"), "10");
  EXPECT_EQ(sql.Value("SELECT count(*) FROM todo.request WHERE key LIKE 'k%'"),
            std::to_string(writes));
}

TEST_F(PostgresStoreTest, ReplaysRenderEveryFieldOfTheFirstAnswer) {
  OpenDefault();
  auto render = [](const Task& t) { return boost::json::serialize(core::TaskToJson(t)); };
  auto key = [&](std::string name, int status) {
    return Idempotency<Task>{
        .key = name, .fingerprint = "f-" + name, .status = status, .render = render};
  };
  auto check = [&](const Result<Written<Task>>& first, const Result<Written<Task>>& again,
                   const char* what) {
    ASSERT_TRUE(first.ok() && first->value) << what << ": " << first.status().ToString();
    ASSERT_TRUE(again.ok() && again->replay) << what << ": " << again.status().ToString();
    EXPECT_EQ(again->replay->body, render(*first->value)) << what;
    EXPECT_FALSE(again->position.empty()) << what;
  };
  Idempotency<Task> add = key("add", 201);
  auto added = RunSync(store_->AddTask(kAlice, "tab\there \"quoted\" \u00e9", &add));
  check(added, RunSync(store_->AddTask(kAlice, "tab\there \"quoted\" \u00e9", &add)), "add");
  const int64_t id = added->value->id;

  Idempotency<Task> done = key("done", 200);
  TaskPatch patch{.text = "edited", .done = true};
  auto edited = RunSync(store_->UpdateTask(kAlice, id, patch, &done));
  ASSERT_TRUE(edited.ok() && edited->value && edited->value->done);
  check(edited, RunSync(store_->UpdateTask(kAlice, id, patch, &done)), "edit and done");

  Idempotency<Task> remove = key("remove", 200);  // a body, to compare the removed task
  auto removed = RunSync(store_->RemoveTask(kAlice, id, &remove));
  check(removed, RunSync(store_->RemoveTask(kAlice, id, &remove)), "remove");

  ASSERT_TRUE(RunSync(store_->AddTask(kAlice, "no key", nullptr)).ok());
  Sql sql(url_);
  EXPECT_EQ(sql.Value("SELECT count(*) FROM todo.request"), "3");
  EXPECT_EQ(sql.Value("SELECT count(*) FROM todo.request WHERE result IS NULL"), "0");
}

TEST_F(PostgresStoreTest, ConcurrentWritesShareTransactionsAndAFailingOneFailsAlone) {
  asio::io_context io(1);
  // Few connections: writes queue up and go in batches.
  std::unique_ptr<Store> store = OpenOn({&io}, 2);
  ASSERT_NE(store, nullptr);
  constexpr int kWrites = 200;
  int ok = 0;
  std::vector<ErrorCode> refused;
  auto write_all = [&](const std::string& poison) {
    for (int i = 0; i < kWrites; ++i) {
      asio::co_spawn(
          io,
          [&, i]() -> asio::awaitable<void> {
            const Actor& actor = i % 2 == 0 ? kAlice : kBob;
            std::string text = i % 20 == 7 ? poison : "t" + std::to_string(i);
            auto added = co_await store->AddTask(actor, std::move(text), nullptr);
            if (added.ok()) {
              ++ok;
            } else {
              refused.push_back(added.status().code());
            }
          },
          asio::detached);
    }
    io.restart();
    io.run();
  };

  write_all("harmless");
  EXPECT_EQ(ok, kWrites);
  Sql sql(url_);
  // Group commit: the rows a transaction writes share its xmin.
  int transactions = std::stoi(sql.Value("SELECT count(DISTINCT xmin::text) FROM todo.element"));
  EXPECT_LT(transactions, kWrites / 4);

  // A write the database refuses although the store accepts it: the batch it is in fails,
  // and the others must still commit, each once.
  sql.Exec("ALTER TABLE todo.element ADD CONSTRAINT no_poison CHECK (task <> 'poison')");
  ok = 0;
  write_all("poison");
  EXPECT_EQ(ok, kWrites - kWrites / 20);
  EXPECT_EQ(refused, std::vector<ErrorCode>(kWrites / 20, ErrorCode::kInternal));
  std::string total = std::to_string(kWrites + ok);
  EXPECT_EQ(sql.Value("SELECT count(*) FROM todo.element"), total);
  EXPECT_EQ(sql.Value("SELECT count(*) FROM todo.event"), total);
  EXPECT_EQ(sql.Value("SELECT sum(open_count) FROM todo.tally"), total);
  store.reset();
}

TEST_F(PostgresStoreTest, MixedWritesOfManyUsersOnTwoLoopsNeverDeadlock) {
  // Batches hold several users' row locks at once; they take them in one order, so
  // concurrent batches on different connections and loops never wait on each other in a
  // cycle (a deadlock would surface as kUnavailable after deadlock_timeout).
  asio::io_context io1(1);
  asio::io_context io2(1);
  std::unique_ptr<Store> store = OpenOn({&io1, &io2}, 2);
  ASSERT_NE(store, nullptr);
  std::vector<Actor> users;
  for (int u = 0; u < 6; ++u) users.push_back(Actor{"dev" + std::to_string(u), Role::kDeveloper});
  std::atomic<int> failures = 0;
  std::atomic<int> writes = 0;
  auto worker = [&](int seed) -> asio::awaitable<void> {
    std::mt19937 rng(static_cast<unsigned>(seed));
    for (int i = 0; i < 40; ++i) {
      const Actor& actor = users[rng() % users.size()];
      Status status;
      switch (rng() % 3) {
        case 0: {
          std::string text = "w" + std::to_string(seed) + "." + std::to_string(i);
          auto r = co_await store->AddTask(actor, std::move(text), nullptr);
          status = r.ok() ? Status::Ok() : r.status();
          break;
        }
        case 1: {
          auto r = co_await store->RemoveOldest(actor, 2, nullptr);
          status = r.ok() ? Status::Ok() : r.status();
          break;
        }
        default: {
          TaskQuery first{.user = "", .state = core::TaskState::kOpen, .after = 0, .limit = 1};
          auto page = co_await store->ListTasks(actor, first);
          if (page.ok() && !page->tasks.empty()) {
            TaskPatch patch{.text = std::nullopt, .done = true};
            auto r = co_await store->UpdateTask(actor, page->tasks[0].id, patch, nullptr);
            if (!r.ok() && r.status().code() != ErrorCode::kNotFound) status = r.status();
          }
        }
      }
      if (!status.ok()) {
        ADD_FAILURE() << status.ToString();
        ++failures;
      }
      ++writes;
    }
  };
  for (int c = 0; c < 40; ++c) asio::co_spawn(c % 2 == 0 ? io1 : io2, worker(c), asio::detached);
  std::thread second([&] { io2.run(); });
  io1.run();
  second.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(writes, 40 * 40);
  store.reset();
  // A deadlocked batch would still succeed (it is replayed write by write), so ask the server:
  // its backends report their statistics as they exit, before they leave pg_stat_activity.
  Sql sql(url_);
  Clock::time_point give_up = Clock::now() + seconds(10);
  while (sql.Value("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                   "AND application_name = 'todo'") != "0" &&
         Clock::now() < give_up) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  EXPECT_EQ(sql.Value("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"),
            "0");
  // The counters still agree with the tasks.
  EXPECT_EQ(sql.Value("SELECT count(*) FROM todo.tally t WHERE open_count <> (SELECT count(*) "
                      "FROM todo.element e WHERE e.td_user = t.td_user AND done_time IS NULL) "
                      "OR done_count <> (SELECT count(*) FROM todo.element e "
                      "WHERE e.td_user = t.td_user AND done_time IS NOT NULL)"),
            "0");
}

TEST_F(PostgresStoreTest, IdempotencyKeysThatAreNotTextAreInvalid) {
  OpenDefault();
  Idempotency<Task> idem{.key = "bad \xff key", .fingerprint = "f", .status = 201, .render = {}};
  EXPECT_EQ(CodeOf(RunSync(store_->AddTask(kAlice, "x", &idem))), ErrorCode::kInvalidArgument);
  idem.key = std::string("nul\0byte", 8);
  EXPECT_EQ(CodeOf(RunSync(store_->RemoveOldest(kAlice, 1, nullptr))), ErrorCode::kOk);
  EXPECT_EQ(CodeOf(RunSync(store_->AddTask(kAlice, "x", &idem))), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(List(*store_, kAlice).empty());
}

// --- Several stores, reopening, migrations -------------------------------------------------

TEST_F(PostgresStoreTest, WriteCloseReopenRead) {
  OpenDefault();
  Task a = Add(*store_, kAlice, "a");
  ASSERT_TRUE(RunSync(store_->UpdateTask(kAlice, a.id,
                                         TaskPatch{.text = std::nullopt, .done = true}, nullptr))
                  .ok());
  Task b = Add(*store_, kBob, "b");
  Idempotency<Task> idem{
      .key = "key", .fingerprint = "f", .status = 201, .render = [](const Task& t) {
        return std::to_string(t.id);
      }};
  auto keyed = RunSync(store_->AddTask(kAlice, "keyed", &idem));
  ASSERT_TRUE(keyed.ok() && keyed->value);
  std::vector<Task> tasks = List(*store_, kMia);
  std::vector<core::Event> events = Events(*store_);

  store_.reset();
  OpenDefault();
  EXPECT_EQ(List(*store_, kMia), tasks);
  EXPECT_EQ(Events(*store_), events);
  auto replay = RunSync(store_->AddTask(kAlice, "keyed", &idem));
  ASSERT_TRUE(replay.ok() && replay->replay);
  EXPECT_EQ(replay->replay->body, std::to_string(keyed->value->id));
  EXPECT_GT(Add(*store_, kBob, "c").id, keyed->value->id);
}

TEST_F(PostgresStoreTest, TwoStoresOnOneDatabaseSeeEachOthersWrites) {
  OpenDefault();
  std::unique_ptr<Store> other = Open();
  ASSERT_NE(other, nullptr);
  Task a = Add(*store_, kAlice, "from the first server");
  EXPECT_EQ(RunSync(other->GetTask(kAlice, a.id)).value(), a);
  auto edited = RunSync(other->UpdateTask(
      kAlice, a.id, TaskPatch{.text = "edited on the second", .done = std::nullopt}, nullptr));
  ASSERT_TRUE(edited.ok() && edited->value);
  EXPECT_EQ(RunSync(store_->GetTask(kAlice, a.id)).value(), *edited->value);

  // Both at once, from several threads each.
  constexpr int kThreads = 6;
  constexpr int kEach = 30;
  std::vector<std::thread> threads;
  std::atomic<int> failures = 0;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Store& store = t % 2 == 0 ? *store_ : *other;
      for (int i = 0; i < kEach; ++i) {
        auto added =
            RunSync(store.AddTask(kBob, std::to_string(t) + "/" + std::to_string(i), nullptr));
        if (!added.ok()) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(List(*store_, kBob).size(), size_t{kThreads * kEach});
  EXPECT_EQ(List(*other, kBob).size(), size_t{kThreads * kEach});
  EXPECT_EQ(RemoveOldestAll(*other, kBob), size_t{kThreads * kEach});
  EXPECT_TRUE(List(*store_, kBob).empty());
}

TEST_F(PostgresStoreTest, ConcurrentOpensMigrateOnce) {
  constexpr int kServers = 4;
  std::vector<std::thread> threads;
  std::atomic<int> failures = 0;
  for (int i = 0; i < kServers; ++i) {
    threads.emplace_back([&] {
      auto store = OpenPostgresStore(url_, OpenOptions{});
      if (!store.ok()) {
        ADD_FAILURE() << store.status().ToString();
        ++failures;
        return;
      }
      if (!RunSync((*store)->Ping()).ok()) ++failures;
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures, 0);
  Sql sql(url_);
  EXPECT_EQ(sql.Value("SELECT string_agg(version::text, ',') FROM todo.schema_migrations"),
            "1,2,3,4");
}

// Migration 4 on a database of version 3 that holds data: afterwards names and keys compare
// byte by byte (COLLATE "C"; the users view in byte order), and what was there still reads,
// counts and replays.
TEST_F(PostgresStoreTest, Migration4KeepsVersion3DataAndComparesNamesByteByByte) {
  {
    Sql sql(url_);
    sql.Exec("CREATE SCHEMA todo");
    sql.Exec("CREATE TABLE todo.schema_migrations (version integer PRIMARY KEY, "
             "applied timestamptz NOT NULL DEFAULT now())");
    for (int n = 1; n <= 3; ++n) {
      sql.Exec(pg::kMigrations[static_cast<std::size_t>(n - 1)]);
      sql.Exec("INSERT INTO todo.schema_migrations (version) VALUES (" + std::to_string(n) + ")");
    }
    // Three developers whose names order differently by bytes than by a language's rules,
    // a task each, and alice's add recorded under an Idempotency-Key, as version 3 wrote them.
    sql.Exec("INSERT INTO todo.account (name, role, token_hash, created) VALUES "
             "('alice', 'developer', NULL, now()), ('Zoe', 'developer', NULL, now()), "
             "('\u00c9mile', 'developer', NULL, now())");
    sql.Exec("INSERT INTO todo.element (id, td_user, init_time, last_update_time, task) "
             "OVERRIDING SYSTEM VALUE VALUES "
             "(7, 'alice', todo.at_ms(1000), todo.at_ms(1000), 'a'), "
             "(8, 'Zoe', now(), now(), 'z'), (9, '\u00c9mile', now(), now(), 'e')");
    sql.Exec("INSERT INTO todo.tally (td_user, open_count, done_count, last_update_time) "
             "SELECT td_user, 1, 0, now() FROM todo.element");
    sql.Exec("INSERT INTO todo.request (td_user, key, fingerprint, status, body, at, result) "
             "VALUES ('alice', 'k1', 'POST a', 201, '', now(), '[7,\"a\",1000,1000,null]')");
  }
  OpenDefault();
  Sql sql(url_);
  EXPECT_EQ(sql.Value("SELECT max(version) FROM todo.schema_migrations"), "4");
  EXPECT_EQ(sql.Value("SELECT string_agg(DISTINCT coalesce(collation_name, 'default'), ',') "
                      "FROM information_schema.columns WHERE table_schema = 'todo' AND "
                      "(column_name IN ('td_user', 'key', 'actor') OR "
                      "(table_name = 'account' AND column_name = 'name'))"),
            "C");
  auto users = RunSync(store_->ListUsers(kMia));
  ASSERT_TRUE(users.ok()) << users.status().ToString();
  std::vector<std::string> names;
  for (const UserSummary& user : *users) names.push_back(user.name + ":" + std::to_string(user.open));
  EXPECT_EQ(names, (std::vector<std::string>{"Zoe:1", "alice:1", "\u00c9mile:1"}));
  const Actor emile{.name = "\u00c9mile"};
  ASSERT_EQ(List(*store_, emile).size(), 1u);
  EXPECT_EQ(List(*store_, emile)[0].text, "e");
  Idempotency<Task> retry{.key = "k1", .fingerprint = "POST a", .status = 201,
                          .render = [](const Task& t) { return t.text + std::to_string(t.id); }};
  auto replayed = RunSync(store_->AddTask(kAlice, "a", &retry));
  ASSERT_TRUE(replayed.ok() && replayed->replay) << replayed.status().ToString();
  EXPECT_EQ(replayed->replay->body, "a7");
  EXPECT_EQ(List(*store_, kAlice).size(), 1u);
}

// A migration that changes what a prepared statement returns (migration 4 changed columns'
// collation) makes it fail on the connections that prepared it ("cached plan must not
// change result type"). The connection is then closed and the next prepares afresh: at most
// one read fails, retryable, instead of every read until a restart.
TEST_F(PostgresStoreTest, StatementsAMigrationMadeStaleArePreparedAgain) {
  OpenDefault();
  Add(*store_, kAlice, "before");
  ASSERT_EQ(List(*store_, kAlice).size(), 1u);  // the listing is prepared and planned
  Sql(url_).Exec("ALTER TABLE todo.element ALTER COLUMN td_user TYPE text COLLATE \"POSIX\"");
  auto first = RunSync(store_->ListTasks(kAlice, TaskQuery{}));
  if (!first.ok()) {
    EXPECT_EQ(first.status().code(), ErrorCode::kUnavailable) << first.status().ToString();
  }
  for (int i = 0; i < 3; ++i) {
    auto again = RunSync(store_->ListTasks(kAlice, TaskQuery{}));
    ASSERT_TRUE(again.ok()) << again.status().ToString();
    EXPECT_EQ(again->tasks.size(), 1u);
  }
}

TEST_F(PostgresStoreTest, WithoutMigrateAnUnmigratedDatabaseIsRefused) {
  OpenOptions no_migrate;
  no_migrate.migrate = false;
  auto refused = OpenPostgresStore(url_, no_migrate);
  EXPECT_EQ(CodeOf(refused), ErrorCode::kUnavailable);  // as SQLite: until someone migrates
  OpenDefault();
  store_.reset();
  auto opened = OpenPostgresStore(url_, no_migrate);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_TRUE(RunSync((*opened)->Ping()).ok());
}

TEST_F(PostgresStoreTest, BadOrUnreachableUrls) {
  EXPECT_EQ(CodeOf(OpenPostgresStore("postgresql://[::1", OpenOptions{})),
            ErrorCode::kInvalidArgument);
  Clock::time_point start = Clock::now();
  // Port 1 on loopback: nothing listens, the connection is refused at once.
  EXPECT_EQ(CodeOf(OpenPostgresStore("postgresql://postgres@127.0.0.1:1/postgres", OpenOptions{})),
            ErrorCode::kUnavailable);
  EXPECT_LT(Clock::now() - start, seconds(10));  // never hangs
}

// --- The change-log watcher ---------------------------------------------------------------

// No write notifies (pg_sql.h): a store's watcher sees the change log's sequence move, so
// another store's writes (another todod's) wake this one's feed within a fraction of a second.
TEST_F(PostgresStoreTest, AnotherStoresWritesWakeTheWatcherQuickly) {
  OpenDefault();
  std::unique_ptr<Store> other = Open();
  std::mutex mu;
  std::condition_variable woke;
  int wakes = 0;
  store_->WatchEvents([&] {
    std::lock_guard lock(mu);
    ++wakes;
    woke.notify_all();
  });
  auto wakes_now = [&] {
    std::lock_guard lock(mu);
    return wakes;
  };
  // The first wake comes when the watcher connects.
  Clock::time_point give_up = Clock::now() + seconds(5);
  while (wakes_now() == 0 && Clock::now() < give_up) std::this_thread::sleep_for(milliseconds(10));
  ASSERT_GT(wakes_now(), 0);
  std::this_thread::sleep_for(milliseconds(300));  // past the watcher's first look
  for (int i = 0; i < 3; ++i) {
    int before = wakes_now();
    Clock::time_point wrote = Clock::now();
    Add(*other, kAlice, "from another server " + std::to_string(i));
    std::unique_lock lock(mu);
    ASSERT_TRUE(woke.wait_until(lock, wrote + milliseconds(1000), [&] { return wakes > before; }))
        << "write " << i;
  }
  // Quiet: no write, no wake (the watcher does not wake on every look).
  std::this_thread::sleep_for(milliseconds(300));
  int quiet = wakes_now();
  std::this_thread::sleep_for(milliseconds(500));
  EXPECT_EQ(wakes_now(), quiet);
  store_.reset();  // stops the watcher before `wakes` goes away
}

// --- Failures ------------------------------------------------------------------------------

// A batch stuck behind a lock holds up a batch pipelined behind it on its connection
// (--db-pipeline); with a second connection allowed (--db-pool 2) the next batch takes that
// one instead of queueing behind the stuck one.
TEST_F(PostgresStoreTest, WithTwoConnectionsAWriteDoesNotQueueBehindABatchStuckOnALock) {
  OpenOptions options;
  options.pool_per_loop = 2;
  store_ = Open(options);
  ASSERT_NE(store_, nullptr);
  Task a = Add(*store_, kAlice, "a");
  Add(*store_, kBob, "b");
  std::unique_ptr<Sql> holder = HoldWriteLock("alice");
  std::future<Result<Written<Task>>> stuck = std::async(std::launch::async, [&] {
    return RunSync(store_->UpdateTask(kAlice, a.id,
                                      TaskPatch{.text = "later", .done = std::nullopt}, nullptr));
  });
  AwaitALockWait();
  // Bob's add, while alice's batch waits for the lock.
  std::future<Task> other = std::async(std::launch::async, [&] { return Add(*store_, kBob, "c"); });
  const bool answered = other.wait_for(seconds(2)) == std::future_status::ready;
  holder->Exec("ROLLBACK");
  EXPECT_TRUE(answered) << "bob's add waited behind alice's stuck batch";
  EXPECT_EQ(other.get().text, "c");
  auto later = stuck.get();
  ASSERT_TRUE(later.ok()) << later.status().ToString();
  EXPECT_EQ(later->value->text, "later");
}

TEST_F(PostgresStoreTest, BrokenConnectionMidRequestIsUnavailableAndThePoolHeals) {
  OpenDefault();
  Task a = Add(*store_, kAlice, "a");
  // Hold alice's write lock so that the next write of hers waits inside the server.
  std::unique_ptr<Sql> holder = HoldWriteLock("alice");
  std::future<Result<Written<Task>>> pending = std::async(std::launch::async, [&] {
    return RunSync(store_->UpdateTask(kAlice, a.id,
                                      TaskPatch{.text = "never", .done = std::nullopt}, nullptr));
  });
  // Wait until the write is blocked on the lock, then kill every connection of the store's.
  AwaitALockWait();
  Sql admin(admin_url_);
  admin.Exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + db_ +
             "' AND application_name = 'todo'");
  EXPECT_EQ(CodeOf(pending.get()), ErrorCode::kUnavailable);
  holder->Exec("ROLLBACK");
  // The pool drops the dead connections and opens new ones: the next calls just work.
  EXPECT_EQ(RunSync(store_->GetTask(kAlice, a.id)).value().text, "a");
  Task b = Add(*store_, kAlice, "b");
  EXPECT_GT(b.id, a.id);
}

TEST_F(PostgresStoreTest, ARequestStuckInTheServerGivesUpAtItsDeadlineAndChangesNothing) {
  OpenDefault();
  Task a = Add(*store_, kAlice, "a");
  std::unique_ptr<Sql> holder = HoldWriteLock("alice");
  Clock::time_point start = Clock::now();
  auto stuck = RunSync(
      store_->UpdateTask(kAlice, a.id, TaskPatch{.text = "late", .done = std::nullopt}, nullptr));
  Clock::duration took = Clock::now() - start;
  EXPECT_EQ(CodeOf(stuck), ErrorCode::kUnavailable);
  EXPECT_GE(took, kPostgresRequestTimeout - milliseconds(100));
  EXPECT_LT(took, kPostgresRequestTimeout + seconds(5));  // bounded: never hangs
  // The abandoned backend notices its client is gone (client_connection_check_interval)
  // and aborts, rather than making the change once the lock is free.
  std::this_thread::sleep_for(milliseconds(2500));
  holder->Exec("ROLLBACK");
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_EQ(RunSync(store_->GetTask(kAlice, a.id)).value().text, "a");
  EXPECT_EQ(Events(*store_).size(), 1u);
}

// EventHorizon holds its connection while it waits for the writes in flight to end; the live
// feed asks after every commit. On the batches' own connections that wait held up writes (and
// under load left the batches one connection): the horizon has a connection of its own.
TEST_F(PostgresStoreTest, AHorizonWaitingForAnOpenTransactionDoesNotHoldUpWrites) {
  asio::io_context io(1);
  std::unique_ptr<Store> store = OpenOn({&io}, 1);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(RunOn(io, store->AddTask(kAlice, "first", nullptr)).ok());  // connection open
  // A transaction that has its xid: a horizon asked meanwhile polls until it ends (up to
  // 1 s). It is rolled back as soon as the add is answered: held any longer, it would hold
  // up the horizons of tests running beside this one (the oldest xid is the cluster's).
  Sql holder(url_);
  holder.Exec("BEGIN");
  holder.Exec("INSERT INTO todo.element (td_user, init_time, last_update_time, task) "
              "VALUES ('bob', now(), now(), 'open')");
  std::optional<Result<int64_t>> horizon;
  std::optional<Result<Written<Task>>> added;
  Clock::time_point start;
  Clock::time_point add_done;
  Clock::time_point horizon_done;
  io.restart();
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        horizon = co_await store->EventHorizon();
        horizon_done = Clock::now();
      },
      asio::detached);
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        asio::steady_timer pause(io, milliseconds(100));  // the horizon is polling by now
        co_await pause.async_wait(asio::use_awaitable);
        start = Clock::now();
        added = co_await store->AddTask(kAlice, "while the horizon waits", nullptr);
        add_done = Clock::now();
        holder.Exec("ROLLBACK");
      },
      asio::detached);
  io.run();
  ASSERT_TRUE(added.has_value());
  ASSERT_TRUE(added->ok()) << added->status().ToString();
  EXPECT_LT(add_done - start, milliseconds(500));  // not behind the horizon's wait
  // The horizon was still waiting when the add was answered. (It then ends, or, if another
  // test's transaction is open in the cluster for over a second, gives up: either is fine.)
  ASSERT_TRUE(horizon.has_value());
  if (!horizon->ok()) {
    EXPECT_EQ(CodeOf(*horizon), ErrorCode::kUnavailable);
  }
  EXPECT_GE(horizon_done, add_done);
}

}  // namespace
}  // namespace todo::store::pgtest
