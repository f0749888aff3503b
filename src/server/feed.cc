#include "server/feed.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <utility>

#include "core/json.h"

namespace todo::server {

using core::Result;

namespace {
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
// Events read from the store per call.
constexpr int kPage = 1000;
// While no stream is open, how often the feed follows the log's horizon (instead of after
// every commit: each horizon waits for the writes in flight, on a connection of its own).
constexpr auto kUnwatchedPace = std::chrono::milliseconds(100);

// Forgets the subscriptions whose streams have ended.
void DropEnded(std::vector<std::weak_ptr<Subscription>>& subscribers) {
  std::erase_if(subscribers, [](const auto& weak) { return weak.expired(); });
}
}  // namespace

std::string RenderSseEvent(const core::Event& event) {
  // EventToJson has no newline in it (JSON escapes them in strings), so one data: line.
  std::string out = "id: ";
  out += std::to_string(event.id);
  out += "\ndata: ";
  out += boost::json::serialize(core::EventToJson(event));
  out += "\n\n";
  return out;
}

// --- Subscription --------------------------------------------------------------------------

std::vector<std::shared_ptr<const Frame>> Subscription::Take() {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<const Frame>> out(std::make_move_iterator(queue_.begin()),
                                                std::make_move_iterator(queue_.end()));
  queue_.clear();
  return out;
}

asio::awaitable<void> Subscription::Wait(std::chrono::milliseconds timeout) {
  {
    std::lock_guard lock(mu_);
    if (!queue_.empty() || closed_.load()) co_return;
  }
  // A Signal from now on posts its cancel to this executor, which runs it only after this
  // coroutine suspends below: no wake-up can fall between the check and the wait.
  signal_.expires_after(timeout);
  co_await signal_.async_wait(kUseTuple);
}

void Subscription::Push(std::shared_ptr<const Frame> frame, std::size_t max_queue) {
  {
    std::lock_guard lock(mu_);
    if (closed_.load()) return;
    if (queue_.size() >= max_queue) {
      // Too far behind: end the stream rather than hold memory or the others for it.
      queue_.clear();
      cut_off_.store(true);
      closed_.store(true);
    } else {
      queue_.push_back(std::move(frame));
    }
  }
  Signal();
}

void Subscription::Close() {
  closed_.store(true);
  Signal();
}

void Subscription::Signal() {
  {
    std::lock_guard lock(mu_);
    if (signal_posted_) return;
    signal_posted_ = true;
  }
  asio::post(executor_, [self = shared_from_this()] {
    {
      std::lock_guard lock(self->mu_);
      self->signal_posted_ = false;
    }
    self->signal_.cancel();
    if (self->closed_.load() && self->on_close_) {
      std::function<void()> action = std::move(self->on_close_);
      self->on_close_ = nullptr;
      action();
    }
  });
}

// --- Feed ----------------------------------------------------------------------------------

Feed::Feed(StoreGate& gate, store::Store& store, asio::io_context& io, FeedOptions options)
    : gate_(gate), store_(store), io_(io), options_(options), wake_timer_(io) {}

// Server::Stop stops the feed while its loop still runs; posting from here could reach a
// destroyed io_context.
Feed::~Feed() = default;

void Feed::Start() {
  if (started_.exchange(true)) return;
  store_.WatchEvents([this] { Wake(); });
  asio::co_spawn(io_, Run(), asio::detached);
}

void Feed::Wake() {
  if (wake_pending_.exchange(true)) return;
  if (unwatched_.load()) return;  // nobody to tell: the reader keeps its unwatched pace
  WakeNow();
}

void Feed::WakeNow() {
  wake_pending_.store(true);
  asio::post(io_, [this] { wake_timer_.cancel(); });
}

void Feed::Stop() {
  if (stopped_.exchange(true)) return;
  std::vector<std::shared_ptr<Subscription>> subs;
  {
    std::lock_guard lock(mu_);
    for (auto& weak : subscribers_) {
      if (auto sub = weak.lock()) subs.push_back(std::move(sub));
    }
    subscribers_.clear();
  }
  for (auto& sub : subs) sub->Close();
  WakeNow();
}

std::shared_ptr<Subscription> Feed::Subscribe(asio::any_io_executor executor, std::string user,
                                              int64_t& position) {
  auto sub = std::make_shared<Subscription>(std::move(executor), std::move(user));
  std::lock_guard lock(mu_);
  position = position_.load();
  if (stopped_.load()) {
    sub->closed_.store(true);
    return sub;
  }
  // Drop the entries of streams that ended, now and then, while the lock is held anyway.
  if (subscribers_.size() >= 64 && subscribers_.size() % 64 == 0) {
    DropEnded(subscribers_);
  }
  subscribers_.push_back(sub);
  // The first stream after a while unwatched: follow the log at once, not at the next pace.
  if (unwatched_.load()) WakeNow();
  return sub;
}

int Feed::subscribers() const {
  std::lock_guard lock(mu_);
  int n = 0;
  for (const auto& weak : subscribers_) n += weak.expired() ? 0 : 1;
  return n;
}

void Feed::Publish(const std::vector<core::Event>& events, int64_t up_to) {
  std::vector<std::shared_ptr<const Frame>> frames;
  frames.reserve(events.size());
  for (const core::Event& event : events) {
    auto frame = std::make_shared<Frame>();
    frame->id = event.id;
    frame->user = event.user;
    frame->text = RenderSseEvent(event);
    frames.push_back(std::move(frame));
  }
  // Under mu_, so that a Subscribe sees either none of these frames queued and a position
  // before them, or all of them and a position after.
  std::lock_guard lock(mu_);
  DropEnded(subscribers_);
  for (auto& weak : subscribers_) {
    std::shared_ptr<Subscription> sub = weak.lock();
    if (!sub) continue;
    for (const auto& frame : frames) {
      if (sub->Matches(*frame)) sub->Push(frame, options_.max_queue);
    }
  }
  position_.store(up_to);
}

bool Feed::SkipIfUnwatched(int64_t horizon) {
  std::lock_guard lock(mu_);
  DropEnded(subscribers_);
  if (!subscribers_.empty()) return false;
  position_.store(std::max(position_.load(), horizon));
  // Under mu_: a Subscribe from now on sees it and wakes the reader out of its pace.
  unwatched_.store(true);
  return true;
}

asio::awaitable<void> Feed::Run() {
  const store::Actor reader{"todod-feed", core::Role::kManager};
  while (!stopped_.load()) {
    bool unwatched = false;  // this pass found no stream to tell
    auto horizon_call =
        gate_.Call([](store::Store& s) { return s.EventHorizon(); });
    Result<int64_t> horizon = co_await std::move(horizon_call);
    if (!horizon.ok()) {
      spdlog::debug("live feed: no horizon: {}", horizon.status().ToString());
    } else if (!ready_.load()) {
      {
        std::lock_guard lock(mu_);
        position_.store(*horizon);
      }
      ready_.store(true);
    } else if (SkipIfUnwatched(*horizon)) {
      unwatched = true;
    } else {
      // Everything up to the horizon, a page at a time.
      while (!stopped_.load() && position_.load() < *horizon) {
        int64_t after = position_.load();
        auto list_call = gate_.Call(
            [reader, after](store::Store& s) { return s.ListEvents(reader, after, kPage); });
        Result<store::EventPage> page = co_await std::move(list_call);
        if (!page.ok()) {
          spdlog::debug("live feed: reading the log: {}", page.status().ToString());
          break;
        }
        std::vector<core::Event> stable;
        for (core::Event& event : page->events) {
          if (event.id > *horizon) break;
          stable.push_back(std::move(event));
        }
        // A full page that stays under the horizon: more may follow. Otherwise every id up
        // to the horizon that exists has been read (the others never will exist).
        bool more = page->next.has_value() && !stable.empty() &&
                    stable.size() == page->events.size() && stable.back().id < *horizon;
        int64_t up_to = more ? stable.back().id : *horizon;
        Publish(stable, up_to);
      }
    }
    if (stopped_.load()) break;
    if (unwatched) {
      // Commits do not wake the reader now (Wake); a new stream (Subscribe) or Stop does.
      wake_timer_.expires_after(std::min(options_.poll_interval, kUnwatchedPace));
      co_await wake_timer_.async_wait(kUseTuple);
      wake_pending_.store(false);
      unwatched_.store(false);
    } else if (!wake_pending_.exchange(false)) {
      wake_timer_.expires_after(ready_.load() ? options_.poll_interval
                                              : std::chrono::milliseconds(200));
      co_await wake_timer_.async_wait(kUseTuple);
      wake_pending_.store(false);
    }
  }
}

}  // namespace todo::server
