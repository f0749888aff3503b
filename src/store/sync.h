// RunSync: runs one store coroutine to completion on a private io_context and returns its
// result. For programs and tests that are not themselves asynchronous (the embedded CLI, the
// conformance suite). Never call it from inside an event loop: it blocks the calling thread.
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <future>
#include <utility>

namespace todo::store {

template <typename T>
T RunSync(boost::asio::awaitable<T> work) {
  boost::asio::io_context io;
  std::future<T> result = boost::asio::co_spawn(io, std::move(work), boost::asio::use_future);
  io.run();
  return result.get();
}

}  // namespace todo::store
