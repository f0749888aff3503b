// Api: the handlers of HTTP API v1 (docs/api.md), /healthz, /readyz and /metrics.
//
// Handlers are thin: route, authenticate, check the role, parse and validate the request
// (requests.h), make one store call through the StoreGate, render the answer (responses.h).
// Every request gets exactly one Reply; Handle never throws.
//
// Thread-safe: one Api serves every event loop; per-loop state (the token cache) is passed
// in by the caller. The gate must outlive the Api.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <functional>
#include <optional>
#include <type_traits>
#include <string>

#include "server/auth.h"
#include "server/config.h"
#include "server/requests.h"
#include "server/responses.h"
#include "server/router.h"
#include "server/store_gate.h"

namespace todo::server {

using Request = boost::beast::http::request<boost::beast::http::string_body>;

// What GET /v1/events/stream needs once its request is accepted; or the error answer.
struct StreamStart {
  std::optional<Reply> error;  // set: answer this and close
  store::Actor actor;
  std::optional<int64_t> after;
};

class Api {
 public:
  // `metrics_text` renders GET /metrics; it is called on the requesting loop. `read_gate`,
  // when not null, leads to a replica (todod --read-db) for managers' reads.
  Api(StoreGate& gate, StoreGate* read_gate, const ServerOptions& options,
      std::function<std::string()> metrics_text);

  // Managers' reads answered by the replica, and sent on to the primary.
  uint64_t replica_reads() const { return replica_reads_.load(); }
  uint64_t replica_fallbacks() const { return replica_fallbacks_.load(); }

  // The answer to `request`, on the caller's event loop, whose token cache is `tokens`.
  // Unknown path: 404; known path with another method: 405; /v1 without a valid token: 401;
  // any exception: 500. reply.route is always set.
  asio::awaitable<Reply> Handle(const Request& request, TokenCache& tokens);

  // Checks a GET /v1/events/stream request (parameters, token) on the caller's loop; the
  // connection then runs the stream itself (stream.h).
  asio::awaitable<StreamStart> StartStream(const Request& request, TokenCache& tokens);

 private:
  asio::awaitable<Reply> Dispatch(const Request& request, const Target& target,
                                  const RouteMatch& match, TokenCache& tokens);
  asio::awaitable<Reply> Ready();
  asio::awaitable<Reply> AddTask(const Request& req, const Target& target,
                                 const store::Actor& actor);
  asio::awaitable<Reply> ListTasks(const Target& target, const store::Actor& actor);
  asio::awaitable<Reply> GetTask(int64_t id, const store::Actor& actor);
  asio::awaitable<Reply> UpdateTask(const Request& req, const Target& target, int64_t id,
                                    const store::Actor& actor);
  asio::awaitable<Reply> RemoveTask(const Request& req, const Target& target, int64_t id,
                                    const store::Actor& actor);
  asio::awaitable<Reply> RemoveOldest(const Request& req, const Target& target,
                                      const store::Actor& actor);
  asio::awaitable<Reply> ListUsers(const store::Actor& actor);
  asio::awaitable<Reply> CreateUser(const Request& req, const store::Actor& actor);
  asio::awaitable<Reply> ListEvents(const Target& target, const store::Actor& actor);

  // A read, `call(store, actor)`: for a manager or admin on the replica when there is one,
  // then on the primary if the replica is behind the actor's min_position or cannot answer
  // (kUnavailable, kInternal); everyone else's on the primary.
  template <typename Call>
  auto Read(const store::Actor& actor, Call call) -> asio::awaitable<
      typename std::invoke_result_t<Call&, store::Store&, const store::Actor&>::value_type>;

  StoreGate& gate_;
  StoreGate* read_gate_;
  std::atomic<uint64_t> replica_reads_{0};
  std::atomic<uint64_t> replica_fallbacks_{0};
  ServerOptions options_;
  std::function<std::string()> metrics_text_;
};

}  // namespace todo::server
