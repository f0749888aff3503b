#include "store/postgres/pg_batch.h"

#include <libpq-fe.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "store/postgres/pg_sql.h"

namespace todo::store::pg {

using core::Status;

namespace {

// A write that is one kAddTask, whose parameters can go into kAddTasks.
bool IsAdd(const std::vector<Query>& queries) {
  return queries.size() == 1 && queries[0].statement == &kAddTask;
}

// A write that is kLockUser then kRemoveOldest, whose parameters can go into kRemoveOldests.
bool IsRemoveOldest(const std::vector<Query>& queries) {
  return queries.size() == 2 && queries[0].statement == &kLockUser &&
         queries[1].statement == &kRemoveOldest;
}

// Rows [first, end) of a merged statement's result, without its first column (the ord), as
// the write's own statement would have answered them (libpq builds results for this:
// PQmakeEmptyPGresult and friends).
PgResult RowsOf(const PgResult& merged, int first, int end) {
  const int columns = merged.columns() - 1;
  PGresult* result = PQmakeEmptyPGresult(nullptr, PGRES_TUPLES_OK);
  std::vector<PGresAttDesc> attributes(static_cast<std::size_t>(columns));
  static char kName[] = "?column?";
  for (PGresAttDesc& attribute : attributes) {
    attribute.name = kName;
    attribute.typlen = -1;
    attribute.atttypmod = -1;
  }
  PQsetResultAttrs(result, columns, attributes.data());
  for (int row = first; row < end; ++row) {
    for (int c = 0; c < columns; ++c) {
      if (merged.IsNull(row, c + 1)) {
        PQsetvalue(result, row - first, c, nullptr, -1);
      } else {
        std::string_view value = merged.Text(row, c + 1);
        PQsetvalue(result, row - first, c, const_cast<char*>(value.data()),
                   static_cast<int>(value.size()));
      }
    }
  }
  return PgResult(result);
}

// The ord column (1 to `count`, ascending) of a merged statement's result: where each
// write's rows begin; ranges[ord - 1] to ranges[ord] are its rows. Empty if malformed.
std::vector<int> RowRanges(const PgResult& merged, int count) {
  std::vector<int> starts(static_cast<std::size_t>(count) + 1, 0);
  int ord = 0;
  for (int row = 0; row < merged.rows(); ++row) {
    const int64_t next = merged.Int(row, 0);
    if (next < ord || next < 1 || next > count) return {};
    while (ord < next) starts[static_cast<std::size_t>(ord++)] = row;
  }
  while (ord <= count) starts[static_cast<std::size_t>(ord++)] = merged.rows();
  return starts;
}

}  // namespace

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
  std::string* position = nullptr;  // null: runs alone (RunAlone)
};

Batcher::Batcher(asio::io_context& io, Pool& pool, int connections, int depth)
    : io_(io),
      pool_(pool),
      connections_(std::max(1, connections)),
      depth_(std::max(1, depth)),
      max_drivers_(connections_ * depth_) {}

// Gives a borrowed connection back when it goes out of scope.
class Batcher::Borrowed {
 public:
  Borrowed(Batcher& batcher, Shared* shared) : batcher_(batcher), shared_(shared) {}
  Borrowed(const Borrowed&) = delete;
  Borrowed& operator=(const Borrowed&) = delete;
  ~Borrowed() {
    if (shared_ != nullptr) batcher_.Return(shared_);
  }
  Connection& operator*() const { return *shared_->lease; }

 private:
  Batcher& batcher_;
  Shared* shared_;
};

asio::awaitable<core::Result<Batcher::Shared*>> Batcher::Borrow(Clock::time_point deadline) {
  // A connection of our own while we have fewer than we may (a batch stuck behind a lock
  // then holds up no other); else the least busy one we have.
  if (pool_.waiting() == 0 && static_cast<int>(shared_.size()) >= connections_) {
    Shared* least = nullptr;
    for (auto& shared : shared_) {
      if (shared->users < depth_ && shared->lease->connected() &&
          (least == nullptr || shared->users < least->users)) {
        least = shared.get();
      }
    }
    if (least != nullptr) {
      ++least->users;
      co_return least;
    }
  }
  auto lease = co_await pool_.Acquire(deadline);
  if (!lease.ok()) co_return lease.status();
  shared_.push_back(std::make_unique<Shared>(Shared{.lease = std::move(*lease), .users = 1}));
  co_return shared_.back().get();
}

void Batcher::Return(Shared* shared) {
  if (--shared->users > 0) return;
  // The last batch on it: the connection goes back to the pool.
  shared_.erase(std::find_if(shared_.begin(), shared_.end(),
                             [shared](const auto& s) { return s.get() == shared; }));
}

asio::awaitable<Status> Batcher::Run(const std::vector<Query>& queries, const std::string& user,
                                     std::vector<PgResult>& results, std::string& position,
                                     Clock::time_point deadline) {
  Write me(io_);
  me.queries = &queries;
  me.user = &user;
  me.deadline = deadline;
  me.results = &results;
  me.position = &position;
  co_return co_await Enqueue(me);
}

asio::awaitable<Status> Batcher::RunAlone(const std::vector<Query>& queries,
                                          std::vector<PgResult>& results,
                                          Clock::time_point deadline) {
  static const std::string kNobody;
  Write me(io_);
  me.queries = &queries;
  me.user = &kNobody;
  me.deadline = deadline;
  me.results = &results;
  co_return co_await Enqueue(me);
}

asio::awaitable<Status> Batcher::Enqueue(Write& me) {
  const Clock::time_point deadline = me.deadline;
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
      auto shared = co_await Borrow(me.deadline);
      Borrowed connection(*this, shared.ok() ? *shared : nullptr);
      if (me.state == Write::State::kQueued) {
        if (!shared.ok() || Clock::now() >= me.deadline) {
          queued_.erase(std::find(queued_.begin(), queued_.end(), &me));
          me.status = shared.ok() ? Status::Unavailable(
                                        "timed out waiting for a PostgreSQL "
                                        "connection")
                                  : shared.status();
          me.state = Write::State::kDone;
          break;
        }
        std::vector<Write*> batch = TakeBatch();
        co_await RunBatch(*connection, batch);
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
  // Every write taken had reached its deadline (TakeBatch failed them): nothing to send.
  if (batch.empty()) co_return;
  // The latest of the writes' deadlines: one write close to its own must not cut short the
  // batch of all the others (each still waits at most about its own timeout twice).
  Clock::time_point deadline = Clock::time_point::min();
  for (Write* write : batch) deadline = std::max(deadline, write->deadline);

  // The writes first, ordered by user; then those that run alone, in arrival order.
  auto alone = std::stable_partition(batch.begin(), batch.end(),
                                     [](const Write* w) { return w->position != nullptr; });
  std::stable_sort(batch.begin(), alone,
                   [](const Write* a, const Write* b) { return *a->user < *b->user; });
  const std::size_t shared = static_cast<std::size_t>(alone - batch.begin());
  batches_.fetch_add(1, std::memory_order_relaxed);
  writes_.fetch_add(shared, std::memory_order_relaxed);
  alone_.fetch_add(batch.size() - shared, std::memory_order_relaxed);

  // One segment (one transaction) with every write, then one with kWalPosition (if there are
  // writes), then one per alone. With two writes or more, one kLockUsers first locks every
  // user of the batch (in user order), in place of each write's own kLockUser. Then two adds
  // or more go as one statement (kAddTasks), and two remove-oldest or more of different
  // users as one (kRemoveOldests; a user's second one runs on its own, after): executor
  // start-up, locks and index opening once for all of them (docs/benchmarks.md). Each write
  // keeps its own statements for the resend below.
  std::vector<Query> all;
  std::vector<std::size_t> segments;
  const bool lock_all = shared >= 2;
  enum class Merged { kNo, kAdd, kRemove };
  std::vector<Merged> merged(shared, Merged::kNo);
  std::vector<Write*> adds;
  std::vector<Write*> removes;
  for (std::size_t w = 0; w < shared; ++w) {
    const std::vector<Query>& queries = *batch[w]->queries;
    if (IsAdd(queries)) {
      adds.push_back(batch[w]);
    } else if (IsRemoveOldest(queries) &&
               (removes.empty() || *removes.back()->user != *batch[w]->user)) {
      removes.push_back(batch[w]);  // the batch is sorted by user: one per user
    }
  }
  if (adds.size() < 2) adds.clear();
  if (removes.size() < 2) removes.clear();
  if (lock_all) {
    std::vector<const char*> users;  // ascending, distinct (the batch is sorted by user)
    for (std::size_t w = 0; w < shared; ++w) {
      const std::string& user = *batch[w]->user;
      if (users.empty() || user != users.back()) users.push_back(user.c_str());
    }
    all.push_back(Query{&kLockUsers, Params().Own(TextArrayLiteral(users))});
  }
  // One statement for `writes`, each of which has its parameters in `query` (the arrays'
  // elements, in order).
  auto merge = [&](const Statement& statement, const std::vector<Write*>& writes,
                   std::size_t query) {
    std::vector<std::vector<const char*>> columns;
    for (Write* write : writes) {
      const Params::ValueArray values = (*write->queries)[query].params.Values();
      columns.resize(values.size());
      for (std::size_t c = 0; c < values.size(); ++c) columns[c].push_back(values[c]);
    }
    Params arrays;
    for (const auto& column : columns) arrays.Own(TextArrayLiteral(column));
    all.push_back(Query{&statement, std::move(arrays)});
  };
  const std::size_t adds_result = all.size();
  // Keys claimed by plain inserts, unless a merged statement of this loop failed on a key
  // already recorded (a retry) lately: see kAddTasks and kCarefulFor.
  const bool careful = Clock::now() < careful_until_;
  if (!adds.empty()) merge(careful ? kAddTasksOrReplay : kAddTasks, adds, 0);
  const std::size_t removes_result = all.size();
  if (!removes.empty()) merge(careful ? kRemoveOldestsOrReplay : kRemoveOldests, removes, 1);
  for (std::size_t w = 0, a = 0, r = 0; w < shared; ++w) {
    if (a < adds.size() && adds[a] == batch[w]) {
      merged[w] = Merged::kAdd;
      ++a;
    } else if (r < removes.size() && removes[r] == batch[w]) {
      merged[w] = Merged::kRemove;
      ++r;
    }
  }
  // Whether a write's query is left out of the shared transaction (done by the above).
  auto covered = [&](std::size_t w, const Query& query) {
    return merged[w] != Merged::kNo || (lock_all && query.statement == &kLockUser);
  };
  for (std::size_t w = 0; w < shared; ++w) {
    for (const Query& query : *batch[w]->queries) {
      if (!covered(w, query)) all.push_back(query);
    }
  }
  const std::size_t writes_size = all.size();
  if (shared > 0) {
    all.push_back(Query{&kWalPosition, Params()});
    segments = {writes_size, 1};
  }
  for (std::size_t w = shared; w < batch.size(); ++w) {
    all.insert(all.end(), batch[w]->queries->begin(), batch[w]->queries->end());
    segments.push_back(batch[w]->queries->size());
  }
  std::vector<PgResult> results;
  Status status = co_await connection.Run(all, segments, results, deadline);
  const Status alone_status = status;  // the alones are done after this round trip
  bool failed = status.ok() && std::any_of(results.begin(), results.begin() + writes_size,
                                           [](const PgResult& r) { return !r.ok(); });
  // Where each merged write's rows are in its statement's result.
  std::vector<int> add_rows;
  std::vector<int> remove_rows;
  if (status.ok() && !failed) {
    if (!adds.empty()) add_rows = RowRanges(results[adds_result], static_cast<int>(adds.size()));
    if (!removes.empty()) {
      remove_rows = RowRanges(results[removes_result], static_cast<int>(removes.size()));
    }
  }
  // The writes' results in batch order, as if each had run its own statements.
  std::vector<PgResult> written;
  if (failed && shared > 1) {
    // The one transaction was rolled back: send each write again, with its own statements,
    // in a transaction of its own (one segment each), still in one round trip. The alones'
    // results are kept. If a merged statement failed on a key already recorded (only its
    // claim can raise a unique violation), a retry: they come in bursts (after an outage, a
    // failover), so for a while merged statements replay keys instead of failing the batch.
    auto key_taken = [&](bool merged, std::size_t at) {
      return merged && results[at].sqlstate() == "23505";
    };
    if (key_taken(!adds.empty(), adds_result) || key_taken(!removes.empty(), removes_result)) {
      careful_until_ = Clock::now() + kCarefulFor;
    }
    resent_.fetch_add(1, std::memory_order_relaxed);
    std::vector<Query> again;
    std::vector<std::size_t> each;
    for (std::size_t w = 0; w < shared; ++w) {
      again.insert(again.end(), batch[w]->queries->begin(), batch[w]->queries->end());
      each.push_back(batch[w]->queries->size());
    }
    again.push_back(Query{&kWalPosition, Params()});
    each.push_back(1);
    status = co_await connection.Run(again, each, written, deadline);
    if (status.ok()) results[writes_size] = std::move(written.back());
    if (!written.empty()) written.pop_back();
  } else if (status.ok() && ((!adds.empty() && add_rows.empty()) ||
                             (!removes.empty() && remove_rows.empty()))) {
    // Cannot happen (each merged statement answers every write, in order); if it did, the
    // writes committed but their answers are unknown.
    status = Status::Internal("a merged statement's result was malformed");
  } else if (status.ok()) {
    merged_adds_.fetch_add(adds.size(), std::memory_order_relaxed);
    merged_removes_.fetch_add(removes.size(), std::memory_order_relaxed);
    std::size_t next = removes_result + (removes.empty() ? 0 : 1);  // the first own query
    int add = 0;
    int remove = 0;
    for (std::size_t w = 0; w < shared; ++w) {
      const std::vector<Query>& queries = *batch[w]->queries;
      for (std::size_t q = 0; q < queries.size(); ++q) {
        const bool last = q + 1 == queries.size();  // the merged statement's part
        if (merged[w] == Merged::kAdd && last) {
          written.push_back(RowsOf(results[adds_result], add_rows[add], add_rows[add + 1]));
          ++add;
        } else if (merged[w] == Merged::kRemove && last) {
          written.push_back(
              RowsOf(results[removes_result], remove_rows[remove], remove_rows[remove + 1]));
          ++remove;
        } else if (covered(w, queries[q])) {
          // A kLockUser done by kLockUsers: an empty result in its place.
          written.push_back(PgResult(PQmakeEmptyPGresult(nullptr, PGRES_TUPLES_OK)));
        } else {
          written.push_back(std::move(results[next++]));
        }
      }
    }
  }
  std::string position;
  if (status.ok() && shared > 0 && results[writes_size].ok() &&
      results[writes_size].rows() == 1) {
    position = results[writes_size].Text(0, 0);
  }
  std::size_t next_written = 0;
  std::size_t next_alone = shared > 0 ? writes_size + 1 : 0;  // past kWalPosition's result
  for (Write* write : batch) {
    // A failed resend of the writes does not undo the alones' answers (a read, an account
    // created) from the first round trip.
    const bool by_itself = write->position == nullptr;
    write->status = by_itself ? alone_status : status;
    std::vector<PgResult>& from = by_itself ? results : written;
    std::size_t& next = by_itself ? next_alone : next_written;
    const std::size_t first = next;
    next += write->queries->size();
    if (!write->status.ok()) continue;
    write->results->clear();
    for (std::size_t i = first; i < next; ++i) write->results->push_back(std::move(from[i]));
    if (!by_itself) *write->position = position;
  }
}

}  // namespace todo::store::pg
