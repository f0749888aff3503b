#include "store/postgres/pg_batch.h"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "store/postgres/pg_sql.h"

namespace todo::store::pg {

using core::Status;

struct Batcher::Write {
  explicit Write(asio::io_context& io) : timer(io) {}
  const std::vector<Query>* queries = nullptr;
  const std::string* user = nullptr;
  Clock::time_point deadline;
  enum class State { kQueued, kTaken, kDone };
  State state = State::kQueued;
  bool drive = false;        // handed the driver role while queued
  asio::steady_timer timer;  // cancelled to wake the write (done, or its turn to drive)
  Status status;
  std::vector<PgResult>* results = nullptr;
  std::string* position = nullptr;
};

Batcher::Batcher(asio::io_context& io, Pool& pool, int max_drivers)
    : io_(io), pool_(pool), max_drivers_(std::max(1, max_drivers)) {}

asio::awaitable<Status> Batcher::Run(const std::vector<Query>& queries, const std::string& user,
                                     std::vector<PgResult>& results, std::string& position,
                                     Clock::time_point deadline) {
  Write me(io_);
  me.queries = &queries;
  me.user = &user;
  me.deadline = deadline;
  me.results = &results;
  me.position = &position;
  queued_.push_back(&me);
  if (drivers_ < max_drivers_) {
    ++drivers_;
    me.drive = true;
  } else {
    me.timer.expires_at(deadline);
    for (;;) {
      co_await me.timer.async_wait(asio::as_tuple(asio::use_awaitable));
      if (me.state == Write::State::kDone || me.drive) break;
      if (me.state == Write::State::kQueued && Clock::now() >= deadline) {
        queued_.erase(std::find(queued_.begin(), queued_.end(), &me));
        co_return Status::Unavailable("timed out waiting for a PostgreSQL connection");
      }
      // Taken by a batch in flight (which has its own deadline), or a stray wake-up.
      me.timer.expires_at(me.state == Write::State::kTaken ? Clock::time_point::max() : deadline);
    }
  }
  // A write handed the driver role drives even if a batch finished it meanwhile: Drive then
  // only passes the role on.
  if (me.drive) co_await Drive(me);
  co_return me.status;
}

asio::awaitable<void> Batcher::Drive(Write& me) {
  while (me.state != Write::State::kDone) {
    {
      auto lease = co_await pool_.Acquire(me.deadline);
      if (me.state == Write::State::kQueued) {
        if (!lease.ok() || Clock::now() >= me.deadline) {
          queued_.erase(std::find(queued_.begin(), queued_.end(), &me));
          me.status = lease.ok() ? Status::Unavailable(
                                       "timed out waiting for a PostgreSQL "
                                       "connection")
                                 : lease.status();
          me.state = Write::State::kDone;
          break;
        }
        std::vector<Write*> batch = TakeBatch();
        co_await RunBatch(**lease, batch);
        Finish(batch, me);
        continue;
      }
    }
    // Another driver's batch took this write while we waited for a connection (which goes
    // back to the pool unused): wait for that batch.
    me.timer.expires_at(Clock::time_point::max());
    while (me.state != Write::State::kDone) {
      co_await me.timer.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }
  PassOn();
}

std::vector<Batcher::Write*> Batcher::TakeBatch() {
  std::vector<Write*> batch;
  Clock::time_point now = Clock::now();
  while (!queued_.empty() && batch.size() < kMaxBatch) {
    Write* write = queued_.front();
    queued_.pop_front();
    if (write->deadline <= now) {
      // Too late to start: it would only shorten the batch's time for everyone else.
      write->status = Status::Unavailable("timed out waiting for a PostgreSQL connection");
      write->state = Write::State::kDone;
      write->timer.cancel();
      continue;
    }
    write->state = Write::State::kTaken;
    batch.push_back(write);
  }
  return batch;
}

void Batcher::PassOn() {
  // To the oldest queued write that is not a driver already (drivers wait in Acquire).
  auto next = std::find_if(queued_.begin(), queued_.end(), [](Write* w) { return !w->drive; });
  if (next == queued_.end()) {
    --drivers_;
    return;
  }
  (*next)->drive = true;
  (*next)->timer.cancel();
}

void Batcher::Finish(std::vector<Write*>& batch, Write& me) {
  for (Write* write : batch) {
    write->state = Write::State::kDone;
    if (write != &me) write->timer.cancel();
  }
}

asio::awaitable<void> Batcher::RunBatch(Connection& connection, std::vector<Write*>& batch) {
  ++batches_;
  writes_ += batch.size();
  // The latest of the writes' deadlines: one write close to its own must not cut short the
  // batch of all the others (each still waits at most about its own timeout twice).
  Clock::time_point deadline = Clock::time_point::min();
  for (Write* write : batch) deadline = std::max(deadline, write->deadline);

  std::stable_sort(batch.begin(), batch.end(),
                   [](const Write* a, const Write* b) { return *a->user < *b->user; });
  // One segment (one transaction) with every write, then one with kWalPosition.
  std::vector<Query> all;
  std::vector<std::size_t> sizes;
  for (Write* write : batch) {
    all.insert(all.end(), write->queries->begin(), write->queries->end());
    sizes.push_back(write->queries->size());
  }
  all.push_back(Query{&kWalPosition, Params()});
  std::size_t writes_size = all.size() - 1;
  const std::size_t together[] = {writes_size, 1};
  std::vector<PgResult> results;
  Status status = co_await connection.Run(all, together, results, deadline);
  bool failed = status.ok() && std::any_of(results.begin(), results.begin() + writes_size,
                                           [](const PgResult& r) { return !r.ok(); });
  if (failed && batch.size() > 1) {
    // The one transaction was rolled back: send each write again in a transaction of its
    // own (one segment each), still in one round trip.
    sizes.push_back(1);
    status = co_await connection.Run(all, sizes, results, deadline);
  }
  std::string position;
  if (status.ok() && results.back().ok() && results.back().rows() == 1) {
    position = results.back().Text(0, 0);
  }
  std::size_t next = 0;
  for (Write* write : batch) {
    write->status = status;
    if (!status.ok()) continue;
    write->results->clear();
    for (std::size_t i = 0; i < write->queries->size(); ++i) {
      write->results->push_back(std::move(results[next++]));
    }
    *write->position = position;
  }
}

}  // namespace todo::store::pg
