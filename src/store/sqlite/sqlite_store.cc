#include "store/sqlite/sqlite_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <compare>
#include <filesystem>
#include <map>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <utility>

#include "core/validate.h"
#include "store/checks.h"
#include "store/import_match.h"
#include "store/recorded.h"
#include "store/sqlite/connection.h"
#include "store/sqlite/migrations.h"
#include "store/sqlite/offload.h"
#include "store/sqlite/workers.h"

namespace todo::store {
namespace {

using core::EventKind;
using core::Task;

// --- SQL: each statement with the index it expects -----------------------------------------

// element primary key, then td_user checked on the row.
constexpr char kSelectTaskOfUser[] =
    "SELECT id, td_user, init_time, last_update_time, done_time, task FROM element "
    "WHERE id = ?1 AND td_user = ?2";
// element primary key (managers: any user's task).
constexpr char kSelectAnyTask[] =
    "SELECT id, td_user, init_time, last_update_time, done_time, task FROM element "
    "WHERE id = ?1";

// element_user_open: a range of (td_user, id), no sort.
constexpr char kListUserOpen[] =
    "SELECT id, td_user, init_time, last_update_time, done_time, task FROM element "
    "WHERE td_user = ?1 AND done_time IS NULL AND id > ?2 ORDER BY id LIMIT ?3";
// element_user_done: a range of (td_user, id), no sort.
constexpr char kListUserDone[] =
    "SELECT id, td_user, init_time, last_update_time, done_time, task FROM element "
    "WHERE td_user = ?1 AND done_time IS NOT NULL AND id > ?2 ORDER BY id LIMIT ?3";
// element_user_id: a range of (td_user, id), no sort.
constexpr char kListUserAll[] =
    "SELECT id, td_user, init_time, last_update_time, done_time, task FROM element "
    "WHERE td_user = ?1 AND id > ?2 ORDER BY id LIMIT ?3";
// element primary key range, filtering done_time (managers' all-users view).
constexpr char kListAnyOpen[] =
    "SELECT id, td_user, init_time, last_update_time, done_time, task FROM element "
    "WHERE done_time IS NULL AND id > ?1 ORDER BY id LIMIT ?2";
// element primary key range, filtering done_time (managers' all-users view).
constexpr char kListAnyDone[] =
    "SELECT id, td_user, init_time, last_update_time, done_time, task FROM element "
    "WHERE done_time IS NOT NULL AND id > ?1 ORDER BY id LIMIT ?2";
// element primary key range (managers' all-users view).
constexpr char kListAny[] =
    "SELECT id, td_user, init_time, last_update_time, done_time, task FROM element "
    "WHERE id > ?1 ORDER BY id LIMIT ?2";

// Inserts at the end of the element primary key and of the (td_user, id) indexes.
constexpr char kInsertTask[] =
    "INSERT INTO element (td_user, init_time, last_update_time, done_time, task) "
    "VALUES (?1, ?2, ?3, ?4, ?5)";
// element primary key.
constexpr char kUpdateTask[] =
    "UPDATE element SET task = ?3, done_time = ?4, last_update_time = ?5 "
    "WHERE id = ?1 AND td_user = ?2";
// element primary key.
constexpr char kDeleteTask[] =
    "DELETE FROM element WHERE id = ?1 AND td_user = ?2 "
    "RETURNING id, td_user, init_time, last_update_time, done_time, task";
// element_user_open for the oldest open ids, then element_user_id per id. RETURNING gives rows in
// no defined order: the caller sorts.
constexpr char kDeleteOldestOpen[] =
    "DELETE FROM element WHERE td_user = ?1 AND id IN ("
    "SELECT id FROM element WHERE td_user = ?1 AND done_time IS NULL ORDER BY id LIMIT ?2) "
    "RETURNING id, task";
// element_user_id: every task of one user (imports compare against them).
constexpr char kSelectUserTextsAndTimes[] =
    "SELECT task, init_time FROM element WHERE td_user = ?1";

// Appends at the end of the event primary key and of event_user_id.
constexpr char kInsertEvent[] =
    "INSERT INTO event (at, td_user, actor, kind, task_id, task) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
// event primary key range (managers: everyone's events).
constexpr char kListEventsAny[] =
    "SELECT id, at, td_user, actor, kind, task_id, task FROM event "
    "WHERE id > ?1 ORDER BY id LIMIT ?2";
// event_user_id: a range of (td_user, id), no sort.
constexpr char kListEventsOfUser[] =
    "SELECT id, at, td_user, actor, kind, task_id, task FROM event "
    "WHERE td_user = ?1 AND id > ?2 ORDER BY id LIMIT ?3";

// tally primary key. last_update_time only moves forward, even if the clock steps back.
constexpr char kBumpTally[] =
    "INSERT INTO tally (td_user, open_count, done_count, last_update_time) "
    "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (td_user) DO UPDATE SET "
    "open_count = open_count + excluded.open_count, "
    "done_count = done_count + excluded.done_count, "
    "last_update_time = max(last_update_time, excluded.last_update_time)";

// request primary key (td_user, key).
constexpr char kSelectRequest[] =
    "SELECT fingerprint, status, body, result FROM request WHERE td_user = ?1 AND key = ?2";
// request primary key.
constexpr char kInsertRequest[] =
    "INSERT INTO request (td_user, key, fingerprint, status, body, at) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
// request_at: a range of the oldest records.
constexpr char kPurgeRequests[] = "DELETE FROM request WHERE at < ?1";

// account primary key.
constexpr char kAccountExists[] = "SELECT 1 FROM account WHERE name = ?1";
// account primary key and the UNIQUE index on token_hash.
constexpr char kInsertAccount[] =
    "INSERT INTO account (name, role, token_hash, created) VALUES (?1, ?2, ?3, ?4)";
// The UNIQUE index on account.token_hash.
constexpr char kSelectAccountByTokenHash[] =
    "SELECT name, role, token_hash, created FROM account WHERE token_hash = ?1";
// account primary key order (no sort), tally primary key per account.
constexpr char kListUsers[] =
    "SELECT a.name, a.role, t.open_count, t.done_count, t.last_update_time "
    "FROM account AS a LEFT JOIN tally AS t ON t.td_user = a.name ORDER BY a.name";

constexpr char kPing[] = "SELECT 1";

// Snapshots. A deferred transaction: the read snapshot starts at the first SELECT.
constexpr char kBeginRead[] = "BEGIN";
// event primary key (its last entry), tally primary key (every user's counters).
constexpr char kSnapshotHead[] =
    "SELECT (SELECT coalesce(max(id), 0) FROM event), "
    "(SELECT coalesce(sum(open_count + done_count), 0) FROM tally)";
// event primary key (its last entry). One writer at a time assigns ids inside its
// transaction, so ids commit in order and the largest visible one is stable.
constexpr char kEventHorizon[] = "SELECT coalesce(max(id), 0) FROM event";

// Idempotency records live at least this long (store.h); older ones are purged by write
// transactions, at most once per kPurgeEvery.
constexpr auto kRequestRetention = std::chrono::hours(24);
constexpr auto kPurgeEvery = std::chrono::minutes(1);

// --- Row helpers ---------------------------------------------------------------------------

// Columns: id, td_user, init_time, last_update_time, done_time, task.
Task ReadTask(const Statement& row) {
  Task task;
  task.id = row.Int(0);
  task.user = row.Text(1);
  task.created = core::FromMillis(row.Int(2));
  task.updated = core::FromMillis(row.Int(3));
  if (auto done = row.OptionalInt(4)) task.done = core::FromMillis(*done);
  task.text = row.Text(5);
  return task;
}

// Columns: id, at, td_user, actor, kind, task_id, task.
core::Event ReadEvent(const Statement& row) {
  core::Event event;
  event.id = row.Int(0);
  event.at = core::FromMillis(row.Int(1));
  event.user = row.Text(2);
  event.actor = row.Text(3);
  std::string kind = row.Text(4);
  auto parsed = core::ParseEventKind(kind);
  if (!parsed.ok()) throw SqliteError(SQLITE_CORRUPT, "unknown event kind '" + kind + "'");
  event.kind = *parsed;
  event.task_id = row.Int(5);
  event.task = row.Text(6);
  return event;
}

core::Role ReadRole(const Statement& row, int column) {
  std::string name = row.Text(column);
  auto role = core::ParseRole(name);
  if (!role.ok()) throw SqliteError(SQLITE_CORRUPT, "unknown role '" + name + "'");
  return *role;
}

std::optional<int64_t> DoneMillis(const Task& task) {
  if (!task.done) return std::nullopt;
  return core::ToMillis(*task.done);
}

std::optional<Task> SelectTaskOfUser(Connection& db, int64_t id, const std::string& user) {
  Statement select = db.Prepare(kSelectTaskOfUser);
  select.Bind(1, id).Bind(2, user);
  if (!select.Step()) return std::nullopt;
  return ReadTask(select);
}

// Inserts a task row; sets task.id.
void InsertTask(Connection& db, Task& task) {
  db.Prepare(kInsertTask)
      .Bind(1, task.user)
      .Bind(2, core::ToMillis(task.created))
      .Bind(3, core::ToMillis(task.updated))
      .Bind(4, DoneMillis(task))
      .Bind(5, task.text)
      .Run();
  task.id = db.LastInsertRowId();
}

void AppendEvent(Connection& db, core::TimePoint at, const std::string& user,
                 const std::string& actor, EventKind kind, int64_t task_id,
                 const std::string& text) {
  db.Prepare(kInsertEvent)
      .Bind(1, core::ToMillis(at))
      .Bind(2, user)
      .Bind(3, actor)
      .Bind(4, core::EventKindName(kind))
      .Bind(5, task_id)
      .Bind(6, text)
      .Run();
}

void BumpTally(Connection& db, const std::string& user, int64_t open_delta, int64_t done_delta,
               core::TimePoint at) {
  db.Prepare(kBumpTally)
      .Bind(1, user)
      .Bind(2, open_delta)
      .Bind(3, done_delta)
      .Bind(4, core::ToMillis(at))
      .Run();
}

// The Idempotency a write was asked for, copied so that the store's thread owns it.
template <typename T>
std::optional<Idempotency<T>> Copy(const Idempotency<T>* idem) {
  if (idem == nullptr) return std::nullopt;
  return *idem;
}

// Runs `write() -> Result<T>` under the idempotency rules of store.h, inside the caller's
// write transaction: a recorded (user, key) answers with its recorded answer (same
// fingerprint) or kConflict (another one) and `write` does not run; otherwise `write` runs
// and, if it succeeded, its answer is recorded in the same transaction.
template <typename T, typename WriteFn>
Result<Written<T>> WriteOnce(Connection& db, const std::string& user,
                             const std::optional<Idempotency<T>>& idem, core::TimePoint now,
                             WriteFn write) {
  if (idem) {
    Statement recorded = db.Prepare(kSelectRequest);
    recorded.Bind(1, user).Bind(2, idem->key);
    if (recorded.Step()) {
      if (recorded.Text(0) != idem->fingerprint) {
        return Status::Conflict("idempotency key '" + idem->key +
                                "' was already used for another request");
      }
      Replay replay{.status = static_cast<int>(recorded.Int(1)), .body = recorded.Text(2)};
      if (!recorded.IsNull(3)) {
        // A record copied from PostgreSQL, which keeps the answer as data.
        Result<T> first = DecodeRecorded<T>(recorded.Text(3), user);
        if (!first.ok()) return first.status();
        replay.body = idem->render ? idem->render(*first) : std::string();
      }
      return Written<T>{.value = std::nullopt, .replay = std::move(replay)};
    }
  }
  Result<T> result = write();
  if (!result.ok()) return result.status();
  if (idem) {
    std::string body = idem->render ? idem->render(*result) : std::string();
    db.Prepare(kInsertRequest)
        .Bind(1, user)
        .Bind(2, idem->key)
        .Bind(3, idem->fingerprint)
        .Bind(4, int64_t{idem->status})
        .Bind(5, body)
        .Bind(6, core::ToMillis(now))
        .Run();
  }
  return Written<T>{.value = std::move(result).value(), .replay = std::nullopt};
}

Result<ImportStats> Import(Connection& db, const std::string& user,
                           const std::vector<ImportItem>& items) {
  core::TimePoint now = core::Now();
  // The creation times of the user's tasks, by text, for the texts the file names. Counted
  // before anything is added: the file is compared with the store as it was.
  std::unordered_map<std::string_view, std::vector<int64_t>> existing;
  for (const ImportItem& item : items) existing.try_emplace(item.text);
  {
    Statement select = db.Prepare(kSelectUserTextsAndTimes);
    select.Bind(1, user);
    while (select.Step()) {
      std::string text = select.Text(0);
      if (auto it = existing.find(text); it != existing.end()) it->second.push_back(select.Int(1));
    }
  }
  std::vector<const ImportItem*> to_add = ItemsToAdd(items, existing);
  ImportStats stats{.added = 0, .skipped = static_cast<int64_t>(items.size() - to_add.size())};
  int64_t open_added = 0;
  int64_t done_added = 0;
  for (const ImportItem* added : to_add) {
    const ImportItem& item = *added;
    Task task;
    task.user = user;
    task.text = item.text;
    task.created = item.created.value_or(now);
    if (item.is_done) task.done = item.done.value_or(task.created);
    task.updated = task.done.value_or(task.created);
    InsertTask(db, task);
    AppendEvent(db, now, user, user, EventKind::kCreated, task.id, task.text);
    if (task.done) {
      AppendEvent(db, now, user, user, EventKind::kDone, task.id, task.text);
      ++done_added;
    } else {
      ++open_added;
    }
    ++stats.added;
  }
  if (stats.added > 0) BumpTally(db, user, open_added, done_added, now);
  return stats;
}

// Deletes idempotency records past their retention. Runs at the start of write
// transactions, at most once per kPurgeEvery: cheap (an index range) and never a separate
// transaction or thread of its own.
Writer::TransactionHook MakePurgeHook() {
  return [last = core::TimePoint()](Connection& db) mutable {
    core::TimePoint now = core::Now();
    if (now - last < kPurgeEvery) return;
    last = now;
    db.Prepare(kPurgeRequests).Bind(1, core::ToMillis(now - kRequestRetention)).Run();
  };
}

}  // namespace

// --- Opening and closing -------------------------------------------------------------------

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path,
                                                       const OpenOptions& options) {
  if (path.empty()) return Status::InvalidArgument("the SQLite store needs a file path");
  if (path == ":memory:") {
    return Status::InvalidArgument(
        "the SQLite store needs a file: an in-memory database is private to one connection");
  }
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    std::error_code error;
    std::filesystem::create_directories(parent, error);
    if (error) {
      return Status::Unavailable("cannot create directory '" + parent.string() +
                                 "': " + error.message());
    }
  }
  auto writer = Connection::Open(path, ConnectionRole::kWriter);
  if (!writer.ok()) return writer.status();
  Status schema = options.migrate ? Migrate(**writer) : CheckSchema(**writer);
  if (!schema.ok()) return schema;

  // Readers are opened after the migration, so that none of them ever sees an old schema.
  std::vector<std::unique_ptr<Connection>> readers;
  for (int i = 0; i < std::max(1, options.readers); ++i) {
    auto reader = Connection::Open(path, ConnectionRole::kReader);
    if (!reader.ok()) return reader.status();
    readers.push_back(std::move(reader).value());
  }
  return std::unique_ptr<SqliteStore>(
      new SqliteStore(path, std::make_unique<Writer>(std::move(writer).value(), MakePurgeHook()),
                      std::make_unique<ReaderPool>(std::move(readers))));
}

SqliteStore::SqliteStore(std::string path, std::unique_ptr<Writer> writer,
                         std::unique_ptr<ReaderPool> readers)
    : path_(std::move(path)), writer_(std::move(writer)), readers_(std::move(readers)) {}

SqliteStore::~SqliteStore() {
  // Each pool runs what was submitted, then joins its threads and closes its connections.
  // The writer goes last, so that its close is the last one on the file and checkpoints the
  // WAL into the database.
  readers_.reset();
  writer_.reset();
}

// --- Tasks ---------------------------------------------------------------------------------
//
// Each method checks what it can without the database, then builds its job as a named
// lambda `work` that owns copies of its inputs, and awaits Offload(..., std::move(work)).
// The lambda is never a temporary inside the co_await expression: g++ 12 miscompiles class
// temporaries passed by value to a coroutine there (a std::string inside one is freed from
// the wrong place).

asio::awaitable<Result<Written<Task>>> SqliteStore::AddTask(const Actor& actor, std::string text,
                                                            const Idempotency<Task>* idem) {
  if (Status s = CheckCanWrite(actor); !s.ok()) co_return s;
  if (Status s = core::ValidateTaskText(text); !s.ok()) co_return s;
  auto work = [user = actor.name, text = std::move(text), idem = Copy(idem)](Connection& db) {
    core::TimePoint now = core::Now();
    return WriteOnce<Task>(db, user, idem, now, [&]() -> Result<Task> {
      Task task{.id = 0,
                .user = user,
                .text = text,
                .created = now,
                .updated = now,
                .done = std::nullopt};
      InsertTask(db, task);
      AppendEvent(db, now, user, user, EventKind::kCreated, task.id, task.text);
      BumpTally(db, user, 1, 0, now);
      return task;
    });
  };
  auto written = co_await Offload<Written<Task>>(*writer_, std::move(work));
  if (written.ok()) Wake();
  co_return written;
}

asio::awaitable<Result<Task>> SqliteStore::GetTask(const Actor& actor, int64_t id) {
  auto work = [actor, id](Connection& db) -> Result<Task> {
    if (!core::CanReadAll(actor.role)) {
      std::optional<Task> task = SelectTaskOfUser(db, id, actor.name);
      if (!task) return TaskNotFound(id);
      return *std::move(task);
    }
    Statement select = db.Prepare(kSelectAnyTask);
    select.Bind(1, id);
    if (!select.Step()) return TaskNotFound(id);
    return ReadTask(select);
  };
  co_return co_await Offload<Task>(*readers_, std::move(work));
}

asio::awaitable<Result<TaskPage>> SqliteStore::ListTasks(const Actor& actor,
                                                         const TaskQuery& query) {
  Result<std::string> listed = ListedUser(actor, query);
  if (!listed.ok()) co_return listed.status();
  std::string user = std::move(listed).value();
  auto work = [user = std::move(user), state = query.state, after = query.after,
               limit = query.limit](Connection& db) -> Result<TaskPage> {
    const char* sql = nullptr;
    switch (state) {
      case core::TaskState::kOpen:
        sql = user.empty() ? kListAnyOpen : kListUserOpen;
        break;
      case core::TaskState::kDone:
        sql = user.empty() ? kListAnyDone : kListUserDone;
        break;
      case core::TaskState::kAll:
        sql = user.empty() ? kListAny : kListUserAll;
        break;
    }
    Statement select = db.Prepare(sql);
    int param = 1;
    if (!user.empty()) select.Bind(param++, user);
    // One row more than the page tells whether another page follows.
    select.Bind(param, after);
    select.Bind(param + 1, int64_t{limit} + 1);
    TaskPage page;
    page.tasks.reserve(static_cast<std::size_t>(limit) + 1);
    while (select.Step()) page.tasks.push_back(ReadTask(select));
    if (page.tasks.size() > static_cast<std::size_t>(limit)) {
      page.tasks.pop_back();
      page.next = page.tasks.back().id;
    }
    return page;
  };
  co_return co_await Offload<TaskPage>(*readers_, std::move(work));
}

asio::awaitable<Result<Written<Task>>> SqliteStore::UpdateTask(const Actor& actor, int64_t id,
                                                               TaskPatch patch,
                                                               const Idempotency<Task>* idem) {
  if (Status s = CheckCanWrite(actor); !s.ok()) co_return s;
  if (!patch.text && !patch.done) {
    co_return Status::InvalidArgument("nothing to change: give a new text or a done state");
  }
  if (patch.text) {
    if (Status s = core::ValidateTaskText(*patch.text); !s.ok()) co_return s;
  }
  auto work = [user = actor.name, id, patch = std::move(patch), idem = Copy(idem)](Connection& db) {
    core::TimePoint now = core::Now();
    return WriteOnce<Task>(db, user, idem, now, [&]() -> Result<Task> {
      std::optional<Task> found = SelectTaskOfUser(db, id, user);
      if (!found) return TaskNotFound(id);
      Task task = *std::move(found);
      bool edit = patch.text && *patch.text != task.text;
      bool toggle = patch.done && *patch.done != task.done.has_value();
      if (!edit && !toggle) return task;
      if (edit) task.text = *patch.text;
      if (toggle) task.done = *patch.done ? std::optional(now) : std::nullopt;
      task.updated = now;
      db.Prepare(kUpdateTask)
          .Bind(1, id)
          .Bind(2, user)
          .Bind(3, task.text)
          .Bind(4, DoneMillis(task))
          .Bind(5, core::ToMillis(now))
          .Run();
      if (edit) AppendEvent(db, now, user, user, EventKind::kEdited, id, task.text);
      int64_t open_delta = 0;
      int64_t done_delta = 0;
      if (toggle) {
        AppendEvent(db, now, user, user, task.done ? EventKind::kDone : EventKind::kUndone, id,
                    task.text);
        open_delta = task.done ? -1 : 1;
        done_delta = -open_delta;
      }
      BumpTally(db, user, open_delta, done_delta, now);
      return task;
    });
  };
  auto written = co_await Offload<Written<Task>>(*writer_, std::move(work));
  if (written.ok()) Wake();
  co_return written;
}

asio::awaitable<Result<Written<Task>>> SqliteStore::RemoveTask(const Actor& actor, int64_t id,
                                                               const Idempotency<Task>* idem) {
  if (Status s = CheckCanWrite(actor); !s.ok()) co_return s;
  auto work = [user = actor.name, id, idem = Copy(idem)](Connection& db) {
    core::TimePoint now = core::Now();
    return WriteOnce<Task>(db, user, idem, now, [&]() -> Result<Task> {
      std::optional<Task> removed;
      {
        Statement remove = db.Prepare(kDeleteTask);
        remove.Bind(1, id).Bind(2, user);
        while (remove.Step()) removed = ReadTask(remove);
      }
      if (!removed) return TaskNotFound(id);
      AppendEvent(db, now, user, user, EventKind::kRemoved, id, removed->text);
      BumpTally(db, user, removed->done ? 0 : -1, removed->done ? -1 : 0, now);
      return *std::move(removed);
    });
  };
  auto written = co_await Offload<Written<Task>>(*writer_, std::move(work));
  if (written.ok()) Wake();
  co_return written;
}

asio::awaitable<Result<Written<std::vector<int64_t>>>> SqliteStore::RemoveOldest(
    const Actor& actor, int count, const Idempotency<std::vector<int64_t>>* idem) {
  if (Status s = CheckCanWrite(actor); !s.ok()) co_return s;
  if (count < 1 || count > kMaxRemoveOldest) {
    co_return Status::InvalidArgument("count must be between 1 and " +
                                      std::to_string(kMaxRemoveOldest) + ", not " +
                                      std::to_string(count));
  }
  auto work = [user = actor.name, count, idem = Copy(idem)](Connection& db) {
    core::TimePoint now = core::Now();
    return WriteOnce<std::vector<int64_t>>(
        db, user, idem, now, [&]() -> Result<std::vector<int64_t>> {
          // The write lock is held since BEGIN IMMEDIATE: no other connection, in this
          // process or another, can pick the same rows before this commits.
          std::vector<std::pair<int64_t, std::string>> removed;
          {
            Statement remove = db.Prepare(kDeleteOldestOpen);
            remove.Bind(1, user).Bind(2, int64_t{count});
            while (remove.Step()) removed.emplace_back(remove.Int(0), remove.Text(1));
          }
          std::sort(removed.begin(), removed.end());
          std::vector<int64_t> ids;
          ids.reserve(removed.size());
          for (const auto& [id, text] : removed) {
            AppendEvent(db, now, user, user, EventKind::kRemoved, id, text);
            ids.push_back(id);
          }
          if (!ids.empty()) BumpTally(db, user, -static_cast<int64_t>(ids.size()), 0, now);
          return ids;
        });
  };
  auto written = co_await Offload<Written<std::vector<int64_t>>>(*writer_, std::move(work));
  if (written.ok()) Wake();
  co_return written;
}

asio::awaitable<Result<ImportStats>> SqliteStore::ImportTasks(const Actor& actor,
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
  auto work = [user = actor.name, items = std::move(items)](Connection& db) {
    return Import(db, user, items);
  };
  auto written = co_await Offload<ImportStats>(*writer_, std::move(work));
  if (written.ok()) Wake();
  co_return written;
}

// --- Accounts ------------------------------------------------------------------------------

asio::awaitable<Status> SqliteStore::CreateAccount(const Account& account) {
  if (Status s = core::ValidateUserName(account.name); !s.ok()) co_return s;
  struct Created {};
  auto work = [account](Connection& db) -> Result<Created> {
    {
      Statement exists = db.Prepare(kAccountExists);
      exists.Bind(1, account.name);
      if (exists.Step()) return Status::Conflict("account '" + account.name + "' exists");
    }
    try {
      Statement insert = db.Prepare(kInsertAccount);
      insert.Bind(1, account.name).Bind(2, core::RoleName(account.role));
      // No token yet is NULL, so that several such accounts do not collide on UNIQUE.
      if (account.token_hash.empty()) {
        insert.Bind(3, std::optional<int64_t>());
      } else {
        insert.Bind(3, account.token_hash);
      }
      insert.Bind(4, core::ToMillis(account.created)).Run();
    } catch (const SqliteError& e) {
      if (e.primary_code() != SQLITE_CONSTRAINT) throw;
      return Status::Conflict("another account has the same token");
    }
    return Created{};
  };
  Result<Created> created = co_await Offload<Created>(*writer_, std::move(work));
  co_return created.ok() ? Status::Ok() : created.status();
}

asio::awaitable<Result<Account>> SqliteStore::FindAccountByTokenHash(std::string token_hash) {
  if (token_hash.empty()) co_return Status::Unauthenticated("no token");
  auto work = [token_hash = std::move(token_hash)](Connection& db) -> Result<Account> {
    Statement select = db.Prepare(kSelectAccountByTokenHash);
    select.Bind(1, token_hash);
    if (!select.Step()) return Status::Unauthenticated("unknown token");
    return Account{.name = select.Text(0),
                   .role = ReadRole(select, 1),
                   .token_hash = select.Text(2),
                   .created = core::FromMillis(select.Int(3))};
  };
  co_return co_await Offload<Account>(*readers_, std::move(work));
}

asio::awaitable<Result<std::vector<UserSummary>>> SqliteStore::ListUsers(const Actor& actor) {
  if (!core::CanReadAll(actor.role)) {
    co_return Status::PermissionDenied("only managers and admins list users");
  }
  auto work = [](Connection& db) -> Result<std::vector<UserSummary>> {
    std::vector<UserSummary> users;
    Statement select = db.Prepare(kListUsers);
    while (select.Step()) {
      UserSummary user{.name = select.Text(0),
                       .role = ReadRole(select, 1),
                       .open = select.OptionalInt(2).value_or(0),
                       .done = select.OptionalInt(3).value_or(0),
                       .last_update = std::nullopt};
      if (auto at = select.OptionalInt(4)) user.last_update = core::FromMillis(*at);
      users.push_back(std::move(user));
    }
    return users;
  };
  co_return co_await Offload<std::vector<UserSummary>>(*readers_, std::move(work));
}

// --- Change log and health -----------------------------------------------------------------

asio::awaitable<Result<EventPage>> SqliteStore::ListEvents(const Actor& actor, int64_t after,
                                                           int limit) {
  if (Status s = CheckLimit(limit); !s.ok()) co_return s;
  if (Status s = CheckAfter(after); !s.ok()) co_return s;
  std::string user = core::CanReadAll(actor.role) ? std::string() : actor.name;
  auto work = [user = std::move(user), after, limit](Connection& db) -> Result<EventPage> {
    Statement select = db.Prepare(user.empty() ? kListEventsAny : kListEventsOfUser);
    int param = 1;
    if (!user.empty()) select.Bind(param++, user);
    select.Bind(param, after);
    select.Bind(param + 1, int64_t{limit} + 1);
    EventPage page;
    while (select.Step()) page.events.push_back(ReadEvent(select));
    if (page.events.size() > static_cast<std::size_t>(limit)) {
      page.events.pop_back();
      page.next = page.events.back().id;
    }
    return page;
  };
  co_return co_await Offload<EventPage>(*readers_, std::move(work));
}

asio::awaitable<Result<int64_t>> SqliteStore::EventHorizon() {
  auto work = [](Connection& db) -> Result<int64_t> {
    Statement select = db.Prepare(kEventHorizon);
    select.Step();
    return select.Int(0);
  };
  co_return co_await Offload<int64_t>(*readers_, std::move(work));
}

// --- Snapshots -----------------------------------------------------------------------------
//
// A snapshot gets a connection of its own, served by a one-thread ReaderPool: its jobs run
// one after the other on that connection, so the read transaction the first one opens spans
// the whole walk, while the caller awaits each page between jobs. One writer at a time
// draws event ids inside its transaction (docs/decisions/0006), so the largest event id the
// transaction sees is an exact cut of the change log.

asio::awaitable<Status> SqliteStore::Snapshot(const Actor& actor, SnapshotSink& sink) {
  if (!core::CanReadAll(actor.role)) {
    co_return Status::PermissionDenied("only managers and admins take snapshots");
  }
  auto open = [path = path_](Connection&) { return Connection::Open(path, ConnectionRole::kReader); };
  Result<std::unique_ptr<Connection>> db =
      co_await Offload<std::unique_ptr<Connection>>(*readers_, std::move(open));
  if (!db.ok()) co_return db.status();
  std::vector<std::unique_ptr<Connection>> one;
  one.push_back(std::move(db).value());
  ReaderPool walker(std::move(one));
  co_return co_await Walk(walker, sink);
}

asio::awaitable<Status> SqliteStore::Walk(ReaderPool& walker, SnapshotSink& sink) {
  auto begin = [](Connection& db) -> Result<SnapshotHeader> {
    if (!db.InTransaction()) db.Exec(kBeginRead);  // a retried job is already inside it
    Statement head = db.Prepare(kSnapshotHead);
    head.Step();
    return SnapshotHeader{.position = head.Int(0), .taken = core::Now(), .tasks = head.Int(1)};
  };
  Result<SnapshotHeader> header = co_await Offload<SnapshotHeader>(walker, std::move(begin));
  if (!header.ok()) co_return header.status();
  if (Status s = co_await sink.Begin(*header); !s.ok()) co_return s;
  for (int64_t after = 0;;) {
    auto read = [after](Connection& db) -> Result<std::vector<Task>> {
      Statement select = db.Prepare(kListAny);
      select.Bind(1, after).Bind(2, int64_t{kSnapshotPage});
      std::vector<Task> tasks;
      while (select.Step()) tasks.push_back(ReadTask(select));
      return tasks;
    };
    Result<std::vector<Task>> page = co_await Offload<std::vector<Task>>(walker, std::move(read));
    if (!page.ok()) co_return page.status();
    if (page->empty()) break;
    after = page->back().id;
    bool last = page->size() < static_cast<std::size_t>(kSnapshotPage);
    if (Status s = co_await sink.Page(std::move(page).value()); !s.ok()) co_return s;
    if (last) break;
  }
  // The connection closes with the pool, which ends the read transaction.
  co_return Status::Ok();
}

void SqliteStore::WatchEvents(std::function<void()> wake) { wake_ = std::move(wake); }

asio::awaitable<Status> SqliteStore::Ping() {
  struct Pong {};
  auto work = [](Connection& db) -> Result<Pong> {
    Statement select = db.Prepare(kPing);
    select.Step();
    return Pong{};
  };
  Result<Pong> pong = co_await Offload<Pong>(*readers_, std::move(work));
  if (pong.ok()) co_return Status::Ok();
  co_return Status::Unavailable("the database does not answer: " + pong.status().message());
}

}  // namespace todo::store
