// SqliteStore: the Store on one SQLite file, for a single machine (todod on one host, the
// embedded CLI). See store.h for the contract of every method.
//
// Threads: SQLite never runs on a caller's thread. One writer thread owns the only writing
// connection; `OpenOptions::readers` reader threads own one read-only connection each. A
// method validates its input on the caller's thread (nothing blocking), then offloads the SQL
// to the writer or to a reader and resumes the caller on its own executor with the result.
// Writes are serialized through the writer, which groups whatever queued up into one
// transaction (a savepoint per write; see workers.h).
//
// Several processes may open the same file at once (the CLI does): writes take the write
// lock up front (BEGIN IMMEDIATE) and wait, then retry, while another process holds it, so
// concurrent writers neither lose nor repeat work.
//
// Thread-safe. Destruction runs every call already submitted to completion, then closes the
// connections; no call may start after destruction began.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "store/store.h"

namespace todo::store {

class Writer;
class ReaderPool;

class SqliteStore final : public Store {
 public:
  // Opens the SQLite file at `path` (creating it and its parent directories if missing),
  // switches it to WAL mode and applies pending migrations (with options.migrate false, only
  // checks that none is pending: kUnavailable otherwise). Uses options.readers reader
  // connections (at least one); the PostgreSQL options are ignored. kInvalidArgument for an
  // empty path or ":memory:" (each connection would see its own empty database);
  // kUnavailable if the file cannot be created, opened or locked; kInternal if a migration
  // fails or the file's schema is newer than this program.
  static Result<std::unique_ptr<SqliteStore>> Open(const std::string& path,
                                                   const OpenOptions& options);
  ~SqliteStore() override;

  asio::awaitable<Result<Written<core::Task>>> AddTask(
      const Actor& actor, std::string text, const Idempotency<core::Task>* idem) override;
  asio::awaitable<Result<core::Task>> GetTask(const Actor& actor, int64_t id) override;
  asio::awaitable<Result<TaskPage>> ListTasks(const Actor& actor, const TaskQuery& query) override;
  asio::awaitable<Result<Written<core::Task>>> UpdateTask(
      const Actor& actor, int64_t id, TaskPatch patch,
      const Idempotency<core::Task>* idem) override;
  asio::awaitable<Result<Written<core::Task>>> RemoveTask(
      const Actor& actor, int64_t id, const Idempotency<core::Task>* idem) override;
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

 private:
  // Calls the watcher, if any, after a committed write.
  void Wake() const {
    if (wake_) wake_();
  }

  SqliteStore(std::string path, std::unique_ptr<Writer> writer,
              std::unique_ptr<ReaderPool> readers);

  // Snapshot's walk on `walker`, a pool of one connection whose jobs share one read
  // transaction.
  static asio::awaitable<Status> Walk(ReaderPool& walker, SnapshotSink& sink);

  std::string path_;  // snapshots open a connection of their own
  std::unique_ptr<Writer> writer_;
  std::unique_ptr<ReaderPool> readers_;
  std::function<void()> wake_;  // set once before serving (WatchEvents)
};

}  // namespace todo::store
