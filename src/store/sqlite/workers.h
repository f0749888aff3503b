// The SQLite store's threads: one writer and a pool of readers, each thread with its own
// connection, fed by queues of jobs. Internal to the SQLite store.
//
// SQLite calls block, so they never run on a caller's event loop (guide/performance.md,
// point 6): a Store method wraps its SQL in a Job (see offload.h), submits it here and
// suspends; the job's result is posted back to the caller's executor.
//
// Writes go through the single Writer thread. One writer is all SQLite allows at a time
// anyway (a second writer thread adds nothing but lock waits), and a queue gives group
// commit for free: when the writer finishes a transaction, everything that queued meanwhile
// becomes the next batch, run in ONE transaction with one savepoint per job. Under light load
// a batch is one job (no added latency); under heavy load batches grow by themselves.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/status.h"
#include "store/sqlite/connection.h"

namespace todo::store {

// One unit of work for a store thread, with the coroutine waiting for it.
class Job {
 public:
  virtual ~Job() = default;
  // Runs the work on `db`. Returns OK, or the expected failure (kNotFound, kConflict, ...)
  // it answers with; the caller then rolls back whatever the work changed. Throws
  // SqliteError when the database itself failed. May run more than once (a batch that
  // failed is run again job by job); each run starts from the state before the first.
  virtual core::Status Run(Connection& db) = 0;
  // Sends the outcome of the last Run to the waiting coroutine, on its executor.
  virtual void Complete() = 0;
  // Sends `status` to the waiting coroutine instead. Exactly one of Complete and Fail is
  // called, once.
  virtual void Fail(core::Status status) = 0;
};

// A FIFO of jobs shared by the threads that serve it. Thread-safe.
class JobQueue {
 public:
  void Push(std::unique_ptr<Job> job);
  // Blocks until there is work, then moves up to `max` jobs into `out` (cleared first).
  // Returns false, with `out` empty, once Close was called and every job has been taken.
  bool PopUpTo(std::size_t max, std::vector<std::unique_ptr<Job>>& out);
  // No more jobs will be pushed; threads drain what is queued and stop.
  void Close();

 private:
  std::mutex mu_;
  std::condition_variable ready_;
  // Guarded by mu_:
  std::deque<std::unique_ptr<Job>> jobs_;
  bool closed_ = false;
};

// The writer thread. Every job runs inside a write transaction (BEGIN IMMEDIATE) and its
// result is sent only after that transaction committed. Thread-safe Submit.
class Writer {
 public:
  // Called at the start of every write transaction, before the jobs (housekeeping such as
  // purging expired idempotency records). Runs on the writer thread; may throw SqliteError.
  using TransactionHook = std::function<void(Connection&)>;

  // Most jobs one transaction takes. Bounds the latency one batch adds to its first job.
  static constexpr std::size_t kMaxBatch = 64;

  Writer(std::unique_ptr<Connection> db, TransactionHook hook);
  // Runs every job already submitted, then stops the thread and closes the connection.
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  void Submit(std::unique_ptr<Job> job) { queue_.Push(std::move(job)); }

 private:
  void Loop();
  // All jobs in one transaction, one savepoint each. If the database fails (not a job's
  // expected failure) anywhere in it, everything is rolled back and each job runs again
  // alone, so that one job's failure never fails or loses the others'.
  void RunBatch(std::vector<std::unique_ptr<Job>>& batch);
  // One job in its own transaction.
  void RunAlone(Job& job);

  JobQueue queue_;
  std::unique_ptr<Connection> db_;  // used only by thread_ once it started
  TransactionHook hook_;
  std::thread thread_;  // last: starts after everything it uses exists
};

// The reader threads: one per connection, all serving one queue. Jobs run outside any
// explicit transaction (each statement reads one consistent snapshot). Thread-safe Submit.
class ReaderPool {
 public:
  explicit ReaderPool(std::vector<std::unique_ptr<Connection>> dbs);
  // Runs every job already submitted, then stops the threads and closes the connections.
  ~ReaderPool();
  ReaderPool(const ReaderPool&) = delete;
  ReaderPool& operator=(const ReaderPool&) = delete;

  void Submit(std::unique_ptr<Job> job) { queue_.Push(std::move(job)); }

 private:
  void Loop(Connection& db);

  JobQueue queue_;
  std::vector<std::unique_ptr<Connection>> dbs_;  // dbs_[i] used only by threads_[i]
  std::vector<std::thread> threads_;
};

}  // namespace todo::store
