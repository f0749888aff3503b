#include "store/postgres/pg_pool.h"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace todo::store::pg {

using core::Status;

struct Pool::Waiter {
  explicit Waiter(asio::io_context& io) : timer(io) {}
  asio::steady_timer timer;          // the deadline; cancelled when a connection is handed over
  Connection* connection = nullptr;  // set by Release
};

Pool::Pool(asio::io_context& io, const ConnectParams& params,
           std::span<const Statement* const> statements, int size)
    : io_(io), params_(params), statements_(statements) {
  for (int i = 0; i < std::max(1, size); ++i) {
    slots_.push_back(std::make_unique<Connection>(io));
    free_.push_back(slots_.back().get());
  }
}

Pool::~Pool() { Close(); }

void Pool::Close() {
  for (auto& slot : slots_) slot->Close();
}

Pool::Lease& Pool::Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    Reset();
    pool_ = std::exchange(other.pool_, nullptr);
    connection_ = std::exchange(other.connection_, nullptr);
  }
  return *this;
}

void Pool::Lease::Reset() {
  if (pool_ != nullptr && connection_ != nullptr) pool_->Release(connection_);
  pool_ = nullptr;
  connection_ = nullptr;
}

Connection* Pool::TakeFree() {
  if (free_.empty()) return nullptr;
  // The most recently returned connected one (warm caches), else an unconnected slot.
  auto connected =
      std::find_if(free_.rbegin(), free_.rend(), [](Connection* c) { return c->connected(); });
  auto chosen = connected != free_.rend() ? std::prev(connected.base()) : free_.end() - 1;
  Connection* connection = *chosen;
  free_.erase(chosen);
  return connection;
}

void Pool::Release(Connection* connection) {
  // A request that ended inside a transaction (it failed between BEGIN and COMMIT) must not
  // hand that transaction to the next one: closing the connection rolls it back.
  if (connection->InTransaction()) connection->Close();
  if (!waiters_.empty()) {
    Waiter* waiter = waiters_.front();
    waiters_.pop_front();
    waiter->connection = connection;
    waiter->timer.cancel();
    return;
  }
  free_.push_back(connection);
}

asio::awaitable<core::Result<Pool::Lease>> Pool::Acquire(Clock::time_point deadline) {
  Connection* connection = TakeFree();
  if (connection == nullptr) {
    if (waiters_.size() >= kMaxWaiters) {
      co_return Status::Unavailable("too many requests waiting for a PostgreSQL connection");
    }
    Waiter waiter(io_);
    waiter.timer.expires_at(deadline);
    waiters_.push_back(&waiter);
    co_await waiter.timer.async_wait(asio::as_tuple(asio::use_awaitable));
    // Handed a connection (the timer was cancelled, or expired just as it was handed over).
    if (waiter.connection == nullptr) {
      waiters_.erase(std::find(waiters_.begin(), waiters_.end(), &waiter));
      co_return Status::Unavailable("timed out waiting for a PostgreSQL connection");
    }
    connection = waiter.connection;
  }
  Lease lease(this, connection);
  // An idle connection the server has spoken on has been told to go (shutdown, restart,
  // idle timeout): replace it before it fails a request.
  if (connection->connected() && connection->ReadableWhileIdle()) connection->Close();
  if (!connection->connected()) {
    Clock::time_point now = Clock::now();
    if (now - last_failure_ < kRetryPause) co_return last_error_;
    Status connected = co_await connection->Connect(params_, statements_,
                                                    std::min(deadline, now + kConnectTimeout));
    if (!connected.ok()) {
      last_failure_ = Clock::now();
      last_error_ = connected;
      co_return connected;
    }
  }
  co_return std::move(lease);
}

}  // namespace todo::store::pg
