#include "server/snapshot.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cstdio>
#include <utility>
#include <vector>

#include "core/json.h"

namespace todo::server {
namespace {

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

// `text` as one chunk of a chunked body (RFC 9112 7.1); "" is the last chunk.
std::string Chunk(std::string_view text) {
  char size[24];
  std::snprintf(size, sizeof size, "%zx\r\n", text.size());
  std::string out(size);
  out += text;
  out += "\r\n";
  return out;
}

// An HTTP/1.0 client knows no chunks: its body is the bytes until the connection closes.
std::string ResponseHead(int64_t position, bool chunked) {
  return "HTTP/1.1 200 OK\r\n"
         "Content-Type: " +
         std::string(kNdjsonType) +
         "\r\n"
         "Cache-Control: no-store\r\n"
         "Todo-Snapshot-Position: " +
         std::to_string(position) + "\r\n" + (chunked ? "Transfer-Encoding: chunked\r\n" : "") +
         "Connection: close\r\n"
         "\r\n";
}

// Writes what the store reads to the connection: each call ends when its bytes are written
// (or the write failed), so the store reads the next page only after that.
class ChunkedSink final : public store::SnapshotSink {
 public:
  ChunkedSink(boost::beast::tcp_stream& stream, std::chrono::milliseconds timeout, bool chunked)
      : stream_(stream), timeout_(timeout), chunked_(chunked) {}

  bool started() const { return started_; }
  int64_t lines() const { return lines_; }

  asio::awaitable<Status> Begin(const store::SnapshotHeader& header) override {
    started_ = true;
    std::string out =
        ResponseHead(header.position, chunked_) + Frame(RenderSnapshotHeader(header) + "\n");
    co_return co_await Send(out);
  }

  asio::awaitable<Status> Page(std::vector<core::Task> tasks) override {
    std::string lines;
    for (const core::Task& task : tasks) {
      lines += RenderTask(task);
      lines += '\n';
    }
    lines_ += static_cast<int64_t>(tasks.size());
    std::string out = Frame(lines);
    co_return co_await Send(out);
  }

  // The trailer line and the last chunk.
  asio::awaitable<Status> End() {
    std::string out = Frame(RenderSnapshotTrailer(lines_) + "\n");
    if (chunked_) out += Chunk("");
    co_return co_await Send(out);
  }

 private:
  std::string Frame(std::string_view text) const {
    return chunked_ ? Chunk(text) : std::string(text);
  }

  asio::awaitable<Status> Send(const std::string& out) {
    stream_.expires_after(timeout_);
    auto [ec, n] = co_await asio::async_write(stream_, asio::buffer(out), kUseTuple);
    if (ec) co_return Status::Unavailable("the client went away: " + ec.message());
    co_return Status::Ok();
  }

  boost::beast::tcp_stream& stream_;
  std::chrono::milliseconds timeout_;
  bool chunked_;
  bool started_ = false;
  int64_t lines_ = 0;
};

}  // namespace

std::string RenderSnapshotHeader(const store::SnapshotHeader& header) {
  return core::SnapshotHeaderLine(header.position, header.taken, header.tasks);
}

std::string RenderSnapshotTrailer(int64_t tasks) { return core::SnapshotTrailerLine(tasks); }

asio::awaitable<SnapshotStart> StartSnapshot(StoreGate& gate, TokenCache& tokens,
                                             std::string_view authorization) {
  SnapshotStart start;
  Result<store::Actor> actor = co_await Authenticate(gate, tokens, authorization);
  if (!actor.ok()) {
    start.error = ErrorReply(actor.status());
  } else if (!core::CanReadAll(actor->role)) {
    start.error = ErrorReply(Status::PermissionDenied("only managers and admins take snapshots"));
  } else {
    start.actor = std::move(actor).value();
  }
  if (start.error) start.error->route = Route::kSnapshot;
  co_return start;
}

asio::awaitable<std::optional<Reply>> RunSnapshot(StoreGate& gate, boost::beast::tcp_stream& stream,
                                                  store::Actor actor, unsigned http_version,
                                                  const ServerOptions& options) {
  ChunkedSink sink(stream, options.write_timeout, http_version >= 11);
  // The store writes to this connection until it returns: no deadline may leave it running
  // after this coroutine moved on (store_gate.h, CallToEnd). Its own waits are bounded.
  auto call = gate.CallToEnd(
      [actor = std::move(actor), &sink](store::Store& s) { return s.Snapshot(actor, sink); });
  Status walked = co_await std::move(call);
  if (!sink.started()) {
    Reply error = ErrorReply(walked.ok() ? Status::Internal("the snapshot had no header") : walked);
    error.route = Route::kSnapshot;
    co_return error;
  }
  if (walked.ok()) (void)co_await sink.End();
  co_return std::nullopt;
}

}  // namespace todo::server
