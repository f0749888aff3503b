// client::Client::Call refuses what would break the request it writes by hand (a token or
// target with a line break would add headers of the caller's making), before any network.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "client/client.h"

namespace todo::client {
namespace {

core::ErrorCode CallWith(const std::string& token, const std::string& target) {
  asio::io_context io(1);
  // Nothing listens there: an answer other than kInvalidArgument would be kUnavailable.
  HttpPool pool(io.get_executor(), Endpoint{.host = "127.0.0.1", .port = "1"}, 1,
                std::chrono::milliseconds(200));
  Client client(pool, token, RetryPolicy{.retry_for = std::chrono::milliseconds(0)});
  auto done = asio::co_spawn(io, client.Call(http::verb::get, target, "", false),
                             asio::use_future);
  io.run();
  auto result = done.get();
  return result.ok() ? core::ErrorCode::kOk : result.status().code();
}

TEST(CallTest, RefusesLineBreaksInTheTokenOrTarget) {
  EXPECT_EQ(CallWith("tok\r\nX-Evil: 1", "/v1/tasks"), core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(CallWith("tok\n", "/v1/tasks"), core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(CallWith("tok", "/v1/tasks\r\nX-Evil: 1"), core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(CallWith("tok", "/v1/tasks HTTP/1.0"), core::ErrorCode::kInvalidArgument);
  // A good one gets as far as the network (nobody there).
  EXPECT_EQ(CallWith("tok", "/v1/tasks"), core::ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace todo::client
