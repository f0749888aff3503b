// The Store interface: everything todo keeps, behind one abstract class with two
// implementations (sqlite/ for one machine, postgres/ for many servers).
//
// Every method is a C++20 coroutine on Boost.Asio (`co_await store.AddTask(...)`). The
// awaiting coroutine resumes on its own executor; the store never runs blocking work on it
// (SQLite work happens on the store's own threads). A Store is thread-safe: any number of
// coroutines on any threads may call it at once. It is owned by whoever opened it
// (OpenStore returns a unique_ptr); it must outlive every call in flight.
//
// Permissions are enforced here too, not only by callers: writes need a developer Actor and
// touch only that actor's tasks; a developer reads only their own tasks, and another user's
// task looks exactly like a missing one (kNotFound), so ids of others' tasks are not revealed.
//
// Every write is ONE transaction: the task row, its change-log event, the per-user counters
// and the idempotency record commit together or not at all. A returned success means the
// transaction is committed.
//
// Expected failures are returned, never thrown: kInvalidArgument (bad input, checked before
// the database is touched), kNotFound, kPermissionDenied, kConflict, kUnavailable (the
// database cannot answer now; nothing was changed, or the change is unknown only if the
// connection broke during COMMIT), kInternal.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/task.h"

namespace todo::store {

namespace asio = boost::asio;
using core::Result;
using core::Status;
using core::TimePoint;

// Who makes a call. Passed explicitly with every call; never stored.
//
// `min_position` is for reads: a commit position (Written::position) the answer must
// reflect. A store on a PostgreSQL replica (OpenOptions::replica) answers such a read only
// once it has replayed that position, and kUnavailable until then (the caller asks the
// primary instead); every other store has every committed write and ignores it.
struct Actor {
  std::string name;
  core::Role role = core::Role::kDeveloper;
  std::string min_position{};
};

// A listing request. `user` empty: the actor's own tasks for a developer, every user's for a
// manager or admin. Pages are keyset pages in id order: ids > `after`, at most `limit`.
struct TaskQuery {
  std::string user;
  core::TaskState state = core::TaskState::kOpen;
  int64_t after = 0;
  int limit = 100;
};

// `next` is the `after` for the following page; empty when this page reached the end.
struct TaskPage {
  std::vector<core::Task> tasks;
  std::optional<int64_t> next;
};

struct EventPage {
  std::vector<core::Event> events;
  std::optional<int64_t> next;
};

// A change to a task: new text and/or a new done state. At least one must be set.
struct TaskPatch {
  std::optional<std::string> text;
  std::optional<bool> done;
};

inline constexpr int kMaxPageLimit = 1000;
inline constexpr int kMaxRemoveOldest = 1000;

// What an Idempotency-Key asks of a write. The first request with (actor, key) is executed
// and its answer recorded in the same transaction; a later one with the same fingerprint
// changes nothing and gets the recorded answer back; one with another fingerprint is refused
// with kConflict. Records are kept at least 24 hours. Only successful answers are recorded.
template <typename T>
struct Idempotency {
  std::string key;
  std::string fingerprint;                   // a hash of method, path and body
  int status = 200;                          // the HTTP status to record with the answer
  std::function<std::string(const T&)> render;  // the answer's body, from the write's result
};

// The recorded answer of an earlier identical request.
struct Replay {
  int status = 0;
  std::string body;
};

// A write's outcome: the fresh result, or (when an idempotency record matched) the answer
// recorded the first time, with nothing changed.
//
// `position` is where the write's commit is in the database's log (PostgreSQL: a WAL
// position, "16/B374D848"; read after the commit, so at or past it): a read that passes it
// as Actor::min_position sees the write, on a replica too. Empty for stores without replicas
// (SQLite). On a replay it is a position read at replay time, past the first commit.
template <typename T>
struct Written {
  std::optional<T> value;
  std::optional<Replay> replay;
  std::string position{};
};

// One task to import, as a file described it.
struct ImportItem {
  std::string text;
  std::optional<TimePoint> created;  // now, when absent
  bool is_done = false;
  std::optional<TimePoint> done;     // completion time; `created` (or now) when absent
  std::chrono::milliseconds precision{1};
};

struct ImportStats {
  int64_t added = 0;
  int64_t skipped = 0;  // already in the store
};

struct Account {
  std::string name;
  core::Role role = core::Role::kDeveloper;
  std::string token_hash;
  TimePoint created;
};

// The manager's view of one account, from counters kept current by every write (never a
// scan of the tasks).
struct UserSummary {
  std::string name;
  core::Role role = core::Role::kDeveloper;
  int64_t open = 0;
  int64_t done = 0;
  std::optional<TimePoint> last_update;
};

// The head of a snapshot (Store::Snapshot).
struct SnapshotHeader {
  // The change-log id the snapshot corresponds to: it shows exactly the effect of every
  // event with an id <= position, and of no later one.
  int64_t position = 0;
  TimePoint taken;                // when it was taken (the database's clock)
  std::optional<int64_t> tasks;   // how many tasks follow, when the store knows it cheaply
};

// Receives a snapshot while the store reads it: Begin once, then Page for each page of
// tasks, in id order. Each call is awaited before the store reads the next page, so a sink
// that writes to a socket holds at most one page in memory. A non-OK status ends the walk
// and Snapshot returns it. Called on a thread of the store's choosing, one call at a time.
class SnapshotSink {
 public:
  virtual ~SnapshotSink() = default;
  virtual asio::awaitable<Status> Begin(const SnapshotHeader& header) = 0;
  virtual asio::awaitable<Status> Page(std::vector<core::Task> tasks) = 0;
};

inline constexpr int kSnapshotPage = 1000;

class Store {
 public:
  virtual ~Store() = default;
  Store() = default;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Adds a task for `actor` (a developer). kInvalidArgument if the text fails
  // core::ValidateTaskText; kPermissionDenied for other roles. Writes a kCreated event.
  virtual asio::awaitable<Result<Written<core::Task>>> AddTask(
      const Actor& actor, std::string text, const Idempotency<core::Task>* idem) = 0;

  // One task. kNotFound if it does not exist or the actor may not see it.
  virtual asio::awaitable<Result<core::Task>> GetTask(const Actor& actor, int64_t id) = 0;

  // A page of tasks, oldest (lowest id) first. kInvalidArgument if limit is outside
  // 1..kMaxPageLimit or after < 0; kPermissionDenied if a developer names another user.
  virtual asio::awaitable<Result<TaskPage>> ListTasks(const Actor& actor,
                                                      const TaskQuery& query) = 0;

  // Edits the text and/or done state of one of the actor's tasks; writes kEdited, kDone or
  // kUndone events for what actually changed (none when nothing did: the task comes back as
  // it was). kInvalidArgument if the patch is empty or the text invalid; kNotFound if the
  // task is not the actor's.
  virtual asio::awaitable<Result<Written<core::Task>>> UpdateTask(
      const Actor& actor, int64_t id, TaskPatch patch, const Idempotency<core::Task>* idem) = 0;

  // Removes one of the actor's tasks and returns it as it was; writes a kRemoved event.
  // kNotFound if the task is not the actor's.
  virtual asio::awaitable<Result<Written<core::Task>>> RemoveTask(
      const Actor& actor, int64_t id, const Idempotency<core::Task>* idem) = 0;

  // Atomically removes the actor's `count` oldest OPEN tasks (fewer if fewer exist) and
  // returns their ids, oldest first. Concurrent calls never remove a task twice.
  // kInvalidArgument unless 1 <= count <= kMaxRemoveOldest.
  virtual asio::awaitable<Result<Written<std::vector<int64_t>>>> RemoveOldest(
      const Actor& actor, int count, const Idempotency<std::vector<int64_t>>* idem) = 0;

  // Adds the actor's tasks from a file, in one transaction, skipping those already present:
  // for each (text, created rounded down to the item's precision) the store keeps at least as
  // many tasks as the items name, so importing the same file twice adds nothing while
  // identical lines in one file are all kept. Items without `created` match on text alone.
  // kInvalidArgument (nothing added) if any text is invalid.
  virtual asio::awaitable<Result<ImportStats>> ImportTasks(const Actor& actor,
                                                           std::vector<ImportItem> items) = 0;

  // Creates an account. kConflict if the name is taken; kInvalidArgument if the name fails
  // core::ValidateUserName.
  virtual asio::awaitable<Status> CreateAccount(const Account& account) = 0;

  // The account whose token hashes to `token_hash`. kUnauthenticated if none.
  virtual asio::awaitable<Result<Account>> FindAccountByTokenHash(std::string token_hash) = 0;

  // Every account with its counters, by name. kPermissionDenied for developers.
  virtual asio::awaitable<Result<std::vector<UserSummary>>> ListUsers(const Actor& actor) = 0;

  // A page of the change log, oldest first: every user's for managers and admins, the
  // actor's own for developers. kInvalidArgument if limit is outside 1..kMaxPageLimit.
  virtual asio::awaitable<Result<EventPage>> ListEvents(const Actor& actor, int64_t after,
                                                        int limit) = 0;

  // The change log's stable horizon: an event id H such that every event with an id <= H
  // that will ever exist is committed and visible now (ids of writes that rolled back never
  // appear). A live feed that reads ListEvents(after = last id it delivered) and delivers
  // only ids <= H never skips an event that commits late: on PostgreSQL ids come from a
  // sequence and transactions can commit out of id order (docs/decisions/0006). H never
  // decreases. kUnavailable if the database cannot answer, or (PostgreSQL) if a transaction
  // that was running when the call started is still running about a second later.
  virtual asio::awaitable<Result<int64_t>> EventHorizon() = 0;

  // Every task of every user as of one instant, streamed to `sink` (header first, then
  // pages of at most kSnapshotPage tasks in id order), read in ONE read transaction
  // (PostgreSQL: REPEATABLE READ, READ ONLY; SQLite: one read transaction on a connection of
  // its own), so it never shows half of a write and never misses a task that existed
  // throughout. The header's position is a change-log cut: the snapshot equals the state
  // rebuilt from every event with an id <= position (docs/decisions/0007).
  // kPermissionDenied for developers; kUnavailable if the database cannot answer; whatever
  // the sink returns if it fails. After Begin was called, a failure means the output is
  // incomplete.
  virtual asio::awaitable<Status> Snapshot(const Actor& actor, SnapshotSink& sink) = 0;

  // Asks to be told when the change log may have grown: `wake` is then called, on a thread
  // of the store's choosing, and must return quickly without calling the store. PostgreSQL:
  // after each write this store commits, and when a dedicated connection, which reads the
  // change log's sequence every 100 ms, sees it move (any server's writes); also after that
  // connection reconnects. SQLite: after each write this store commits.
  // Wakes can be lost (another process writing the same SQLite file) or spurious, so a
  // reader polls as well. Call at most once, before serving; `wake` must stay callable until
  // the store is destroyed.
  virtual void WatchEvents(std::function<void()> wake) = 0;

  // OK if the database answers a trivial query now; kUnavailable otherwise.
  virtual asio::awaitable<Status> Ping() = 0;

  // Round trips to the database and what they carried, since the store opened (PostgreSQL's
  // batches, pg_batch.h; all zero for SQLite). Any thread.
  struct BatchStats {
    uint64_t batches = 0;  // round trips of the batchers
    uint64_t writes = 0;   // writes they carried in their shared transactions
    uint64_t alone = 0;    // reads and others they carried in segments of their own
    uint64_t merged_adds = 0;  // of the writes, adds sent as one statement with others
    uint64_t merged_removes = 0;  // and remove-oldest
    uint64_t resent = 0;  // batches that failed and were sent again write by write
  };
  virtual BatchStats batch_stats() const { return {}; }
};

// Options for OpenStore.
struct OpenOptions {
  int readers = 2;  // SQLite: reader threads/connections
  // PostgreSQL: connections per event loop for requests. Each carries batches (pg_batch.h);
  // fewer make bigger batches, and 1 measured best on 2 cores (docs/benchmarks.md, fifth
  // session). A loop that is asked for EventHorizon opens one more connection for it.
  int pool_per_loop = 1;
  // PostgreSQL: batches in flight at once on each of those connections (pipelined: the next
  // one is sent while the one before runs, and the database starts it the moment that one
  // commits). 2 measured best on 2 cores (docs/benchmarks.md, sixth session).
  int pipeline_depth = 2;
  // PostgreSQL: the event loops the caller will call from (todod's loops). Each gets its own
  // connection pool running on that loop, so a call from one of them never changes threads.
  // Calls from any other executor are carried to one of the store's loops and back; when
  // this is empty the store runs one loop of its own.
  std::vector<asio::io_context*> loops;
  // Apply pending migrations on open (todod serve and todod migrate do; tools may not).
  bool migrate = true;
  // PostgreSQL: the database is a hot-standby replica, opened for reads only (todod
  // --read-db): nothing is migrated, and reads with an Actor::min_position check it first.
  bool replica = false;
};

// Opens the store named by `url`, applying pending migrations:
//   "sqlite:PATH" or a bare PATH  -> SQLite file (created if missing, parent dirs too)
//   "postgresql://..." or "postgres://..." -> PostgreSQL
// kInvalidArgument for an unknown scheme, kUnavailable if the database cannot be reached,
// kInternal if a migration fails.
Result<std::unique_ptr<Store>> OpenStore(std::string_view url, const OpenOptions& options = {});

}  // namespace todo::store
