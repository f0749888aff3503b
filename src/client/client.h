// Client: the typed HTTP client of the todo API v1 (docs/api.md), acting for one token.
// The CLI's remote mode and the simulator both use it, so the simulator walks the users' path.
//
// Writes carry an Idempotency-Key made once per call; a write whose connection failed or that
// got 502, 503 or 504 is sent again with the same key, so it is applied exactly once. Reads
// are retried the same way. Retries back off (100 ms doubling to 2 s) until `retry_for` has
// passed.
//
// Read-your-writes with replicas: a write's answer carries its commit position
// (Todo-Position); the Client keeps the newest one it was given in its Positions and sends it
// back on every read (Todo-Min-Position), so a server that reads a replica (todod --read-db)
// answers from one that has the write, or from the primary. Clients that share a Positions
// (the simulator's developers and managers) see each other's writes that way.
//
// A Client is a small value bound to an HttpPool; many Clients (one per simulated user) may
// share one pool. Same threading rule as the pool: one executor.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/http_pool.h"
#include "core/status.h"
#include "core/task.h"

namespace todo::client {

struct TaskPage {
  std::vector<core::Task> tasks;
  std::optional<int64_t> next;
};

struct EventPage {
  std::vector<core::Event> events;
  std::optional<int64_t> next;
};

struct UserSummary {
  std::string name;
  core::Role role = core::Role::kDeveloper;
  int64_t open = 0;
  int64_t done = 0;
  std::optional<core::TimePoint> last_update;
};

struct NewAccount {
  std::string name;
  core::Role role = core::Role::kDeveloper;
  std::string token;
};

struct ListOptions {
  std::string user;  // empty: no `user` parameter
  core::TaskState state = core::TaskState::kOpen;
  int64_t after = 0;
  int limit = 100;
};

// The newest commit position a set of clients was given (WAL positions "16/B374D848",
// compared as numbers). Thread-safe.
class Positions {
 public:
  // Keeps `position` if it is newer than the one kept; ignores what is not a position.
  void Record(std::string_view position);
  // The newest; empty before the first.
  std::string Latest() const;

 private:
  mutable std::mutex mu_;
  uint64_t newest_ = 0;
  std::string text_;
};

struct RetryPolicy {
  std::chrono::milliseconds retry_for{15000};  // 0: no retries
  std::chrono::milliseconds first_backoff{100};
  std::chrono::milliseconds max_backoff{2000};
};

// What a call observed, for callers that keep statistics (the simulator).
struct CallInfo {
  int attempts = 0;
  int http_status = 0;  // of the last attempt; 0 if no answer
};

class Client {
 public:
  // `positions`: shared with other clients, or (null) this client's own.
  Client(HttpPool& pool, std::string token, RetryPolicy retry = {},
         std::shared_ptr<Positions> positions = nullptr)
      : pool_(&pool),
        authorization_("Bearer " + std::move(token)),
        retry_(retry),
        positions_(positions ? std::move(positions) : std::make_shared<Positions>()) {}

  asio::awaitable<Result<core::Task>> AddTask(std::string text, CallInfo* info = nullptr);
  asio::awaitable<Result<core::Task>> GetTask(int64_t id, CallInfo* info = nullptr);
  asio::awaitable<Result<TaskPage>> ListTasks(const ListOptions& options,
                                              CallInfo* info = nullptr);
  // `text` and/or `done`; at least one.
  asio::awaitable<Result<core::Task>> UpdateTask(int64_t id, std::optional<std::string> text,
                                                 std::optional<bool> done,
                                                 CallInfo* info = nullptr);
  asio::awaitable<Status> RemoveTask(int64_t id, CallInfo* info = nullptr);
  asio::awaitable<Result<std::vector<int64_t>>> RemoveOldest(int count, CallInfo* info = nullptr);
  asio::awaitable<Result<std::vector<UserSummary>>> ListUsers(CallInfo* info = nullptr);
  asio::awaitable<Result<NewAccount>> CreateUser(std::string name, core::Role role,
                                                 CallInfo* info = nullptr);
  asio::awaitable<Result<EventPage>> ListEvents(int64_t after, int limit,
                                                CallInfo* info = nullptr);

  // One request with this client's token and retry rule; the raw answer (2xx only; other
  // statuses become a Status from the JSON error body). For calls the typed ones lack.
  asio::awaitable<Result<Response>> Call(http::verb method, std::string target, std::string body,
                                         bool idempotent_write, CallInfo* info = nullptr);

 private:
  HttpPool* pool_;
  std::string authorization_;  // "Bearer " and the token: the header every request carries
  RetryPolicy retry_;
  std::shared_ptr<Positions> positions_;
};

// A fresh random Idempotency-Key (128 bits, hex).
std::string NewIdempotencyKey();

// The Status an error answer stands for: the code and message of its JSON body, or one
// derived from the HTTP status when the body is not ours.
Status StatusFromResponse(const Response& response);

}  // namespace todo::client
