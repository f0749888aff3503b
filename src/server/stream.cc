#include "server/stream.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <string>
#include <utility>

namespace todo::server {

using core::Result;
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
constexpr int kReplayPage = 1000;

// Connection: close: the body ends when the stream does (no length, no chunking), which
// every SSE client reads. `retry` asks EventSource to reconnect after one second.
constexpr std::string_view kHead =
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: text/event-stream; charset=utf-8\r\n"
    "Cache-Control: no-store\r\n"
    "X-Accel-Buffering: no\r\n"
    "Connection: close\r\n"
    "\r\n"
    "retry: 1000\n"
    ": connected\n\n";
constexpr std::string_view kHeartbeat = ": ping\n\n";

asio::awaitable<bool> Send(boost::beast::tcp_stream& stream, std::string_view text,
                           std::chrono::milliseconds timeout) {
  stream.expires_after(timeout);
  auto [ec, n] = co_await asio::async_write(stream, asio::buffer(text.data(), text.size()),
                                            kUseTuple);
  co_return !ec;
}

}  // namespace

asio::awaitable<void> RunEventStream(Feed& feed, StoreGate& gate,
                                     boost::beast::tcp_stream& stream, store::Actor actor,
                                     std::optional<int64_t> after, const ServerOptions& options) {
  std::string user = core::CanReadAll(actor.role) ? std::string() : actor.name;
  int64_t position = 0;
  asio::any_io_executor executor = co_await asio::this_coro::executor;
  std::shared_ptr<Subscription> sub = feed.Subscribe(executor, std::move(user), position);
  // A closed subscription (cut off, or shutdown) also ends a write held up by a slow client.
  sub->OnClose([&stream] {
    boost::system::error_code ec;
    stream.socket().cancel(ec);
  });
  struct Unhook {
    Subscription& sub;
    ~Unhook() { sub.OnClose(nullptr); }
  } unhook{*sub};

  std::string head(kHead);
  if (!after) {
    // Live from now: a message with an id and no data sets the client's last event id
    // without being an event, so a reconnect resumes from here even if nothing came yet.
    head += "id: " + std::to_string(position) + "\n\n";
  }
  if (!co_await Send(stream, head, options.write_timeout)) co_return;
  Clock::time_point last_write = Clock::now();

  // Replay (cursor, position] from the change log; the feed queues everything after.
  int64_t cursor = after.value_or(position);
  while (cursor < position && !sub->closed()) {
    int64_t from = cursor;
    auto call = gate.Call(
        [actor, from](store::Store& s) { return s.ListEvents(actor, from, kReplayPage); });
    Result<store::EventPage> page = co_await std::move(call);
    if (!page.ok()) co_return;  // the client reconnects and resumes
    std::string out;
    for (const core::Event& event : page->events) {
      if (event.id > position) break;
      out += RenderSseEvent(event);
      cursor = event.id;
    }
    bool more = page->next.has_value() && cursor < position &&
                (!page->events.empty() && page->events.back().id == cursor);
    if (!more) cursor = std::max(cursor, position);
    if (!out.empty()) {
      if (!co_await Send(stream, out, options.write_timeout)) co_return;
      last_write = Clock::now();
    }
  }

  for (;;) {
    std::vector<std::shared_ptr<const Frame>> frames = sub->Take();
    if (frames.empty()) {
      if (sub->closed()) co_return;
      auto idle = Clock::now() - last_write;
      if (idle >= options.heartbeat) {
        if (!co_await Send(stream, kHeartbeat, options.write_timeout)) co_return;
        last_write = Clock::now();
        continue;
      }
      co_await sub->Wait(std::chrono::duration_cast<std::chrono::milliseconds>(
                             options.heartbeat - idle) +
                         std::chrono::milliseconds(1));
      continue;
    }
    std::string out;
    for (const auto& frame : frames) {
      // The replay may have gone past what the feed had read (a client ahead of this server).
      if (frame->id <= cursor) continue;
      out += frame->text;
      cursor = frame->id;
    }
    if (out.empty()) continue;
    if (!co_await Send(stream, out, options.write_timeout)) co_return;
    last_write = Clock::now();
  }
}

}  // namespace todo::server
