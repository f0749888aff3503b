// GET /v1/snapshot: every task of every user at one instant (Store::Snapshot), streamed as
// JSON lines in a chunked response, one chunk per page, so that the server holds one page
// at a time whatever the number of tasks.
//
// Body (application/x-ndjson): a header line {"position": ID, "at": TIME, "tasks": N}, then
// one task per line (the API's task JSON) in id order, then a trailer line
// {"end": {"tasks": N}} (N: the lines sent). The position is also in the
// `Todo-Snapshot-Position` response header. If the store fails once the head is sent, the
// response ends without its last chunk (and without the trailer): clients see it truncated.
//
// Runs on the connection's event loop. The connection closes after the snapshot.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <optional>
#include <string>

#include "core/task.h"
#include "server/auth.h"
#include "server/config.h"
#include "server/responses.h"
#include "server/store_gate.h"
#include "store/store.h"

namespace todo::server {

inline constexpr std::string_view kNdjsonType = "application/x-ndjson";

// The header line of a snapshot, without its newline.
std::string RenderSnapshotHeader(const store::SnapshotHeader& header);
// The trailer line, without its newline.
std::string RenderSnapshotTrailer(int64_t tasks);

// Who may take a snapshot: the caller behind `authorization`, if a manager or an admin.
// Otherwise the answer to send (401, 403, 503).
struct SnapshotStart {
  std::optional<Reply> error;
  store::Actor actor;
};
asio::awaitable<SnapshotStart> StartSnapshot(StoreGate& gate, TokenCache& tokens,
                                             std::string_view authorization);

// Streams the snapshot to `stream`, chunked for HTTP/1.1 (`http_version` 11), to the end of
// the connection for HTTP/1.0 (10). Returns the error answer to send instead when the store
// failed before anything was written; nothing once the response has started (complete, or
// cut short because the client went away or the store failed).
asio::awaitable<std::optional<Reply>> RunSnapshot(StoreGate& gate, boost::beast::tcp_stream& stream,
                                                  store::Actor actor, unsigned http_version,
                                                  const ServerOptions& options);

}  // namespace todo::server
