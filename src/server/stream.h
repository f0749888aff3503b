// The event stream of one connection (GET /v1/events/stream, Server-Sent Events), once the
// request is authenticated: the response head, the replay of what the client missed (from
// the store), then the live events of the Feed, with heartbeat comments in between.
//
// The stream ends (the connection closes) when the client goes away (noticed at the next
// write: a heartbeat at the latest), when a write takes longer than write_timeout, when the
// client falls too far behind (Subscription::cut_off), when the store fails during the
// replay, or when the feed stops (shutdown). A client resumes with Last-Event-ID.
//
// Runs on the connection's event loop; costs one coroutine and its queue while idle.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <cstdint>
#include <optional>

#include "server/config.h"
#include "server/feed.h"
#include "server/store_gate.h"
#include "store/store.h"

namespace todo::server {

// Streams `actor`'s events (all of them for managers and admins, their own for developers)
// after `after` (none: live from now) to `stream` until one of the ends above.
asio::awaitable<void> RunEventStream(Feed& feed, StoreGate& gate,
                                     boost::beast::tcp_stream& stream, store::Actor actor,
                                     std::optional<int64_t> after, const ServerOptions& options);

}  // namespace todo::server
