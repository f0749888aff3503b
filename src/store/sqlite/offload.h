// Offload: runs a function of a Connection on a store thread (Writer or ReaderPool) and
// resumes the awaiting coroutine on its own executor with the result. Internal to the
// SQLite store.
#pragma once

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <memory>
#include <optional>
#include <utility>

#include "core/status.h"
#include "store/sqlite/connection.h"
#include "store/sqlite/workers.h"

namespace todo::store {

// A Job made of `fn(Connection&) -> Result<T>` and the completion handler of the coroutine
// awaiting it. The handler is invoked through a post to its associated executor, never
// directly on the store's thread; a tracked executor keeps the caller's event loop from
// running out of work (and returning) while the job is queued.
template <typename T, typename Fn, typename Handler>
class OffloadedJob final : public Job {
 public:
  OffloadedJob(Fn fn, Handler handler)
      : fn_(std::move(fn)),
        handler_(std::move(handler)),
        executor_(boost::asio::prefer(boost::asio::get_associated_executor(handler_),
                                      boost::asio::execution::outstanding_work.tracked)) {}

  core::Status Run(Connection& db) override {
    try {
      result_.emplace(fn_(db));
    } catch (const SqliteError&) {
      throw;  // the worker decides: roll back, retry, or fail the job
    } catch (const std::exception& e) {
      // Not SQLite: a caller's callback (an idempotency renderer) or an allocation failed.
      result_.emplace(core::Status::Internal(std::string("store job failed: ") + e.what()));
    }
    return result_->ok() ? core::Status::Ok() : result_->status();
  }

  void Complete() override { Deliver(std::move(*result_)); }
  void Fail(core::Status status) override { Deliver(core::Result<T>(std::move(status))); }

 private:
  void Deliver(core::Result<T> result) {
    boost::asio::post(executor_,
                      [handler = std::move(handler_),
                       out = std::optional<core::Result<T>>(std::move(result))]() mutable {
                        std::move(handler)(std::move(out));
                      });
  }

  Fn fn_;
  Handler handler_;
  decltype(boost::asio::prefer(boost::asio::get_associated_executor(std::declval<Handler&>()),
                               boost::asio::execution::outstanding_work.tracked)) executor_;
  std::optional<core::Result<T>> result_;
};

// Runs `fn(Connection&) -> Result<T>` on `runner` (a Writer or a ReaderPool) and returns its
// result to the awaiting coroutine, which resumes on its own executor. `fn` is moved to the
// store's thread: it must own everything it uses (capture by value). Pass it as a named
// variable, `Offload<T>(runner, std::move(work))`, never as a lambda temporary inside the
// co_await expression: g++ 12 miscompiles class temporaries passed by value to a coroutine
// there.
template <typename T, typename Runner, typename Fn>
boost::asio::awaitable<core::Result<T>> Offload(Runner& runner, Fn fn) {
  // Result<T> has no default constructor, which the awaitable machinery wants: the
  // completion carries an optional, always engaged.
  std::optional<core::Result<T>> out =
      co_await boost::asio::async_initiate<decltype(boost::asio::use_awaitable),
                                           void(std::optional<core::Result<T>>)>(
          [&runner](auto handler, Fn f) {
            runner.Submit(std::make_unique<OffloadedJob<T, Fn, decltype(handler)>>(
                std::move(f), std::move(handler)));
          },
          boost::asio::use_awaitable, std::move(fn));
  co_return std::move(*out);
}

}  // namespace todo::store
