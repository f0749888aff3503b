// A thin wrapper over one libpq connection, driven without blocking from an Asio event loop:
// non-blocking connect (PQconnectStartParams + PQconnectPoll), pipeline mode, prepared
// statements, and the SQLSTATE -> core::Status mapping of the PostgreSQL store.
//
// libpq owns the socket; Asio only watches it (a posix::stream_descriptor that is released,
// never closed, before libpq closes the socket). Every wait is bounded by the caller's
// deadline, so a dead or hung server costs a request at most that long.
//
// Thread-safety: a Connection belongs to one event loop, whose loop must be run by exactly one
// thread. Runs may overlap (pipelining: a Run sends at once, even while an earlier one waits
// for its results, and reads its own results after the earlier ones'); nothing else may
// overlap a Run or another call (Connect, Close from outside a Run).
#pragma once

#include <libpq-fe.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/container/small_vector.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "core/status.h"

namespace todo::store::pg {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

// A statement prepared once on every connection, then run by name. One with an empty name
// is a session setting, run once when the connection opens.
struct Statement {
  const char* name;
  const char* sql;
};

// One result of a pipeline: owns its PGresult. Text format; values are read by row/column.
class PgResult {
 public:
  PgResult() = default;
  explicit PgResult(PGresult* result) : result_(result) {}

  bool ok() const;  // COMMAND_OK or TUPLES_OK
  ExecStatusType status() const;
  // The SQLSTATE of an error ("23505"), empty if none.
  std::string_view sqlstate() const;
  std::string error_message() const;

  int rows() const;
  int columns() const;
  // Rows an INSERT, UPDATE or DELETE touched (PQcmdTuples); 0 for anything else.
  int64_t affected() const;
  bool IsNull(int row, int col) const;
  std::string_view Text(int row, int col) const;
  std::string String(int row, int col) const { return std::string(Text(row, col)); }
  // An integer column; 0 for NULL or garbage (our queries return well-formed integers).
  int64_t Int(int row, int col) const;
  std::optional<int64_t> OptionalInt(int row, int col) const;

 private:
  struct Clear {
    void operator()(PGresult* r) const { PQclear(r); }
  };
  std::unique_ptr<PGresult, Clear> result_;
};

// The parameters of one statement, in text format. Strings passed by reference must outlive
// the Run that sends them; numbers and owned strings are kept here.
class Params {
 public:
  Params() = default;
  Params& Ref(const std::string& text);  // text (must contain no NUL byte; ours never do)
  Params& Own(std::string text);
  Params& Int(int64_t value);
  Params& Bool(bool value);
  Params& Null();
  template <typename T>
  Params& Opt(const std::optional<T>& value) {
    if (!value) return Null();
    if constexpr (std::is_same_v<T, bool>) {
      return Bool(*value);
    } else if constexpr (std::is_integral_v<T>) {
      return Int(*value);
    } else {
      return Ref(*value);
    }
  }

  // Statements take up to 8 parameters: a write's Params, built for every request, then
  // allocate nothing (short texts, numbers among them, stay inside their std::string).
  static constexpr std::size_t kInline = 8;
  using ValueArray = boost::container::small_vector<const char*, kInline>;

  int size() const { return static_cast<int>(entries_.size()); }
  // The values as libpq wants them; valid until this object changes, moves or goes away
  // (they may point into it).
  ValueArray Values() const;

 private:
  struct Entry {
    const std::string* ref = nullptr;  // set: a caller's string
    int owned = -1;                    // >= 0: an index into owned_
  };                                   // neither: NULL
  boost::container::small_vector<Entry, kInline> entries_;
  boost::container::small_vector<std::string, kInline> owned_;
};

// One statement of a pipeline.
struct Query {
  const Statement* statement;
  Params params;
};

// How libpq reaches the server: keywords/values for PQconnectStartParams, with the URL last
// (expand_dbname) so that whatever it sets wins over our defaults.
class ConnectParams {
 public:
  // Our defaults (timeouts, keepalives, application_name), then the URL or conninfo string.
  explicit ConnectParams(std::string_view url);
  std::vector<const char*> Keywords() const;
  std::vector<const char*> Values() const;

 private:
  std::vector<std::string> keywords_;
  std::vector<std::string> values_;
};

// A PostgreSQL array literal of texts, each quoted: {"a","b\"c",NULL} (a null pointer is
// NULL). For the statements that take arrays (unnest).
std::string TextArrayLiteral(std::span<const char* const> items);

// Maps a failed statement's result to a Status: connection and shutdown errors,
// serialization failures and deadlocks to kUnavailable; unique violations to kConflict;
// anything else to kInternal.
core::Status StatusOf(const PgResult& result);

class Connection {
 public:
  explicit Connection(asio::io_context& io);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  bool connected() const { return conn_ != nullptr; }

  // Connects, enters pipeline mode and prepares `statements` (runs the unnamed ones). kUnavailable
  // if the server cannot be reached or the deadline passes; the connection stays closed then.
  asio::awaitable<core::Status> Connect(const ConnectParams& params,
                                        std::span<const Statement* const> statements,
                                        Clock::time_point deadline);

  // Sends `queries` as one pipeline segment ended by a Sync, in one write, and reads their
  // results into `results` (one per query, in order). The segment is one transaction (the
  // implicit one that commits at the Sync, unless the queries hold BEGIN/COMMIT themselves).
  // OK means every result arrived (each may still be an error: see StatusOf); kUnavailable
  // means the connection broke or the deadline passed, and it has been closed (failing the
  // Runs pipelined behind it too).
  asio::awaitable<core::Status> Run(std::span<const Query> queries, std::vector<PgResult>& results,
                                    Clock::time_point deadline);
  // The same with several segments in one write: the first segment_sizes[0] queries, a Sync,
  // the next segment_sizes[1], a Sync, and so on. An error skips the rest of its segment only.
  asio::awaitable<core::Status> Run(std::span<const Query> queries,
                                    std::span<const std::size_t> segment_sizes,
                                    std::vector<PgResult>& results, Clock::time_point deadline);

  // True if the server has spoken, or hung up, while nobody asked anything (an idle
  // connection that is readable has been told to go away: shutdown, idle timeout). Cheap: one
  // poll() with no wait.
  bool ReadableWhileIdle() const;

  // Inside a transaction block (after BEGIN without COMMIT/ROLLBACK, as of the last Sync).
  bool InTransaction() const;

  // Closes the connection (no-op if closed).
  void Close();

 private:
  enum class Wait { kRead, kWrite, kReadOrWrite };
  // Waits until the socket is ready as asked, or the deadline. Not OK if the deadline passed
  // (the connection is then closed) or the connection was closed meanwhile (by a Run
  // pipelined with the caller's).
  asio::awaitable<core::Status> WaitSocket(Wait what, Clock::time_point deadline);
  // Waits until the Runs sent before `ticket` have read their results (each is bounded by
  // its own deadline). Not OK if the connection was closed meanwhile.
  asio::awaitable<core::Status> WaitTurn(uint64_t ticket);
  // Sends everything buffered; waits for the socket as needed.
  asio::awaitable<core::Status> FlushAll(Clock::time_point deadline);
  // Reads results until `expected` query results and `syncs` Syncs have arrived.
  asio::awaitable<core::Status> ReadResults(std::size_t expected, std::size_t syncs,
                                            std::vector<PgResult>& results,
                                            Clock::time_point deadline);
  // Closes and returns kUnavailable with `what` and libpq's message.
  core::Status Broken(std::string_view what);
  void WatchSocket();  // (re)binds socket_ to PQsocket(conn_)

  PGconn* conn_ = nullptr;
  asio::posix::stream_descriptor socket_;
  // Pipelined Runs: each takes a ticket when it sends; the one whose ticket is `reading_`
  // reads next. `turn_` never expires; cancelling it wakes the Runs waiting for their turn.
  // `generation_` counts Closes, so that a waiter notices the connection it sent on is gone.
  uint64_t next_ticket_ = 0;
  uint64_t reading_ = 0;
  uint64_t generation_ = 0;
  asio::steady_timer turn_;
};

}  // namespace todo::store::pg
