// Group commit for one event loop's writes, and pipelining of its reads: natural batching, no
// timers.
//
// A write hands its statements to the loop's Batcher. While fewer batches than it may have in
// flight are (connections x depth), the write runs at once, alone (no added latency under
// light load). When they all are, writes queue; whoever drives the next batch takes everything
// queued (up to kMaxBatch writes) and sends it as ONE transaction: all the writes' statements
// in one pipeline segment, one Sync, one commit, one WAL flush for all of them, then a
// segment of its own that reads the WAL position after the commit (each write's
// Written::position). Under load, batches grow by themselves.
//
// Reads (and the few writes that run alone: account creation, the purge) join the same
// batches but not the transaction: each is a segment of its own after the writes' (its own
// implicit transaction; an error in it touches nobody else). So under load a round trip
// carries the writes and the reads that queued meanwhile, and the database wakes once for
// them all instead of once per statement: fewer connections, bigger batches, less CPU per
// operation on both sides (docs/benchmarks.md). The price: a read's answer comes with its
// batch's, after the writes' lock waits and commit flush (milliseconds); a batch stuck
// until its deadline closes its connection and fails its reads too (they are retried once),
// but a failed resend of the writes does not fail reads that were answered.
//
// A batch's writes are ordered by user (stably) so that every transaction takes the users'
// tally-row locks in the same order: concurrent batches cannot deadlock. With two writes or
// more, one statement locks every user of the batch first, in that order, creating the rows
// of new users (kLockUsers); then two adds or more go as ONE statement (kAddTasks, over
// arrays), and two remove-oldest or more of different users as another (kRemoveOldests):
// executor start-up, locks and index opening once for all of them, less database CPU per
// operation than the bare SQL at the ~28 requests a batch carries on 2 cores
// (docs/benchmarks.md, decision 0011). Each write still gets its own results, as if it had
// run alone, and is still all-or-nothing. If any statement of a batch fails, PostgreSQL
// rolls the whole transaction back; the batch is then sent again with each write's own
// statements in a segment (a transaction) of its own, in the same round trip, so that one
// failing write never fails or loses the others
// (docs: performance.md, point 3). The merged statements claim Idempotency-Keys with plain
// inserts (cheaper than ON CONFLICT): a key already recorded, i.e. a retry, fails its batch,
// which is then resent so; for kCarefulFor after that, the loop's merged statements claim
// keys with ON CONFLICT and answer retries with replays instead (retries come in bursts).
//
// Pipelining (depth, --db-pipeline): a connection carries up to `depth` batches at once. The
// next batch is sent while the one before runs, so the database starts it the moment that one
// commits, instead of after the answers have gone back, the clients have sent their next
// requests and the loop has gathered them (with one batch in flight, a fifth of the machine
// sat idle under load: docs/benchmarks.md, sixth session). On one connection the batches
// run one after the other, so they never wait for each other's locks (two connections did,
// and were slower: decision 0012). A failed batch's resend goes behind the batches already
// sent: they were all in flight together, so any order is one the clients could have seen.
// If a batch breaks its connection or passes its deadline, those behind it on the connection
// fail with it (kUnavailable).
//
// Driving: the first writes to arrive become drivers (at most `depth` per connection). A
// driver borrows a connection (one already carrying fewer than `depth` batches, else one from
// the pool), takes a batch from the queue, runs it, wakes its writes and, once
// its own write is done, hands the driver role to the oldest queued write, if any. A queued
// write that reaches its deadline before any batch takes it leaves the queue with
// kUnavailable; one that a batch took waits for that batch (bounded by the batch's deadline,
// the latest of its writes').
//
// Thread-safety: none; one Batcher per loop, used only from that loop's thread.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "store/postgres/pg_connection.h"
#include "store/postgres/pg_pool.h"

namespace todo::store::pg {

class Batcher {
 public:
  static constexpr std::size_t kMaxBatch = 64;
  // How long, after a merged statement failed on a key already recorded (a retry), merged
  // statements claim keys with ON CONFLICT (kAddTasksOrReplay, kRemoveOldestsOrReplay)
  // instead of plain inserts, which fail the whole batch on such a key.
  static constexpr std::chrono::seconds kCarefulFor{10};

  // `pool` must outlive the Batcher; at most `connections` of its connections are used, each
  // with up to `depth` batches in flight at once (pipelined: each sent as soon as it is
  // taken, run by the database right after the one before).
  Batcher(asio::io_context& io, Pool& pool, int connections, int depth = 1);

  // Runs `queries` (one write; `user` is whose tally row it locks) in a transaction, alone or
  // with other writes, and gives back its own results. The same contract as
  // Connection::Run: OK means the results arrived (and the transaction committed if none is
  // an error); kUnavailable means the connection broke, or the deadline passed. `position`
  // gets the WAL position read just after the commit (kWalPosition, in the same round
  // trip), or stays empty if it could not be read.
  asio::awaitable<core::Status> Run(const std::vector<Query>& queries, const std::string& user,
                                    std::vector<PgResult>& results, std::string& position,
                                    Clock::time_point deadline);

  // Runs `queries` as one segment of their own (their own implicit transaction) in the next
  // batch; must not hold transaction control (BEGIN, COMMIT). Same contract as Run, without
  // a position.
  asio::awaitable<core::Status> RunAlone(const std::vector<Query>& queries,
                                         std::vector<PgResult>& results,
                                         Clock::time_point deadline);

  // Batches sent, writes and alones they carried, since the start. Any thread.
  uint64_t batches() const { return batches_.load(std::memory_order_relaxed); }
  uint64_t writes() const { return writes_.load(std::memory_order_relaxed); }
  uint64_t alone() const { return alone_.load(std::memory_order_relaxed); }
  // Of the writes, adds and remove-oldest that went in one statement with others (kAddTasks,
  // kRemoveOldests).
  uint64_t merged_adds() const { return merged_adds_.load(std::memory_order_relaxed); }
  uint64_t merged_removes() const { return merged_removes_.load(std::memory_order_relaxed); }
  // Batches whose shared transaction failed and whose writes were sent again one by one.
  uint64_t resent() const { return resent_.load(std::memory_order_relaxed); }

 private:
  struct Write;
  // A connection lent to up to depth_ batches at once.
  struct Shared {
    Pool::Lease lease;
    int users = 0;
  };
  class Borrowed;
  // A connection for one batch: a new one from the pool while fewer than `connections` are
  // lent, else the least busy one lent to fewer than depth_ batches (unless others wait for
  // the pool: Import, which must not starve), else the next one the pool gives back.
  asio::awaitable<core::Result<Shared*>> Borrow(Clock::time_point deadline);
  void Return(Shared* shared);
  // Queues `me` and waits until it is done (driving batches if it gets the role).
  asio::awaitable<core::Status> Enqueue(Write& me);
  // Drives batches until `me` is done; then passes the role on (or gives it up).
  asio::awaitable<void> Drive(Write& me);
  // Takes up to kMaxBatch queued writes; fails (and wakes) those already past their deadline.
  std::vector<Write*> TakeBatch();
  // Sends `batch` on `connection` and fills in every write's status and results.
  asio::awaitable<void> RunBatch(Connection& connection, std::vector<Write*>& batch);
  void Finish(std::vector<Write*>& batch, Write& me);
  void PassOn();

  asio::io_context& io_;
  Pool& pool_;
  int connections_;
  int depth_;
  int max_drivers_;
  int drivers_ = 0;
  Clock::time_point careful_until_;  // see kCarefulFor
  std::vector<std::unique_ptr<Shared>> shared_;
  std::deque<Write*> queued_;
  std::atomic<uint64_t> batches_{0};
  std::atomic<uint64_t> writes_{0};
  std::atomic<uint64_t> alone_{0};
  std::atomic<uint64_t> merged_adds_{0};
  std::atomic<uint64_t> merged_removes_{0};
  std::atomic<uint64_t> resent_{0};
};

}  // namespace todo::store::pg
