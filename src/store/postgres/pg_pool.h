// The PostgreSQL connections of one event loop, lent to one request at a time.
//
// A fixed number of slots, each a Connection that is opened lazily, by the first request that
// needs it, and dropped when it breaks (the next request through that slot reconnects): after
// the database restarts, the pool heals without anyone watching. Requests that find every
// connection busy wait in a bounded FIFO queue until one is returned or their deadline
// passes. After a failed connect, requests that would have to connect fail at once with the
// same error for a short pause, so that a down database answers every caller quickly instead
// of queueing them behind connect timeouts.
//
// Thread-safety: none; a Pool lives on one loop (single-threaded io_context) and is used only
// from coroutines running there. It must outlive its leases; Close() with none out.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <deque>
#include <memory>
#include <span>
#include <vector>

#include "core/status.h"
#include "store/postgres/pg_connection.h"

namespace todo::store::pg {

class Pool {
 public:
  // How long a failed connect makes later connects fail fast.
  static constexpr auto kRetryPause = std::chrono::milliseconds(200);
  // Longest a connect may take (libpq's connect_timeout is not enforced in async mode).
  static constexpr auto kConnectTimeout = std::chrono::seconds(3);
  // Requests that may wait for a connection at once; more are refused (kUnavailable).
  static constexpr std::size_t kMaxWaiters = 10000;

  // `params` and `statements` must outlive the pool.
  Pool(asio::io_context& io, const ConnectParams& params,
       std::span<const Statement* const> statements, int size);
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // A connection lent to one request; given back when the Lease dies. A connection left
  // inside a transaction, or broken, is closed on return rather than reused.
  class Lease {
   public:
    Lease() = default;
    Lease(Pool* pool, Connection* connection) : pool_(pool), connection_(connection) {}
    Lease(Lease&& other) noexcept
        : pool_(std::exchange(other.pool_, nullptr)),
          connection_(std::exchange(other.connection_, nullptr)) {}
    Lease& operator=(Lease&& other) noexcept;
    ~Lease() { Reset(); }
    Connection& operator*() const { return *connection_; }
    Connection* operator->() const { return connection_; }

   private:
    void Reset();
    Pool* pool_ = nullptr;
    Connection* connection_ = nullptr;
  };

  // A connected, idle connection, waiting for one until `deadline`. kUnavailable if the
  // database cannot be reached, the deadline passes, or too many requests are waiting.
  asio::awaitable<core::Result<Lease>> Acquire(Clock::time_point deadline);

  // Closes every connection. Only with no lease out (the store is closing).
  void Close();

  asio::io_context& io() { return io_; }
  // Requests waiting in Acquire.
  std::size_t waiting() const { return waiters_.size(); }

 private:
  struct Waiter;
  void Release(Connection* connection);
  Connection* TakeFree();

  asio::io_context& io_;
  const ConnectParams& params_;
  std::span<const Statement* const> statements_;
  std::vector<std::unique_ptr<Connection>> slots_;
  std::vector<Connection*> free_;  // not lent: connected or not
  std::deque<Waiter*> waiters_;    // FIFO
  Clock::time_point last_failure_;
  core::Status last_error_;
};

}  // namespace todo::store::pg
