#include "store/postgres/pg_connection.h"

#include <poll.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <utility>

namespace todo::store::pg {

using core::Status;

// --- PgResult ------------------------------------------------------------------------------

bool PgResult::ok() const {
  ExecStatusType s = status();
  return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
}

ExecStatusType PgResult::status() const {
  return result_ ? PQresultStatus(result_.get()) : PGRES_FATAL_ERROR;
}

std::string_view PgResult::sqlstate() const {
  if (!result_) return {};
  const char* state = PQresultErrorField(result_.get(), PG_DIAG_SQLSTATE);
  return state == nullptr ? std::string_view() : std::string_view(state);
}

std::string PgResult::error_message() const {
  if (!result_) return "no result";
  std::string message = PQresultErrorMessage(result_.get());
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  if (message.empty()) message = PQresStatus(status());
  return message;
}

int PgResult::rows() const { return result_ ? PQntuples(result_.get()) : 0; }
int PgResult::columns() const { return result_ ? PQnfields(result_.get()) : 0; }

int64_t PgResult::affected() const {
  if (!result_) return 0;
  std::string_view text = PQcmdTuples(result_.get());
  int64_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

bool PgResult::IsNull(int row, int col) const { return PQgetisnull(result_.get(), row, col) != 0; }

std::string_view PgResult::Text(int row, int col) const {
  return std::string_view(PQgetvalue(result_.get(), row, col),
                          static_cast<std::size_t>(PQgetlength(result_.get(), row, col)));
}

int64_t PgResult::Int(int row, int col) const {
  std::string_view text = Text(row, col);
  int64_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

std::optional<int64_t> PgResult::OptionalInt(int row, int col) const {
  if (IsNull(row, col)) return std::nullopt;
  return Int(row, col);
}

// --- Params --------------------------------------------------------------------------------

Params& Params::Ref(const std::string& text) {
  entries_.push_back(Entry{.ref = &text, .owned = -1});
  return *this;
}

Params& Params::Own(std::string text) {
  owned_.push_back(std::move(text));
  entries_.push_back(Entry{.ref = nullptr, .owned = static_cast<int>(owned_.size()) - 1});
  return *this;
}

Params& Params::Int(int64_t value) { return Own(std::to_string(value)); }

Params& Params::Bool(bool value) { return Own(value ? "t" : "f"); }

Params& Params::Null() {
  entries_.push_back(Entry{});
  return *this;
}

Params::ValueArray Params::Values() const {
  ValueArray values;
  for (const Entry& e : entries_) {
    if (e.ref != nullptr) {
      values.push_back(e.ref->c_str());
    } else if (e.owned >= 0) {
      values.push_back(owned_[static_cast<std::size_t>(e.owned)].c_str());
    } else {
      values.push_back(nullptr);
    }
  }
  return values;
}

// --- ConnectParams -------------------------------------------------------------------------

ConnectParams::ConnectParams(std::string_view url) {
  // libpq's defaults wait for as long as a link stays cut (platform-notes.md). These make a
  // dead server or link an error within ~3 s. They come first: the URL, expanded last
  // (expand_dbname), overrides any of them it sets itself.
  keywords_ = {"connect_timeout",
               "tcp_user_timeout",
               "keepalives",
               "keepalives_idle",
               "keepalives_interval",
               "keepalives_count",
               "fallback_application_name",
               "dbname"};
  values_ = {"3", "3000", "1", "5", "2", "2", "todo", std::string(url)};
}

std::vector<const char*> ConnectParams::Keywords() const {
  std::vector<const char*> out;
  for (const std::string& k : keywords_) out.push_back(k.c_str());
  out.push_back(nullptr);
  return out;
}

std::vector<const char*> ConnectParams::Values() const {
  std::vector<const char*> out;
  for (const std::string& v : values_) out.push_back(v.c_str());
  out.push_back(nullptr);
  return out;
}

// --- StatusOf ------------------------------------------------------------------------------

std::string TextArrayLiteral(std::span<const char* const> items) {
  std::string out = "{";
  for (const char* item : items) {
    if (out.size() > 1) out += ',';
    if (item == nullptr) {
      out += "NULL";
      continue;
    }
    out += '"';
    for (const char* c = item; *c != '\0'; ++c) {
      if (*c == '"' || *c == '\\') out += '\\';
      out += *c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

namespace {

// A statement prepared before a migration changed the type of what it returns (a column's
// collation, as migration 4 did) fails so until it is prepared again.
bool IsStalePlan(const PgResult& result) {
  return !result.ok() && result.sqlstate() == "0A000" &&
         result.error_message().find("cached plan must not change result type") !=
             std::string::npos;
}

}  // namespace

Status StatusOf(const PgResult& result) {
  if (result.ok()) return Status::Ok();
  std::string_view state = result.sqlstate();
  std::string message = result.error_message();
  if (result.status() == PGRES_PIPELINE_ABORTED) {
    return Status::Internal("statement skipped after an earlier error");
  }
  // No SQLSTATE: libpq's own error, i.e. the connection failed.
  if (state.empty() || state.starts_with("08")) return Status::Unavailable(message);
  // 57P01..57P03: the server is shutting down or starting; 53xxx: out of resources (too many
  // connections, disk full); 40001/40P01: serialization failure, deadlock. Retrying may work.
  if (state.starts_with("57P") || state.starts_with("53") || state == "40001" || state == "40P01") {
    return Status::Unavailable(message);
  }
  if (state == "23505") return Status::Conflict(message);
  // Its connection is closed (Connection::Run): the next one prepares the statement afresh.
  if (IsStalePlan(result)) return Status::Unavailable(message);
  return Status::Internal(std::string(state) + ": " + message);
}

// --- Connection ----------------------------------------------------------------------------

Connection::Connection(asio::io_context& io) : socket_(io), turn_(io) {
  turn_.expires_at(Clock::time_point::max());
}

Connection::~Connection() { Close(); }

void Connection::Close() {
  if (socket_.is_open()) {
    // Asio stops watching; libpq keeps ownership of the descriptor and closes it below.
    boost::system::error_code ignored;
    socket_.cancel(ignored);
    socket_.release();
  }
  if (conn_ != nullptr) {
    PQfinish(conn_);  // sends Terminate (without blocking: the connection is non-blocking)
    conn_ = nullptr;
  }
  // The Runs pipelined behind a failed one wake up and fail too.
  ++generation_;
  next_ticket_ = 0;
  reading_ = 0;
  turn_.cancel();
}

Status Connection::Broken(std::string_view what) {
  std::string message = "PostgreSQL connection failed while " + std::string(what);
  if (conn_ != nullptr) {
    std::string detail = PQerrorMessage(conn_);
    while (!detail.empty() && (detail.back() == '\n' || detail.back() == ' ')) detail.pop_back();
    if (!detail.empty()) message += ": " + detail;
  }
  Close();
  return Status::Unavailable(std::move(message));
}

void Connection::WatchSocket() {
  if (socket_.is_open()) socket_.release();
  int fd = conn_ == nullptr ? -1 : PQsocket(conn_);
  if (fd < 0) return;
  boost::system::error_code ec;
  socket_.assign(fd, ec);
}

bool Connection::ReadableWhileIdle() const {
  if (conn_ == nullptr) return false;
  if (PQstatus(conn_) != CONNECTION_OK) return true;
  pollfd p{.fd = PQsocket(conn_), .events = POLLIN, .revents = 0};
  if (p.fd < 0) return true;
  return ::poll(&p, 1, 0) != 0;
}

bool Connection::InTransaction() const {
  return conn_ != nullptr && PQtransactionStatus(conn_) != PQTRANS_IDLE;
}

asio::awaitable<Status> Connection::WaitSocket(Wait what, Clock::time_point deadline) {
  using asio::experimental::make_parallel_group;
  using asio::experimental::wait_for_one;
  using Descriptor = asio::posix::descriptor_base;
  if (!socket_.is_open()) {
    Close();
    co_return Status::Unavailable("PostgreSQL connection has no socket");
  }
  if (Clock::now() >= deadline) {
    Close();
    co_return Status::Unavailable("PostgreSQL did not answer in time");
  }
  // A timer of this wait's own: pipelined Runs may wait on the socket at the same time.
  asio::steady_timer timer(socket_.get_executor(), deadline);
  const uint64_t generation = generation_;
  // The wait and the deadline race; the loser is cancelled and completes before this returns,
  // so nothing outlives the request that started it.
  std::size_t winner = 0;
  if (what == Wait::kReadOrWrite) {
    auto [order, e1, e2, e3] =
        co_await make_parallel_group(socket_.async_wait(Descriptor::wait_read, asio::deferred),
                                     socket_.async_wait(Descriptor::wait_write, asio::deferred),
                                     timer.async_wait(asio::deferred))
            .async_wait(wait_for_one(), asio::use_awaitable);
    winner = order[0] == 2 ? 1 : 0;
  } else {
    auto type = what == Wait::kRead ? Descriptor::wait_read : Descriptor::wait_write;
    auto [order, e1, e2] = co_await make_parallel_group(socket_.async_wait(type, asio::deferred),
                                                        timer.async_wait(asio::deferred))
                               .async_wait(wait_for_one(), asio::use_awaitable);
    winner = order[0];
  }
  if (generation != generation_) {
    co_return Status::Unavailable("PostgreSQL connection closed by a failed statement before it");
  }
  if (winner == 1) {
    Close();
    co_return Status::Unavailable("PostgreSQL did not answer in time");
  }
  // A wait that failed (descriptor error) counts as ready: libpq reports the real problem.
  co_return Status::Ok();
}

asio::awaitable<Status> Connection::WaitTurn(uint64_t ticket) {
  const uint64_t generation = generation_;
  while (reading_ != ticket) {
    // Not bounded by our own deadline: each Run ahead is bounded by its own, and closes the
    // connection when it passes. Giving up here would leave our results in the way of the
    // Runs behind us, so we would have to close the connection under the Runs ahead, which
    // may be well within their deadlines (a resend, with its batch's earlier deadline, can
    // be sent behind a later batch).
    co_await turn_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (generation != generation_) {
      co_return Status::Unavailable(
          "PostgreSQL connection closed by a failed statement before it");
    }
  }
  co_return Status::Ok();
}

asio::awaitable<Status> Connection::FlushAll(Clock::time_point deadline) {
  for (;;) {
    int flushed = PQflush(conn_);
    if (flushed == 0) co_return Status::Ok();
    if (flushed < 0) co_return Broken("sending");
    // The server may be waiting for us to read before it reads more (libpq's documented
    // rule for non-blocking sends): wait for either direction, and read what came.
    Status ready = co_await WaitSocket(Wait::kReadOrWrite, deadline);
    if (!ready.ok()) co_return ready;  // closed, by the wait or by a Run pipelined with ours
    if (PQconsumeInput(conn_) == 0) co_return Broken("reading");
  }
}

asio::awaitable<Status> Connection::ReadResults(std::size_t expected, std::size_t syncs,
                                                std::vector<PgResult>& results,
                                                Clock::time_point deadline) {
  results.clear();
  results.resize(expected);
  // In pipeline mode each query's results end with a NULL from PQgetResult, and each Sync
  // gives one PGRES_PIPELINE_SYNC result.
  std::size_t index = 0;
  std::size_t synced = 0;
  bool seen = false;  // a result of query `index` has arrived
  for (;;) {
    while (PQisBusy(conn_) != 0) {
      Status ready = co_await WaitSocket(Wait::kRead, deadline);
      if (!ready.ok()) co_return ready;  // closed, by the wait or by a Run pipelined with ours
      if (PQconsumeInput(conn_) == 0) co_return Broken("reading");
    }
    PGresult* result = PQgetResult(conn_);
    if (PQstatus(conn_) == CONNECTION_BAD) {
      PQclear(result);
      co_return Broken("reading");
    }
    if (result == nullptr) {
      if (seen) {
        ++index;
        seen = false;
      }
      continue;
    }
    if (PQresultStatus(result) == PGRES_PIPELINE_SYNC) {
      PQclear(result);
      if (++synced == syncs) break;
      continue;
    }
    if (index < expected && !seen) {
      results[index] = PgResult(result);
      seen = true;
    } else {
      PQclear(result);  // a second result of one query (none of ours returns several)
    }
  }
  if (index != expected) {
    Close();
    co_return Status::Internal("PostgreSQL returned " + std::to_string(index) + " results for " +
                               std::to_string(expected) + " statements");
  }
  co_return Status::Ok();
}

asio::awaitable<Status> Connection::Connect(const ConnectParams& params,
                                            std::span<const Statement* const> statements,
                                            Clock::time_point deadline) {
  Close();
  std::vector<const char*> keywords = params.Keywords();
  std::vector<const char*> values = params.Values();
  conn_ = PQconnectStartParams(keywords.data(), values.data(), /*expand_dbname=*/1);
  if (conn_ == nullptr) co_return Status::Unavailable("libpq could not allocate a connection");
  if (PQstatus(conn_) == CONNECTION_BAD) co_return Broken("connecting");
  if (PQsetnonblocking(conn_, 1) != 0) co_return Broken("connecting");
  // Notices (e.g. "there is no transaction in progress") are not errors; libpq's default
  // prints them on stderr.
  PQsetNoticeProcessor(
      conn_, [](void*, const char*) {}, nullptr);
  // libpq does not enforce connect_timeout in this mode; the deadline does.
  PostgresPollingStatusType poll = PGRES_POLLING_WRITING;
  while (poll != PGRES_POLLING_OK) {
    if (poll == PGRES_POLLING_FAILED) co_return Broken("connecting");
    // The socket may change between steps (another address, SSL retry): watch the current
    // one each time.
    WatchSocket();
    Status ready =
        co_await WaitSocket(poll == PGRES_POLLING_READING ? Wait::kRead : Wait::kWrite, deadline);
    if (!ready.ok()) {
      Close();
      co_return Status::Unavailable("connecting to PostgreSQL timed out");
    }
    poll = PQconnectPoll(conn_);
  }
  WatchSocket();
  if (PQenterPipelineMode(conn_) != 1) co_return Broken("entering pipeline mode");
  for (const Statement* statement : statements) {
    if (statement->name[0] == '\0') {
      // A session setting, run now rather than prepared.
      if (PQsendQueryParams(conn_, statement->sql, 0, nullptr, nullptr, nullptr, nullptr, 0) != 1) {
        co_return Broken("configuring the session");
      }
      continue;
    }
    if (PQsendPrepare(conn_, statement->name, statement->sql, 0, nullptr) != 1) {
      co_return Broken("preparing statements");
    }
  }
  if (PQpipelineSync(conn_) != 1) co_return Broken("preparing statements");
  if (Status sent = co_await FlushAll(deadline); !sent.ok()) co_return sent;
  std::vector<PgResult> results;
  if (Status read = co_await ReadResults(statements.size(), 1, results, deadline); !read.ok()) {
    co_return read;
  }
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (!results[i].ok()) {
      Status status = StatusOf(results[i]);
      Close();
      if (status.code() == core::ErrorCode::kUnavailable) co_return status;
      // A statement that does not prepare is a bug (or a schema older than this program).
      co_return Status::Internal("preparing " + std::string(statements[i]->name) +
                                 " failed: " + results[i].error_message());
    }
  }
  co_return Status::Ok();
}

asio::awaitable<Status> Connection::Run(std::span<const Query> queries,
                                        std::vector<PgResult>& results,
                                        Clock::time_point deadline) {
  const std::size_t sizes[] = {queries.size()};
  co_return co_await Run(queries, sizes, results, deadline);
}

asio::awaitable<Status> Connection::Run(std::span<const Query> queries,
                                        std::span<const std::size_t> segment_sizes,
                                        std::vector<PgResult>& results,
                                        Clock::time_point deadline) {
  if (conn_ == nullptr) co_return Status::Unavailable("not connected to PostgreSQL");
  results.clear();
  if (segment_sizes.empty()) co_return Status::Ok();  // nothing to send, nothing to read
  // Sent behind the Runs still waiting for their results, read after theirs.
  const uint64_t ticket = next_ticket_++;
  std::size_t next = 0;
  for (std::size_t size : segment_sizes) {
    for (std::size_t end = next + size; next < end; ++next) {
      const Query& query = queries[next];
      const Params::ValueArray values = query.params.Values();
      if (PQsendQueryPrepared(conn_, query.statement->name, query.params.size(), values.data(),
                              nullptr, nullptr, 0) != 1) {
        co_return Broken("sending a statement");
      }
    }
    if (PQpipelineSync(conn_) != 1) co_return Broken("sending a statement");
  }
  if (Status sent = co_await FlushAll(deadline); !sent.ok()) co_return sent;
  if (Status turn = co_await WaitTurn(ticket); !turn.ok()) co_return turn;
  Status read = co_await ReadResults(queries.size(), segment_sizes.size(), results, deadline);
  if (read.ok()) {
    ++reading_;
    turn_.cancel();
    // Prepared statements that a migration made stale (IsStalePlan) stay so on this connection:
    // close it (the Runs behind fail with kUnavailable, as for a broken one), and the pool
    // opens a new one, which prepares every statement afresh.
    if (std::any_of(results.begin(), results.end(), IsStalePlan)) Close();
  }
  co_return read;
}

}  // namespace todo::store::pg
