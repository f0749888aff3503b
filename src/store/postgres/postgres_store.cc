#include "store/postgres/postgres_store.h"

#include <libpq-fe.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <compare>
#include <cstdlib>
#include <future>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/validate.h"
#include "store/checks.h"
#include "store/import_match.h"
#include "store/recorded.h"
#include "store/postgres/pg_batch.h"
#include "store/postgres/pg_connection.h"
#include "store/postgres/pg_pool.h"
#include "store/postgres/pg_schema.h"
#include "store/postgres/pg_snapshot_sql.h"
#include "store/postgres/pg_sql.h"

namespace todo::store {
namespace {

using core::Task;
using pg::Clock;
using pg::Connection;
using pg::Params;
using pg::PgResult;
using pg::Pool;
using pg::Query;

// Idempotency records live at least 24 hours (store.h); each loop purges the older ones, a
// chunk (kPurgeRequests) before an idempotent write, at most every kPurgeEvery, or every
// kPurgeCatchUp while chunks come back full: a busy server records far more than a chunk per
// kPurgeEvery (one chunk per 10 minutes let the table grow without end above ~2 keyed
// writes a second), and up to twenty chunks a second outpace the keyed writes one loop takes
// at full load on the development machine (~12,000 a second).
constexpr auto kPurgeEvery = std::chrono::minutes(10);
constexpr auto kPurgeCatchUp = std::chrono::milliseconds(50);
// How often the change-log watcher (WatchEvents) looks at the event sequence.
constexpr auto kWatchEvery = std::chrono::milliseconds(100);

// pg_sql.h's statements and the snapshot's (pg_snapshot_sql.h), prepared on every connection.
constexpr auto kEveryStatement = [] {
  std::array<const pg::Statement*, std::size(pg::kAllStatements) +
                                       std::size(pg::kSnapshotStatements)>
      all{};
  auto end = std::copy(std::begin(pg::kAllStatements), std::end(pg::kAllStatements), all.begin());
  std::copy(std::begin(pg::kSnapshotStatements), std::end(pg::kSnapshotStatements), end);
  return all;
}();
const std::span<const pg::Statement* const> kStatements(kEveryStatement);

// --- Checks made before the database is touched ---------------------------------------------

// PostgreSQL text holds only valid UTF-8 without NUL bytes; anything else a client sends as
// an Idempotency-Key is refused here rather than failing in the database.
bool IsStorableText(std::string_view text) {
  return core::IsValidUtf8(text) && text.find('\0') == std::string_view::npos;
}

template <typename T>
Status CheckIdempotency(const Idempotency<T>* idem) {
  if (idem == nullptr) return Status::Ok();
  if (!IsStorableText(idem->key)) {
    return Status::InvalidArgument("the idempotency key must be UTF-8 text");
  }
  if (!IsStorableText(idem->fingerprint)) {
    return Status::InvalidArgument("the request fingerprint must be UTF-8 text");
  }
  return Status::Ok();
}

// --- Rows ----------------------------------------------------------------------------------

// Columns from `col`: id, td_user, task, created ms, updated ms, done ms or NULL.
Task ReadTask(const PgResult& r, int row, int col = 0) {
  Task task;
  task.id = r.Int(row, col);
  task.user = r.String(row, col + 1);
  task.text = r.String(row, col + 2);
  task.created = core::FromMillis(r.Int(row, col + 3));
  task.updated = core::FromMillis(r.Int(row, col + 4));
  if (auto done = r.OptionalInt(row, col + 5)) task.done = core::FromMillis(*done);
  return task;
}

// Columns: id, at ms, td_user, actor, kind, task_id, task.
Result<core::Event> ReadEvent(const PgResult& r, int row) {
  auto kind = core::ParseEventKind(r.Text(row, 4));
  if (!kind.ok()) return Status::Internal("unknown event kind '" + r.String(row, 4) + "'");
  return core::Event{.id = r.Int(row, 0),
                     .at = core::FromMillis(r.Int(row, 1)),
                     .user = r.String(row, 2),
                     .actor = r.String(row, 3),
                     .kind = *kind,
                     .task_id = r.Int(row, 5),
                     .task = r.String(row, 6)};
}

// The first failed statement's status; OK if all succeeded.
Status FirstError(const std::vector<PgResult>& results) {
  for (const PgResult& r : results) {
    if (!r.ok()) return pg::StatusOf(r);
  }
  return Status::Ok();
}

// --- Array parameters (text format: {"a","b"}, {1,NULL}, {t,f}) ----------------------------

std::string TextArray(const std::vector<const std::string*>& items) {
  std::vector<const char*> texts;  // validated task texts hold no NUL byte
  texts.reserve(items.size());
  for (const std::string* item : items) texts.push_back(item->c_str());
  return pg::TextArrayLiteral(texts);
}

std::string IntArray(const std::vector<std::optional<int64_t>>& items) {
  std::string out = "{";
  for (const auto& item : items) {
    if (out.size() > 1) out += ',';
    out += item ? std::to_string(*item) : "NULL";
  }
  out += '}';
  return out;
}

std::string BoolArray(const std::vector<bool>& items) {
  std::string out = "{";
  for (bool item : items) {
    if (out.size() > 1) out += ',';
    out += item ? 't' : 'f';
  }
  out += '}';
  return out;
}


// --- The store -----------------------------------------------------------------------------

class PostgresStore final : public Store {
 public:
  PostgresStore(std::string_view url, const OpenOptions& options);
  ~PostgresStore() override;

  asio::awaitable<Result<Written<Task>>> AddTask(const Actor& actor, std::string text,
                                                 const Idempotency<Task>* idem) override;
  asio::awaitable<Result<Task>> GetTask(const Actor& actor, int64_t id) override;
  asio::awaitable<Result<TaskPage>> ListTasks(const Actor& actor, const TaskQuery& query) override;
  asio::awaitable<Result<Written<Task>>> UpdateTask(const Actor& actor, int64_t id, TaskPatch patch,
                                                    const Idempotency<Task>* idem) override;
  asio::awaitable<Result<Written<Task>>> RemoveTask(const Actor& actor, int64_t id,
                                                    const Idempotency<Task>* idem) override;
  asio::awaitable<Result<Written<std::vector<int64_t>>>> RemoveOldest(
      const Actor& actor, int count, const Idempotency<std::vector<int64_t>>* idem) override;
  asio::awaitable<Result<ImportStats>> ImportTasks(const Actor& actor,
                                                   std::vector<ImportItem> items) override;
  asio::awaitable<Status> CreateAccount(const Account& account) override;
  asio::awaitable<Result<Account>> FindAccountByTokenHash(std::string token_hash) override;
  asio::awaitable<Result<std::vector<UserSummary>>> ListUsers(const Actor& actor) override;
  asio::awaitable<Result<EventPage>> ListEvents(const Actor& actor, int64_t after,
                                                int limit) override;
  asio::awaitable<Result<int64_t>> EventHorizon() override;
  asio::awaitable<Status> Snapshot(const Actor& actor, SnapshotSink& sink) override;
  void WatchEvents(std::function<void()> wake) override;
  asio::awaitable<Status> Ping() override;
  BatchStats batch_stats() const override {
    BatchStats stats;
    for (const Loop& loop : loops_) {
      stats.batches += loop.batcher->batches();
      stats.writes += loop.batcher->writes();
      stats.alone += loop.batcher->alone();
      stats.merged_adds += loop.batcher->merged_adds();
      stats.merged_removes += loop.batcher->merged_removes();
      stats.resent += loop.batcher->resent();
    }
    return stats;
  }

 private:
  // The change-log watcher (WatchEvents): one connection of its own, on the first loop,
  // that reads the event sequence every kWatchEvery and wakes the feed when it moved;
  // reconnected (after a pause) whenever it breaks, until stop_watching_.
  asio::awaitable<void> Watch();

  // One event loop and the connections used from it. Touched only on that loop's thread.
  struct Loop {
    asio::io_context* io = nullptr;
    std::unique_ptr<Pool> pool;
    std::unique_ptr<pg::Batcher> batcher;  // plain writes, on `pool`
    // One connection for EventHorizon, which holds its connection while it polls (every
    // 2 ms, until the writes in flight end): on `pool`, the live feed, which asks after every
    // commit, kept one of the batches' connections busy most of the time under load, and the
    // batches ran one at a time (docs/benchmarks.md, fifth session).
    std::unique_ptr<Pool> horizon_pool;
    Clock::time_point next_purge;
  };

  // Runs make(loop) on the caller's loop if it is one of ours, else on one of ours (round
  // robin), resuming the caller on its own executor either way.
  template <typename R, typename Make>
  asio::awaitable<R> OnLoop(Make make);

  // One statement, in a segment of its own in the loop's next batch (pg_batch.h). A read is
  // retried once (on a fresh connection) if the first one broke (running it twice is
  // harmless); a write is not (it may have been made before the connection broke).
  enum class Kind { kRead, kWrite };
  asio::awaitable<Result<PgResult>> RunOne(Loop& loop, Clock::time_point deadline,
                                           const pg::Statement& statement, Params params,
                                           Kind kind = Kind::kRead);
  // The same for several statements in one segment; OK only if each succeeded.
  asio::awaitable<Status> RunPooled(Loop& loop, Clock::time_point deadline,
                                    const std::vector<Query>& queries,
                                    std::vector<PgResult>& results, Kind kind);
  // A read for `actor`: on a replica with the actor's min_position, kReplayedPast first, in
  // the same round trip and on the same connection (a load balancer may send two connections
  // to two replicas); kUnavailable if this replica is behind.
  asio::awaitable<Result<PgResult>> Read(Loop& loop, Clock::time_point deadline,
                                         const Actor& actor, const pg::Statement& statement,
                                         Params params);

  // Snapshot on a connection of its own, opened on `loop`: the cut (CutSnapshot), then the
  // pages.
  asio::awaitable<Status> Walk(Loop& loop, SnapshotSink& sink);

  // EventHorizon on `loop`'s horizon connection (three statements, then polls).
  asio::awaitable<Result<int64_t>> Horizon(Loop& loop, Clock::time_point deadline);

  // Runs a write's statements (the last one's rows are parsed by `parse`) as one
  // transaction, batched with others, under the idempotency rules of store.h (pg_sql.h:
  // the last statement takes the key and status as its last two parameters, added here).
  template <typename T, typename Parse>
  asio::awaitable<Result<Written<T>>> Write(Loop& loop, Clock::time_point deadline,
                                            const std::string& user, const Idempotency<T>* idem,
                                            std::vector<Query> queries, Parse parse);
  // The answer recorded for `idem`'s key (which the write found taken).
  template <typename T>
  asio::awaitable<Result<Written<T>>> Replayed(Loop& loop, Clock::time_point deadline,
                                               const std::string& user,
                                               const Idempotency<T>& idem);

  asio::awaitable<Result<ImportStats>> Import(Loop& loop, Clock::time_point deadline,
                                              const std::string& user,
                                              const std::vector<ImportItem>& items);

  // Tells this process's live feed at once that a write of ours committed (other
  // processes' feeds learn of it from their watchers: pg_sql.h).
  void Committed() const {
    if (wake_) wake_();
  }

  static Clock::time_point Deadline() { return Clock::now() + kPostgresRequestTimeout; }

  pg::ConnectParams params_;
  bool replica_ = false;  // OpenOptions::replica
  // The loop of our own, when the caller gave none.
  std::unique_ptr<asio::io_context> own_io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> own_work_;
  std::thread own_thread_;
  std::vector<Loop> loops_;
  std::atomic<std::size_t> next_loop_{0};

  // The watcher (WatchEvents). watcher_ and watch_timer_ are touched only on loops_[0]'s
  // thread.
  std::function<void()> wake_;
  std::unique_ptr<Connection> watcher_;
  std::unique_ptr<asio::steady_timer> watch_timer_;
  std::atomic<bool> stop_watching_{false};
  std::optional<std::future<void>> watcher_done_;
};

PostgresStore::PostgresStore(std::string_view url, const OpenOptions& options)
    : params_(url), replica_(options.replica) {
  std::vector<asio::io_context*> ios = options.loops;
  if (ios.empty()) {
    own_io_ = std::make_unique<asio::io_context>(1);
    own_work_.emplace(own_io_->get_executor());
    ios.push_back(own_io_.get());
  }
  for (asio::io_context* io : ios) {
    auto pool = std::make_unique<Pool>(*io, params_, kStatements, options.pool_per_loop);
    auto batcher = std::make_unique<pg::Batcher>(*io, *pool, options.pool_per_loop,
                                                 options.pipeline_depth);
    loops_.push_back(Loop{.io = io,
                          .pool = std::move(pool),
                          .batcher = std::move(batcher),
                          .horizon_pool = std::make_unique<Pool>(*io, params_, kStatements, 1),
                          .next_purge = Clock::now()});
  }
  if (own_io_) own_thread_ = std::thread([io = own_io_.get()] { io->run(); });
}

PostgresStore::~PostgresStore() {
  if (watcher_done_) {
    // Wake the watcher out of its wait (on its own thread) and let it end.
    stop_watching_.store(true);
    asio::post(*loops_[0].io, [this] {
      if (watch_timer_) watch_timer_->cancel();
      if (watcher_) watcher_->Close();
    });
    if (watcher_done_->wait_for(std::chrono::seconds(3)) != std::future_status::ready) {
      // Its loop no longer runs: the coroutine is destroyed with the loop, touching nothing.
    }
  }
  // No call is in flight (store.h), so no operation is pending on any connection: every wait
  // is awaited by the request that started it. Our own loop is stopped first so that nothing
  // runs on it while its connections close; the callers' loops only watch our sockets, and
  // releasing those is safe from this thread.
  if (own_io_) {
    own_work_.reset();
    own_io_->stop();
    own_thread_.join();
  }
  for (Loop& loop : loops_) {
    loop.pool->Close();
    loop.horizon_pool->Close();
  }
  loops_.clear();
}

template <typename R, typename Make>
asio::awaitable<R> PostgresStore::OnLoop(Make make) {
  asio::any_io_executor executor = co_await asio::this_coro::executor;
  asio::execution_context* context =
      &asio::query(executor, asio::execution::context_as<asio::execution_context&>);
  for (Loop& loop : loops_) {
    if (context == loop.io) co_return co_await make(loop);
  }
  Loop& loop = loops_[next_loop_.fetch_add(1, std::memory_order_relaxed) % loops_.size()];
  // co_spawn keeps the caller's executor busy (RunSync's io_context does not run out of work)
  // and dispatches the result back to it.
  co_return co_await asio::co_spawn(*loop.io, make(loop), asio::use_awaitable);
}

asio::awaitable<Status> PostgresStore::RunPooled(Loop& loop, Clock::time_point deadline,
                                                 const std::vector<Query>& queries,
                                                 std::vector<PgResult>& results, Kind kind) {
  Status status;
  const int attempts = kind == Kind::kRead ? 2 : 1;
  for (int attempt = 0; attempt < attempts; ++attempt) {
    // A segment of its own in the loop's next batch (pg_batch.h).
    status = co_await loop.batcher->RunAlone(queries, results, deadline);
    if (status.ok()) co_return FirstError(results);
    if (Clock::now() >= deadline) break;
  }
  co_return status;
}

asio::awaitable<Result<PgResult>> PostgresStore::RunOne(Loop& loop, Clock::time_point deadline,
                                                        const pg::Statement& statement,
                                                        Params params, Kind kind) {
  std::vector<Query> queries;
  queries.push_back(Query{&statement, std::move(params)});
  std::vector<PgResult> results;
  if (Status s = co_await RunPooled(loop, deadline, queries, results, kind); !s.ok()) co_return s;
  co_return std::move(results[0]);
}

asio::awaitable<Result<PgResult>> PostgresStore::Read(Loop& loop, Clock::time_point deadline,
                                                      const Actor& actor,
                                                      const pg::Statement& statement,
                                                      Params params) {
  if (!replica_ || actor.min_position.empty()) {
    co_return co_await RunOne(loop, deadline, statement, std::move(params));
  }
  if (Status s = CheckPosition(actor.min_position); !s.ok()) co_return s;
  std::vector<Query> queries;
  queries.push_back(Query{&pg::kReplayedPast, Params().Ref(actor.min_position)});
  queries.push_back(Query{&statement, std::move(params)});
  std::vector<PgResult> results;
  Status ran = co_await RunPooled(loop, deadline, queries, results, Kind::kRead);
  if (!ran.ok()) co_return ran;
  if (results[0].Text(0, 0) != "t") {
    co_return Status::Unavailable("this replica has not replayed position " + actor.min_position +
                                  " yet");
  }
  co_return std::move(results[1]);
}

template <typename T, typename Parse>
asio::awaitable<Result<Written<T>>> PostgresStore::Write(Loop& loop, Clock::time_point deadline,
                                                         const std::string& user,
                                                         const Idempotency<T>* idem,
                                                         std::vector<Query> queries, Parse parse) {
  if (idem != nullptr && Clock::now() >= loop.next_purge) {
    loop.next_purge = Clock::now() + kPurgeEvery;
    // Best effort: a failure here leaves the records for the next purge.
    auto purged = co_await RunOne(loop, deadline, pg::kPurgeRequests, Params(), Kind::kWrite);
    if (purged.ok() && purged->affected() >= pg::kPurgeChunk) {
      loop.next_purge = Clock::now() + kPurgeCatchUp;
    }
  }
  // The write statement's last three parameters: the key columns (pg_sql.h).
  Params& write = queries.back().params;
  if (idem != nullptr) {
    write.Ref(idem->key).Int(idem->status).Ref(idem->fingerprint);
  } else {
    write.Null().Int(0).Null();
  }

  // One round trip, perhaps in one transaction with other writes (pg_batch.h).
  std::vector<PgResult> results;
  std::string position;
  Status ran = co_await loop.batcher->Run(queries, user, results, position, deadline);
  if (!ran.ok()) co_return ran;
  if (Status s = FirstError(results); !s.ok()) co_return s;
  // The last column says whether the key was claimed; a false row: it was recorded already.
  const PgResult& written = results.back();
  if (idem != nullptr && written.rows() == 1 && written.Text(0, written.columns() - 1) == "f") {
    co_return co_await Replayed(loop, deadline, user, *idem);
  }
  Result<T> value = parse(written);
  if (!value.ok()) co_return value.status();
  Committed();
  co_return Written<T>{
      .value = std::move(value).value(), .replay = std::nullopt, .position = position};
}

template <typename T>
asio::awaitable<Result<Written<T>>> PostgresStore::Replayed(Loop& loop, Clock::time_point deadline,
                                                            const std::string& user,
                                                            const Idempotency<T>& idem) {
  // The position read now is past the recorded write's commit.
  std::vector<Query> queries;
  queries.push_back(Query{&pg::kFindRequest, Params().Ref(user).Ref(idem.key)});
  queries.push_back(Query{&pg::kWalPosition, Params()});
  std::vector<PgResult> results;
  if (Status s = co_await RunPooled(loop, deadline, queries, results, Kind::kRead); !s.ok()) {
    co_return s;
  }
  const PgResult& recorded = results[0];
  if (recorded.rows() == 0) {
    // Recorded a moment ago and purged since: only possible at the 24-hour boundary.
    co_return Status::Unavailable("idempotency record changed while reading it; retry");
  }
  if (recorded.Text(0, 0) != idem.fingerprint) {
    co_return Status::Conflict("idempotency key '" + idem.key +
                               "' was already used for another request");
  }
  Replay replay{.status = static_cast<int>(recorded.Int(0, 1)), .body = recorded.String(0, 2)};
  if (!recorded.IsNull(0, 3)) {
    Result<T> first = DecodeRecorded<T>(recorded.Text(0, 3), user);
    if (!first.ok()) co_return first.status();
    replay.body = idem.render ? idem.render(*first) : std::string();
  }
  co_return Written<T>{
      .value = std::nullopt, .replay = std::move(replay), .position = results[1].String(0, 0)};
}

// --- Tasks ---------------------------------------------------------------------------------

asio::awaitable<Result<Written<Task>>> PostgresStore::AddTask(const Actor& actor, std::string text,
                                                              const Idempotency<Task>* idem) {
  if (Status s = CheckCanWrite(actor); !s.ok()) co_return s;
  if (Status s = CheckIdempotency(idem); !s.ok()) co_return s;
  if (Status s = core::ValidateTaskText(text); !s.ok()) co_return s;
  Clock::time_point deadline = Deadline();
  auto parse = [&](const PgResult& r) -> Result<Task> {
    if (r.rows() != 1) return Status::Internal("adding a task returned no row");
    core::TimePoint created = core::FromMillis(r.Int(0, 1));
    return Task{.id = r.Int(0, 0),
                .user = actor.name,
                .text = text,
                .created = created,
                .updated = created,
                .done = std::nullopt};
  };
  co_return co_await OnLoop<Result<Written<Task>>>([&](Loop& loop) {
    std::vector<Query> queries;
    queries.push_back(Query{&pg::kAddTask, Params().Ref(actor.name).Ref(text)});
    return Write<Task>(loop, deadline, actor.name, idem, std::move(queries), parse);
  });
}

asio::awaitable<Result<Task>> PostgresStore::GetTask(const Actor& actor, int64_t id) {
  if (id <= 0) co_return TaskNotFound(id);
  Clock::time_point deadline = Deadline();
  Result<PgResult> found = co_await OnLoop<Result<PgResult>>([&](Loop& loop) {
    if (core::CanReadAll(actor.role)) {
      return Read(loop, deadline, actor, pg::kGetAnyTask, Params().Int(id));
    }
    return Read(loop, deadline, actor, pg::kGetTaskOfUser, Params().Int(id).Ref(actor.name));
  });
  if (!found.ok()) co_return found.status();
  if (found->rows() == 0) co_return TaskNotFound(id);
  co_return ReadTask(*found, 0);
}

asio::awaitable<Result<TaskPage>> PostgresStore::ListTasks(const Actor& actor,
                                                           const TaskQuery& query) {
  Result<std::string> listed = ListedUser(actor, query);
  if (!listed.ok()) co_return listed.status();
  std::string user = std::move(listed).value();
  const pg::Statement* statement = nullptr;
  switch (query.state) {
    case core::TaskState::kOpen:
      statement = user.empty() ? &pg::kListAnyOpen : &pg::kListUserOpen;
      break;
    case core::TaskState::kDone:
      statement = user.empty() ? &pg::kListAnyDone : &pg::kListUserDone;
      break;
    case core::TaskState::kAll:
      statement = user.empty() ? &pg::kListAny : &pg::kListUserAll;
      break;
  }
  Params params;
  if (!user.empty()) params.Ref(user);
  // One row more than the page tells whether another page follows.
  params.Int(query.after).Int(int64_t{query.limit} + 1);
  Clock::time_point deadline = Deadline();
  Result<PgResult> rows = co_await OnLoop<Result<PgResult>>(
      [&](Loop& loop) { return Read(loop, deadline, actor, *statement, std::move(params)); });
  if (!rows.ok()) co_return rows.status();
  TaskPage page;
  page.tasks.reserve(static_cast<std::size_t>(rows->rows()));
  for (int i = 0; i < rows->rows(); ++i) page.tasks.push_back(ReadTask(*rows, i));
  if (page.tasks.size() > static_cast<std::size_t>(query.limit)) {
    page.tasks.pop_back();
    page.next = page.tasks.back().id;
  }
  co_return page;
}

asio::awaitable<Result<Written<Task>>> PostgresStore::UpdateTask(const Actor& actor, int64_t id,
                                                                 TaskPatch patch,
                                                                 const Idempotency<Task>* idem) {
  if (Status s = CheckCanWrite(actor); !s.ok()) co_return s;
  if (Status s = CheckIdempotency(idem); !s.ok()) co_return s;
  if (!patch.text && !patch.done) {
    co_return Status::InvalidArgument("nothing to change: give a new text or a done state");
  }
  if (patch.text) {
    if (Status s = core::ValidateTaskText(*patch.text); !s.ok()) co_return s;
  }
  Clock::time_point deadline = Deadline();
  auto parse = [&](const PgResult& r) -> Result<Task> {
    if (r.rows() == 0) return TaskNotFound(id);
    return ReadTask(r, 0);
  };
  co_return co_await OnLoop<Result<Written<Task>>>([&](Loop& loop) {
    std::vector<Query> queries;
    queries.push_back(Query{&pg::kLockUser, Params().Ref(actor.name)});
    queries.push_back(
        Query{&pg::kUpdateTask, Params().Ref(actor.name).Int(id).Opt(patch.text).Opt(patch.done)});
    return Write<Task>(loop, deadline, actor.name, idem, std::move(queries), parse);
  });
}

asio::awaitable<Result<Written<Task>>> PostgresStore::RemoveTask(const Actor& actor, int64_t id,
                                                                 const Idempotency<Task>* idem) {
  if (Status s = CheckCanWrite(actor); !s.ok()) co_return s;
  if (Status s = CheckIdempotency(idem); !s.ok()) co_return s;
  Clock::time_point deadline = Deadline();
  auto parse = [&](const PgResult& r) -> Result<Task> {
    if (r.rows() == 0) return TaskNotFound(id);
    return ReadTask(r, 0);
  };
  co_return co_await OnLoop<Result<Written<Task>>>([&](Loop& loop) {
    std::vector<Query> queries;
    queries.push_back(Query{&pg::kLockUser, Params().Ref(actor.name)});
    queries.push_back(Query{&pg::kRemoveTask, Params().Ref(actor.name).Int(id)});
    return Write<Task>(loop, deadline, actor.name, idem, std::move(queries), parse);
  });
}

asio::awaitable<Result<Written<std::vector<int64_t>>>> PostgresStore::RemoveOldest(
    const Actor& actor, int count, const Idempotency<std::vector<int64_t>>* idem) {
  if (Status s = CheckCanWrite(actor); !s.ok()) co_return s;
  if (Status s = CheckIdempotency(idem); !s.ok()) co_return s;
  if (count < 1 || count > kMaxRemoveOldest) {
    co_return Status::InvalidArgument("count must be between 1 and " +
                                      std::to_string(kMaxRemoveOldest) + ", not " +
                                      std::to_string(count));
  }
  Clock::time_point deadline = Deadline();
  auto parse = [](const PgResult& r) -> Result<std::vector<int64_t>> {
    std::vector<int64_t> ids;
    ids.reserve(static_cast<std::size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) ids.push_back(r.Int(i, 0));
    return ids;
  };
  co_return co_await OnLoop<Result<Written<std::vector<int64_t>>>>([&](Loop& loop) {
    std::vector<Query> queries;
    queries.push_back(Query{&pg::kLockUser, Params().Ref(actor.name)});
    queries.push_back(Query{&pg::kRemoveOldest, Params().Ref(actor.name).Int(count)});
    return Write<std::vector<int64_t>>(loop, deadline, actor.name, idem, std::move(queries), parse);
  });
}

asio::awaitable<Result<ImportStats>> PostgresStore::ImportTasks(const Actor& actor,
                                                                std::vector<ImportItem> items) {
  if (Status s = CheckCanWrite(actor); !s.ok()) co_return s;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (Status s = core::ValidateTaskText(items[i].text); !s.ok()) {
      co_return Status::InvalidArgument("item " + std::to_string(i + 1) + ": " + s.message());
    }
    if (items[i].precision.count() < 1) {
      co_return Status::InvalidArgument("item " + std::to_string(i + 1) +
                                        ": precision must be at least 1 ms");
    }
  }
  if (items.empty()) co_return ImportStats{};
  Clock::time_point deadline = Deadline();
  co_return co_await OnLoop<Result<ImportStats>>(
      [&](Loop& loop) { return Import(loop, deadline, actor.name, items); });
}

asio::awaitable<Result<ImportStats>> PostgresStore::Import(Loop& loop, Clock::time_point deadline,
                                                           const std::string& user,
                                                           const std::vector<ImportItem>& items) {
  auto lease = co_await loop.pool->Acquire(deadline);
  if (!lease.ok()) co_return lease.status();
  Connection& connection = **lease;

  // Round trip 1: lock the user's tasks, then read the ones whose texts the file names. The
  // file is compared with the store as it is once the lock is held.
  std::vector<const std::string*> texts;
  {
    std::set<std::string_view> seen;
    for (const ImportItem& item : items) {
      if (seen.insert(item.text).second) texts.push_back(&item.text);
    }
  }
  std::vector<Query> first;
  first.push_back(Query{&pg::kBegin, Params()});
  first.push_back(Query{&pg::kEnsureTally, Params().Ref(user)});
  first.push_back(Query{&pg::kLockUser, Params().Ref(user)});
  first.push_back(Query{&pg::kImportExisting, Params().Ref(user).Own(TextArray(texts))});
  std::vector<PgResult> results;
  if (Status s = co_await connection.Run(first, results, deadline); !s.ok()) co_return s;
  std::vector<Query> second;
  if (Status failed = FirstError(results); !failed.ok()) {
    second.push_back(Query{&pg::kRollback, Params()});
    (void)co_await connection.Run(second, results, deadline);
    co_return failed;
  }
  // The creation times of the user's tasks, by text. Keyed by views of the items' own texts,
  // which outlive `results`.
  std::unordered_map<std::string_view, std::vector<int64_t>> existing;
  for (const std::string* text : texts) existing.try_emplace(*text);
  const PgResult& rows = results[3];
  for (int i = 0; i < rows.rows(); ++i) {
    auto found = existing.find(rows.Text(i, 0));
    if (found != existing.end()) found->second.push_back(rows.Int(i, 1));
  }
  std::vector<const ImportItem*> to_add = ItemsToAdd(items, existing);
  ImportStats stats{.added = static_cast<int64_t>(to_add.size()),
                    .skipped = static_cast<int64_t>(items.size() - to_add.size())};
  if (to_add.empty()) {
    second.push_back(Query{&pg::kRollback, Params()});
    if (Status s = co_await connection.Run(second, results, deadline); !s.ok()) co_return s;
    co_return stats;
  }

  // Round trip 2: insert what is missing, log it, count it, COMMIT.
  std::vector<const std::string*> add_texts;
  std::vector<std::optional<int64_t>> created;
  std::vector<bool> is_done;
  std::vector<std::optional<int64_t>> done;
  for (const ImportItem* item : to_add) {
    add_texts.push_back(&item->text);
    created.push_back(item->created ? std::optional(core::ToMillis(*item->created)) : std::nullopt);
    is_done.push_back(item->is_done);
    done.push_back(item->is_done && item->done ? std::optional(core::ToMillis(*item->done))
                                               : std::nullopt);
  }
  second.push_back(Query{&pg::kImportInsert, Params()
                                                 .Ref(user)
                                                 .Own(TextArray(add_texts))
                                                 .Own(IntArray(created))
                                                 .Own(BoolArray(is_done))
                                                 .Own(IntArray(done))});
  second.push_back(Query{&pg::kCommit, Params()});
  if (Status s = co_await connection.Run(second, results, deadline); !s.ok()) {
    co_return Status::Unavailable(
        "lost the PostgreSQL connection while committing (the import "
        "may or may not have been made): " +
        s.message());
  }
  if (Status failed = FirstError(results); !failed.ok()) {
    std::vector<Query> rollback;
    rollback.push_back(Query{&pg::kRollback, Params()});
    (void)co_await connection.Run(rollback, results, deadline);
    co_return failed;
  }
  Committed();
  co_return stats;
}

// --- Accounts ------------------------------------------------------------------------------

asio::awaitable<Status> PostgresStore::CreateAccount(const Account& account) {
  if (Status s = core::ValidateUserName(account.name); !s.ok()) co_return s;
  Params params;
  params.Ref(account.name).Own(std::string(core::RoleName(account.role)));
  // No token yet is NULL, so that several such accounts do not collide on UNIQUE.
  if (account.token_hash.empty()) {
    params.Null();
  } else {
    params.Ref(account.token_hash);
  }
  params.Int(core::ToMillis(account.created));
  Clock::time_point deadline = Deadline();
  Result<PgResult> inserted = co_await OnLoop<Result<PgResult>>([&](Loop& loop) {
    return RunOne(loop, deadline, pg::kCreateAccount, std::move(params), Kind::kWrite);
  });
  if (!inserted.ok()) {
    if (inserted.status().code() == core::ErrorCode::kConflict) {
      co_return Status::Conflict("another account has the same token");
    }
    co_return inserted.status();
  }
  if (inserted->rows() == 0) co_return Status::Conflict("account '" + account.name + "' exists");
  co_return Status::Ok();
}

asio::awaitable<Result<Account>> PostgresStore::FindAccountByTokenHash(std::string token_hash) {
  if (token_hash.empty()) co_return Status::Unauthenticated("no token");
  Clock::time_point deadline = Deadline();
  Result<PgResult> found = co_await OnLoop<Result<PgResult>>([&](Loop& loop) {
    return RunOne(loop, deadline, pg::kFindAccount, Params().Ref(token_hash));
  });
  if (!found.ok()) co_return found.status();
  if (found->rows() == 0) co_return Status::Unauthenticated("unknown token");
  auto role = core::ParseRole(found->Text(0, 1));
  if (!role.ok()) co_return Status::Internal("unknown role '" + found->String(0, 1) + "'");
  co_return Account{.name = found->String(0, 0),
                    .role = *role,
                    .token_hash = found->String(0, 2),
                    .created = core::FromMillis(found->Int(0, 3))};
}

asio::awaitable<Result<std::vector<UserSummary>>> PostgresStore::ListUsers(const Actor& actor) {
  if (!core::CanReadAll(actor.role)) {
    co_return Status::PermissionDenied("only managers and admins list users");
  }
  Clock::time_point deadline = Deadline();
  Result<PgResult> rows = co_await OnLoop<Result<PgResult>>(
      [&](Loop& loop) { return Read(loop, deadline, actor, pg::kListUsers, Params()); });
  if (!rows.ok()) co_return rows.status();
  std::vector<UserSummary> users;
  users.reserve(static_cast<std::size_t>(rows->rows()));
  for (int i = 0; i < rows->rows(); ++i) {
    auto role = core::ParseRole(rows->Text(i, 1));
    if (!role.ok()) co_return Status::Internal("unknown role '" + rows->String(i, 1) + "'");
    UserSummary user{.name = rows->String(i, 0),
                     .role = *role,
                     .open = rows->Int(i, 2),
                     .done = rows->Int(i, 3),
                     .last_update = std::nullopt};
    if (auto at = rows->OptionalInt(i, 4)) user.last_update = core::FromMillis(*at);
    users.push_back(std::move(user));
  }
  co_return users;
}

// --- Change log and health -----------------------------------------------------------------

asio::awaitable<Result<EventPage>> PostgresStore::ListEvents(const Actor& actor, int64_t after,
                                                             int limit) {
  if (Status s = CheckLimit(limit); !s.ok()) co_return s;
  if (Status s = CheckAfter(after); !s.ok()) co_return s;
  bool all = core::CanReadAll(actor.role);
  Params params;
  if (!all) params.Ref(actor.name);
  params.Int(after).Int(int64_t{limit} + 1);
  Clock::time_point deadline = Deadline();
  Result<PgResult> rows = co_await OnLoop<Result<PgResult>>([&](Loop& loop) {
    return Read(loop, deadline, actor, all ? pg::kListEventsAny : pg::kListEventsOfUser,
                  std::move(params));
  });
  if (!rows.ok()) co_return rows.status();
  EventPage page;
  page.events.reserve(static_cast<std::size_t>(rows->rows()));
  for (int i = 0; i < rows->rows(); ++i) {
    Result<core::Event> event = ReadEvent(*rows, i);
    if (!event.ok()) co_return event.status();
    page.events.push_back(std::move(event).value());
  }
  if (page.events.size() > static_cast<std::size_t>(limit)) {
    page.events.pop_back();
    page.next = page.events.back().id;
  }
  co_return page;
}

asio::awaitable<Result<int64_t>> PostgresStore::EventHorizon() {
  Clock::time_point deadline = Deadline();
  co_return co_await OnLoop<Result<int64_t>>(
      [&](Loop& loop) { return Horizon(loop, deadline); });
}

// Why this is exact (docs/decisions/0006): a transaction that drew an event id <= S drew it
// before S was read, and it had its transaction id by then (every write's events are made
// from rows its statement already wrote). The fresh id N is assigned after S was read, so it
// is larger than all of theirs; once the oldest running transaction id is past N, every one
// of them has ended: committed (visible to the next read) or rolled back (never visible).
asio::awaitable<Result<int64_t>> PostgresStore::Horizon(Loop& loop, Clock::time_point deadline) {
  constexpr auto kPatience = std::chrono::seconds(1);
  constexpr auto kPause = std::chrono::milliseconds(2);
  auto parse_xid = [](const PgResult& r) -> uint64_t {
    return r.rows() == 1 ? std::strtoull(r.String(0, 0).c_str(), nullptr, 10) : 0;
  };
  auto lease = co_await loop.horizon_pool->Acquire(deadline);
  if (!lease.ok()) co_return lease.status();
  std::vector<Query> queries;
  queries.push_back(Query{&pg::kLastEventId, Params()});
  queries.push_back(Query{&pg::kNewXid, Params()});
  queries.push_back(Query{&pg::kOldestRunningXid, Params()});
  const std::size_t one_each[] = {1, 1, 1};
  std::vector<PgResult> results;
  Status sent = co_await (*lease)->Run(queries, one_each, results, deadline);
  if (!sent.ok()) co_return sent;
  if (Status failed = FirstError(results); !failed.ok()) co_return failed;
  const int64_t last = results[0].Int(0, 0);
  const uint64_t fresh = parse_xid(results[1]);
  uint64_t oldest = parse_xid(results[2]);
  Clock::time_point give_up = std::min(deadline, Clock::now() + kPatience);
  asio::steady_timer pause(*loop.io);
  while (oldest <= fresh) {
    if (Clock::now() >= give_up) {
      co_return Status::Unavailable(
          "transactions older than the change log's horizon are still running");
    }
    pause.expires_after(kPause);
    co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
    std::vector<Query> again;
    again.push_back(Query{&pg::kOldestRunningXid, Params()});
    Status asked = co_await (*lease)->Run(again, results, deadline);
    if (!asked.ok()) co_return asked;
    if (Status failed = FirstError(results); !failed.ok()) co_return failed;
    oldest = parse_xid(results[0]);
  }
  co_return last;
}

// --- Snapshots -----------------------------------------------------------------------------

namespace {

// Opens the snapshot's transaction on `connection` and takes its snapshot under the change
// log's SHARE lock (pg_snapshot_sql.h says why that is an exact cut). The lock waits at
// most lock_timeout; then the attempt is rolled back and made again after a pause, so that
// writers are never held up behind the snapshot for long. kUnavailable if no attempt got the
// lock before the deadline.
asio::awaitable<Result<SnapshotHeader>> CutSnapshot(Connection& connection,
                                                    Clock::time_point deadline) {
  constexpr auto kPause = std::chrono::milliseconds(20);
  asio::steady_timer pause(co_await asio::this_coro::executor);
  std::vector<PgResult> results;
  for (;;) {
    std::vector<Query> cut;
    for (const pg::Statement* statement :
         {&pg::kSnapshotBegin, &pg::kSnapshotSavepoint, &pg::kSnapshotLockTimeout,
          &pg::kSnapshotLockLog, &pg::kSnapshotHead, &pg::kSnapshotRelease,
          &pg::kSnapshotReadOnly}) {
      cut.push_back(Query{statement, Params()});
    }
    if (Status s = co_await connection.Run(cut, results, deadline); !s.ok()) co_return s;
    if (FirstError(results).ok()) {
      const PgResult& head = results[4];
      co_return SnapshotHeader{.position = head.Int(0, 0),
                               .taken = core::FromMillis(head.Int(0, 1)),
                               .tasks = head.Int(0, 2)};
    }
    std::vector<Query> rollback;
    rollback.push_back(Query{&pg::kRollback, Params()});
    std::vector<PgResult> ignored;
    if (Status s = co_await connection.Run(rollback, ignored, deadline); !s.ok()) co_return s;
    if (results[3].sqlstate() != pg::kLockNotAvailableState) co_return FirstError(results);
    if (Clock::now() + kPause >= deadline) {
      co_return Status::Unavailable("the change log stayed locked by writers; try again");
    }
    pause.expires_after(kPause);
    co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

}  // namespace

asio::awaitable<Status> PostgresStore::Snapshot(const Actor& actor, SnapshotSink& sink) {
  if (!core::CanReadAll(actor.role)) {
    co_return Status::PermissionDenied("only managers and admins take snapshots");
  }
  co_return co_await OnLoop<Status>([&](Loop& loop) { return Walk(loop, sink); });
}

asio::awaitable<Status> PostgresStore::Walk(Loop& loop, SnapshotSink& sink) {
  // A connection of its own, not the loop's pool: the walk lasts as long as the client takes
  // to read the pages, and the pool's few connections carry every request's batches.
  Connection connection(*loop.io);
  if (Status s = co_await connection.Connect(params_, kStatements, Deadline()); !s.ok()) {
    co_return s;
  }
  Result<SnapshotHeader> header = co_await CutSnapshot(connection, Deadline());
  if (!header.ok()) co_return header.status();
  if (Status s = co_await sink.Begin(*header); !s.ok()) co_return s;
  // Each page is read after the sink took the previous one; any early return closes the
  // connection, which ends the transaction.
  std::vector<PgResult> results;
  for (int64_t after = 0;;) {
    std::vector<Query> read;
    read.push_back(Query{&pg::kListAny, Params().Int(after).Int(kSnapshotPage)});
    if (Status s = co_await connection.Run(read, results, Deadline()); !s.ok()) co_return s;
    if (Status s = FirstError(results); !s.ok()) co_return s;
    const PgResult& rows = results[0];
    std::vector<Task> tasks;
    tasks.reserve(static_cast<std::size_t>(rows.rows()));
    for (int i = 0; i < rows.rows(); ++i) tasks.push_back(ReadTask(rows, i));
    if (tasks.empty()) break;
    after = tasks.back().id;
    bool last = tasks.size() < static_cast<std::size_t>(kSnapshotPage);
    if (Status s = co_await sink.Page(std::move(tasks)); !s.ok()) co_return s;
    if (last) break;
  }
  std::vector<Query> commit;
  commit.push_back(Query{&pg::kCommit, Params()});
  if (Status s = co_await connection.Run(commit, results, Deadline()); !s.ok()) co_return s;
  co_return FirstError(results);
}

void PostgresStore::WatchEvents(std::function<void()> wake) {
  if (watcher_done_ || !wake) return;
  wake_ = std::move(wake);
  auto done = std::make_shared<std::promise<void>>();
  watcher_done_ = done->get_future();
  asio::co_spawn(*loops_[0].io, Watch(), [done](std::exception_ptr) { done->set_value(); });
}

asio::awaitable<void> PostgresStore::Watch() {
  static constexpr const pg::Statement* kSetup[] = {&pg::kLastEventId};
  constexpr auto kRetryPause = std::chrono::seconds(1);
  watcher_ = std::make_unique<Connection>(*loops_[0].io);
  watch_timer_ = std::make_unique<asio::steady_timer>(*loops_[0].io);
  std::optional<int64_t> seen;
  std::vector<PgResult> results;
  while (!stop_watching_.load()) {
    auto pause = kWatchEvery;
    if (!watcher_->connected()) {
      Status connected = co_await watcher_->Connect(params_, kSetup, Clock::now() + kRetryPause * 5);
      if (stop_watching_.load()) break;
      if (connected.ok()) {
        // Whatever changed while we were not watching: read the log anyway.
        seen.reset();
        wake_();
      } else {
        pause = kRetryPause;
      }
    }
    if (watcher_->connected()) {
      std::vector<Query> ask;
      ask.push_back(Query{&pg::kLastEventId, Params()});
      Status asked = co_await watcher_->Run(ask, results, Clock::now() + kRetryPause * 5);
      if (asked.ok() && results[0].ok() && results[0].rows() == 1) {
        int64_t last = results[0].Int(0, 0);
        if (seen && *seen != last) wake_();
        seen = last;
      }
    }
    if (stop_watching_.load()) break;
    watch_timer_->expires_after(pause);
    co_await watch_timer_->async_wait(asio::as_tuple(asio::use_awaitable));
  }
  watcher_->Close();
}

asio::awaitable<Status> PostgresStore::Ping() {
  Clock::time_point deadline = Deadline();
  Result<PgResult> pong = co_await OnLoop<Result<PgResult>>(
      [&](Loop& loop) { return RunOne(loop, deadline, pg::kPing, Params()); });
  if (pong.ok()) co_return Status::Ok();
  co_return Status::Unavailable("the database does not answer: " + pong.status().message());
}

}  // namespace

Result<std::unique_ptr<Store>> OpenPostgresStore(std::string_view url, const OpenOptions& options) {
  std::string conninfo(url);
  char* parse_error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(conninfo.c_str(), &parse_error);
  if (parsed == nullptr) {
    std::string message = parse_error != nullptr ? parse_error : "out of memory";
    PQfreemem(parse_error);
    while (!message.empty() && message.back() == '\n') message.pop_back();
    return Status::InvalidArgument("bad PostgreSQL URL: " + message);
  }
  PQconninfoFree(parsed);

  // One blocking connection, bounded by connect_timeout, to check the server and migrate.
  pg::ConnectParams params(url);
  std::vector<const char*> keywords = params.Keywords();
  std::vector<const char*> values = params.Values();
  PGconn* conn = PQconnectdbParams(keywords.data(), values.data(), /*expand_dbname=*/1);
  if (options.replica && (conn == nullptr || PQstatus(conn) != CONNECTION_OK)) {
    // A replica may be down when a server starts: its reads go to the primary meanwhile
    // (store.h), and the pools connect once it is back.
    PQfinish(conn);
    return std::unique_ptr<Store>(new PostgresStore(url, options));
  }
  if (conn == nullptr || PQstatus(conn) != CONNECTION_OK) {
    std::string message = conn != nullptr ? PQerrorMessage(conn) : "out of memory";
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
      message.pop_back();
    }
    PQfinish(conn);
    return Status::Unavailable("cannot connect to PostgreSQL: " + message);
  }
  // Notices ("schema todo already exists, skipping") are not errors; libpq prints them.
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  Status migrated = pg::Migrate(conn, options.migrate && !options.replica);
  PQfinish(conn);
  // A replica that has not replayed the schema (or its last migration) yet is opened all the
  // same, like one that is down: its reads fail and go to the primary until it catches up.
  if (!migrated.ok() && !options.replica) return migrated;
  return std::unique_ptr<Store>(new PostgresStore(url, options));
}

}  // namespace todo::store
