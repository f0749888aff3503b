#include "store/sqlite/workers.h"

#include <utility>

namespace todo::store {
namespace {

// Savepoint names are per connection; batches never nest, so one name serves every job.
constexpr char kSavepoint[] = "SAVEPOINT job";
constexpr char kRollbackToSavepoint[] = "ROLLBACK TO job";
constexpr char kReleaseSavepoint[] = "RELEASE job";

// How often a job is tried when SQLITE_BUSY comes back in the middle of its work. (Waiting
// for BEGIN IMMEDIATE has its own retries in Connection; this covers a read snapshot that
// could not be taken, e.g. while another process recovers the WAL.)
constexpr int kAttempts = 3;

}  // namespace

// --- JobQueue ------------------------------------------------------------------------------

void JobQueue::Push(std::unique_ptr<Job> job) {
  {
    std::lock_guard lock(mu_);
    jobs_.push_back(std::move(job));
  }
  ready_.notify_one();
}

bool JobQueue::PopUpTo(std::size_t max, std::vector<std::unique_ptr<Job>>& out) {
  out.clear();
  std::unique_lock lock(mu_);
  ready_.wait(lock, [this] { return closed_ || !jobs_.empty(); });
  while (!jobs_.empty() && out.size() < max) {
    out.push_back(std::move(jobs_.front()));
    jobs_.pop_front();
  }
  return !out.empty();
}

void JobQueue::Close() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  ready_.notify_all();
}

// --- Writer --------------------------------------------------------------------------------

Writer::Writer(std::unique_ptr<Connection> db, TransactionHook hook)
    : db_(std::move(db)), hook_(std::move(hook)), thread_([this] { Loop(); }) {}

Writer::~Writer() {
  queue_.Close();
  thread_.join();
}

void Writer::Loop() {
  std::vector<std::unique_ptr<Job>> batch;
  while (queue_.PopUpTo(kMaxBatch, batch)) {
    if (batch.size() == 1) {
      RunAlone(*batch.front());
    } else {
      RunBatch(batch);
    }
  }
}

void Writer::RunBatch(std::vector<std::unique_ptr<Job>>& batch) {
  try {
    db_->BeginImmediate();
  } catch (const SqliteError& e) {
    // The write lock stayed out of reach through every retry: running the jobs one by one
    // would only wait that long again for each.
    for (auto& job : batch) job->Fail(ToStatus(e));
    return;
  }
  try {
    if (hook_) hook_(*db_);
    for (auto& job : batch) {
      db_->Prepare(kSavepoint).Run();
      if (!job->Run(*db_).ok()) db_->Prepare(kRollbackToSavepoint).Run();
      db_->Prepare(kReleaseSavepoint).Run();
    }
    db_->Commit();
  } catch (const SqliteError&) {
    db_->RollbackQuietly();
    for (auto& job : batch) RunAlone(*job);
    return;
  }
  // Only now, with the batch committed, may any of its answers leave.
  for (auto& job : batch) job->Complete();
}

void Writer::RunAlone(Job& job) {
  for (int attempt = 1;; ++attempt) {
    bool began = false;
    try {
      db_->BeginImmediate();
      began = true;
      if (hook_) hook_(*db_);
      if (job.Run(*db_).ok()) {
        db_->Commit();
      } else {
        db_->RollbackQuietly();
      }
      job.Complete();
      return;
    } catch (const SqliteError& e) {
      db_->RollbackQuietly();
      if (began && e.busy() && attempt < kAttempts) continue;
      job.Fail(ToStatus(e));
      return;
    }
  }
}

// --- ReaderPool ----------------------------------------------------------------------------

ReaderPool::ReaderPool(std::vector<std::unique_ptr<Connection>> dbs) : dbs_(std::move(dbs)) {
  threads_.reserve(dbs_.size());
  for (auto& db : dbs_) {
    threads_.emplace_back([this, connection = db.get()] { Loop(*connection); });
  }
}

ReaderPool::~ReaderPool() {
  queue_.Close();
  for (auto& t : threads_) t.join();
}

void ReaderPool::Loop(Connection& db) {
  std::vector<std::unique_ptr<Job>> jobs;
  while (queue_.PopUpTo(1, jobs)) {
    Job& job = *jobs.front();
    for (int attempt = 1;; ++attempt) {
      try {
        // A read's expected failures (kNotFound, ...) are its answer; nothing to undo.
        (void)job.Run(db);
        job.Complete();
        break;
      } catch (const SqliteError& e) {
        if (e.busy() && attempt < kAttempts) continue;
        job.Fail(ToStatus(e));
        break;
      }
    }
  }
}

}  // namespace todo::store
