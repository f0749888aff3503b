// Feed: the live change log of one todod, fanned out in-process to its event streams
// (GET /v1/events/stream).
//
// One reader coroutine (on one event loop) follows the change log: it wakes when the store
// says the log may have grown (Store::WatchEvents: PostgreSQL notifications from every
// server, SQLite commits of this one) or every poll interval as a safety net, asks the store
// for the stable horizon (Store::EventHorizon) and reads ListEvents(after = position) up to
// it, so an event that commits late with a smaller id is never skipped
// (docs/decisions/0006). Each event is rendered once as an SSE frame and queued to every
// subscriber allowed to see it. While nobody subscribes it only follows the horizon, every
// 100 ms rather than after every commit (a stream opened then starts from that position: its
// first events may be from about 100 ms before, more while a transaction is held open).
//
// Subscribers are bounded queues, one per stream: a reader that falls more than
// max_queue frames behind is cut off (its stream closes; the client resumes with
// Last-Event-ID and loses nothing), so a slow reader never holds up the others or memory.
//
// Thread-safety: every public method may be called from any thread. A Subscription is
// filled by the reader thread and drained by its stream's loop; it wakes the stream by
// posting to the stream's executor.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "server/store_gate.h"
#include "store/store.h"

namespace todo::server {

// One SSE frame: "id: 7\ndata: {...}\n\n", with the owner of the event for filtering.
struct Frame {
  int64_t id = 0;
  std::string user;
  std::string text;
};

// The frames "id: N\ndata: JSON\n\n" of one event.
std::string RenderSseEvent(const core::Event& event);

// One stream's queue. Created by Feed::Subscribe; owned jointly by the feed and the stream.
class Subscription : public std::enable_shared_from_this<Subscription> {
 public:
  Subscription(asio::any_io_executor executor, std::string user_filter)
      : executor_(std::move(executor)), user_(std::move(user_filter)), signal_(executor_) {}

  // Frames queued since the last call (moved out), and whether the stream must end: the feed
  // stopped, or this subscriber fell too far behind (cut_off()).
  std::vector<std::shared_ptr<const Frame>> Take();
  bool closed() const { return closed_.load(); }
  bool cut_off() const { return cut_off_.load(); }

  // Waits (on the stream's executor) until frames are queued, the subscription is closed, or
  // `timeout` passes.
  asio::awaitable<void> Wait(std::chrono::milliseconds timeout);

  // An action run on the stream's executor when the subscription is closed (the stream
  // cancels its socket, so that a write held up by a slow reader ends too).
  void OnClose(std::function<void()> action) { on_close_ = std::move(action); }

 private:
  friend class Feed;
  friend struct SubscriptionTestPeer;
  // Feed side (any thread).
  bool Matches(const Frame& frame) const { return user_.empty() || frame.user == user_; }
  void Push(std::shared_ptr<const Frame> frame, std::size_t max_queue);
  void Close();
  void Signal();

  asio::any_io_executor executor_;
  const std::string user_;  // empty: every user's events
  asio::steady_timer signal_;   // stream side only: cancelled to wake Wait
  std::function<void()> on_close_;  // stream side only

  std::mutex mu_;
  std::deque<std::shared_ptr<const Frame>> queue_;  // guarded by mu_
  bool signal_posted_ = false;                      // guarded by mu_
  std::atomic<bool> closed_{false};
  std::atomic<bool> cut_off_{false};
};

struct FeedOptions {
  std::chrono::milliseconds poll_interval{1000};  // read the log at least this often
  std::size_t max_queue = 2048;                    // frames a stream may fall behind
};

class Feed {
 public:
  // `io` runs the reader. The store (through `gate`) must outlive Stop().
  Feed(StoreGate& gate, store::Store& store, asio::io_context& io, FeedOptions options);
  ~Feed();
  Feed(const Feed&) = delete;
  Feed& operator=(const Feed&) = delete;

  // Finds the log's current horizon (live from now) and starts following the log.
  void Start();
  // The log may have grown: read it soon (while no stream is open, at the unwatched pace:
  // every 100 ms at most).
  void Wake();
  // Closes every subscription and stops the reader; later subscriptions come back closed.
  void Stop();

  // A new subscriber on `executor` seeing `user`'s events (empty: everyone's). `position`
  // is set to the id up to which the feed has read: every event after it will be queued;
  // events up to it are for the stream to replay from the store.
  std::shared_ptr<Subscription> Subscribe(asio::any_io_executor executor, std::string user,
                                          int64_t& position);

  // The id up to which the log has been read (0 before Start found the horizon).
  int64_t position() const { return position_.load(); }
  // Whether Start has found the horizon: before that, Subscribe cannot promise anything.
  bool ready() const { return ready_.load(); }
  int subscribers() const;

 private:
  asio::awaitable<void> Run();
  // Wakes the reader now, whatever its pace.
  void WakeNow();
  void Publish(const std::vector<core::Event>& events, int64_t up_to);
  // With no subscriber, moves the position to `horizon` without reading the log (nobody
  // would get the frames: under load that was a read and a rendering of every event) and
  // returns true, setting unwatched_. Under mu_, so that a Subscribe at the same time either
  // gets the old position and then the frames after it, or the new one and wakes the reader.
  bool SkipIfUnwatched(int64_t horizon);

  StoreGate& gate_;
  store::Store& store_;
  asio::io_context& io_;
  FeedOptions options_;
  asio::steady_timer wake_timer_;  // on io_: cancelled to wake the reader
  std::atomic<bool> wake_pending_{false};
  std::atomic<bool> stopped_{false};
  std::atomic<int64_t> position_{0};
  std::atomic<bool> started_{false};
  std::atomic<bool> ready_{false};
  // The reader found no stream (set under mu_ by SkipIfUnwatched) and waits out its
  // unwatched pace: commits do not wake it, a Subscribe does.
  std::atomic<bool> unwatched_{false};

  mutable std::mutex mu_;
  std::vector<std::weak_ptr<Subscription>> subscribers_;  // guarded by mu_
};

}  // namespace todo::server
