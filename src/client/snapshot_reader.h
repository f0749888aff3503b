// ReadSnapshot: GET /v1/snapshot read as it arrives, line by line, on a connection of its
// own, so that a snapshot of any size takes one chunk of memory (the CLI's `todo snapshot`).
// Blocking; thread-compatible (each call has its own io_context).
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "client/http_pool.h"
#include "core/status.h"

namespace todo::client {

// Calls `on_line` with each line of the snapshot (without its newline), in order: the
// header, the tasks, the trailer. kUnauthenticated / kPermissionDenied / ... from an error
// answer; kUnavailable if the server cannot be reached or the connection breaks (the
// response is then incomplete: no trailer); whatever `on_line` returns if it fails.
// `timeout` bounds each read, not the whole transfer.
Status ReadSnapshot(const Endpoint& endpoint, const std::string& token,
                    const std::function<Status(std::string_view line)>& on_line,
                    std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace todo::client
