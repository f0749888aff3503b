// StoreGate: the one way the server calls the store. It bounds every call by a deadline and,
// at shutdown, lets the server know when no call is in flight any more so the store can be
// closed safely.
//
// A call runs as its own coroutine on the caller's executor, so that a request whose
// deadline passes is answered (kUnavailable) at once while the store call finishes on its
// own; that is why the function given to Call must own everything the store call uses
// (capture by value). A write that misses its deadline may still commit afterwards: the
// client sees 503 and retries with the same Idempotency-Key.
//
// Use it as `auto call = gate.Call([captures](store::Store& s) { ... }); auto r = co_await
// std::move(call);`. Never put the lambda (or any braced temporary) inside the co_await
// expression itself: g++ 12 destroys such a temporary twice (a double free under ASan).
//
// Thread-safe: Call may be used from any event loop at once; Close and in_flight from any
// thread. The gate must outlive every call in flight (wait for in_flight() == 0).
#pragma once

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "core/status.h"
#include "store/store.h"

namespace todo::server {

namespace asio = boost::asio;

class StoreGate {
 public:
  StoreGate(store::Store& store, std::chrono::milliseconds deadline)
      : store_(store), deadline_(deadline) {}
  StoreGate(const StoreGate&) = delete;
  StoreGate& operator=(const StoreGate&) = delete;

  // Runs `fn(store)`, a function returning asio::awaitable<T> (T is a Result<...> or a
  // Status), and returns its value; or kUnavailable if it did not finish within the
  // deadline or the gate is closed; or kInternal if it threw.
  template <typename Fn>
  auto Call(Fn fn)
      -> asio::awaitable<typename std::invoke_result_t<Fn&, store::Store&>::value_type> {
    return Call(std::move(fn), deadline_);
  }
  template <typename Fn>
  auto Call(Fn fn, std::chrono::milliseconds deadline)
      -> asio::awaitable<typename std::invoke_result_t<Fn&, store::Store&>::value_type>;

  // Runs `fn(store)` like Call, but without a deadline: for a call that uses its caller's
  // objects until it returns (a snapshot writing to the caller's connection), which must
  // therefore never be left running after its caller went on. Such a call bounds its own
  // waits. Counted in in_flight() like the others; kUnavailable once the gate is closed.
  template <typename Fn>
  auto CallToEnd(Fn fn)
      -> asio::awaitable<typename std::invoke_result_t<Fn&, store::Store&>::value_type>;

  // From now on every Call answers kUnavailable without touching the store.
  void Close() { closed_.store(true); }
  // Store calls started and not yet finished (including those whose caller gave up).
  int in_flight() const { return in_flight_.load(); }

 private:
  template <typename T>
  struct CallState {
    explicit CallState(asio::any_io_executor ex) : timer(std::move(ex)) {}
    std::optional<T> result;
    asio::steady_timer timer;
  };

  template <typename T, typename Fn>
  static asio::awaitable<void> Run(store::Store& store, Fn fn, std::shared_ptr<CallState<T>> state,
                                   std::atomic<int>* in_flight) {
    try {
      state->result.emplace(co_await fn(store));
    } catch (const std::exception& e) {
      state->result.emplace(
          T(core::Status::Internal(std::string("store call threw: ") + e.what())));
    } catch (...) {
      state->result.emplace(T(core::Status::Internal("store call threw")));
    }
    in_flight->fetch_sub(1);
    state->timer.cancel();
  }

  store::Store& store_;
  std::chrono::milliseconds deadline_;
  std::atomic<bool> closed_{false};
  std::atomic<int> in_flight_{0};
};

template <typename Fn>
auto StoreGate::Call(Fn fn, std::chrono::milliseconds deadline)
    -> asio::awaitable<typename std::invoke_result_t<Fn&, store::Store&>::value_type> {
  using T = typename std::invoke_result_t<Fn&, store::Store&>::value_type;
  // Count first, then look at closed_: Close() followed by in_flight() == 0 then guarantees
  // that no call touches the store any more (both sides use sequentially consistent order).
  in_flight_.fetch_add(1);
  if (closed_.load()) {
    in_flight_.fetch_sub(1);
    co_return T(core::Status::Unavailable("the server is shutting down"));
  }
  asio::any_io_executor ex = co_await asio::this_coro::executor;
  auto state = std::make_shared<CallState<T>>(ex);
  state->timer.expires_after(deadline);
  asio::co_spawn(ex, Run<T, Fn>(store_, std::move(fn), state, &in_flight_), asio::detached);
  // The call may have finished already (co_spawn can run it inline up to its first
  // suspension, and a store may answer without suspending).
  if (!state->result) {
    co_await state->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  if (state->result) co_return std::move(*state->result);
  co_return T(core::Status::Unavailable("the database did not answer within " +
                                        std::to_string(deadline.count()) + " ms"));
}

template <typename Fn>
auto StoreGate::CallToEnd(Fn fn)
    -> asio::awaitable<typename std::invoke_result_t<Fn&, store::Store&>::value_type> {
  using T = typename std::invoke_result_t<Fn&, store::Store&>::value_type;
  in_flight_.fetch_add(1);
  struct Done {
    std::atomic<int>& in_flight;
    ~Done() { in_flight.fetch_sub(1); }
  } done{in_flight_};
  if (closed_.load()) co_return T(core::Status::Unavailable("the server is shutting down"));
  try {
    co_return co_await fn(store_);
  } catch (const std::exception& e) {
    co_return T(core::Status::Internal(std::string("store call threw: ") + e.what()));
  }
}

}  // namespace todo::server
