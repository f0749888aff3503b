#include "server/server.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <exception>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <unordered_set>

#include "server/api.h"
#include "server/auth.h"
#include "server/feed.h"
#include "server/metrics.h"
#include "server/responses.h"
#include "server/store_gate.h"
#include "server/snapshot.h"
#include "server/stream.h"

namespace todo::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using core::Status;

namespace {

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
// After an answer that closes the connection early (431, 413, 400), unread input is drained
// for this long, up to kLingerBytes, so that closing does not reset the connection before
// the client has read the answer.
constexpr auto kLinger = std::chrono::seconds(1);
constexpr std::size_t kLingerBytes = 1 << 20;
constexpr std::size_t kFirstReadBytes = 4096;

// A connection, as the loop that owns it sees it (for shutdown).
struct Session {
  enum class Phase { kIdle, kReadingHead, kReadingBody, kHandling, kWriting, kStreaming };
  explicit Session(tcp::socket socket) : stream(std::move(socket)) {}
  beast::tcp_stream stream;
  Phase phase = Phase::kIdle;
};

// One event loop: an io_context run by one thread, with what belongs to that thread only.
struct Loop {
  Loop(int i, MetricsShard& shard)
      : index(i),
        metrics(shard),
        io(std::make_unique<asio::io_context>(1)),
        work(asio::make_work_guard(*io)) {}
  ~Loop() {
    // The acceptor before its io_context; the io_context (which destroys the coroutines of
    // connections still open) before `sessions`, which those coroutines update.
    work.reset();
    acceptor.reset();
    io.reset();
  }

  const int index;
  MetricsShard& metrics;
  // Only touched on this loop's thread:
  TokenCache tokens;
  bool draining = false;
  std::unordered_set<Session*> sessions;

  std::unique_ptr<asio::io_context> io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::optional<tcp::acceptor> acceptor;
  std::thread thread;
};

}  // namespace

struct Server::State {
  explicit State(ServerOptions o, int n) : options(std::move(o)), metrics(n) {}

  ServerOptions options;
  Metrics metrics;
  std::atomic<int> connections_open{0};
  std::atomic<uint64_t> connections_accepted{0};
  std::atomic<uint64_t> connections_rejected{0};
  std::unique_ptr<StoreGate> gate;
  std::unique_ptr<StoreGate> read_gate;  // --read-db
  std::unique_ptr<Api> api;
  bool stopped = false;
  // Destroyed before the members above: loops (and the coroutines they own).
  std::vector<std::unique_ptr<Loop>> loops;
  // After the loops, so destroyed before them: its timer belongs to the first loop's
  // io_context. (Its coroutine, left on the stopped loop, touches nothing when destroyed.)
  std::unique_ptr<Feed> feed;
};

namespace {

using State = Server::State;

bool IsQuietReadError(const boost::system::error_code& ec) {
  // A client going away or timing out is routine, not worth an answer or a log line.
  return ec == beast::error::timeout || ec == asio::error::operation_aborted ||
         ec == asio::error::eof || ec == http::error::end_of_stream ||
         ec == http::error::partial_message || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == asio::error::bad_descriptor;
}

// The answer as it goes on the wire, in one string: status line, headers, body. Written by
// hand rather than through a Beast message and serializer, which cost more than the rest of
// a typical answer (docs/benchmarks.md, sixth session). The header rules are Beast's
// (keep_alive, prepare_payload): Content-Length on every answer that may have a body, none on
// 1xx/204/304; "Connection: close" when HTTP/1.1 ends, "Connection: keep-alive" when HTTP/1.0
// goes on. An answer to HEAD has the head of the answer to GET and no body. No value holds a
// line break: each is a constant of ours or a number, or a WAL position read from PostgreSQL.
std::string WireResponse(Reply& reply, unsigned version, bool keep_alive, bool head_request) {
  const bool http10 = version == 10;
  const bool bodiless = reply.status < 200 || reply.status == 204 || reply.status == 304;
  if (bodiless) reply.body.clear();
  std::string out;
  out.reserve(192 + reply.body.size());
  auto header = [&out](std::string_view name, std::string_view value) {
    out.append(name).append(": ").append(value).append("\r\n");
  };
  char number[24];
  auto text = [&number](std::size_t value) {
    auto [end, ec] = std::to_chars(number, number + sizeof number, value);
    return std::string_view(number, static_cast<std::size_t>(end - number));
  };
  out.append(http10 ? "HTTP/1.0 " : "HTTP/1.1 ").append(text(static_cast<unsigned>(reply.status)));
  out.append(" ").append(http::obsolete_reason(static_cast<http::status>(reply.status)));
  out.append("\r\n");
  if (!reply.body.empty()) header("Content-Type", reply.content_type);
  if (!reply.allow.empty()) header("Allow", reply.allow);
  if (reply.retry_after) header("Retry-After", "1");
  if (reply.authenticate) header("WWW-Authenticate", "Bearer");
  if (reply.replayed) header("Idempotent-Replayed", "true");
  if (!reply.position.empty()) header("Todo-Position", reply.position);
  if (!reply.cache_control.empty()) header("Cache-Control", reply.cache_control);
  if (reply.page_headers) {
    header("X-Content-Type-Options", "nosniff");
    // Pages never send their URL (which may hold an access_token) anywhere.
    header("Referrer-Policy", "no-referrer");
    header("Content-Security-Policy",
           "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'");
  }
  if (http10 && keep_alive) header("Connection", "keep-alive");
  if (!http10 && !keep_alive) header("Connection", "close");
  if (!bodiless) header("Content-Length", text(reply.body.size()));
  out.append("\r\n");
  if (!head_request) out.append(reply.body);
  return out;
}

void LogServerError(const Reply& reply, std::string_view method) {
  if (reply.status < 500) return;
  std::string cause = reply.cause.empty() ? std::string("(no cause recorded)") : reply.cause;
  // One log entry, one line (libpq's messages span several).
  for (char& c : cause) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  spdlog::error("{} {} {}: {}", reply.status, method, RouteLabel(reply.route), cause);
}

// Half-closes, reads and drops what the client still sends (bounded), then closes.
asio::awaitable<void> LingeringClose(beast::tcp_stream& stream) {
  boost::system::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  std::array<char, 8192> sink;
  std::size_t drained = 0;
  stream.expires_after(kLinger);
  while (!ec && drained < kLingerBytes) {
    auto [rec, n] = co_await stream.async_read_some(asio::buffer(sink), kUseTuple);
    ec = rec;
    drained += n;
  }
  stream.socket().close(ec);
}

// Writes `reply` for a request of `method`, records it in the loop's metrics (`started`: when
// its head was read; the time runs until the answer is ready to be written) and logs it if
// it is a 5xx. Returns false if the write failed.
asio::awaitable<bool> SendReply(Loop& loop, Session& session, Reply reply, http::verb method,
                                unsigned version, bool keep_alive, Clock::time_point started,
                                std::chrono::milliseconds write_timeout) {
  LogServerError(reply, http::to_string(method));
  int status = reply.status;
  std::string_view error_code = reply.error_code;
  Route route = reply.route;
  const std::string wire = WireResponse(reply, version, keep_alive, method == http::verb::head);
  // Counted before it is written, so that a client that got an answer finds it in /metrics.
  loop.metrics.RecordRequest(route, method, status, error_code, Clock::now() - started);
  session.phase = Session::Phase::kWriting;
  session.stream.expires_after(write_timeout);
  auto [ec, n] = co_await asio::async_write(session.stream, asio::buffer(wire), kUseTuple);
  co_return !ec;
}

// One connection, from accept to close.
asio::awaitable<void> ServeConnection(State& st, Loop& loop, tcp::socket socket) {
  Session session(std::move(socket));
  loop.sessions.insert(&session);
  struct Unregister {
    State& st;
    Loop& loop;
    Session* session;
    ~Unregister() {
      loop.sessions.erase(session);
      st.connections_open.fetch_sub(1);
    }
  } unregister{st, loop, &session};

  const ServerOptions& opt = st.options;
  beast::flat_buffer buffer;
  bool linger = false;  // close with LingeringClose: an early answer left input unread

  while (!loop.draining) {
    session.phase = Session::Phase::kIdle;
    if (buffer.size() == 0) {
      // Idle keep-alive: wait for the first byte of the next request.
      session.stream.expires_after(opt.idle_timeout);
      auto [ec, n] =
          co_await session.stream.async_read_some(buffer.prepare(kFirstReadBytes), kUseTuple);
      if (ec) break;
      buffer.commit(n);
    }

    session.phase = Session::Phase::kReadingHead;
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(opt.max_header_bytes));
    parser.body_limit(boost::none);  // checked below against Content-Length, then set
    session.stream.expires_after(opt.header_timeout);
    auto [hec, hn] = co_await http::async_read_header(session.stream, buffer, parser, kUseTuple);
    Clock::time_point started = Clock::now();
    if (hec) {
      if (IsQuietReadError(hec)) break;
      Reply reply;
      if (hec == http::error::header_limit) {
        reply = ErrorReplyWithStatus(
            431, Status::TooLarge("request head over " + std::to_string(opt.max_header_bytes) +
                                  " bytes"));
      } else {
        reply = ErrorReply(Status::InvalidArgument("malformed HTTP request: " + hec.message()));
      }
      co_await SendReply(loop, session, std::move(reply), http::verb::unknown, 11, false, started,
                         opt.write_timeout);
      linger = true;
      break;
    }

    const Request& req = parser.get();
    const http::verb method = req.method();
    Route route = MatchRoute(SplitTarget(std::string_view(req.target())).path).route;
    auto too_large = [&] {
      Reply r = ErrorReply(
          Status::TooLarge("request body over " + std::to_string(opt.max_body_bytes) + " bytes"));
      r.route = route;
      return r;
    };
    if (auto length = parser.content_length(); length && *length > opt.max_body_bytes) {
      co_await SendReply(loop, session, too_large(), method, req.version(), false, started,
                         opt.write_timeout);
      linger = true;
      break;
    }

    session.phase = Session::Phase::kReadingBody;
    if (!parser.is_done()) {
      if (beast::iequals(req[http::field::expect], "100-continue")) {
        http::response<http::empty_body> go_on{http::status::continue_, req.version()};
        session.stream.expires_after(opt.write_timeout);
        auto [cec, cn] = co_await http::async_write(session.stream, go_on, kUseTuple);
        if (cec) break;
      }
      parser.body_limit(opt.max_body_bytes);
      session.stream.expires_after(opt.body_timeout);
      auto [bec, bn] = co_await http::async_read(session.stream, buffer, parser, kUseTuple);
      if (bec == http::error::body_limit) {
        co_await SendReply(loop, session, too_large(), method, req.version(), false, started,
                           opt.write_timeout);
        linger = true;
        break;
      }
      if (bec) {
        if (IsQuietReadError(bec)) break;
        Reply r = ErrorReply(Status::InvalidArgument("malformed HTTP body: " + bec.message()));
        r.route = route;
        co_await SendReply(loop, session, std::move(r), method, req.version(), false, started,
                           opt.write_timeout);
        linger = true;
        break;
      }
    }

    session.phase = Session::Phase::kHandling;
    session.stream.expires_never();
    if (route == Route::kEventStream && method == http::verb::get && st.feed) {
      StreamStart start = co_await st.api->StartStream(req, loop.tokens);
      if (!start.error && !st.feed->ready()) {
        // Just started: the feed has not found where the log stands yet (moments, unless
        // the database is down).
        asio::steady_timer pause(*loop.io);
        for (int i = 0; i < 50 && !st.feed->ready() && !loop.draining; ++i) {
          pause.expires_after(std::chrono::milliseconds(100));
          co_await pause.async_wait(kUseTuple);
        }
        if (!st.feed->ready()) {
          start.error = ErrorReply(Status::Unavailable("the live feed is not ready yet"));
          start.error->route = route;
        }
      }
      if (start.error) {
        co_await SendReply(loop, session, std::move(*start.error), method, req.version(), false,
                           started, opt.write_timeout);
        break;
      }
      loop.metrics.RecordRequest(route, method, 200, {}, Clock::now() - started);
      session.phase = Session::Phase::kStreaming;
      co_await RunEventStream(*st.feed, *st.gate, session.stream, std::move(start.actor),
                              start.after, opt);
      break;
    }
    if (route == Route::kSnapshot && method == http::verb::get) {
      std::string_view authorization(req[http::field::authorization]);
      SnapshotStart start = co_await StartSnapshot(*st.gate, loop.tokens, authorization);
      std::optional<Reply> failed = std::move(start.error);
      if (!failed) {
        session.phase = Session::Phase::kStreaming;
        failed = co_await RunSnapshot(*st.gate, session.stream, std::move(start.actor),
                                      req.version(), opt);
        if (!failed) loop.metrics.RecordRequest(route, method, 200, {}, Clock::now() - started);
      }
      if (failed) {
        co_await SendReply(loop, session, std::move(*failed), method, req.version(), false,
                           started, opt.write_timeout);
      }
      break;
    }
    Reply reply = co_await st.api->Handle(req, loop.tokens);
    // Once draining, each connection finishes the request it has and then closes.
    bool keep_alive = req.keep_alive() && !loop.draining;
    bool sent = co_await SendReply(loop, session, std::move(reply), method, req.version(),
                                   keep_alive, started, opt.write_timeout);
    if (!sent || !keep_alive) break;
  }

  if (linger) {
    co_await LingeringClose(session.stream);
  } else {
    boost::system::error_code ec;
    session.stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    session.stream.socket().close(ec);
  }
}

// A canned answer for connections over the cap, written without waiting: the connection is
// closed right after, whether or not the client got it all.
const std::string& BusyResponse() {
  static const std::string response = [] {
    std::string body = ErrorBody(Status::Unavailable("too many connections"));
    return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
           "Retry-After: 1\r\nConnection: close\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
  }();
  return response;
}

void RejectBusy(tcp::socket& socket) {
  boost::system::error_code ec;
  socket.non_blocking(true, ec);
  socket.write_some(asio::buffer(BusyResponse()), ec);
  socket.shutdown(tcp::socket::shutdown_send, ec);
  socket.close(ec);
}

void LogException(std::string_view what, std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    spdlog::error("{} ended by an exception: {}", what, ex.what());
  } catch (...) {
    spdlog::error("{} ended by an unknown exception", what);
  }
}

asio::awaitable<void> AcceptLoop(State& st, Loop& loop) {
  Clock::time_point last_refusal_log;
  for (;;) {
    auto [ec, socket] = co_await loop.acceptor->async_accept(kUseTuple);
    if (loop.draining || !loop.acceptor->is_open()) co_return;
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      // Out of file descriptors, typically: back off instead of spinning on the error.
      spdlog::warn("accept failed: {}", ec.message());
      asio::steady_timer pause(*loop.io, std::chrono::milliseconds(50));
      co_await pause.async_wait(kUseTuple);
      continue;
    }
    if (st.connections_open.fetch_add(1) >= st.options.max_connections) {
      st.connections_open.fetch_sub(1);
      st.connections_rejected.fetch_add(1, std::memory_order_relaxed);
      RejectBusy(socket);
      // One line a second per loop at most: a flood of refusals must not flood the log too.
      if (Clock::now() - last_refusal_log > std::chrono::seconds(1)) {
        last_refusal_log = Clock::now();
        spdlog::warn("503 to new connections: {} open (--max-connections); {} refused so far",
                     st.options.max_connections, st.connections_rejected.load());
      }
      continue;
    }
    st.connections_accepted.fetch_add(1, std::memory_order_relaxed);
    boost::system::error_code opt_ec;
    socket.set_option(tcp::no_delay(true), opt_ec);
    asio::co_spawn(*loop.io, ServeConnection(st, loop, std::move(socket)),
                   [](std::exception_ptr e) { LogException("connection", e); });
  }
}

// Runs `fn(loop)` on every loop's own thread and waits for all (at most `limit`).
template <typename Fn>
void OnEveryLoop(State& st, Fn fn, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  std::vector<std::future<void>> done;
  for (auto& loop : st.loops) {
    auto task = std::make_shared<std::packaged_task<void()>>([fn, l = loop.get()] { fn(*l); });
    done.push_back(task->get_future());
    asio::post(*loop->io, [task] { (*task)(); });
  }
  auto until = Clock::now() + limit;
  for (auto& f : done) f.wait_until(until);
}

}  // namespace

Server::Server(ServerOptions options) {
  // By default one loop per two hardware threads: one loop answers ~25k requests/s, and
  // fewer loops make bigger group-commit batches, which cost the database less per request
  // (decision 0011). The other threads are left to the database, the kernel's network work
  // and the SQLite store's own threads.
  int n = options.threads > 0
              ? options.threads
              : std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / 2);
  options.threads = n;
  state_ = std::make_unique<State>(std::move(options), n);
  for (int i = 0; i < n; ++i) {
    state_->loops.push_back(std::make_unique<Loop>(i, state_->metrics.shard(i)));
  }
  for (auto& loop : state_->loops) {
    loop->thread = std::thread([io = loop->io.get(), index = loop->index] {
      for (;;) {
        try {
          io->run();
          return;
        } catch (const std::exception& e) {
          spdlog::error("event loop {}: unhandled exception: {}", index, e.what());
        }
      }
    });
  }
}

Server::~Server() { Stop(); }

std::vector<asio::io_context*> Server::loops() {
  std::vector<asio::io_context*> out;
  for (auto& loop : state_->loops) out.push_back(loop->io.get());
  return out;
}

int Server::threads() const { return static_cast<int>(state_->loops.size()); }

int Server::open_connections() const { return state_->connections_open.load(); }

core::Result<tcp::endpoint> Server::Listen() {
  core::Result<tcp::endpoint> parsed = ParseListenAddress(state_->options.listen);
  if (!parsed.ok()) return parsed.status();
  tcp::endpoint endpoint = *parsed;
  for (auto& loop : state_->loops) {
    tcp::acceptor acceptor(*loop->io);
    boost::system::error_code ec;
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) {
      // Every loop binds the same port; the kernel balances new connections between them.
      int one = 1;
      int fd = acceptor.native_handle();
      if (::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
        ec.assign(errno, boost::system::system_category());
      }
    }
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return Status::Unavailable("cannot listen on " + EndpointUrl(endpoint) + ": " + ec.message());
    }
    // With port 0 the first bind picks the port; the other loops join it.
    endpoint = acceptor.local_endpoint(ec);
    loop->acceptor.emplace(std::move(acceptor));
  }
  return endpoint;
}

void Server::Serve(store::Store& store, store::Store* read_store) {
  State& st = *state_;
  st.gate = std::make_unique<StoreGate>(store, st.options.request_deadline);
  if (read_store != nullptr) {
    st.read_gate = std::make_unique<StoreGate>(*read_store, st.options.request_deadline);
  }
  st.api = std::make_unique<Api>(*st.gate, st.read_gate.get(), st.options, [&st, &store] {
    Metrics::Gauges g;
    g.connections_open = st.connections_open.load();
    g.connections_accepted = st.connections_accepted.load();
    g.connections_rejected = st.connections_rejected.load();
    g.store_calls_in_flight =
        st.gate->in_flight() + (st.read_gate ? st.read_gate->in_flight() : 0);
    g.replica_reads = st.api->replica_reads();
    g.replica_fallbacks = st.api->replica_fallbacks();
    g.batches = store.batch_stats();
    return st.metrics.Render(g);
  });
  FeedOptions feed_options;
  feed_options.poll_interval = st.options.feed_poll;
  feed_options.max_queue = st.options.stream_queue;
  st.feed = std::make_unique<Feed>(*st.gate, store, *st.loops.front()->io, feed_options);
  st.feed->Start();
  for (auto& loop : st.loops) {
    if (!loop->acceptor) continue;
    asio::co_spawn(*loop->io, AcceptLoop(st, *loop),
                   [](std::exception_ptr e) { LogException("accept loop", e); });
  }
}

bool Server::Drain() {
  State& st = *state_;
  // 1. No new connections; connections waiting for a request (or in the middle of its
  //    head) are closed, and so are event streams (their clients resume elsewhere or
  //    later); the others finish the request they have, then close.
  if (st.feed) st.feed->Stop();
  OnEveryLoop(st, [](Loop& loop) {
    loop.draining = true;
    boost::system::error_code ec;
    if (loop.acceptor) loop.acceptor->close(ec);
    for (Session* s : loop.sessions) {
      if (s->phase == Session::Phase::kIdle || s->phase == Session::Phase::kReadingHead ||
          s->phase == Session::Phase::kStreaming) {
        s->stream.cancel();
      }
    }
  });
  auto deadline = Clock::now() + st.options.shutdown_grace;
  while (st.connections_open.load() > 0 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  int left = st.connections_open.load();
  if (left > 0) {
    spdlog::warn("shutdown: closing {} connection(s) still busy after {} ms", left,
                 st.options.shutdown_grace.count());
    OnEveryLoop(st, [](Loop& loop) {
      for (Session* s : loop.sessions) {
        boost::system::error_code ec;
        s->stream.socket().close(ec);
      }
    });
  }
  // 2. No new store calls; wait for those still running (their callers may be gone).
  if (!st.gate) return true;
  st.gate->Close();
  if (st.read_gate) st.read_gate->Close();
  auto in_flight = [&st] {
    return st.gate->in_flight() + (st.read_gate ? st.read_gate->in_flight() : 0);
  };
  auto store_deadline = Clock::now() + st.options.request_deadline + std::chrono::seconds(1);
  while (in_flight() > 0 && Clock::now() < store_deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return in_flight() == 0;
}

void Server::Stop() {
  State& st = *state_;
  if (st.stopped) return;
  st.stopped = true;
  // While the loops still run: the feed posts its last wake-ups to them.
  if (st.feed) st.feed->Stop();
  for (auto& loop : st.loops) {
    loop->work.reset();
    loop->io->stop();
  }
  for (auto& loop : st.loops) {
    if (loop->thread.joinable()) loop->thread.join();
  }
}

}  // namespace todo::server
